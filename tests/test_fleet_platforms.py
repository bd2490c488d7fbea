"""`mlops-gate fleet` on GitLab (a group with subgroups) and Azure DevOps (a project): the real python-gitlab and
azure-devops SDKs against the replay server serving 300 simulated repositories each (tests/support/fleet_org.py),
with latency and ETags: the shards cover every repository once, and run again with the cache the first filled, a
shard makes nine requests in ten fewer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support import azure_devops, fleet_org
from tests.support.replay import ReplayServer

N = 300
SHARDS = 2


@pytest.fixture(scope="module")
def gitlab_group() -> Iterator[ReplayServer]:
    server = ReplayServer(delay_s=0.002, resolver=fleet_org.gitlab(N), etags=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def azure_project() -> Iterator[ReplayServer]:
    server = ReplayServer(delay_s=0.002, resolver=fleet_org.azure(N), etags=True).start()
    azure_devops.serve_discovery(server)
    server.add("GET", azure_devops.ACLS, 200, azure_devops.collection([]))
    yield server
    server.stop()


def run(platform: str, server: ReplayServer, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    owner, api, env = {
        "gitlab": ("acme", server.url + "/api/v4", {"GITLAB_TOKEN": "t0ken"}),
        "azure": ("contoso/ml", server.url + "/contoso/", {"AZURE_DEVOPS_TOKEN": "t0ken"}),
    }[platform]
    argv = ["fleet", "--platform", platform, "--owner", owner, "--api-url", api, "--jobs", "16", "-q"]
    rc = main([*argv, *extra, "--output", f"json={out}"], env)
    return rc, json.loads(out.read_text())


def _sharded_then_warm(platform: str, server: ReplayServer, tmp: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cache = str(tmp / "cache")
    shards = [
        run(platform, server, tmp / f"shard-{k}.json", "--shard", f"{k}/{SHARDS}", "--cache-dir", cache)[1]
        for k in range(1, SHARDS + 1)
    ]
    return shards, run(platform, server, tmp / "warm.json", "--shard", f"1/{SHARDS}", "--cache-dir", cache)[1]


@pytest.mark.parametrize("platform", ["gitlab", "azure"])
def test_shards_merge_and_a_warm_cache(
    platform: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = request.getfixturevalue("gitlab_group" if platform == "gitlab" else "azure_project")
    shards, warm = _sharded_then_warm(platform, server, tmp_path)
    names = [r["name"] for s in shards for r in s["repositories"]]
    expected = {"gitlab": fleet_org.gitlab_names, "azure": fleet_org.azure_names}[platform](N)
    kept = [n for i, n in enumerate(expected) if i % 25 != 24 and i % 40 != 39]
    assert sorted(names) == sorted(kept) and len(names) == len(set(names))
    assert all(r["status"] == "judged" and r["results"] for s in shards for r in s["repositories"])
    out = tmp_path / "merged.json"
    assert (
        main(
            ["merge", *(str(tmp_path / f"shard-{k}.json") for k in range(1, SHARDS + 1)), "--output", f"json={out}"], {}
        )
        == 1
    )
    assert json.loads(out.read_text())["summary"]["judged"] == len(kept)
    assert main(["merge", str(tmp_path / "shard-1.json"), "--output", f"json={out}"], {}) == 3
    assert "shard(s) 2/2 missing" in capsys.readouterr().err
    cold = shards[0]["requests"]["counted"]  # shard 1 again, with the cache the shards filled
    assert warm["requests"]["counted"] <= cold * 0.10, (cold, warm["requests"])
    assert warm["summary"] == shards[0]["summary"]  # the same verdicts from the cache


def test_gitlab_subgroups_and_policy_overrides(gitlab_group: ReplayServer, tmp_path: Path) -> None:
    _, data = run("gitlab", gitlab_group, tmp_path / "g.json", "--include", "acme/team-1/*")
    repos = {r["name"]: r for r in data["repositories"]}
    assert repos and all(n.startswith("acme/team-1/") for n in repos)
    own = repos["acme/team-1/model-0001"]
    assert own["policy"]["file"] == ".mlops-gate.yml"
    assert any("target.api_url refused" in n for n in own["policy"]["notes"])
    assert repos["acme/team-1/model-0022"]["verdict"] == "pass"
    assert {r["check"]: r["status"] for r in repos["acme/team-1/model-0010"]["results"]}[
        "vcs.branch-protected"
    ] == "failed"


def test_azure_repositories_read_with_their_policies(azure_project: ReplayServer, tmp_path: Path) -> None:
    _, data = run("azure", azure_project, tmp_path / "a.json", "--include", "model-000[0-2]")
    repos = {r["name"]: r for r in data["repositories"]}
    assert list(repos) == ["contoso/ml/model-0000", "contoso/ml/model-0001", "contoso/ml/model-0002"]
    protected = {r["check"]: r for r in repos["contoso/ml/model-0001"]["results"]}
    assert protected["vcs.branch-protected"]["status"] == "passed"
    assert "azure:policy:1001" in protected["vcs.branch-protected"]["message"]
    assert {r["check"]: r["status"] for r in repos["contoso/ml/model-0000"]["results"]}[
        "vcs.branch-protected"
    ] == "failed"
    # the repository's own policy file, read with the items API: it asks for 3 approvals (the branch policy has 1)
    # and tries to redirect the API, which the fleet refuses
    own = repos["contoso/ml/model-0001"]
    assert own["policy"]["file"] == ".mlops-gate.yml"
    assert any("target.api_url refused" in n for n in own["policy"]["notes"])
    assert protected["vcs.reviews-required"]["status"] == "failed"
    wants = [v["message"] for v in protected["vcs.reviews-required"]["violations"]]
    assert "main requires 1 approval(s), policy wants 3" in wants, wants
    assert repos["contoso/ml/model-0000"]["policy"]["file"] is None
    other = {r["check"]: r for r in repos["contoso/ml/model-0002"]["results"]}["vcs.reviews-required"]
    assert not [v for v in other["violations"] if "policy wants" in v["message"]]  # the fleet policy's 1 is met


def test_azure_organisation_wide(azure_project: ReplayServer, tmp_path: Path) -> None:
    azure_project.seen.clear()
    argv = ["fleet", "--platform", "azure", "--owner", "contoso", "--api-url", azure_project.url + "/contoso/", "-q"]
    out = tmp_path / "org.json"
    main([*argv, "--include", "model-000[3-4]", "--output", f"json={out}"], {"AZURE_DEVOPS_TOKEN": "t0ken"})
    data = json.loads(out.read_text())
    assert [r["name"] for r in data["repositories"]] == ["contoso/ml/model-0003", "contoso/ml/model-0004"]
    assert any(s.path == "/contoso/_apis/git/repositories" for s in azure_project.seen)  # every project's
    assert all(r["status"] == "judged" and r["results"] for r in data["repositories"])
