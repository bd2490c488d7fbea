"""JUnit XML (Jenkins xunit `junit-10.xsd`): one test suite per toolbelt area, one test case per result.

classname is the check id, so Jenkins shows area > check; name is check id and subject, so GitLab's
test report (which shows the name) is readable too. failed -> <failure type=severity>, also below
fail_on: the finding is real, and the verdict is the exit code's business; error -> <error>;
waived -> <skipped> with owner, expiry and reason. Evidence goes to <system-out>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import Report, Result, Status
from mlops_gate.reporters.console import by_area, location_text

# characters XML 1.0 cannot carry at all, even escaped
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    blocking = {id(r) for r in report.blocking()}
    counts = report.counts()
    root = ET.Element(
        "testsuites",
        {
            "name": "mlops-gate",
            "tests": str(len(report.results) + len(report.errors)),
            "failures": str(counts[Status.FAILED.value]),
            "errors": str(counts[Status.ERROR.value] + len(report.errors)),
            "time": _time(report.duration_s),
        },
    )
    for area, results in by_area(report.results):
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _clean(area),
                "tests": str(len(results)),
                "failures": str(sum(r.status is Status.FAILED for r in results)),
                "errors": str(sum(r.status is Status.ERROR for r in results)),
                "skipped": str(sum(r.status is Status.WAIVED for r in results)),
                "package": "mlops-gate",
            },
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("fail_on", report.fail_on.value),
            ("verdict", report.verdict.value),
            ("tool_version", report.tool_version),
        ):
            ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
        for r in results:
            _testcase(suite, r, blocking=id(r) in blocking)
    if report.errors:  # gate-level problems (a plug-in that could not be loaded): the gate fails closed
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": "mlops-gate",
                "tests": str(len(report.errors)),
                "failures": "0",
                "errors": str(len(report.errors)),
            },
        )
        for n, error in enumerate(report.errors, 1):
            case = ET.SubElement(suite, "testcase", {"name": f"gate error {n}", "classname": "mlops-gate"})
            el = ET.SubElement(case, "error", {"message": _clean(error), "type": "gate-error"})
            el.text = _clean(error)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, r: Result, *, blocking: bool) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "name": _clean(f"{r.check} {r.subject}"),
            "classname": _clean(r.check),
            "time": "0",
        },
    )
    if r.status is Status.FAILED:
        note = "" if blocking else " (below fail_on: not blocking)"
        el = ET.SubElement(case, "failure", {"message": _clean(r.message + note), "type": r.severity.value})
        el.text = _clean(_details(r))
    elif r.status is Status.ERROR:
        el = ET.SubElement(case, "error", {"message": _clean(r.message), "type": "could-not-evaluate"})
        el.text = _clean(_details(r))
    elif r.status is Status.WAIVED and r.waiver is not None:
        w = r.waiver
        el = ET.SubElement(
            case, "skipped", {"message": _clean(f"waived by {w.owner} until {w.expires}: {w.reason}"), "type": "waived"}
        )
        el.text = _clean(_details(r))
    if r.evidence:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("evidence:\n" + "\n".join(f"- {e}" for e in r.evidence))


def _details(r: Result) -> str:
    lines = [f"{r.check} [{r.severity.value}] {r.subject}", r.message]
    for v in r.violations:
        where = location_text(v.location)
        lines.append(f"- {where}: {v.message}" if where else f"- {v.message}")
    if r.docs:
        lines.append(f"docs: {r.docs}")
    return "\n".join(lines)


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"
