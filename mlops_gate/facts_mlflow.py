"""Fact types read from an MLflow tracking server / model registry (filled in by the MLflow provider)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MlflowModel:
    """The model version being released, as the registry describes it."""

    tracking_uri: str
    model: str  # NAME@ALIAS or NAME/VERSION as given
