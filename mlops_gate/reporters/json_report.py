"""The JSON report (schema_version 1): the machine-readable record of a run.

Its JSON Schema is published as `mlops_gate/schemas/report-v1.json`. Within schema_version 1 fields are
only ever added, never renamed or removed, so consumers must ignore keys they do not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import Report, Result, Status, Violation, Waiver

SCHEMA_VERSION = 1
TOOL_NAME = "mlops-gate"


def render(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    return json.dumps(to_data(report), indent=2, ensure_ascii=False, default=str) + "\n"


def to_data(report: Report) -> dict[str, Any]:
    """The report as plain data, keys in a fixed, documented order; its strings made printable (the
    evidence bundle takes it from here, not through render)."""
    from mlops_gate.reporters._safe import safe

    report = safe(report)
    blocking = {id(r) for r in report.blocking()}
    counts = report.counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "target": {k: report.target[k] for k in sorted(report.target)},
        "facts_source": report.facts_source,
        "facts_file": report.facts_file,
        "verdict": report.verdict.value,
        "fail_on": report.fail_on.value,
        "summary": {
            "total": len(report.results),
            **{s.value: counts.get(s.value, 0) for s in Status},
            "blocking": len(blocking),
        },
        "results": [result_data(r, blocking=id(r) in blocking) for r in report.results],
        "waivers": {
            "applied": [waiver_data(w) for w in report.waivers_applied],
            "expired": [waiver_data(w) for w in report.waivers_expired],
            "unused": [waiver_data(w) for w in report.waivers_unused],
        },
        "errors": list(report.errors),
        "duration_s": report.duration_s,
    }


def result_data(r: Result, *, blocking: bool) -> dict[str, Any]:
    return {
        "check": r.check,
        "title": r.title,
        "area": r.area,
        "severity": r.severity.value,
        "status": r.status.value,
        "blocking": blocking,
        "subject": r.subject,
        "message": r.message,
        "violations": [violation_data(v) for v in r.violations],
        "evidence": list(r.evidence),
        "docs": r.docs,
        "waiver": waiver_data(r.waiver) if r.waiver else None,
    }


def violation_data(v: Violation) -> dict[str, Any]:
    loc = v.location
    return {
        "message": v.message,
        "location": None if loc is None else {"path": loc.path, "line": loc.line},
    }


def waiver_data(w: Waiver) -> dict[str, str]:
    return {"check": w.check, "subject": w.subject, "owner": w.owner, "reason": w.reason, "expires": str(w.expires)}
