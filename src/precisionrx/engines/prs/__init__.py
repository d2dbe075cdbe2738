"""Polygenic scores: PGS Catalog scoring files matched to VCF genotypes and summed."""
