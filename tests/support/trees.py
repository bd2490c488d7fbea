"""Test helpers: write small repository trees and read them with the real files provider."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mlops_gate.engine import collect
from mlops_gate.facts import Facts
from mlops_gate.target import Target


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create `files` (relative path -> text, dedented) under root; returns root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def read_facts(root: Path, *kinds: str, target: Target | None = None, scope: frozenset[str] = frozenset()) -> Facts:
    """Collect `kinds` from the tree with the real providers (fail loudly if any could not be read), as the
    engine hands them to a check."""
    records = collect({k: scope for k in kinds}, root, target or Target(), {})
    for rec in records.values():
        assert rec.error is None, rec.error
    return Facts({k: r.value for k, r in records.items()})
