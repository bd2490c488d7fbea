"""`mlops-gate merge`: shard reports into one fleet report.

Refused (nothing written): a file that is not a fleet report (exit 2), two reports of the same shard (exit 2:
the inputs given are wrong), shards of different fleets, policies or shard counts (exit 2); a missing shard,
shards that listed different repositories, or a roster repository no shard reports (exit 3: the fleet could
not be evaluated as a whole). A repository reported by two shards is refused too (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops_gate.errors import GateError, UsageError
from mlops_gate.fleet import report

MAX_REPORT_BYTES = 256 << 20


class Incomplete(GateError):
    exit_code = 3


def read(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise UsageError(f"{path}: larger than {MAX_REPORT_BYTES >> 20} MiB")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != report.KIND:
        raise UsageError(f"{path}: not a fleet report (written by `mlops-gate fleet --output json=...`)")
    if data.get("schema_version") != report.SCHEMA_VERSION:
        raise UsageError(f"{path}: fleet report schema_version {data.get('schema_version')!r}, this version reads 1")
    return data


def merge(paths: list[str]) -> dict[str, Any]:
    if not paths:
        raise UsageError(
            "merge needs the shard reports", "e.g. mlops-gate merge shards/*.json --output html=fleet.html"
        )
    reports = [(p, read(p)) for p in paths]
    first_path, first = reports[0]
    same = ("fleet", "policy")
    count = _shard_count(first_path, first)
    by_index: dict[int, str] = {}
    for path, data in reports:
        for key in same:
            if data.get(key) != first.get(key):
                raise UsageError(f"{path}: another {key} than {first_path}: {data.get(key)} vs {first.get(key)}")
        if _shard_count(path, data) != count:
            raise UsageError(f"{path}: shards of {_shard_count(path, data)}, {first_path} of {count}")
        for shard in data["shards"]:
            index = int(shard["index"])
            if index in by_index:
                raise UsageError(
                    f"shard {index}/{count} given twice: {by_index[index]} and {path}", "give each shard's report once"
                )
            by_index[index] = path
    missing = sorted(set(range(1, count + 1)) - set(by_index))
    if missing:
        raise Incomplete(
            f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing: the fleet report would leave their "
            "repositories out",
            "run the missing shards (or pass their reports) before merging",
        )
    rosters = {json.dumps(d["roster"], sort_keys=True) for _, d in reports}
    if len(rosters) != 1:
        raise Incomplete(
            "the shards listed different repositories (the organisation changed between them)",
            "run every shard again from the same listing",
        )
    repos: dict[str, dict[str, Any]] = {}
    for path, data in reports:
        for repo in data["repositories"]:
            key = str(repo["name"]).casefold()
            if key in repos:
                raise UsageError(f"{repo['name']} is reported by two shards (the second in {path})")
            repos[key] = repo
    roster = first["roster"]
    if len(repos) != int(roster["count"]) or report.roster_digest(repos) != roster["digest"]:
        raise Incomplete(
            f"the shards report {len(repos)} repositories, the roster has {roster['count']}",
            "run every shard of the same fleet run again",
        )
    enumeration = {
        k: sum(int(d["requests"]["enumeration"].get(k, 0)) for _, d in reports)
        for k in first["requests"]["enumeration"]
    }
    limits = [d["budget"]["limit"] for _, d in reports]
    return report.build(
        fleet=first["fleet"],
        policy=first["policy"],
        shards=sorted((s for _, d in reports for s in d["shards"]), key=lambda s: int(s["index"])),
        roster=roster,
        excluded=first["excluded"],
        checks={k: v for _, d in reports for k, v in d["checks"].items()},
        repos=list(repos.values()),
        enumeration=enumeration,
        budget={
            "limit": None if None in limits else sum(limits),
            "spent": sum(int(d["budget"]["spent"]) for _, d in reports),
            "stopped": any(d["budget"]["stopped"] for _, d in reports),
            "rate_limit_wait_s": sum(float(d["budget"].get("rate_limit_wait_s", 0)) for _, d in reports),
        },
        duration_s=max(float(d["duration_s"]) for _, d in reports),
        generated_at=max(str(d["generated_at"]) for _, d in reports),
    )


def _shard_count(path: str, data: dict[str, Any]) -> int:
    shards = data.get("shards")
    if not isinstance(shards, list) or not shards:
        raise UsageError(f"{path}: no shards recorded")
    counts = {int(s["count"]) for s in shards}
    if len(counts) != 1:
        raise UsageError(f"{path}: inconsistent shard counts")
    return counts.pop()
