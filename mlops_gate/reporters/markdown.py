"""Markdown for GitHub's job summary (`$GITHUB_STEP_SUMMARY`), also fine in a merge-request note.

Order: verdict headline, counts, the results table (problems first, then passed), details of every
failed and errored result with its violations, waivers. GitHub rejects a step summary over 1 MiB,
so the table and the details get a byte budget and, when a report is larger, end with a note saying
how much was left out and where to find it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import Report, Result, Status, Verdict, Waiver
from mlops_gate.reporters.console import (
    AREAS,
    facts_line,
    location_text,
    not_run_lines,
    outcomes,
    summary_line,
    verdict_line,
)

LIMIT = 1024 * 1024  # GitHub's step-summary limit, in bytes
MARGIN = 16 * 1024  # for the headline, counts, waivers and truncation notes
CELL = 300  # characters per table cell at most
MAX_VIOLATIONS = 100  # per result in the details
MAX_WAIVERS = 50  # per list

_ICON = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.ERROR: "⚠️"}
_STATUS = {Status.PASSED: "✅ passed", Status.FAILED: "❌ failed", Status.WAIVED: "🟡 waived", Status.ERROR: "⚠️ error"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")
# what would start a list, a thematic break or a setext heading at the start of a line
_LEADING = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^()([-=+#])(?=[\s=#-]|$)")


def render(report: Report, checks: Mapping[str, CheckSpec], *, color: bool = False) -> str:
    blocking = {id(r) for r in report.blocking()}
    head = [f"## {_ICON[report.verdict]} mlops-gate: {text(verdict_line(report))}", ""]
    if report.facts_file is not None:
        head += [f"> **{text(facts_line(report))}**", ""]
    if report.target:
        sources = report.target_sources
        shown = [
            f"**{text(k)}** {text(str(v))}" + (f" ({text(sources[k])})" if sources.get(k) else "")
            for k, v in sorted(report.target.items())
        ]
        head += [" · ".join(shown), ""]
    if report.errors:
        head += [*(f"> **Gate error:** {text(e)}" for e in report.errors[:MAX_WAIVERS]), ""]
    seen = list(outcomes(report).values())
    numbers = " | ".join(str(seen.count(o)) for o in ("passed", "blocking", "failed", "waived", "error"))
    head += [
        "| checks | passed | failed, blocking | failed, not blocking | waived | could not evaluate | fail_on |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {len(seen)} | {numbers} | {report.fail_on.value} |",
        "",
    ]
    footer = f"{text(summary_line(report))} · mlops-gate {text(report.tool_version)}"
    footer += f" · {report.duration_s:.2f} s"
    off = [f"- {text(line)}" for line in not_run_lines(report)]
    tail = [*(["### Not run", "", *off, ""] if off else []), *_waivers(report), f"<sub>{footer}</sub>", ""]

    rows = [_row(r, id(r) in blocking) for r in _problems_first(report.results)]
    problems = [r for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    budget = LIMIT - MARGIN - _size(head) - _size(tail)
    # the details get what the table leaves, and at least half when both do not fit
    details = (_details(r, id(r) in blocking) for r in problems)
    kept_details, dropped_details = _fit(details, max(budget - _size(rows), budget // 2), len(problems))
    kept_rows, dropped_rows = _fit(rows, budget - _size(kept_details), len(rows))

    body = [
        "### Results",
        "",
        "| status | severity | check | subject | message |",
        "| --- | --- | --- | --- | --- |",
        *kept_rows,
    ]
    if dropped_rows:
        body += ["", _cut_note(dropped_rows, "table rows")]
    if problems:
        body += ["", "### Failures and errors", "", *kept_details]
        if dropped_details:
            body += [_cut_note(dropped_details, "failed or errored results")]
    return "\n".join([*head, *body, "", *tail])


def text(value: str, limit: int = 2000) -> str:
    """Inline Markdown: special characters escaped, line breaks kept as <br>, at most `limit` characters."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(_LEADING.sub(_escape_leading, _SPECIAL.sub(r"\\\1", line.lstrip())) for line in lines)


def _escape_leading(m: re.Match[str]) -> str:
    digits, mark = (m.group(1), m.group(2)) if m.group(2) else (m.group(3), m.group(4))
    return f"{digits}\\{mark}"


def _cell(value: str) -> str:
    return text(value, CELL)


def _row(r: Result, blocking: bool) -> str:
    status = _STATUS[r.status]
    if r.status is Status.FAILED:
        status = "❌ failed (blocking)" if blocking else "🟠 failed (not blocking)"
    message = r.message + (f" — waived by {r.waiver.owner} until {r.waiver.expires}" if r.waiver else "")
    return f"| {status} | {r.severity.value} | `{r.check}` | {_cell(r.subject)} | {_cell(message)} |"


def _details(r: Result, blocking: bool) -> str:
    label = "could not evaluate" if r.status is Status.ERROR else "blocking" if blocking else "not blocking"
    lines = [f"#### `{r.check}` — {text(r.subject)} ({r.severity.value}, {label})", "", text(r.message)]
    shown = [v for v in r.violations if v.location or v.message != r.message]
    if shown:
        lines.append("")
    for v in shown[:MAX_VIOLATIONS]:
        where = location_text(v.location)
        lines.append(f"- {text(where) + ': ' if where else ''}{text(v.message)}")
    if len(shown) > MAX_VIOLATIONS:
        lines.append(f"- … and {len(shown) - MAX_VIOLATIONS} more (see the JSON or SARIF report)")
    if r.evidence:
        lines += ["", "Evidence: " + "; ".join(text(e) for e in r.evidence)]
    if r.docs:
        lines += ["", f"[How to fix]({r.docs.replace(')', '%29').replace(' ', '%20')})"]
    return "\n".join([*lines, ""])


def _waivers(report: Report) -> list[str]:
    out: list[str] = []
    for heading, waivers in (
        ("Expired waivers (no longer applied)", report.waivers_expired),
        ("Unused waivers (matched no failed result)", report.waivers_unused),
    ):
        if waivers:
            out += [f"### {heading}", "", *(f"- {_waiver(w)}" for w in waivers[:MAX_WAIVERS])]
            if len(waivers) > MAX_WAIVERS:
                out.append(f"- … and {len(waivers) - MAX_WAIVERS} more (see the JSON report)")
            out.append("")
    return out


def _waiver(w: Waiver) -> str:
    return f"`{w.check}` {text(w.subject)}: owner {text(w.owner)}, expires {w.expires} — {text(w.reason)}"


def _problems_first(results: tuple[Result, ...]) -> list[Result]:
    rank = {Status.FAILED: 0, Status.ERROR: 1, Status.WAIVED: 2, Status.PASSED: 3}
    area = {a: i for i, a in enumerate(AREAS)}
    order = sorted(
        range(len(results)), key=lambda i: (rank[results[i].status], area.get(results[i].area, len(AREAS)), i)
    )
    return [results[i] for i in order]


def _fit(items: Iterable[str], budget: int, total: int) -> tuple[list[str], int]:
    """The leading items that fit in `budget` bytes, and how many of the `total` were left out.
    Items are consumed lazily: nothing past the budget is rendered."""
    kept: list[str] = []
    used = 0
    for item in items:
        used += len(item.encode("utf-8")) + 1
        if used > budget:
            break
        kept.append(item)
    return kept, total - len(kept)


def _size(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _cut_note(n: int, what: str) -> str:
    return (
        f"> **Truncated:** {n} more {what} not shown, to stay under GitHub's 1 MiB step-summary limit."
        " The JSON and SARIF reports have every result."
    )
