"""Drug–drug interactions between the patient's medicines (docs/methods/interactions.md)."""
