"""ci checks."""
