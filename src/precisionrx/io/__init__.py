"""Readers and writers: parsing only, no clinical logic."""
