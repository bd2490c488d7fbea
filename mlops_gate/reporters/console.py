"""The console report: a rich table grouped by toolbelt area, then waivers, then a one-line verdict.

rich is imported inside `render` so that `mlops-gate --version` and the other formats never pay for it.
`verdict_line` and `by_area` are shared with the Markdown reporter.
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

_STATUS_STYLE = {
    Status.PASSED: ("PASS", "green"),
    Status.FAILED: ("FAIL", "bold red"),
    Status.WAIVED: ("WAIVED", "yellow"),
    Status.ERROR: ("ERROR", "bold magenta"),
}
_VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.FAIL: "bold red", Verdict.ERROR: "bold magenta"}


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
    table = Table(title=_title(report), title_justify="left", expand=True)
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
            if r.status is Status.FAILED and id(r) not in blocking:
                label, style = "fail", "yellow"  # below fail_on: reported, not blocking
            check = Text(r.check, style="bold")
            check.append(f"\n{r.subject}", style="dim")
            table.add_row(Text(label, style=style), Text(r.severity.value), check, _message(r))
    if any(r.status is Status.FAILED and id(r) not in blocking for r in report.results):
        table.caption = f"FAIL blocks (at or above {report.fail_on.value}); fail is below it and does not"
        table.caption_justify = "left"
    if report.facts_file is not None:
        console.print(Text(facts_line(report), style="bold yellow"))
    if report.results:
        console.print(table)
    else:
        console.print(Text("No checks were run.", style="bold"))
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
    console.print(Text(summary_line(report)))
    console.print(Text(verdict_line(report), style=_VERDICT_STYLE[report.verdict]))
    return out.getvalue()


def by_area(results: Iterable[Result]) -> list[tuple[str, list[Result]]]:
    """Results grouped by toolbelt area, areas in toolbelt order, unknown (plugin) areas last by name."""
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.area, []).append(r)
    known = [a for a in AREAS if a in groups]
    others = sorted(a for a in groups if a not in AREAS)
    return [(a, groups[a]) for a in known + others]


def verdict_line(report: Report) -> str:
    ids = _distinct(r.check for r in report.results if r.status is Status.ERROR)
    problems = [f"{_plural(len(ids), 'check')} ended in error"] if ids else []
    problems += [_plural(len(report.errors), "gate error")] if report.errors else []
    if report.verdict is Verdict.FAIL:
        failed = _distinct(r.check for r in report.blocking())
        line = f"BLOCKED: {_plural(len(failed), 'check')} failed at or above {report.fail_on.value}"
        return line + "".join(f"; {p}" for p in problems)
    if report.verdict is Verdict.ERROR:
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        if shown:
            problems[0] += f" ({shown})"
        return f"COULD NOT EVALUATE: {'; '.join(problems)}; the gate fails closed"
    if not report.results:
        return "PASSED (no checks were selected)"
    below = sum(r.status is Status.FAILED for r in report.results)
    waived = sum(r.status is Status.WAIVED for r in report.results)
    extra = [f"{below} failed below {report.fail_on.value}"] if below else []
    extra += [f"{waived} waived"] if waived else []
    return "PASSED" + (f" ({', '.join(extra)})" if extra else "")


def facts_line(report: Report) -> str:
    """Said first when the facts were replayed: the verdict is about the facts in that file, not read now."""
    return f"Facts replayed from {report.facts_file}: nothing was read live for this report."


def summary_line(report: Report) -> str:
    counts = report.counts()
    parts = ", ".join(f"{counts[s.value]} {s.value}" for s in Status)
    return f"{_plural(len(report.results), 'result')}: {parts}; fail_on {report.fail_on.value}"


def location_text(loc: Location | None) -> str:
    if loc is None:
        return ""
    return f"{loc.path}:{loc.line}" if loc.line else loc.path


def _title(report: Report) -> str:
    target = ", ".join(f"{k} {v}" for k, v in sorted(report.target.items()) if v)
    return f"mlops-gate {report.tool_version}" + (f" — {target}" if target else "")


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
    if r.status is Status.ERROR and r.docs:
        text.append(f"\ndocs: {r.docs}", style="dim")
    return text


def _waiver_text(w: Waiver) -> str:
    return f"{w.check} [{w.subject}] owner {w.owner}, expires {w.expires}: {w.reason}"


def _distinct(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
