"""cd checks."""
