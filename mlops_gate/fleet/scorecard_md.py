"""The fleet scorecard in Markdown (a job summary, an issue): kept under GitHub's 1 MiB step-summary limit
by listing findings only for repositories that did not pass, and cutting the list when it grows too long."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_gate.fleet.scores import compute, delta, percent

MAX_BYTES = 900_000
MARK = {"passed": "✅", "waived": "☑️", "failed": "❌", "error": "⚠️", "": "·"}


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").split())


def render(report: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> str:
    s = compute(report, previous)
    summ = report["summary"]
    fleet = report["fleet"]
    lines = [
        f"# Fleet scorecard: {_cell(str(fleet['owner']))} ({fleet['platform']})",
        "",
        f"**Verdict: {report['verdict']}** · {summ['judged']} judged: {summ['pass']} pass, {summ['fail']} fail, "
        f"{summ['error']} error · {summ['not_judged']} not judged · {report['requests']['counted']} counted requests",
    ]
    if s.previous_pass is not None:
        lines.append(f"\nPassing repositories: {summ['pass']} (was {s.previous_pass}).")
    lines += [
        "",
        "## Pass rate per check",
        "",
        "| check | area | pass rate | passed / judged | change |",
        "|---|---|---|---|---|",
    ]
    for rate in s.rates:
        change = delta(rate.rate, rate.previous)
        lines.append(
            f"| `{rate.check}` | {rate.area} | {percent(rate.rate)} | {rate.passed} / {rate.total} | {change} |"
        )
    lines += ["", "## Repositories", "", "| repository | verdict | " + " | ".join(s.areas) + " |"]
    lines.append("|---|---|" + "---|" * len(s.areas))
    for row in s.rows:
        was = f" (was {row.previous})" if row.previous and row.previous != row.verdict else ""
        marks = " | ".join(MARK.get(row.areas[a], "?") for a in s.areas)
        lines.append(f"| {_cell(row.name)} | {row.verdict}{was} | {marks} |")
    lines += ["", "## Findings", ""]
    size = sum(len(line) + 1 for line in lines)
    for row in s.rows:
        if row.verdict == "pass" or row.status == "excluded":
            continue
        block = [f"### {_cell(row.name)} — {row.verdict}", ""]
        if row.reason:
            block.append(f"- {_cell(row.reason)}")
        for r in row.results:
            if r["status"] in ("failed", "error"):
                block.append(f"- {MARK[r['status']]} `{r['check']}` ({r['severity']}): {_cell(str(r['message']))}")
        block += [f"- note: {_cell(n)}" for n in row.notes]
        block.append("")
        cost = sum(len(line) + 1 for line in block)
        if size + cost > MAX_BYTES:
            lines.append("_The rest of the findings is in the JSON and HTML reports (the summary size limit)._")
            break
        lines += block
        size += cost
    return "\n".join(lines) + "\n"
