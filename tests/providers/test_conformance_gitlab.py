"""Conformance: GitLab's own API documentation examples (../shared/corpus/gitlab/docs-examples, see its
SOURCES.md §2), replayed to the real python-gitlab through the provider, must yield the facts they describe.

The files are read where they are and never copied into the project (CC BY-SA 4.0). Their ids do not
agree with each other, so they are routed by path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.facts.platform import BypassActor
from mlops_gate.providers import Context, Shared, gitlab
from mlops_gate.target import Target
from tests.support.replay import ReplayServer

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "gitlab" / "docs-examples"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not here ({CORPUS})")

SLUG = "diaspora/diaspora-project-site"
P = "/api/v4/projects/diaspora%2Fdiaspora-project-site"
SHA = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"


def doc(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


def ctx(replay: ReplayServer, *scope: str, shared: Shared | None = None) -> Context:
    return Context(
        root=Path("."),
        target=Target(platform="gitlab", repository=SLUG, commit=SHA, api_url=replay.url + "/api/v4"),
        env={"GITLAB_TOKEN": "t0ken-for-tests"},
        scope=frozenset(scope),
        shared=shared or Shared(),
    )


def serve_premium_settings(replay: ReplayServer) -> None:
    replay.add("GET", P, 200, doc("projects.get.json"))
    replay.add("GET", f"{P}/approvals", 200, doc("project_approvals.get.json"))
    replay.add("GET", f"{P}/approval_rules", 200, doc("project_approval_rules.list.json"))
    replay.add("GET", f"{P}/push_rule", 404, {"message": "404 Not Found"})  # no documented example


def test_protected_branches_list_with_approval_rules(replay: ReplayServer) -> None:
    serve_premium_settings(replay)
    replay.add("GET", f"{P}/protected_branches", 200, doc("protected_branches.list.json"))
    replay.add("GET", f"{P}/repository/branches/release%2F1.0", 200, {"name": "release/1.0"})
    facts = gitlab.branch_protection(ctx(replay, "@default", "release/1.0"))
    assert facts.default_branch == "main"
    main, release = facts.branches
    assert (main.branch, main.protected, release.branch, release.protected) == ("main", True, "release/1.0", True)
    for bp in (main, release):
        assert bp.force_push_allowed is False and bp.deletion_allowed is False and bp.code_owner_review is False
        assert bp.required_checks == () and bp.strict is False  # pipeline not required; merge_method "merge"
        assert bp.dismiss_stale is True and bp.author_can_approve is True and bp.last_push_approval is False
        assert bp.signed_commits is None and any("push rules" in n for n in bp.notes)
    assert main.bypass_actors == (BypassActor("role", "Maintainers"), BypassActor("deploy-key", "Deploy key"))
    assert main.required_approvals == 3  # the "security" rule is scoped to main
    assert release.required_approvals == 2  # no rule for release/*: approvals_before_merge
    assert "gitlab:protected_branch:release/*" in release.sources


def test_premium_protected_branches(replay: ReplayServer) -> None:
    serve_premium_settings(replay)
    replay.add("GET", f"{P}/protected_branches", 200, doc("protected_branches.list.premium.json"))
    (main,) = gitlab.branch_protection(ctx(replay)).branches
    assert main.protected and main.force_push_allowed is False
    assert main.bypass_actors == (BypassActor("role", "Maintainers"), BypassActor("deploy-key", "Deploy key"))


@pytest.mark.parametrize("name", ["protected_branches.get.json", "protected_branches.get.premium.json"])
def test_single_protected_branch_shapes(replay: ReplayServer, name: str) -> None:
    """The single-branch payloads have the list items' shape: served as a one-element list."""
    replay.add("GET", P, 200, doc("projects.get.json"))
    replay.add("GET", f"{P}/protected_branches", 200, [doc(name)])
    for path in ("approvals", "approval_rules", "push_rule"):
        replay.add("GET", f"{P}/{path}", 404, {"error": "404 Not Found"})
    (main,) = gitlab.branch_protection(ctx(replay)).branches
    assert main.protected and main.bypass_actors == (BypassActor("role", "Maintainers"),)
    assert main.code_owner_review is False and main.required_approvals is None
    assert any("merge request approval rules need GitLab Premium" in n for n in main.notes)


def test_pipelines_list_latest_wins(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 200, doc("pipelines.list.json"))
    replay.add("GET", f"{P}/pipelines/48/jobs", 200, [])
    facts = gitlab.commit_runs(ctx(replay))
    (run,) = facts.runs
    assert (run.name, run.id, run.status, run.conclusion) == ("pipeline", "48", "queued", None)
    assert run.url == "https://example.com/foo/bar/pipelines/48"


def test_single_pipeline_success(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 200, [doc("pipelines.get.json")])
    replay.add("GET", f"{P}/pipelines/287/jobs", 200, [])
    (run,) = gitlab.commit_runs(ctx(replay)).runs
    assert (run.status, run.conclusion, run.started_at) == ("completed", "success", "2022-09-21T01:05:14.197Z")


def test_protected_environment_list(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [doc("deployments.get.json")["environment"]])
    replay.add("GET", f"{P}/protected_environments", 200, doc("protected_environments.list.json"))
    (env,) = gitlab.environments(ctx(replay)).environments
    assert env.exists and env.min_approvals == 0 and env.reviewers == ()
    assert env.branch_policy == "protected" and env.other_rules == ("deployers: role:Maintainers",)


def test_protected_environment_with_multiple_approval_rules(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [doc("deployments.get.json")["environment"]])
    replay.add("GET", f"{P}/protected_environments", 200, [doc("protected_environments.create.response.json")])
    replay.add("GET", P, 200, doc("projects.get.json"))
    (env,) = gitlab.environments(ctx(replay)).environments
    assert env.exists and env.min_approvals == 2
    assert env.reviewers == ("group:qa-group", "group:security-group")
    assert env.self_review_allowed is False and env.branch_policy == "protected"
    assert env.other_rules == ("deployers: group:protected-access-group",)
