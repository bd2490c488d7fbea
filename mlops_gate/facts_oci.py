"""Fact types read from an OCI registry (filled in by the OCI provider)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFacts:
    """The target image as the registry serves it."""

    ref: str
