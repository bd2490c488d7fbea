"""SARIF 2.1.0 for code-scanning dashboards: one rule per check, one result per violation.

Passed results are not written (code scanning closes an alert when its result disappears). Failed and
waived results give one result per violation (or one carrying the result's message when it has none);
waived ones carry an external, accepted suppression with the waiver's reason. A check that could not
be evaluated is a `level: error` result too, so that it shows where the findings show, and a
tool-execution notification, so that the run records it did not complete; gate-level errors (a
plug-in that could not be loaded) are notifications only.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from mlops_gate.checkspec import CheckSpec
from mlops_gate.links import PROJECT_URL
from mlops_gate.model import Report, Result, Severity, Status, Violation
from mlops_gate.reporters.codequality import fingerprint, unique

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = PROJECT_URL
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mlopsGate/v1"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads this to rank alerts (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low < 4.0).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def render(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    return json.dumps(to_sarif(report, checks), indent=2, ensure_ascii=False) + "\n"


def to_sarif(report: Report, checks: Mapping[str, CheckSpec]) -> dict[str, Any]:
    rule_ids = list(dict.fromkeys(r.check for r in report.results))
    index = {rid: i for i, rid in enumerate(rule_ids)}
    first = {r.check: r for r in reversed(report.results)}
    blocking = {id(r) for r in report.blocking()}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for r in report.results:
        if r.status is Status.PASSED:
            continue
        # a waived finding keeps the level it would have had: its suppression says it is accepted
        waived_blocker = r.status is Status.WAIVED and r.severity.rank >= report.fail_on.rank
        would_block = id(r) in blocking or waived_blocker
        level = "error" if r.status is Status.ERROR or would_block else _capped(r.severity)
        violations = r.violations if r.status is not Status.ERROR else ()
        for v in violations or (Violation(r.message),):
            results.append(_result(r, v, level, index[r.check], unique(fingerprint(r, v), seen)))
        if r.status is Status.ERROR:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{r.check} could not be evaluated for {r.subject}: {r.message}"},
                    "associatedRule": {"id": r.check, "index": index[r.check]},
                }
            )
    notifications += [{"level": "error", "message": {"text": e}} for e in report.errors]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mlops-gate",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rid, checks.get(rid), first[rid]) for rid in rule_ids],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not notifications,
                "toolExecutionNotifications": notifications,
            }
        ],
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The root of the repository checked."}}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "verdict": report.verdict.value,
            "failOn": report.fail_on.value,
            "target": {k: report.target[k] for k in sorted(report.target)},
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rule(rid: str, spec: CheckSpec | None, example: Result) -> dict[str, Any]:
    title = spec.title if spec else example.title
    doc = spec.doc if spec else title
    severity = spec.severity if spec else example.severity
    docs = spec.docs_url if spec else example.docs
    rule: dict[str, Any] = {
        "id": rid,
        "name": "".join(part.capitalize() for part in re.split(r"[.\-]", rid)),
        "shortDescription": {"text": title},
        "fullDescription": {"text": doc.split("\n\n", 1)[0]},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "tags": ["mlops", example.area],
            "precision": "very-high",
            "security-severity": SECURITY_SEVERITY[severity],
        },
    }
    if docs:
        rule["helpUri"] = docs
    return rule


def _result(r: Result, v: Violation, level: str, rule_index: int, fp: str) -> dict[str, Any]:
    text = v.message if r.status is not Status.ERROR else f"could not evaluate: {v.message}"
    location: dict[str, Any] = {
        "logicalLocations": [{"fullyQualifiedName": r.subject, "kind": "resource"}],
    }
    loc = v.location
    if loc is not None:
        if _URL.match(loc.path):
            artifact = {"uri": loc.path}
        else:
            artifact = {"uri": quote(loc.path.replace("\\", "/").lstrip("/")), "uriBaseId": SRCROOT}
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if loc.line and loc.line > 0:
            physical["region"] = {"startLine": loc.line}
        location["physicalLocation"] = physical
    else:
        text = f"{text} ({r.subject})"
    out: dict[str, Any] = {
        "ruleId": r.check,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": level,
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fp},
        "properties": {"subject": r.subject, "severity": r.severity.value, "status": r.status.value},
    }
    if r.docs:
        out["properties"]["docs"] = r.docs
    if r.waiver is not None:
        w = r.waiver
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{w.reason} (owner {w.owner}, expires {w.expires})",
                "properties": {"owner": w.owner, "expires": str(w.expires), "subject": w.subject},
            }
        ]
    return out


def _capped(severity: Severity) -> str:
    # below fail_on the finding does not block, so it never shows as an error
    return "warning" if LEVEL[severity] == "error" else LEVEL[severity]
