"""mlops-gate: a definition-of-done gate for ML projects."""

__version__ = "0.1.0"
