"""Azure DevOps vendor examples (MicrosoftDocs/vsts-rest-api-specs httpExamples, ../shared/corpus) replayed
through the provider and the real SDK: the facts each example must yield. Skipped without the corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.facts.platform import RequiredCheck
from mlops_gate.providers import Context, azure
from mlops_gate.providers._azure_map import BUILD_RESULT, BUILD_STATUS, status_run
from mlops_gate.providers._azure_policy import (
    BUILD,
    MERGE_STRATEGY,
    MIN_REVIEWERS,
    REQUIRED_REVIEWERS,
    WORK_ITEMS,
)
from mlops_gate.target import Target
from tests.support.azure_devops import collection, replay_answers_options, serve_discovery
from tests.support.replay import ReplayServer

__all__ = ["replay_answers_options"]  # the autouse fixture that lets the replay server answer OPTIONS

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "azure-devops" / "vsts-rest-api-specs"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no vendor corpus at {CORPUS}")

ORG, PROJECT = "fabrikam", "fabrikam-fiber-git"
API = f"/{ORG}/{PROJECT}/_apis"
ADVENTUREWORKS_REPO = "49c1d4d0-be28-4f20-9e0a-4ecfafc39257"  # named by a scope in the policy examples
SQUASH_REPO = "1d1dad71-f27c-4370-810d-838ec41efd41"


def example(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8-sig"))


def body(name: str) -> Any:
    return example(name)["responses"]["200"]["body"]


def ctx_for(tmp_path: Path, replay: ReplayServer, repo: str, scope: tuple[str, ...], commit: str = "") -> Context:
    target = Target(
        platform="azure", repository=f"{ORG}/{PROJECT}/{repo}", commit=commit or None, api_url=f"{replay.url}/{ORG}/"
    )
    return Context(root=tmp_path, target=target, env={"AZURE_DEVOPS_TOKEN": "t0ken-for-tests"}, scope=frozenset(scope))


def serve_repo(replay: ReplayServer, name: str, repo_id: str, branches: tuple[str, ...]) -> None:
    """The repository and its refs are hand-written (the corpus has no example of them)."""
    serve_discovery(replay, ORG)
    replay.add(
        "GET",
        f"{API}/git/repositories/{name}",
        200,
        {"id": repo_id, "name": name, "defaultBranch": "refs/heads/master", "project": {"name": PROJECT}},
    )
    replay.add(
        "GET",
        f"{API}/git/repositories/{repo_id}/refs",
        200,
        collection([{"name": f"refs/heads/{b}", "objectId": "0" * 40} for b in branches]),
    )


BRANCHES = ("master", "releases/m131", "features/ml", "adventureworks")


def test_policy_list_example(tmp_path: Path, replay: ReplayServer) -> None:
    """GET _apis/policy/configurations: blocking required reviewers on master, releases/* (prefix) and
    adventureworks of one repository; optional minimum approvals on master; optional build on features/*."""
    serve_repo(replay, "fiber", ADVENTUREWORKS_REPO, BRANCHES)
    replay.add("GET", f"{API}/policy/configurations", 200, body("policy-7.1/GET__policy_configurations.json"))
    facts = azure.branch_protection(
        ctx_for(tmp_path, replay, "fiber", ("@default", "releases/*", "features/*", "adventureworks"))
    )
    by = {b.branch: b for b in facts.branches}
    assert facts.default_branch == "master" and sorted(by) == sorted(BRANCHES)
    for name in ("master", "releases/m131", "adventureworks"):
        assert by[name].protected and by[name].code_owner_review is True, name
        assert by[name].sources == ("azure:policy:17 Required reviewers",)
        assert by[name].required_approvals == 0  # the minimum-approval policy 18 is optional
    assert any("18 Minimum approval count is optional" in n for n in by["master"].notes)
    features = by["features/ml"]
    assert not features.protected and features.required_checks == ()
    assert any("19 Build is optional" in n for n in features.notes)
    assert not replay.unmatched()


def test_policy_list_example_for_another_repository(tmp_path: Path, replay: ReplayServer) -> None:
    """The adventureworks scope names one repository: another repository's adventureworks is unprotected."""
    serve_repo(replay, "other", "0d1e6a4f-0000-4000-8000-000000000000", BRANCHES)
    replay.add("GET", f"{API}/policy/configurations", 200, body("policy-7.1/GET__policy_configurations.json"))
    facts = azure.branch_protection(ctx_for(tmp_path, replay, "other", ("adventureworks", "master")))
    by = {b.branch: b for b in facts.branches}
    assert not by["adventureworks"].protected and by["master"].protected


@pytest.mark.parametrize(
    ("name", "repo_id", "expect"),
    [
        (
            "policy-7.1/GET__policy_configurations__configurationId_.json",
            ADVENTUREWORKS_REPO,
            {"protected": True, "code_owner_review": True},
        ),
        (
            "policy-7.1/POST__policy_configurations2.json",
            ADVENTUREWORKS_REPO,  # optional: noted, not required
            {"protected": False, "required_approvals": 0},
        ),
        (
            "policy-7.1/POST__policy_configurations4.json",
            ADVENTUREWORKS_REPO,  # optional work item linking
            {"protected": False},
        ),
        (
            "policy-7.1/POST__policy_configurations5.json",
            SQUASH_REPO,  # blocking merge strategy on this repository
            {"protected": True, "required_approvals": 0, "required_checks": ()},
        ),
        (
            "policy-7.1/POST__policy_configurations5.json",
            ADVENTUREWORKS_REPO,  # ... and not on another one
            {"protected": False},
        ),
    ],
)
def test_single_policy_examples_on_master(
    tmp_path: Path, replay: ReplayServer, name: str, repo_id: str, expect: dict[str, Any]
) -> None:
    serve_repo(replay, "fiber", repo_id, ("master",))
    replay.add("GET", f"{API}/policy/configurations", 200, collection([body(name)]))
    (master,) = azure.branch_protection(ctx_for(tmp_path, replay, "fiber", ())).branches
    assert {k: getattr(master, k) for k in expect} == expect
    assert master.force_push_allowed is None and master.bypass_actors is None  # never guessed


def test_build_policy_example_names_its_definition(tmp_path: Path, replay: ReplayServer) -> None:
    """POST__policy_configurations3 (build definition 5 on features/*), made blocking to see it required."""
    build = {**body("policy-7.1/POST__policy_configurations3.json"), "isBlocking": True}
    serve_repo(replay, "fiber", ADVENTUREWORKS_REPO, ("features/ml",))
    replay.add("GET", f"{API}/policy/configurations", 200, collection([build]))
    replay.add(
        "GET",
        f"{API}/build/definitions",
        200,
        collection([{"id": 5, "name": "Fabrikam-Fiber-CI"}]),
        query={"definitionIds": "5"},
    )
    (features,) = azure.branch_protection(ctx_for(tmp_path, replay, "fiber", ("features/*",))).branches
    assert features.protected and features.required_checks == (RequiredCheck("Fabrikam-Fiber-CI"),)
    assert features.strict is False  # queueOnSourceUpdateOnly defaults to true: the build does not expire


def test_policy_type_ids_match_the_vendor_list() -> None:
    names = {t["id"]: t["displayName"] for t in body("policy-types-5.0/GET__policy_types.json")["value"]}
    assert names[MIN_REVIEWERS] == "Minimum approval count"
    assert names[REQUIRED_REVIEWERS] == "Required reviewers"
    assert names[BUILD] == "Build"
    listed = {
        b["type"]["id"]: b["type"]["displayName"]
        for b in (body(f"policy-7.1/POST__policy_configurations{i}.json") for i in (4, 5))
    }
    assert listed == {WORK_ITEMS: "Work item linking", MERGE_STRATEGY: "Require a merge strategy"}


def test_commit_statuses_example(tmp_path: Path, replay: ReplayServer) -> None:
    ex = example("git-statuses/GET__git_repositories__repositoryId__commits__commitId__statuses.json")
    repo_id, sha = ex["parameters"]["repositoryId"], ex["parameters"]["commitId"]
    serve_repo(replay, "fiber", repo_id, ())
    replay.add("GET", f"{API}/build/builds", 200, collection([]))
    replay.add("GET", f"{API}/git/repositories/{repo_id}/commits/{sha}/statuses", 200, ex["responses"]["200"]["body"])
    facts = azure.commit_runs(ctx_for(tmp_path, replay, "fiber", (), commit=sha))
    (run,) = facts.runs
    assert (run.name, run.status, run.conclusion, run.source) == (
        "continuous-integration/Build123",
        "completed",
        "success",
        "status",
    )
    assert run.url == "https://ci.fabrikam.com/my-project/build/123" and run.started_at == "2016-01-27T09:33:07Z"


def test_pull_request_statuses_example_maps_like_commit_statuses() -> None:
    items = body("git-statuses/GET_git_pullRequestStatuses_statuses.json")["value"]
    assert [(r.name, r.conclusion) for r in map(status_run, items)] == [
        ("vsts-samples/sample-status-2", "success"),
        ("vsts-samples/sample-status-4", "success"),
    ]


def test_every_build_status_and_result_of_the_swagger_is_mapped() -> None:
    spec = json.loads((CORPUS / "swagger-7.1" / "build.json").read_text(encoding="utf-8-sig"))
    props = spec["definitions"]["Build"]["properties"]
    assert set(props["status"]["enum"]) - {"all"} <= set(BUILD_STATUS)  # `all` is a query filter, not a state
    assert set(props["result"]["enum"]) - {"none"} <= set(BUILD_RESULT)
