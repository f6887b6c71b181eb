"""Donation pages (being written)."""
