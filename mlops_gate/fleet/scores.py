"""What the scorecards show, computed once from a fleet report: each repository's state per toolbelt area, the
fleet's pass rate per check, and the change since a previous report. The renderers only format this."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AREA_ORDER = ("vcs", "ci", "cd", "orchestration", "registry", "image", "release", "monitoring", "policy")
WORST = ("failed", "error", "waived", "passed")  # an area shows its worst result


@dataclass(frozen=True)
class Row:
    """One repository's line of the scorecard: its verdict, its worst result per area, its verdict in --compare."""

    name: str
    url: str
    status: str  # judged | not_judged | excluded
    verdict: str  # pass | fail | error | not judged | excluded
    reason: str
    areas: dict[str, str]  # area -> failed | error | waived | passed | "" (not run)
    results: tuple[Mapping[str, Any], ...]
    counted: int
    notes: tuple[str, ...]
    previous: str | None  # the verdict in the --compare report (None: not in it)


@dataclass(frozen=True)
class CheckRate:
    """One check's pass rate over the judged repositories, now and in the --compare report."""

    check: str
    title: str
    area: str
    passed: int
    total: int
    previous: float | None  # pass rate in the --compare report

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass(frozen=True)
class Scores:
    """What the scorecards show: a row per repository, the areas seen (in order), each check's pass rate, and how
    many repositories passed in the --compare report."""

    rows: tuple[Row, ...]
    areas: tuple[str, ...]
    rates: tuple[CheckRate, ...]
    previous_pass: int | None


def _per_check(repo: Mapping[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for r in repo.get("results") or ():
        ok = r["status"] in ("passed", "waived")
        out[r["check"]] = out.get(r["check"], True) and ok
    return out


def _rates(report: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for repo in report.get("repositories") or ():
        if repo.get("status") != "judged":
            continue
        for check, ok in _per_check(repo).items():
            p, t = counts.get(check, (0, 0))
            counts[check] = (p + ok, t + 1)
    return counts


def verdict_of(repo: Mapping[str, Any]) -> str:
    if repo.get("status") == "not_judged":
        return "not judged"
    if repo.get("status") == "excluded":
        return "excluded"
    return str(repo.get("verdict") or "error")


def compute(report: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> Scores:
    before = {str(r["name"]).casefold(): verdict_of(r) for r in (previous or {}).get("repositories") or ()}
    seen_areas = {str(r["area"]) for repo in report["repositories"] for r in repo.get("results") or ()}
    seen_areas |= {str(c["area"]) for c in report.get("checks", {}).values()}
    areas = tuple([a for a in AREA_ORDER if a in seen_areas] + sorted(seen_areas - set(AREA_ORDER)))
    rows = []
    for repo in report["repositories"]:
        cells: dict[str, str] = {}
        for r in repo.get("results") or ():
            now = cells.get(r["area"])
            if now is None or WORST.index(r["status"]) < WORST.index(now):
                cells[r["area"]] = r["status"]
        rows.append(
            Row(
                name=str(repo["name"]),
                url=str(repo.get("url") or ""),
                status=str(repo["status"]),
                verdict=verdict_of(repo),
                reason=str(repo.get("reason") or ""),
                areas={a: cells.get(a, "") for a in areas},
                results=tuple(repo.get("results") or ()),
                counted=int((repo.get("requests") or {}).get("counted", 0)),
                notes=tuple((repo.get("policy") or {}).get("notes") or ()),
                previous=before.get(str(repo["name"]).casefold()) if previous is not None else None,
            )
        )
    now_rates, old_rates = _rates(report), _rates(previous) if previous is not None else {}
    rates = []
    for check, info in sorted(report.get("checks", {}).items()):
        p, t = now_rates.get(check, (0, 0))
        op, ot = old_rates.get(check, (0, 0))
        rates.append(CheckRate(check, str(info["title"]), str(info["area"]), p, t, op / ot if ot else None))
    prev_pass = sum(1 for v in before.values() if v == "pass") if previous is not None else None
    return Scores(tuple(rows), areas, tuple(rates), prev_pass)


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def delta(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    points = (now - before) * 100
    return f"{points:+.0f} pts" if round(points) else "±0"
