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
    """The repository's promtool rule unit-test files (`root`: the checkout they were read from)."""

    root: str
    files: tuple[RuleTestFile, ...] = ()


@dataclass(frozen=True)
class ToolCheck:
    """One file as Prometheus's or Alertmanager's own tool judged it (`promtool check rules`,
    `amtool check-config`)."""

    path: str
    ok: bool | None  # None: the tool gave no verdict on it (note says why)
    output: str = ""  # what the tool said about it, trimmed
    note: str = ""


@dataclass(frozen=True)
class ToolVerdicts:
    """A tool's verdicts on the files of one kind; `version` None when the tool was not run (note says why)."""

    tool: str  # promtool | amtool
    version: str | None = None
    note: str = ""
    files: tuple[ToolCheck, ...] = ()

    def of(self, path: str) -> ToolCheck | None:
        return next((f for f in self.files if f.path == path), None)
