"""The fleet report (JSON, `schema_version` 1, `kind: mlops-gate-fleet`): one shard's, or the merge of all.

Its verdict fails closed: `fail` when a repository's gate failed; else `error` when one could not be judged
(an error, the budget, a rate limit) or none was; `pass` only when every repository of the roster was judged
and passed. The exit code is the verdict's, as for `check` (0 pass, 1 fail, 3 error).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlops_gate import __version__
from mlops_gate.model import Verdict

SCHEMA_VERSION = 1
KIND = "mlops-gate-fleet"


def roster_digest(names: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(n.casefold() for n in names)).encode()).hexdigest()


def verdict(repos: Sequence[Mapping[str, Any]]) -> Verdict:
    judged = [r for r in repos if r["status"] != "excluded"]
    if any(r.get("verdict") == "fail" for r in judged):
        return Verdict.FAIL
    if not judged or any(r["status"] == "not_judged" or r.get("verdict") != "pass" for r in judged):
        return Verdict.ERROR
    return Verdict.PASS


def summary(repos: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    out = {"repositories": len(repos), "judged": 0, "not_judged": 0, "excluded": 0, "pass": 0, "fail": 0, "error": 0}
    for r in repos:
        out[r["status"]] += 1
        if r["status"] == "judged":
            out[str(r["verdict"])] += 1
    return out


def requests_total(repos: Sequence[Mapping[str, Any]], enumeration: Mapping[str, int]) -> dict[str, Any]:
    total = {
        k: sum(int(r.get("requests", {}).get(k, 0)) for r in repos) + int(enumeration.get(k, 0)) for k in enumeration
    }
    judged = [r for r in repos if r["status"] == "judged"]
    per_repo = round(sum(int(r["requests"]["counted"]) for r in judged) / len(judged), 2) if judged else None
    return {**total, "enumeration": dict(enumeration), "counted_per_judged_repository": per_repo}


def build(
    *,
    fleet: Mapping[str, Any],
    policy: Mapping[str, Any],
    shards: list[dict[str, int]],
    roster: Mapping[str, Any],
    excluded: Mapping[str, int],
    checks: Mapping[str, Any],
    repos: list[dict[str, Any]],
    enumeration: Mapping[str, int],
    budget: Mapping[str, Any],
    duration_s: float,
    generated_at: str,
) -> dict[str, Any]:
    repos = sorted(repos, key=lambda r: str(r["name"]).casefold())
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "tool": {"name": "mlops-gate", "version": __version__},
        "generated_at": generated_at,
        "fleet": dict(fleet),
        "policy": dict(policy),
        "shards": shards,
        "roster": dict(roster),
        "excluded": dict(excluded),
        "verdict": verdict(repos).value,
        "summary": summary(repos),
        "checks": dict(checks),
        "requests": requests_total(repos, enumeration),
        "budget": dict(budget),
        "repositories": repos,
        "duration_s": duration_s,
    }


def dumps(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n"
