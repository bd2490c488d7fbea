"""Built-in checks, one module per toolbelt area. Each check is pure over its facts."""
