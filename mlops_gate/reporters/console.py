"""The console report: what is gated and where each value came from, a rich table grouped by toolbelt area, the
docs of what failed (one link a line, never wrapped), the checks that did not run (one line per area), waivers,
then the counts and a verdict sentence. Blocking is said in words, so it reads the same without colour.

rich is imported inside `render` so that `mlops-gate --version` and the other formats never pay for it.
`verdict_line`, `summary_line`, `not_run_lines` and `by_area` are shared with the Markdown reporter. Counts are
of checks (a check judging several subjects counts once, as its worst result), everywhere.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import Location, Report, Result, Status, Verdict, Waiver

if TYPE_CHECKING:
    from rich.text import Text

AREAS = ("vcs", "ci", "cd", "orchestration", "registry", "image", "release", "monitoring", "policy")
WIDTH = 120
MAX_VIOLATIONS = 20  # per result on the console; the other formats list every one
TARGET_ORDER = ("platform", "repository", "branch", "commit", "base_branch", "release", "model", "image")

_STATUS_STYLE = {
    Status.PASSED: ("PASS", "green"),
    Status.FAILED: ("FAIL", "bold red"),
    Status.WAIVED: ("WAIVED", "yellow"),
    Status.ERROR: ("ERROR", "bold magenta"),
}
_VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.FAIL: "bold red", Verdict.ERROR: "bold magenta"}
# a check's outcome is its worst result's
OUTCOMES = ("blocking", "failed", "error", "waived", "passed")


def render(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False, width: int = WIDTH) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=color,
        no_color=not color,
        width=width,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    blocking = {id(r) for r in report.blocking()}
    if report.facts_file is not None:
        console.print(Text(facts_line(report), style="bold yellow"))
    _header(console, report)
    table = Table(expand=True)
    table.add_column("status", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("check / subject", overflow="fold", max_width=40)
    table.add_column("message", overflow="fold", ratio=1)
    for n, (area, results) in enumerate(by_area(report.results)):
        if n:
            table.add_section()
        table.add_row("", "", Text(area.upper(), style="bold cyan"), "")
        for r in results:
            label, style = _STATUS_STYLE[r.status]
            status = Text(label, style=style)
            if r.status is Status.FAILED:
                status = Text.assemble(
                    (label, style), "\n", ("blocking", style) if id(r) in blocking else "not blocking"
                )
            check = Text(r.check, style="bold")
            check.append(f"\n{r.subject}", style="dim")
            table.add_row(status, Text(r.severity.value), check, _message(r))
    if report.results:
        console.print(table)
        if any(r.status is Status.FAILED and id(r) not in blocking for r in report.results):
            console.print(Text(f"A failure blocks when its severity is {report.fail_on.value} or above (fail_on)."))
    else:
        console.print(Text("No checks were run.", style="bold"))
    docs = _docs(report)
    if docs:
        console.print(Text("How to fix (documentation of this version):", style="bold"))
        pad = max(len(c) for c, _ in docs)
        for check_id, url in docs:  # soft_wrap: a link is never broken across lines
            console.print(Text(f"  {check_id:<{pad}}  ", style="bold").append(url), soft_wrap=True)
    lines = not_run_lines(report)
    if lines:
        console.print(Text("Not run:", style="bold"))
        for line in lines:
            console.print(Text(f"  {line}"), soft_wrap=True)
    for heading, waivers in (
        ("Expired waivers (no longer applied)", report.waivers_expired),
        ("Unused waivers (matched no failed result)", report.waivers_unused),
    ):
        if waivers:
            console.print(Text(f"{heading}:", style="bold yellow"))
            for w in waivers:
                console.print(Text(f"  - {_waiver_text(w)}"))
    for error in report.errors:
        console.print(Text(f"error: {error}", style="bold magenta"))
    console.print(Text(summary_line(report)), soft_wrap=True)  # sentences: the terminal wraps them
    console.print(Text(verdict_line(report), style=_VERDICT_STYLE[report.verdict]), soft_wrap=True)
    return out.getvalue()


def _header(console: object, report: Report) -> None:
    """The version, the policy, and each target value with where it came from (flag, MLOPS_GATE_*, policy, CI,
    checkout): one line each, never wrapped."""
    from rich.text import Text

    top = Text(f"mlops-gate {report.tool_version}", style="bold")
    if report.policy:
        top.append(f"  ·  policy {report.policy}  ·  fail_on {report.fail_on.value}")
    console.print(top, soft_wrap=True)  # type: ignore[attr-defined]
    names = [n for n in TARGET_ORDER if report.target.get(n)]
    names += sorted(n for n in report.target if n not in TARGET_ORDER and report.target[n])
    if not names:
        return
    width = max(len(n) for n in names)
    values = {n: str(report.target[n]) for n in names}
    value_width = max(len(v) for v in values.values())
    for name in names:
        line = Text(f"{name:<{width}}  ", style="dim").append(values[name])
        source = report.target_sources.get(name)
        if source:
            line.append(" " * (value_width - len(values[name]) + 2)).append(f"({source})", style="dim")
        console.print(line, soft_wrap=True)  # type: ignore[attr-defined]


def by_area(results: Iterable[Result]) -> list[tuple[str, list[Result]]]:
    """Results grouped by toolbelt area, areas in toolbelt order, unknown (plugin) areas last by name."""
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.area, []).append(r)
    known = [a for a in AREAS if a in groups]
    others = sorted(a for a in groups if a not in AREAS)
    return [(a, groups[a]) for a in known + others]


def outcomes(report: Report) -> dict[str, str]:
    """check id -> its outcome (the worst of its results): blocking, failed (below fail_on), error, waived,
    passed."""
    blocking = {id(r) for r in report.blocking()}
    out: dict[str, str] = {}
    for r in report.results:
        if r.status is Status.FAILED:
            this = "blocking" if id(r) in blocking else "failed"
        else:
            this = {Status.ERROR: "error", Status.WAIVED: "waived"}.get(r.status, "passed")
        if r.check not in out or OUTCOMES.index(this) < OUTCOMES.index(out[r.check]):
            out[r.check] = this
    return out


def verdict_line(report: Report) -> str:
    """The verdict as one sentence, in words: what blocks, what could not be evaluated, the exit code."""
    seen = outcomes(report)
    total = len(seen)
    errors = [c for c, o in seen.items() if o == "error"]
    gate = [_plural(len(report.errors), "gate error")] if report.errors else []
    if report.verdict is Verdict.FAIL:
        failed = sum(1 for o in seen.values() if o == "blocking")
        line = f"BLOCKED: {failed} of {_plural(total, 'check')} failed at or above {report.fail_on.value}"
        extra = ([f"{_plural(len(errors), 'check')} could not be evaluated"] if errors else []) + gate
        return line + "".join(f"; {p}" for p in extra) + " (exit 1)"
    if report.verdict is Verdict.ERROR:
        shown = ", ".join(errors[:3]) + (f" and {len(errors) - 3} more" if len(errors) > 3 else "")
        problems = [f"{len(errors)} of {_plural(total, 'check')} could not be evaluated ({shown})"] if errors else []
        return f"COULD NOT EVALUATE: {'; '.join(problems + gate)}; the gate fails closed (exit 3)"
    if not report.results:
        return "PASSED (no checks were selected)"
    below = sum(1 for o in seen.values() if o == "failed")
    waived = sum(1 for o in seen.values() if o == "waived")
    extra = [f"{below} failed below {report.fail_on.value}, which does not block"] if below else []
    extra += [f"{waived} waived"] if waived else []
    return f"PASSED: {_plural(total, 'check')}, none failed at or above {report.fail_on.value}" + (
        f" ({'; '.join(extra)})" if extra else ""
    )


def facts_line(report: Report) -> str:
    """Said first when the facts were replayed: the verdict is about the facts in that file, not read now."""
    return f"Facts replayed from {report.facts_file}: nothing was read live for this report."


def summary_line(report: Report) -> str:
    seen = outcomes(report)
    counts = {o: sum(1 for v in seen.values() if v == o) for o in OUTCOMES}
    words = {
        "passed": "passed",
        "blocking": "failed and block",
        "failed": f"failed below {report.fail_on.value}",
        "waived": "waived",
        "error": "could not be evaluated",
    }
    parts = [f"{counts[o]} {words[o]}" for o in ("passed", "blocking", "failed", "waived", "error") if counts[o]]
    off = len(report.not_run)
    tail = f"; {off} not run" if off else ""
    return f"{_plural(len(seen), 'check')} ran: {', '.join(parts) or 'none'}{tail}; fail_on {report.fail_on.value}"


def not_run_lines(report: Report) -> list[str]:
    """One line per area: which of its checks did not run, why, and how to turn them on."""
    lines = []
    listed = [n for n in report.not_run if n.why != "not selected"]
    for area, _ in by_area_names({n.area: None for n in listed}):
        parts = []
        mine = [n for n in listed if n.area == area]
        for why in ("disabled", "skipped"):
            group = [n for n in mine if n.why == why]
            if not group:
                continue
            names = ", ".join(n.check.split(".", 1)[1] for n in group)
            count = _plural(len(group), "check")
            if why == "disabled":
                where = sorted({n.by for n in group if n.by})
                origin = f" in {' and '.join(_profile(w) for w in where)}" if where else ""
                needs = sorted({f for n in group for f in n.needs if not report.target.get(f)})
                need = (
                    f"; {'it needs' if len(group) == 1 else 'they need'} {', '.join(map(_flag, needs))}"
                    if needs
                    else ""
                )
                how = f"checks: {{{group[0].check}: {{enabled: true}}}}" + (", ..." if len(group) > 1 else "")
                parts.append(f"{count} off{origin} ({names}); turn on in your policy with {how}{need}")
            else:
                parts.append(f"{count} skipped by --skip ({names})")
        lines.append(f"{area}: {'; '.join(parts)}")
    others = len(report.not_run) - len(listed)
    if others:  # --only names what runs: the rest is one line, not a list
        lines.append(f"{_plural(others, 'other check')} not selected by --only")
    return lines


def by_area_names(groups: Mapping[str, object]) -> list[tuple[str, object]]:
    known = [a for a in AREAS if a in groups]
    return [(a, groups[a]) for a in known + sorted(a for a in groups if a not in AREAS)]


def _profile(label: str) -> str:
    return f"the {label[len('builtin:') :]} profile" if label.startswith("builtin:") else label


def _flag(field: str) -> str:
    return f"--{field.replace('_', '-')}" if field != "release" else "--release (audit)"


def location_text(loc: Location | None) -> str:
    if loc is None:
        return ""
    return f"{loc.path}:{loc.line}" if loc.line else loc.path


def _docs(report: Report) -> list[tuple[str, str]]:
    """Each check that failed or could not be evaluated, with its documentation (once each)."""
    found: dict[str, str] = {}
    for r in report.results:
        if r.status in (Status.FAILED, Status.ERROR) and r.docs:
            found.setdefault(r.check, r.docs)
    return list(found.items())


def _message(r: Result) -> Text:
    from rich.text import Text

    text = Text(r.message)
    if r.status in (Status.FAILED, Status.WAIVED):
        shown = [v for v in r.violations if v.location or v.message != r.message]
        for v in shown[:MAX_VIOLATIONS]:
            where = location_text(v.location)
            text.append(f"\n• {where + ': ' if where else ''}{v.message}", style="dim" if r.waiver else "")
        if len(shown) > MAX_VIOLATIONS:
            text.append(f"\n… and {len(shown) - MAX_VIOLATIONS} more (see the JSON report)")
    if r.waiver is not None:
        w = r.waiver
        text.append(f"\nwaived by {w.owner} until {w.expires}: {w.reason}", style="yellow")
    return text


def _waiver_text(w: Waiver) -> str:
    return f"{w.check} [{w.subject}] owner {w.owner}, expires {w.expires}: {w.reason}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
