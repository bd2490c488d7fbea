"""orchestration checks."""
