"""Providers read facts: one function per fact kind, taking a Context, returning the fact value.

They raise FactError (with the fix in its hint) when the facts cannot be read; they never judge.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlops_gate.target import Target


@dataclass
class Meter:
    """What one fact cost and where it was read: reported with the fact for evidence. Thread-safe:
    a provider may fetch in parallel."""

    requests: int = 0
    sources: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def read(self, source: str, requests: int = 0) -> None:
        with self.lock:
            self.sources.append(source)
            self.requests += requests

    def count(self, requests: int = 1) -> None:
        with self.lock:
            self.requests += requests


@dataclass
class Shared:
    """State providers share within one run (a single walk of the repository)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    root: Path
    target: Target
    env: Mapping[str, str]
    kind: str = ""
    scope: frozenset[str] = frozenset()  # items of this kind the checks asked for (branches, ...)
    meter: Meter = field(default_factory=Meter)
    shared: Shared = field(default_factory=Shared)
