"""image checks."""
