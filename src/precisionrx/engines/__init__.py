"""Domain engines: pure functions of (record, knowledge base, settings) -> results."""
