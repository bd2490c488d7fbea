"""`mlops-gate fleet` and `merge` end to end: the real CLI and PyGithub against the replay server serving a
simulated organisation of 300 repositories (tests/support/fleet_org.py) with latency and ETags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import mlops_gate
from mlops_gate.cli import main
from tests.support import fleet_org
from tests.support.replay import ReplayServer

N = 300
SHARDS = 3
TOKEN = "t0ken-fleet-tests"


@pytest.fixture(scope="module")
def org() -> Iterator[ReplayServer]:
    server = ReplayServer(delay_s=0.002, resolver=fleet_org.github(N), etags=True).start()
    yield server
    server.stop()


def fleet(server: ReplayServer, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    env = {"GITHUB_TOKEN": TOKEN}
    argv = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", server.url, "--jobs", "16", "-q"]
    rc = main([*argv, *extra, "--output", f"json={out}"], env)
    return rc, json.loads(out.read_text())


@pytest.fixture(scope="module")
def shards(org: ReplayServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every shard of the fleet, cold, filling one cache directory; then the whole fleet again, warm."""
    tmp = tmp_path_factory.mktemp("fleet")
    cache = tmp / "cache"
    reports = []
    for k in range(1, SHARDS + 1):
        rc, data = fleet(org, tmp / f"shard-{k}.json", "--shard", f"{k}/{SHARDS}", "--cache-dir", str(cache))
        assert rc == 1  # the simulated fleet has failing repositories
        reports.append(data)
    warm_rc, warm = fleet(org, tmp / "warm.json", "--cache-dir", str(cache))
    return {"dir": tmp, "reports": reports, "warm": warm, "warm_rc": warm_rc}


def test_shards_cover_every_repository_exactly_once(shards: dict[str, Any]) -> None:
    seen = [r["name"] for data in shards["reports"] for r in data["repositories"]]
    assert sorted(seen) == sorted(fleet_org.judged_names(N))  # archived and forks left out by default
    assert len(seen) == len(set(seen))
    assert all(data["shards"] == [{"index": k + 1, "count": SHARDS}] for k, data in enumerate(shards["reports"]))
    assert all(1 < len(data["repositories"]) < len(seen) for data in shards["reports"])
    excluded = shards["reports"][0]["excluded"]
    assert excluded == {"archived": 12, "fork": 6}  # model-0199 is archived and a fork: counted once


def test_a_repository_is_judged_with_the_platform_checks(shards: dict[str, Any]) -> None:
    repos = {r["name"]: r for data in shards["reports"] for r in data["repositories"]}
    unprotected, protected = repos["acme/model-0005"], repos["acme/model-0004"]
    checks = {r["check"]: r["status"] for r in unprotected["results"]}
    assert checks["vcs.branch-protected"] == "failed" and unprotected["verdict"] == "fail"
    assert {r["check"]: r["status"] for r in protected["results"]}["vcs.branch-protected"] == "passed"
    assert protected["verdict"] == "pass"
    assert protected["commit"] == fleet_org.sha("acme/model-0004")
    assert not any(r["check"].startswith(("ci.pr-pipeline", "monitoring.alert-rules")) for r in protected["results"])


def test_a_repository_policy_overrides_params_but_cannot_redirect(org: ReplayServer, shards: dict[str, Any]) -> None:
    repos = {r["name"]: r for data in shards["reports"] for r in data["repositories"]}
    own, neighbour = repos["acme/model-0001"], repos["acme/model-0002"]
    assert own["policy"]["file"] == ".mlops-gate.yml" and neighbour["policy"]["file"] is None
    assert any("target.api_url refused" in n for n in own["policy"]["notes"])
    reviews = next(r for r in own["results"] if r["check"] == "vcs.reviews-required")
    assert reviews["status"] == "failed" and "1 approval" in reviews["message"]  # its own min_approvals: 3 applies
    assert neighbour["verdict"] == "pass"
    assert own["policy"]["digest"] != neighbour["policy"]["digest"]
    assert not any(s.path.startswith("/api") for s in org.seen)  # the redirect was not followed


def test_merge_combines_every_shard(shards: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    tmp: Path = shards["dir"]
    paths = [str(tmp / f"shard-{k}.json") for k in range(1, SHARDS + 1)]
    out = tmp / "merged.json"
    rc = main(["merge", *paths, "--output", f"json={out}", "--output", f"markdown={tmp / 'fleet.md'}"], {})
    merged = json.loads(out.read_text())
    assert rc == 1 and merged["verdict"] == "fail"
    assert merged["summary"]["judged"] == len(fleet_org.judged_names(N))
    assert [s["index"] for s in merged["shards"]] == list(range(1, SHARDS + 1))
    assert "# Fleet scorecard: acme (github)" in (tmp / "fleet.md").read_text()
    schema = json.loads((Path(mlops_gate.__file__).parent / "schemas" / "fleet-report-v1.json").read_text())
    for data in (merged, *shards["reports"], shards["warm"]):
        jsonschema.Draft202012Validator(schema).validate(data)


def test_merge_refuses_a_missing_or_repeated_shard(shards: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    tmp: Path = shards["dir"]
    one, two = str(tmp / "shard-1.json"), str(tmp / "shard-2.json")
    out = tmp / "never.json"
    assert main(["merge", one, two, "--output", f"json={out}"], {}) == 3
    assert "shard(s) 3/3 missing" in capsys.readouterr().err
    assert main(["merge", one, two, one, "--output", f"json={out}"], {}) == 2
    assert "shard 1/3 given twice" in capsys.readouterr().err
    assert not out.exists()


def test_a_warm_cache_saves_nine_requests_in_ten(shards: dict[str, Any]) -> None:
    cold = sum(data["requests"]["counted"] for data in shards["reports"])
    warm = shards["warm"]["requests"]
    assert shards["warm_rc"] == 1 and shards["warm"]["summary"]["judged"] == len(fleet_org.judged_names(N))
    assert warm["counted"] <= cold * 0.10, (cold, warm)
    assert warm["not_modified"] > 0 and warm["sent"] >= cold


def test_the_cache_holds_no_token(shards: dict[str, Any]) -> None:
    files = [p for p in (shards["dir"] / "cache").rglob("*") if p.is_file()]
    assert files
    assert not any(TOKEN.encode() in p.read_bytes() for p in files)


def test_a_tampered_cache_entry_is_not_used(org: ReplayServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fleet(org, tmp_path / "a.json", "--include", "model-0005", "--cache-dir", str(cache))
    for path in cache.rglob("*.json"):
        data = json.loads(path.read_text())
        data["body"] = data["body"][:-4] + "AAAA"
        path.write_text(json.dumps(data))
    _, again = fleet(org, tmp_path / "b.json", "--include", "model-0005", "--cache-dir", str(cache))
    assert again["requests"]["not_modified"] == 0  # entries that do not verify are ignored: asked afresh
    assert again["repositories"][0]["verdict"] == "fail"


def test_budget_stops_cleanly_and_never_passes(org: ReplayServer, tmp_path: Path) -> None:
    rc, data = fleet(org, tmp_path / "b.json", "--budget", "60")
    assert rc == 1 or rc == 3
    assert (data["budget"]["limit"], data["budget"]["spent"], data["budget"]["stopped"]) == (60, 60, True)
    assert data["requests"]["counted"] == 60
    stopped = [r for r in data["repositories"] if r["status"] == "not_judged"]
    assert len(stopped) > 200
    assert all("budget" in r["reason"] and r["verdict"] is None and "results" not in r for r in stopped)
    assert data["verdict"] != "pass"


def test_budget_alone_is_error_not_pass(org: ReplayServer, tmp_path: Path) -> None:
    rc, data = fleet(org, tmp_path / "b.json", "--include", "model-0004", "--budget", "3")
    assert rc == 3 and data["verdict"] == "error"
    assert data["repositories"][0]["status"] == "not_judged"


def test_filters(org: ReplayServer, tmp_path: Path) -> None:
    listed = tmp_path / "repos.txt"
    listed.write_text("# the two we own\nacme/model-0001\nacme/model-0024\n")
    _, data = fleet(org, tmp_path / "f.json", "--repos-file", str(listed), "--include-archived")
    assert [r["name"] for r in data["repositories"]] == ["acme/model-0001", "acme/model-0024"]
    _, data = fleet(org, tmp_path / "g.json", "--include", "model-00[0-4]?", "--topic", "churn", "--language", "python")
    names = [r["name"] for r in data["repositories"] if r["status"] != "excluded"]
    assert names and all(int(n[-4:]) % 2 == 0 and int(n[-4:]) % 5 for n in names)


def test_bad_arguments_are_usage_errors(org: ReplayServer, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", org.url]
    assert main([*base, "--shard", "4/3"], {}) == 2
    assert "--shard '4/3' is not K/N" in capsys.readouterr().err
    assert main(["merge", __file__], {}) == 2


def test_a_bad_output_is_refused_before_anything_is_read(org: ReplayServer, capsys: pytest.CaptureFixture[str]) -> None:
    before = len(org.seen)
    argv = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", org.url, "--output", "pdf=x.pdf"]
    assert main(argv, {}) == 2
    assert "--output 'pdf=x.pdf' is not FMT=PATH" in capsys.readouterr().err
    assert len(org.seen) == before
