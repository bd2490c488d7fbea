"""GitLab Code Quality (a subset of the CodeClimate issue format): a JSON array of issues.

Written: one issue per violation of each failed result, blocking or not (a failed result without
violations gives one issue with its message), one per result in `error` and one per gate-level error:
the gate fails closed, so "could not be evaluated" is shown where the findings are. Not written:
passed results, and waived ones (an accepted, owned risk should not reappear as a new issue in every
merge request).

Fingerprints are stable: a hash of check id, subject, violation message and path — not the line, so
an issue survives unrelated edits above it; identical violations in one result are told apart by
their order of occurrence.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import Report, Result, Severity, Status, Violation

SEVERITY = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}
# GitLab requires a path; a finding about a remote system (branch protection, a model version) has no
# file, so it is attached to the policy that asks for it.
NO_FILE = ".mlops-gate.yml"


def render(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    return json.dumps(to_issues(report), indent=2, ensure_ascii=False) + "\n"


def to_issues(report: Report) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    issues = []
    for r in report.results:
        if r.status not in (Status.FAILED, Status.ERROR):
            continue
        violations = r.violations if r.status is Status.FAILED else ()
        for v in violations or (Violation(r.message),):
            issues.append(_issue(r, v, unique(fingerprint(r, v), seen)))
    for e in report.errors:  # gate-level problems: the gate fails closed, so they show as blockers
        fp = unique(hashlib.sha256(f"mlops-gate\x1f{e}".encode()).hexdigest(), seen)
        issues.append(
            {
                "description": f"mlops-gate: {e}",
                "check_name": "mlops-gate",
                "fingerprint": fp,
                "severity": "blocker",
                "location": {"path": NO_FILE, "lines": {"begin": 1}},
                "type": "issue",
                "categories": ["Bug Risk"],
            }
        )
    return issues


def _issue(r: Result, v: Violation, fp: str) -> dict[str, Any]:
    prefix = "could not evaluate: " if r.status is Status.ERROR else ""
    path, line = NO_FILE, 1
    if v.location is not None and "://" not in v.location.path:
        path, line = v.location.path.replace("\\", "/").lstrip("/"), v.location.line or 1
    elif r.subject.startswith("file:"):
        path = r.subject.removeprefix("file:")
    return {
        "description": f"{r.check}: {prefix}{v.message} ({r.subject})",
        "check_name": r.check,
        "fingerprint": fp,
        "severity": SEVERITY[r.severity],
        "location": {"path": path, "lines": {"begin": max(line, 1)}},
        "type": "issue",
        "categories": ["Security" if r.area in ("vcs", "image", "release", "policy") else "Bug Risk"],
    }


def fingerprint(r: Result, v: Violation) -> str:
    """sha256 of check id, subject, violation message and path (not the line: see the module doc)."""
    path = v.location.path if v.location else ""
    key = "\x1f".join((r.check, r.subject, v.message, path))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def unique(fp: str, seen: Counter[str]) -> str:
    """The n-th repeat of a fingerprint in one report gets its own, still stable, fingerprint."""
    n = seen[fp]
    seen[fp] += 1
    return fp if n == 0 else hashlib.sha256(f"{fp}#{n}".encode()).hexdigest()
