"""Conformance: payloads recorded from api.github.com or published by GitHub (../shared/corpus, see its
SOURCES.md) replayed through PyGithub to the provider, asserting the facts each one must yield.

The corpus is read where it lies and never copied into the project. Where a recording lacks an
exchange the provider needs (recordings made before rulesets existed have no `rules/branches/...`),
the test adds a minimal hand-written answer and says so.
"""

from __future__ import annotations

import ast
import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.facts.platform import BypassActor, RequiredCheck
from mlops_gate.providers import Context
from mlops_gate.providers import github as gh
from mlops_gate.target import Target
from tests.support.replay import ReplayServer

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "github"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no shared corpus at {CORPUS} (conformance needs it)")
GITHUB = "https://api.github.com"
DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}


@dataclass(frozen=True)
class Exchange:
    verb: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    body: str


def pygithub(name: str) -> list[Exchange]:
    """A PyGithub ReplayData file: exchanges of 10 lines each, separated by blank lines."""
    lines = (CORPUS / "pygithub-replaydata" / name).read_text(encoding="utf-8").split("\n")
    out, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        _proto, verb, _host, _port, target, _req_headers, _req_body, status, headers, body = lines[i : i + 10]
        parts = urllib.parse.urlsplit(target)
        out.append(
            Exchange(
                verb,
                parts.path,
                dict(urllib.parse.parse_qsl(parts.query)),
                int(status),
                {k: v for k, v in ast.literal_eval(headers)},
                body,
            )
        )
        i += 10
    return out


def serve(replay: ReplayServer, exchanges: list[Exchange], path_map: dict[str, str] | None = None) -> None:
    """Serve every GET by path (and its query, less paging); a later exchange for the same route wins."""
    for ex in exchanges:
        if ex.verb != "GET":
            continue
        query = {k: v for k, v in ex.query.items() if k not in ("per_page", "page")}
        headers = {k: v.replace(GITHUB, "{url}") for k, v in ex.headers.items() if k.lower() not in DROP_HEADERS}
        body = ex.body.replace(GITHUB, replay.url).encode()
        replay.add("GET", (path_map or {}).get(ex.path, ex.path), ex.status, body, headers=headers, query=query)


def load(*parts: str) -> Any:
    return json.loads(CORPUS.joinpath(*parts).read_text(encoding="utf-8"))


def ctx(
    replay: ReplayServer, tmp_path: Path, repository: str, scope: set[str] | None = None, commit: str = "0" * 40
) -> Context:
    target = Target(platform="github", repository=repository, commit=commit, api_url=replay.url)
    return Context(root=tmp_path, target=target, env={"GITHUB_TOKEN": "t0ken-for-tests"}, scope=frozenset(scope or ()))


def minimal_repo(replay: ReplayServer, repository: str, default: str) -> None:
    """Hand-written: the recording has no GET /repos/{o}/{r} for this repository."""
    replay.add("GET", f"/repos/{repository}", 200, {"full_name": repository, "default_branch": default})


def no_rules(replay: ReplayServer, repository: str, branch: str) -> None:
    """Hand-written: recordings made before rulesets have no rules/branches exchange."""
    replay.add("GET", f"/repos/{repository}/rules/branches/{branch}", 200, [])


# --- branch protection --------------------------------------------------------------------------


def test_pygithub_branch_protection_setup(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, pygithub("BranchProtection.setUp.txt"))
    no_rules(replay, "curvewise-forks/PyGithub", "master")
    facts = gh.branch_protection(ctx(replay, tmp_path, "curvewise-forks/PyGithub", {"@default"}))
    assert facts.default_branch == "master"
    (bp,) = facts.branches
    assert bp.protected and bp.sources == ("classic",) and bp.notes == ()
    assert bp.required_checks == (RequiredCheck("build (3.10)", "15368"),) and bp.strict is True
    assert (bp.required_approvals, bp.code_owner_review, bp.dismiss_stale, bp.last_push_approval) == (
        1,
        False,
        False,
        False,
    )
    assert bp.force_push_allowed is False and bp.deletion_allowed is False and bp.signed_commits is False
    assert bp.bypass_actors == ()  # enforce_admins is on, no pull-request allowances
    assert replay.unmatched() == []


def test_pygithub_edit_protection(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, pygithub("Branch.testEditProtection.txt"))
    minimal_repo(replay, "jacquev6/PyGithub", "integrations")
    no_rules(replay, "jacquev6/PyGithub", "integrations")
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, "jacquev6/PyGithub")).branches
    assert bp.protected and bp.required_approvals == 2 and bp.code_owner_review and bp.last_push_approval
    assert bp.required_checks == () and bp.strict is True


def test_pygithub_removed_protection_is_unprotected(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, pygithub("Branch.testRemoveProtection.txt"))  # real 404 "Branch not protected"
    minimal_repo(replay, "jacquev6/PyGithub", "integrations")
    no_rules(replay, "jacquev6/PyGithub", "integrations")
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, "jacquev6/PyGithub")).branches
    assert not bp.protected and bp.force_push_allowed is True and bp.required_checks == () and bp.notes == ()


def test_pygithub_required_signatures_subresource(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, pygithub("Branch.testGetRequiredSignatures.txt"))
    minimal_repo(replay, "jacquev6/PyGithub", "integrations")
    no_rules(replay, "jacquev6/PyGithub", "integrations")
    old = {
        "required_pull_request_reviews": {"required_approving_review_count": 1},
        "enforce_admins": {"enabled": True},
    }  # hand-written: an older payload without required_signatures
    replay.add("GET", "/repos/jacquev6/PyGithub/branches/integrations/protection", 200, old)
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, "jacquev6/PyGithub")).branches
    assert bp.signed_commits is True


def octokit(scenario: str) -> list[dict[str, Any]]:
    fixture: list[dict[str, Any]] = load("octokit-fixtures", scenario, "raw-fixture.json")
    return fixture


def test_octokit_branch_protection(replay: ReplayServer, tmp_path: Path) -> None:
    entries = octokit("branch-protection")
    repo_entry = next(e for e in entries if e["method"] == "post" and e["path"].endswith("/repos"))
    slug = repo_entry["response"]["full_name"]
    replay.add("GET", f"/repos/{slug}", 200, repo_entry["response"])
    no_rules(replay, slug, "main")
    unprotected = next(e for e in entries if e["method"] == "get" and e["path"].endswith("/protection"))
    replay.add("GET", unprotected["path"], unprotected["status"], unprotected["response"])
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, slug)).branches
    assert unprotected["status"] == 404 and not bp.protected

    minimal, full = [e["response"] for e in entries if e["method"] == "put" and e["path"].endswith("/protection")]
    for body, admins_bypass in ((minimal, True), (full, False)):  # a PUT answers with what GET would return
        replay.add("GET", unprotected["path"], 200, body)
        (bp,) = gh.branch_protection(ctx(replay, tmp_path, slug)).branches
        assert bp.protected and bp.force_push_allowed is False and bp.deletion_allowed is False
        assert (BypassActor("admins", "repository administrators") in (bp.bypass_actors or ())) is admins_bypass
    assert bp.required_checks == (RequiredCheck("foo/bar"),) and bp.strict and bp.required_approvals == 1
    assert bp.dismiss_stale is True and bp.code_owner_review is False


def test_vendor_branch_protection_example(replay: ReplayServer, tmp_path: Path) -> None:
    minimal_repo(replay, "octocat/Hello-World", "master")
    no_rules(replay, "octocat/Hello-World", "master")
    base = "/repos/octocat/Hello-World/branches/master/protection"
    replay.add("GET", base, 200, load("rest-api-description-examples", "branch-protection.json"))
    replay.add(
        "GET",
        f"{base}/required_signatures",
        200,
        load("rest-api-description-examples", "protected-branch-admin-enforced.json"),
    )
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, "octocat/Hello-World")).branches
    assert bp.protected and bp.required_approvals == 2 and bp.code_owner_review and bp.dismiss_stale
    assert bp.last_push_approval is True and bp.required_checks == (RequiredCheck("continuous-integration/travis-ci"),)
    assert bp.force_push_allowed is True and bp.deletion_allowed is True  # the example allows both
    assert bp.signed_commits is True and bp.bypass_actors == ()


def test_vendor_rules_and_ruleset_examples(replay: ReplayServer, tmp_path: Path) -> None:
    minimal_repo(replay, "monalisa/my-repo", "main")
    replay.add("GET", "/repos/monalisa/my-repo/branches/main/protection", 404, {"message": "Branch not protected"})
    replay.add(
        "GET",
        "/repos/monalisa/my-repo/rules/branches/main",
        200,
        load("rest-api-description-examples", "repository-rule-items.json"),
    )
    replay.add(
        "GET",
        "/repos/monalisa/my-repo/rulesets/42",
        200,
        load("rest-api-description-examples", "repository-ruleset.json"),
    )
    # ruleset 73 belongs to the organization: no route, so it answers 404 like an unreadable org ruleset
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, "monalisa/my-repo")).branches
    assert bp.protected and bp.sources == ("ruleset:42 super cool ruleset", "ruleset:73")
    assert bp.required_approvals == 0 and bp.force_push_allowed is True  # commit-pattern rules only
    assert bp.bypass_actors is None and any("ruleset 73 (my-org) unreadable" in n for n in bp.notes)


def test_gh_cli_ruleset_fixtures(replay: ReplayServer, tmp_path: Path) -> None:
    minimal_repo(replay, "my-org/repo-name", "main")
    replay.add("GET", "/repos/my-org/repo-name/branches/main/protection", 404, {"message": "Branch not protected"})
    replay.add("GET", "/repos/my-org/repo-name/rules/branches/main", 200, load("cli-fixtures", "rulesetCheck.json"))
    # the check fixture names rulesets 1234 (org) and 5678 (repo); the view fixtures are an org ruleset in
    # evaluate mode and a repo ruleset that is active: served under those ids
    replay.add("GET", "/repos/my-org/repo-name/rulesets/1234", 200, load("cli-fixtures", "rulesetViewOrg.json"))
    replay.add("GET", "/repos/my-org/repo-name/rulesets/5678", 200, load("cli-fixtures", "rulesetViewRepo.json"))
    (bp,) = gh.branch_protection(ctx(replay, tmp_path, "my-org/repo-name")).branches
    assert bp.protected and bp.sources == ("ruleset:5678 Test Ruleset",)
    assert bp.signed_commits is False  # required_signatures comes from the evaluate-mode org ruleset only
    assert bp.bypass_actors == (BypassActor("role", "admin"), BypassActor("org-admin", "organization admins"))
    assert bp.notes == ("ruleset:1234 My Org Ruleset is in evaluate mode: not enforced, ignored",)


# --- commit runs ---------------------------------------------------------------------------------


def test_pygithub_check_runs(replay: ReplayServer, tmp_path: Path) -> None:
    sha = "10a7135a04f71e6101f8b013aded8a662d08fd1f"
    serve(replay, pygithub("CheckRun.testGetCheckRunsForRef.txt"))
    minimal_repo(replay, "PyGithub/PyGithub", "main")
    replay.add("GET", f"/repos/PyGithub/PyGithub/commits/{sha}/statuses", 200, [])  # hand-written: none
    facts = gh.commit_runs(ctx(replay, tmp_path, "PyGithub/PyGithub", commit=sha))
    assert [(r.name, r.conclusion, r.app) for r in facts.runs] == [
        ("test (Python 3.8)", "success", "github-actions"),
        ("test (Python 3.7)", "success", "github-actions"),
        ("test (Python 3.6)", "failure", "github-actions"),
        ("test (Python 3.5)", "success", "github-actions"),
    ]
    assert all(r.source == "check-run" and r.status == "completed" and r.started_at for r in facts.runs)


def test_vendor_check_run_example(replay: ReplayServer, tmp_path: Path) -> None:
    sha = "ce587453ced02b1526dfb4cb910479d431683101"
    minimal_repo(replay, "github/hello-world", "main")
    replay.add(
        "GET",
        f"/repos/github/hello-world/commits/{sha}/check-runs",
        200,
        load("rest-api-description-examples", "check-run-paginated.json"),
    )
    replay.add("GET", f"/repos/github/hello-world/commits/{sha}/statuses", 200, [])
    (run,) = gh.commit_runs(ctx(replay, tmp_path, "github/hello-world", commit=sha)).runs
    assert (run.name, run.status, run.conclusion, run.app, run.id) == (
        "mighty_readme",
        "completed",
        "neutral",
        "octoapp",
        "4",
    )


def test_statuses_recorded(replay: ReplayServer, tmp_path: Path) -> None:
    entries = octokit("create-status")
    get = next(e for e in entries if e["method"] == "get" and e["path"].endswith("/statuses"))
    slug = "/".join(get["path"].split("/")[2:4])
    sha = get["path"].split("/")[-2]
    minimal_repo(replay, slug, "main")
    replay.add("GET", f"/repos/{slug}/commits/{sha}/check-runs", 200, {"total_count": 0, "check_runs": []})
    replay.add("GET", get["path"], 200, get["response"])
    facts = gh.commit_runs(ctx(replay, tmp_path, slug, commit=sha))
    assert [(r.name, r.status, r.conclusion, r.source) for r in facts.runs] == [
        ("example/2", "completed", "success", "status"),
        ("example/1", "completed", "failure", "status"),
    ]

    sha2 = "1292bf0e22c796e91cc3d6e24b544aece8c21f2a"  # PyGithub's recording uses the legacy /statuses/{sha}
    serve(
        replay,
        pygithub("CommitStatus.setUp.txt"),
        {f"/repos/jacquev6/PyGithub/statuses/{sha2}": f"/repos/jacquev6/PyGithub/commits/{sha2}/statuses"},
    )
    minimal_repo(replay, "jacquev6/PyGithub", "master")  # its repo payload predates default_branch
    replay.add("GET", f"/repos/jacquev6/PyGithub/commits/{sha2}/check-runs", 200, {"total_count": 0, "check_runs": []})
    runs = gh.commit_runs(ctx(replay, tmp_path, "jacquev6/PyGithub", commit=sha2)).runs
    assert [(r.name, r.status, r.conclusion, r.url) for r in runs] == [
        ("build", "completed", "success", "https://github.com/jacquev6/PyGithub/issues/67"),
        ("default", "in_progress", None, None),
    ]  # a 2012 status without context: GitHub's default context


# --- environments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reviewers"),
    [("Environment.setUp.txt", ("alson",)), ("Environment.testReviewers.txt", ("alson", "justice-league"))],
)
def test_pygithub_environment(replay: ReplayServer, tmp_path: Path, name: str, reviewers: tuple[str, ...]) -> None:
    serve(replay, pygithub("Environment.setUp.txt"))
    serve(replay, pygithub(name))
    (env,) = gh.environments(ctx(replay, tmp_path, "alson/PyGithub", {"dev"})).environments
    assert env.exists and env.reviewers == reviewers and env.min_approvals == 1
    assert env.self_review_allowed is True  # prevent_self_review absent: not prevented
    assert env.branch_policy == "protected" and env.other_rules == ("wait_timer: 15 min",)


def test_pygithub_deleted_environment(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, pygithub("Environment.testDeleteEnvironment.txt"))
    minimal_repo(replay, "alson/PyGithub", "main")
    (env,) = gh.environments(ctx(replay, tmp_path, "alson/PyGithub", {"test"})).environments
    assert not env.exists


def test_vendor_environment_with_custom_branch_policies(replay: ReplayServer, tmp_path: Path) -> None:
    minimal_repo(replay, "github/hello-world", "main")
    replay.add(
        "GET",
        "/repos/github/hello-world/environments/staging",
        200,
        load("rest-api-description-examples", "environment.json"),
    )
    replay.add(
        "GET",
        "/repos/github/hello-world/environments/staging/deployment-branch-policies",
        200,
        load("rest-api-description-examples", "deployment-branch-policies-list.json"),
    )
    (env,) = gh.environments(ctx(replay, tmp_path, "github/hello-world", {"staging"})).environments
    assert env.reviewers == ("octocat", "justice-league") and env.self_review_allowed is True
    assert env.branch_policy == "patterns" and env.branch_patterns == ("release/*", "main")
    assert env.other_rules == ("wait_timer: 30 min",)
