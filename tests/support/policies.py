"""Policies the CLI tests write: every check the installed gate lists turned off but the ones a test judges."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def listed_checks() -> list[dict[str, Any]]:
    """The checks as `mlops-gate checks --format json` lists them (the CLI, as a user sees it)."""
    listed = subprocess.run(
        [sys.executable, "-I", "-m", "mlops_gate", "checks", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    checks: list[dict[str, Any]] = json.loads(listed.stdout)
    return checks


def only_policy(directory: Path, *checks: str, severity: str = "high") -> Path:
    """`.mlops-gate.yml` in `directory`: every check off but `checks` (at `severity`), so the run reads local
    files only."""
    chosen: dict[str, Any] = {c["id"]: {"enabled": False} for c in listed_checks()}
    for check in checks:
        chosen[check] = {"enabled": True, "severity": severity}
    path = directory / ".mlops-gate.yml"
    doc = {"version": 1, "extends": "default", "fail_on": "high", "checks": chosen}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path
