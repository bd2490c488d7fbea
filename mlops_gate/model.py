"""Severity, status, results and the report: the frozen values every part of the gate shares."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {s: i for i, s in enumerate(Severity)}


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    ERROR = "error"


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"

    @property
    def exit_code(self) -> int:
        return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 3}[self]


@dataclass(frozen=True)
class Location:
    """Where a finding is: a repository file (relative path, 1-based line) or a URL."""

    path: str
    line: int | None = None


@dataclass(frozen=True)
class Violation:
    """One thing a check found wrong with its subject, and where it is, when it has a place."""

    message: str
    location: Location | None = None


@dataclass(frozen=True)
class Outcome:
    """What a check says about one subject; no violations and no error means passed."""

    subject: str
    message: str
    violations: tuple[Violation, ...] = ()
    evidence: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Waiver:
    """A waiver as the policy applies it: failures of `check` on subjects matching `subject` (a glob), with an
    owner and a reason, through its `expires` day."""

    check: str
    subject: str
    owner: str
    reason: str
    expires: str  # ISO date


@dataclass(frozen=True)
class Result:
    """What one check concluded about one subject: status, message, violations, evidence, the waiver that applied."""

    check: str
    title: str
    area: str
    severity: Severity
    status: Status
    subject: str
    message: str
    violations: tuple[Violation, ...] = ()
    evidence: tuple[str, ...] = ()
    docs: str = ""
    waiver: Waiver | None = None


@dataclass(frozen=True)
class NotRun:
    """A check the run did not run, and why: `disabled` by the policy (`by`: the file of the chain that says
    so), `skipped` by --skip, or `not selected` by --only."""

    check: str
    area: str
    why: str
    by: str = ""
    needs: tuple[str, ...] = ()  # the target values it needs (--model, --image, ...)


@dataclass(frozen=True)
class Report:
    """One run's outcome: every result, the waivers applied, expired and unused, and what the verdict rests on."""

    tool_version: str
    target: dict[str, Any]
    fail_on: Severity
    results: tuple[Result, ...]
    waivers_applied: tuple[Waiver, ...] = ()
    waivers_expired: tuple[Waiver, ...] = ()
    waivers_unused: tuple[Waiver, ...] = ()
    duration_s: float = 0.0
    errors: tuple[str, ...] = ()  # gate-level problems (a broken plugin): the verdict cannot be pass
    facts_file: str | None = None  # facts replayed from this file (--facts-in); None: read live
    target_sources: dict[str, str] = field(default_factory=dict)  # target field -> where its value came from
    not_run: tuple[NotRun, ...] = ()  # checks the policy disabled or the selection left out
    policy: str = ""  # the policy that judged, as loaded (`.mlops-gate.yml -> builtin:default`)

    @property
    def facts_source(self) -> str:
        return "live" if self.facts_file is None else "replayed"

    def blocking(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.status is Status.FAILED and r.severity.rank >= self.fail_on.rank)

    @property
    def verdict(self) -> Verdict:
        if self.blocking():
            return Verdict.FAIL
        if self.errors or any(r.status is Status.ERROR for r in self.results):
            return Verdict.ERROR
        return Verdict.PASS

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for r in self.results:
            out[r.status.value] += 1
        return out
