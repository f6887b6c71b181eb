"""Club pages (being written)."""
