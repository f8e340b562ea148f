"""Models belt callbacks may return."""
