"""Precision oncology: tumour alterations to matched therapies, tiers, TMB/MSI, germline checks."""
