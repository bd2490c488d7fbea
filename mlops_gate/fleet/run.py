"""A fleet run: enumerate, filter, take this shard's part, judge each repository in a bounded pool, report."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_gate.catalogue import catalogue
from mlops_gate.errors import FactError, GateError, UsageError
from mlops_gate.fleet import judge, platforms, report, select
from mlops_gate.fleet.cache import Cache
from mlops_gate.fleet.exchange import Budget, FleetExchange, RateLimits
from mlops_gate.policies import profile_path
from mlops_gate.policy import load
from mlops_gate.providers import Context, RunInputs, netpolicy
from mlops_gate.target import PLATFORMS, Target


class EnumerationError(GateError):
    exit_code = 3


@dataclass(frozen=True)
class FleetRequest:
    """What `mlops-gate fleet` is asked to do: whose repositories, the policy, filters and shard, and the limits."""

    platform: str
    owner: str  # GitHub organisation or user, GitLab group path, Azure DevOps ORG or ORG/PROJECT
    api_url: str | None = None
    policy: str | None = None
    filters: select.Filters = field(default_factory=select.Filters)
    shard: select.Shard = field(default_factory=lambda: select.Shard(1, 1))
    jobs: int = 8
    cache_dir: str | None = None
    budget: int | None = None
    max_wait_s: float = 60.0
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    image_registries: frozenset[str] = frozenset()
    files: bool = False
    archive_max_bytes: int = 100 << 20


def _policy_ref(given: str | None) -> str:
    ref = given or "default"
    path = Path(ref)
    if path.is_file():
        return str(path.resolve())
    if profile_path(ref) is not None:
        return ref
    raise UsageError(f"--policy {ref}: no policy file or built-in profile by that name")


def run(req: FleetRequest, env: Mapping[str, str]) -> dict[str, Any]:
    if req.platform not in PLATFORMS:
        raise UsageError(f"--platform {req.platform!r} is not one of {', '.join(PLATFORMS)}")
    netpolicy.limits(env)  # a bad MLOPS_GATE_HTTP_* value is a usage error before anything is read
    start = time.perf_counter()
    ref = _policy_ref(req.policy)
    fleet_policy = load(ref)
    cache = Cache(Path(req.cache_dir)) if req.cache_dir else None
    limits, budget = RateLimits(max_wait_s=req.max_wait_s), Budget(req.budget)
    api_url = req.api_url or fleet_policy.target.api_url

    def exchange() -> FleetExchange:
        return FleetExchange(cache, limits, budget)

    listing = exchange()
    ctx = Context(
        root=Path("."),
        target=Target(platform=req.platform, repository=req.owner, api_url=api_url),
        env=env,
        inputs=RunInputs(exchange=listing),
    )
    try:
        repos = platforms.LIST[req.platform](ctx, req.owner)
    except FactError as exc:
        raise EnumerationError(f"could not list the repositories of {req.owner}: {exc.message}", exc.hint) from None
    excluded: dict[str, int] = {}
    roster: list[platforms.Repo] = []
    for repo in repos:
        why = select.why_excluded(repo, req.filters)
        if why is None:
            roster.append(repo)
        else:
            excluded[why] = excluded.get(why, 0) + 1
    mine = select.in_shard(roster, req.shard)
    with tempfile.TemporaryDirectory(prefix="mlops-gate-fleet-") as root:
        setup = judge.Setup(
            ref,
            fleet_policy,
            env,
            api_url,
            Path(root),
            req.only,
            req.skip,
            req.image_registries,
            files=req.files,
            archive_max_bytes=req.archive_max_bytes,
        )

        def one(repo: platforms.Repo) -> dict[str, Any]:
            ex = exchange()
            if budget.exhausted:
                return judge.not_judged(repo, f"the request budget (--budget {budget.limit}) was spent before it", ex)
            if req.filters.language is not None:
                language = repo.language
                if repo.platform == "gitlab":
                    lctx = Context(root=Path(root), target=ctx.target, env=env, inputs=RunInputs(exchange=ex))
                    try:
                        language = platforms.gitlab_language(lctx, repo)
                    except FactError as exc:
                        return judge.not_judged(repo, ex.stopped or f"its language: {exc.message}", ex)
                if select.language_excluded(language, req.filters):
                    return {**judge.entry_head(repo), "status": "excluded", "verdict": None, "reason": "--language"}
            return judge.judge(repo, setup, ex)

        with ThreadPoolExecutor(max_workers=max(1, req.jobs)) as pool:
            entries = list(pool.map(one, mine))
    checks = {
        cid: {"title": spec.title, "area": spec.area, "severity": fleet_policy.checks[cid].severity.value}
        for cid, spec in catalogue().checks.items()
        if cid in judge.selected_checks(fleet_policy, setup)
    }
    c = listing.counter
    return report.build(
        fleet={"platform": req.platform, "owner": req.owner, "api_url": api_url},
        policy={"source": ref, "digest": fleet_policy.digest},
        shards=[{"index": req.shard.index, "count": req.shard.count}],
        roster={"count": len(roster), "digest": report.roster_digest(r.name for r in roster)},
        excluded=excluded,
        checks=checks,
        repos=entries,
        enumeration={"sent": c.sent, "counted": c.counted, "not_modified": c.not_modified},
        budget={
            "limit": budget.limit,
            "spent": budget.spent,
            "stopped": any(e["status"] == "not_judged" and "budget" in str(e.get("reason")) for e in entries),
            "rate_limit_wait_s": round(limits.waited_s, 3),
            "rate_limit_remaining": {h: s.remaining for h, s in sorted(limits.hosts.items())},
        },
        duration_s=round(time.perf_counter() - start, 3),
        generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    )
