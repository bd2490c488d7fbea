"""The report as every writer gets it: each string made printable (mlops_gate.printable), so no format
fails on a file name that is not UTF-8 and none carries a control character or a CI command into a log.
File names, subjects and target values stay on one line; messages keep their line breaks."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from mlops_gate import printable
from mlops_gate.model import Report

_ONE_LINE = frozenset({"path", "subject", "check", "title", "area", "docs", "owner", "expires", "tool_version"})


def safe(report: Report) -> Report:
    out: Report = _clean(report, "")
    return out


def _clean(value: Any, field: str) -> Any:
    if isinstance(value, enum.Enum) or value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return printable.name(value) if field in _ONE_LINE else printable.text(value)
    if isinstance(value, tuple):
        return tuple(_clean(v, field) for v in value)
    if isinstance(value, list):
        return [_clean(v, field) for v in value]
    if isinstance(value, dict):
        return {printable.name(str(k)): _clean(v, "path" if field == "target" else field) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
