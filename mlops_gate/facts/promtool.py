"""Fact types of promtool's rule unit tests (read and run by mlops_gate.providers.promtool)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleTestFile:
    """A `promtool test rules` unit-test file and, when it was run, its outcome."""

    path: str
    alerts: tuple[str, ...] = ()  # the alertnames its alert_rule_test cases exercise
    passed: bool | None = None  # None: not run (see note)
    output: str = ""  # promtool's output, trimmed
    note: str = ""


@dataclass(frozen=True)
class RuleTests:
    root: str
    files: tuple[RuleTestFile, ...] = ()
