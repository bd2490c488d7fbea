"""The fleet's parts on their own: shards, filters, the request budget, rate limits, the cache, and a
repository's policy over the fleet's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from mlops_gate.errors import PolicyError, UsageError
from mlops_gate.fleet import overrides, select
from mlops_gate.fleet.cache import Cache, Entry
from mlops_gate.fleet.exchange import Budget, FleetExchange, RateLimits, Stopped
from mlops_gate.fleet.platforms import Repo
from mlops_gate.policy import load
from tests.support.replay import ReplayServer


def repo(name: str, **kw: Any) -> Repo:
    return Repo("github", name, "main", **kw)


def test_shards_are_stable_when_repositories_are_added() -> None:
    before = [repo(f"acme/r{i}") for i in range(500)]
    after = before + [repo(f"acme/new-{i}") for i in range(100)]
    for n in (1, 4, 16):
        parts = [select.in_shard(before, select.Shard(k, n)) for k in range(1, n + 1)]
        assert sorted(r.name for p in parts for r in p) == sorted(r.name for r in before)  # each exactly once
        later = [select.in_shard(after, select.Shard(k, n)) for k in range(1, n + 1)]
        for k in range(n):
            assert {r.name for r in later[k]} & {r.name for r in before} == {r.name for r in parts[k]}
    sizes = [len(select.in_shard(before, select.Shard(k, 4))) for k in range(1, 5)]
    assert min(sizes) > 90  # spread, not all in one
    assert select.shard_of("Acme/R1", 7) == select.shard_of("acme/r1", 7)


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "1/100000"])
def test_bad_shards(text: str) -> None:
    with pytest.raises(UsageError, match="is not K/N"):
        select.parse_shard(text)


def test_filters(tmp_path: Path) -> None:
    f = select.Filters()
    assert select.why_excluded(repo("a/x", archived=True), f) == "archived"
    assert select.why_excluded(repo("a/x", fork=True), f) == "fork"
    assert select.why_excluded(repo("a/x", fork=True), select.Filters(forks=True)) is None
    assert select.why_excluded(repo("a/ml-x"), select.Filters(include=("ml-*",))) is None
    assert select.why_excluded(repo("a/web"), select.Filters(include=("ml-*",))) == "not matched by --include"
    assert select.why_excluded(repo("a/ml-x"), select.Filters(exclude=("a/ml-*",))) == "matched by --exclude"
    assert select.why_excluded(repo("a/x", topics=("ml",)), select.Filters(topics=("ml", "ai"))) is None
    assert select.why_excluded(repo("a/x"), select.Filters(topics=("ml",))) == "no --topic"
    assert select.language_excluded("Go", select.Filters(language="python"))
    assert not select.language_excluded("Python", select.Filters(language="python"))
    listed = tmp_path / "list.txt"
    listed.write_text("A/X  # ours\n\n# comment\n")
    assert select.why_excluded(repo("a/x"), select.Filters(listed=select.read_list(str(listed)))) is None
    assert (
        select.why_excluded(repo("a/y"), select.Filters(listed=select.read_list(str(listed)))) == "not in --repos-file"
    )


def test_the_budget_never_overspends() -> None:
    budget = Budget(3)
    assert [budget.take() for _ in range(5)] == [True, True, True, False, False]
    budget.give_back()  # a 304 costs nothing
    assert budget.take() and budget.exhausted and budget.refused == 2
    assert Budget(None).take()


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_rate_limits_are_waited_for_or_refused() -> None:
    clock = Clock()
    limits = RateLimits(max_wait_s=60, sleep=clock.sleep, now=clock.now)
    limits.record("api.github.com", 200, {"x-ratelimit-remaining": "10", "x-ratelimit-reset": str(clock.t + 30)}, b"")
    limits.wait_for("api.github.com")
    assert clock.slept == []
    limits.record("api.github.com", 200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(clock.t + 30)}, b"")
    limits.wait_for("api.github.com")
    assert clock.slept == [30] and limits.waited_s == 30
    limits.wait_for("gitlab.example")  # another host is not held back
    limits.record("gitlab.example", 200, {"ratelimit-remaining": "0", "ratelimit-reset": str(clock.t + 600)}, b"")
    with pytest.raises(Stopped, match=r"rate limit of gitlab\.example is spent for another 600 s"):
        limits.wait_for("gitlab.example")


def test_a_secondary_limit_is_backed_off() -> None:
    clock = Clock()
    limits = RateLimits(max_wait_s=120, sleep=clock.sleep, now=clock.now)
    body = b'{"message": "You have exceeded a secondary rate limit"}'
    limits.record("api.github.com", 403, {"x-ratelimit-remaining": "4000"}, body)
    limits.wait_for("api.github.com")
    assert clock.slept == [60]  # GitHub: wait at least a minute when no Retry-After is given
    limits.record("api.github.com", 429, {"retry-after": "7"}, b"")
    limits.wait_for("api.github.com")
    assert clock.slept == [60, 7]


def _session(exchange: FleetExchange, token: str = "tok") -> requests.Session:
    from mlops_gate.providers import Context, RunInputs, http
    from mlops_gate.target import Target

    ctx = Context(root=Path("."), target=Target(), env={}, inputs=RunInputs(exchange=exchange))
    s = http.session(ctx)
    s.headers["Authorization"] = f"token {token}"
    return s


def test_conditional_requests_through_the_transport(tmp_path: Path) -> None:
    server = ReplayServer(etags=True).start()
    try:
        server.add("GET", "/x", 200, {"n": 1}, headers={"X-RateLimit-Remaining": "99"})
        cache, limits, budget = Cache(tmp_path / "c"), RateLimits(), Budget()
        first = FleetExchange(cache, limits, budget)
        assert _session(first).get(server.url + "/x").json() == {"n": 1}
        second = FleetExchange(cache, limits, budget)
        reply = _session(second).get(server.url + "/x")
        assert reply.status_code == 200 and reply.json() == {"n": 1}  # the cached body for the 304
        assert server.seen[-1].headers.get("If-None-Match")
        assert (second.counter.sent, second.counter.not_modified, second.counter.counted) == (1, 1, 0)
        assert budget.spent == 1 and limits.hosts["127.0.0.1"].remaining == 99
        other = FleetExchange(cache, limits, budget)  # another token: never served this token's entry
        _session(other, token="someone-else").get(server.url + "/x")
        assert "If-None-Match" not in server.seen[-1].headers and other.counter.counted == 1
        assert not any(b"tok" in p.read_bytes() for p in (tmp_path / "c").rglob("*.json"))
    finally:
        server.stop()


def test_the_budget_refuses_before_sending(tmp_path: Path) -> None:
    server = ReplayServer().start()
    try:
        server.add("GET", "/x", 200, {})
        exchange = FleetExchange(None, RateLimits(), Budget(1))
        s = _session(exchange)
        s.get(server.url + "/x")
        with pytest.raises(Stopped, match="budget"):
            s.get(server.url + "/x")
        assert len(server.seen) == 1 and exchange.stopped
    finally:
        server.stop()


def test_cache_entries_are_bound_to_the_credential(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    entry = Entry('"e1"', 200, {"Content-Type": "application/json", "Set-Cookie": "s=1"}, b"{}")
    cache.put("GET", "https://h/x", b"authorization:token a", entry)
    found = cache.get("GET", "https://h/x", b"authorization:token a")
    assert found is not None and "Set-Cookie" not in found.headers
    assert cache.get("GET", "https://h/x", b"authorization:token b") is None
    path = next(tmp_path.rglob("*.json"))
    data = json.loads(path.read_text())
    data["etag"] = '"forged"'
    path.write_text(json.dumps(data))
    assert cache.get("GET", "https://h/x", b"authorization:token a") is None
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError):
        Cache(tmp_path / "file")


FLEET_YAML = "version: 1\nextends: default\nchecks:\n  vcs.reviews-required:\n    params: {min_approvals: 2}\n"


def test_a_repository_policy_over_the_fleet_policy(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yml"
    path.write_text(FLEET_YAML)
    fleet = load(path)
    text = (
        "version: 1\nextends: strict\ntarget:\n  model: churn@champion\n  image: evil.example/x@sha256:"
        + "a" * 64
        + "\n  prometheus_url: https://evil.example\nchecks:\n  vcs.no-bypass: {enabled: false}\n"
    )
    applied = overrides.apply(str(path), fleet, ".mlops-gate.yml", text, frozenset({"registry.internal"}))
    assert applied.model == "churn@champion" and applied.image is None
    assert applied.policy.target.prometheus_url is None
    assert applied.policy.checks["vcs.reviews-required"].params.min_approvals == 2  # the fleet's, inherited
    assert not applied.policy.checks["vcs.no-bypass"].enabled
    notes = "\n".join(applied.notes)
    assert "extends 'strict' ignored" in notes and "target.prometheus_url refused" in notes
    assert "target.image on evil.example refused" in notes and "disables vcs.no-bypass" in notes
    allowed = overrides.apply(
        str(path),
        fleet,
        "p",
        "version: 1\ntarget: {image: registry.internal/ml/x:1}\n",
        frozenset({"registry.internal"}),
    )
    assert allowed.image == "registry.internal/ml/x:1"


def test_a_bad_repository_policy_is_an_error_naming_its_file(tmp_path: Path) -> None:
    fleet = load("default")
    with pytest.raises(PolicyError, match=r"\.mlops-gate\.yml"):
        overrides.apply("default", fleet, ".mlops-gate.yml", "version: 1\nchecks: {vcs.nope: {}}\n", frozenset())
    with pytest.raises(PolicyError, match="one YAML mapping"):
        overrides.apply("default", fleet, ".mlops-gate.yml", "- 1\n", frozenset())
