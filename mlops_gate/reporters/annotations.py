"""CI annotations: GitHub Actions workflow commands and Azure Pipelines `##vso` logging commands.

One annotation per violation of a failed result (or one with the result's message when it has no
violations), one per result in error. Blocking failures and errors are errors; failures below fail_on
are warnings. Waived results are GitHub notices (an accepted risk stays visible, quietly); Azure has no
notice level, so they are left out there. Gate-level errors (a plug-in that could not be loaded) come
after the results, as errors without a file. Most important first: GitHub shows only the first few
annotations of each level per step.

Everything that comes from data is escaped, so a message cannot end the command or start another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import Location, Report, Result, Status, Violation

_GH_DATA = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_GH_PROPERTY = (*_GH_DATA, (":", "%3A"), (",", "%2C"))
# Azure decodes these in properties and in the message alike; `%` first, so nothing is encoded twice.
_AZ_ESCAPES = (("%", "%AZP25"), (";", "%3B"), ("]", "%5D"), ("\r", "%0D"), ("\n", "%0A"))


def github(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    lines = []
    for level, r, v in _annotations(report):
        props = []
        loc = _file(v.location)
        if loc is not None:
            props.append(f"file={_escape(loc.path, _GH_PROPERTY)}")
            if loc.line:
                props.append(f"line={loc.line}")
        props.append(f"title={_escape(r.check, _GH_PROPERTY)}")
        lines.append(f"::{level} {','.join(props)}::{_escape(_message(r, v), _GH_DATA)}")
    lines += [f"::error title=mlops-gate::{_escape(e, _GH_DATA)}" for e in report.errors]
    return "".join(line + "\n" for line in lines)


def azure(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    # No `##vso[task.complete result=...]` line: the exit code alone decides the step's result, the
    # same for every format (DESIGN §2), and a task.complete printed by a report written to stdout
    # could mark a step Succeeded that the exit code then fails, or the other way round.
    lines = []
    for level, r, v in _annotations(report):
        if level == "notice":
            continue
        props = [f"type={level}"]
        loc = _file(v.location)
        if loc is not None:
            props.append(f"sourcepath={_escape(loc.path, _AZ_ESCAPES)}")
            if loc.line:
                props.append(f"linenumber={loc.line}")
        props.append(f"code={_escape(r.check, _AZ_ESCAPES)}")
        lines.append(f"##vso[task.logissue {';'.join(props)}]{_escape(_message(r, v), _AZ_ESCAPES)}")
    lines += [f"##vso[task.logissue type=error;code=mlops-gate]{_escape(e, _AZ_ESCAPES)}" for e in report.errors]
    return "".join(line + "\n" for line in lines)


def _annotations(report: Report) -> Iterator[tuple[str, Result, Violation]]:
    blocking = {id(r) for r in report.blocking()}
    order = {"error": 0, "warning": 1, "notice": 2}
    items: list[tuple[str, Result, Violation]] = []
    for r in report.results:
        if r.status is Status.PASSED:
            continue
        if r.status is Status.ERROR:
            level = "error"
        elif r.status is Status.WAIVED:
            level = "notice"
        else:
            level = "error" if id(r) in blocking else "warning"
        violations = r.violations if r.status is not Status.ERROR else ()
        if r.status is Status.WAIVED:  # one notice per waived result, at its first file if it has one
            located = [v for v in violations if _file(v.location)]
            violations = (Violation(r.message, located[0].location if located else None),)
        for v in violations or (Violation(r.message),):
            items.append((level, r, v))
    items.sort(key=lambda item: order[item[0]])  # stable: report order within a level
    yield from items


def _message(r: Result, v: Violation) -> str:
    if r.status is Status.ERROR:
        text = f"could not evaluate {r.subject}: {v.message}"
    elif r.status is Status.WAIVED and r.waiver is not None:
        w = r.waiver
        text = f"{r.subject}: {v.message}\nwaived by {w.owner} until {w.expires}: {w.reason}"
    else:
        text = f"{r.subject}: {v.message} [{r.severity.value}]"
    if v.location is not None and _file(v.location) is None:
        text += f"\nat {v.location.path}" + (f" line {v.location.line}" if v.location.line else "")
    if r.docs:
        text += f"\n{r.docs}"
    return text


def _file(loc: Location | None) -> Location | None:
    """A repository file; a URL cannot be annotated, so it goes into the message instead."""
    if loc is None or "://" in loc.path:
        return None
    return loc


def _escape(value: str, table: tuple[tuple[str, str], ...]) -> str:
    for char, code in table:
        value = value.replace(char, code)
    return value
