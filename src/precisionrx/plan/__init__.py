"""Treatment plan: merges engine results into one model for every renderer."""
