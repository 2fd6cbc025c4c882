"""kajitori."""
