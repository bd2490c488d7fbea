"""Reporters only write: `render(report, checks, color=...) -> str`, one module per format.

FORMATS names every format (the CLI's --format and --output choices come from it) and the function that
renders it, imported only when that format is written (the console one brings rich).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_gate.checkspec import CheckSpec
    from mlops_gate.model import Report

Renderer = Callable[..., str]

FORMATS: dict[str, str] = {  # format -> "module[:function]" in this package (function default: render)
    "console": "console",
    "json": "json_report",
    "sarif": "sarif",
    "junit": "junit",
    "markdown": "markdown",
    "github": "annotations:github",
    "gitlab-codequality": "codequality",
    "azure": "annotations:azure",
}


def renderer(fmt: str) -> Renderer:
    import importlib  # here, not at the top: the CLI reads FORMATS on every start, --version included

    module, _, func = FORMATS[fmt].partition(":")
    fn: Renderer = getattr(importlib.import_module(f"mlops_gate.reporters.{module}"), func or "render")
    return fn


def render(fmt: str, report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False, **extra: int) -> str:
    """The report in `fmt`; every string in it made printable first (reporters/_safe.py)."""
    from mlops_gate.reporters._safe import safe

    return renderer(fmt)(safe(report), checks, color=color, **extra)
