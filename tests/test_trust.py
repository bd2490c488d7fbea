"""The change under review cannot steer the gate (docs/security.md): attacks by a pull/merge request on
where the gate connects and what it trusts, end to end through the CLI, in real git repositories, against
loopback servers that record every request header — the hosts CI and the target branch name, and the
attacker's host the request names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.oci_registry import (
    BUILDER,
    COMMIT,
    REPO,
    Layout,
    Registry,
    Signer,
    slsa_v1,
    start_registry,
    tools_missing,
)
from tests.support.replay import ReplayServer

pytestmark = pytest.mark.server

POLICY = ".mlops-gate.yml"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}
TOKENS = {
    "GITHUB_TOKEN": "gh-secret-1",
    "GITLAB_TOKEN": "gl-secret-2",
    "MLOPS_GATE_PROMETHEUS_TOKEN": "prom-secret-3",
    "MLOPS_GATE_ALERTMANAGER_TOKEN": "am-secret-4",
    "MLOPS_GATE_REGISTRY_USERNAME": "ci",
    "MLOPS_GATE_REGISTRY_PASSWORD": "reg-secret-5",
}
LIVE = {"required_alerts": ["ChurnModelDown"], "require_repo_rules_loaded": False, "targets": {"job": "churn-model"}}
AM_CONFIG = (
    "route:\n  receiver: team-ml\nreceivers:\n  - name: team-ml\n    email_configs:\n      - to: ml@example.com\n"
)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def write(repo: Path, rel: str, data: Any) -> None:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(data if isinstance(data, str) else json.dumps(data))  # JSON is YAML


def policy(target: dict[str, str] | None = None, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"version": 1, "extends": "default", **top}
    if target:
        doc["target"] = target
    doc.setdefault("checks", {})["monitoring.live"] = {"enabled": True, "params": LIVE}
    return doc


def make_repo(path: Path, main_files: dict[str, Any], links: dict[str, str] | None = None) -> Path:
    """A git repository whose `main` holds `main_files` (and symbolic `links`), with `feature` checked out."""
    path.mkdir()
    write(path, "README.md", "churn model\n")
    for rel, data in main_files.items():
        write(path, rel, data)
    for rel, to in (links or {}).items():
        (path / rel).symlink_to(to)
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "main")
    git(path, "checkout", "-q", "-b", "feature")
    return path


@dataclass
class Hosts:
    """The trusted services (named by CI and the target branch) and the attacker's one host."""

    github: ReplayServer
    gitlab: ReplayServer
    prometheus: ReplayServer
    alertmanager: ReplayServer
    evil: ReplayServer

    def trusted(self) -> dict[str, ReplayServer]:
        return {
            "github": self.github,
            "gitlab": self.gitlab,
            "prometheus": self.prometheus,
            "alertmanager": self.alertmanager,
        }


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    servers = [ReplayServer().start() for _ in range(5)]
    h = Hosts(*servers)
    repo = "/repos/acme/churn"
    h.github.add(
        "GET",
        repo,
        200,
        {"id": 1, "name": "churn", "full_name": "acme/churn", "default_branch": "main", "private": True},
    )
    h.github.add(
        "GET",
        f"{repo}/branches/main/protection",
        200,
        {
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": True,
                "required_approving_review_count": 1,
            },
            "enforce_admins": {"enabled": True},
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": False},
        },
    )
    h.github.add("GET", f"{repo}/rules/branches/main", 200, [])
    h.prometheus.add(
        "GET",
        "/api/v1/rules",
        200,
        {
            "status": "success",
            "data": {
                "groups": [
                    {
                        "name": "churn",
                        "file": "alerts.yml",
                        "rules": [
                            {
                                "name": "ChurnModelDown",
                                "type": "alerting",
                                "health": "ok",
                                "labels": {"severity": "critical"},
                                "query": 'up{job="churn-model"} == 0',
                            }
                        ],
                    }
                ]
            },
        },
    )
    h.prometheus.add(
        "GET",
        "/api/v1/targets",
        200,
        {
            "status": "success",
            "data": {
                "activeTargets": [
                    {"labels": {"job": "churn-model"}, "health": "up", "scrapeUrl": "http://model:8000/metrics"}
                ]
            },
        },
    )
    h.prometheus.add("GET", "/api/v1/alerts", 200, {"status": "success", "data": {"alerts": []}})
    h.alertmanager.add("GET", "/api/v2/status", 200, {"config": {"original": AM_CONFIG}})
    h.alertmanager.add("GET", "/api/v2/silences", 200, [])
    try:
        yield h
    finally:
        for s in servers:
            s.stop()


def github_pr(repo: Path, hosts: Hosts, event: str = "pull_request") -> dict[str, str]:
    """What GitHub Actions gives a pull_request job (the event payload names the request's head commit)."""
    payload = repo.parent / "event.json"
    payload.write_text(
        json.dumps(
            {
                "pull_request": {
                    "head": {"sha": git(repo, "rev-parse", "HEAD"), "ref": "feature"},
                    "base": {"ref": "main"},
                }
            }
        )
    )
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "feature",
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_REPOSITORY": "acme/churn",
        "GITHUB_SHA": git(repo, "rev-parse", "HEAD"),
        "GITHUB_EVENT_PATH": str(payload),
        "GITHUB_API_URL": hosts.github.url,
        "HOME": str(repo.parent),
        **TOKENS,
    }


def as_push(env: dict[str, str], repo: Path, ref: str) -> dict[str, str]:
    """The same job on a push to `ref`: a push payload carries no `pull_request` (one that did would make the
    run a pull-request run, docs/security.md)."""
    payload = repo.parent / "push-event.json"
    payload.write_text(json.dumps({"ref": ref, "after": git(repo, "rev-parse", "HEAD")}))
    return {
        **env,
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_BASE_REF": "",
        "GITHUB_REF": ref,
        "GITHUB_EVENT_PATH": str(payload),
    }


def gitlab_mr(repo: Path, hosts: Hosts) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_PROJECT_PATH": "acme/churn",
        "CI_COMMIT_SHA": git(repo, "rev-parse", "HEAD"),
        "CI_API_V4_URL": f"{hosts.gitlab.url}/api/v4",
        "HOME": str(repo.parent),
        **TOKENS,
    }


def run(
    capsys: pytest.CaptureFixture[str],
    repo: Path,
    env: dict[str, str],
    *extra: str,
    only: str = "monitoring.live,policy.unchanged",
) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--repo", str(repo), "--only", only, "--format", "json", *extra], env=env)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f"{r['check']} {r['subject']}": r["status"] for r in report["results"]}


def auth_seen(server: ReplayServer) -> set[str]:
    return {v for s in server.seen for k, v in s.headers.items() if k.lower() in ("authorization", "private-token")}


def trusted_policy(hosts: Hosts) -> dict[str, Any]:
    return policy({"prometheus_url": hosts.prometheus.url, "alertmanager_url": hosts.alertmanager.url})


def evil_target(hosts: Hosts) -> dict[str, str]:
    e = hosts.evil.url
    return {
        "api_url": e,
        "prometheus_url": e,
        "alertmanager_url": e,
        "platform": "github",
        "repository": "attacker/well-protected",
        "image": f"{e.removeprefix('http://')}/ml/churn:latest",
    }


def assert_only_trusted(hosts: Hosts, *used: str) -> None:
    """0 requests at the attacker's host; each trusted host that was used saw exactly its own credential."""
    assert hosts.evil.seen == []
    own = {
        "github": "token gh-secret-1",
        "gitlab": "gl-secret-2",
        "prometheus": "Bearer prom-secret-3",
        "alertmanager": "Bearer am-secret-4",
    }
    for name, server in hosts.trusted().items():
        if name in used:
            assert server.seen and auth_seen(server) == {own[name]}, (name, server.seen)
        else:
            assert server.seen == [], name


LIVE_PASSED = {"monitoring.live prometheus:{prom}": "passed", "monitoring.live alertmanager:{am}": "passed"}


def live_passed(hosts: Hosts) -> dict[str, str]:
    return {k.format(prom=hosts.prometheus.url, am=hosts.alertmanager.url): v for k, v in LIVE_PASSED.items()}


# --- where the gate connects -------------------------------------------------------------------------------


@pytest.mark.parametrize("ci", ["github", "gitlab", "local --base-branch"])
def test_a_pull_request_cannot_point_the_gate_at_its_own_hosts(
    tmp_path: Path, hosts: Hosts, ci: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: trusted_policy(hosts)})
    write(repo, POLICY, policy(evil_target(hosts)))
    commit_all(repo, "point the gate elsewhere")
    env = (
        github_pr(repo, hosts)
        if ci == "github"
        else gitlab_mr(repo, hosts)
        if ci == "gitlab"
        else {"HOME": str(tmp_path), **TOKENS}
    )
    extra = ("--base-branch", "main") if ci.startswith("local") else ()
    only = (
        "vcs.branch-protected,monitoring.live,policy.unchanged"
        if ci == "github"
        else "monitoring.live,policy.unchanged"
    )
    code, report, err = run(capsys, repo, env, *extra, only=only)
    assert_only_trusted(hosts, *(("github",) if ci == "github" else ()), "prometheus", "alertmanager")
    expected = {**live_passed(hosts), f"policy.unchanged file:{POLICY}": "failed"}
    if ci == "github":
        expected["vcs.branch-protected github:acme/churn@main"] = "passed"
        assert report["target"]["api_url"] == hosts.github.url and report["target"]["repository"] == "acme/churn"
    assert code == 1 and statuses(report) == expected
    assert "image" not in report["target"]  # the image the request named is not judged
    assert "judged by main:.mlops-gate.yml; its own policy changes apply once merged" in err
    assert all(secret not in err + json.dumps(report) for secret in TOKENS.values())


@pytest.mark.parametrize("ref", ["main", "HEAD", "feature"])
def test_policy_ref_cannot_hand_the_decision_to_the_pull_request(
    tmp_path: Path, hosts: Hosts, ref: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: trusted_policy(hosts)})
    write(repo, POLICY, policy(evil_target(hosts)))
    commit_all(repo, "point the gate elsewhere")
    code, report, _ = run(capsys, repo, github_pr(repo, hosts), "--policy-ref", ref)
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    unchanged = "passed" if ref == "main" else "failed"  # a ref other than the target branch is still reported
    assert statuses(report) == {
        **live_passed(hosts),
        "policy.unchanged policy:main:.mlops-gate.yml"
        if ref == "main"
        else f"policy.unchanged policy:{ref}:.mlops-gate.yml": unchanged,
    }
    assert code == (0 if ref == "main" else 1)


def test_deleting_or_renaming_the_policy_does_not_drop_the_target_branchs(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: trusted_policy(hosts)})
    git(repo, "rm", "-q", POLICY)
    write(repo, "mlops-gate.yaml", policy(evil_target(hosts)))  # another discovered name, with the attacker's hosts
    commit_all(repo, "rename the policy")
    code, report, _ = run(capsys, repo, github_pr(repo, hosts))
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 1 and statuses(report) == {
        **live_passed(hosts),
        f"policy.unchanged file:{POLICY}": "failed",
        "policy.unchanged file:mlops-gate.yaml": "failed",
    }


def test_extends_to_a_file_the_pull_request_changed_is_not_followed(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    base = policy()
    base["extends"] = "gate/base.yml"
    repo = make_repo(
        tmp_path / "r",
        {
            POLICY: base,
            "gate/base.yml": {
                "version": 1,
                "extends": "default",
                "target": {"prometheus_url": hosts.prometheus.url, "alertmanager_url": hosts.alertmanager.url},
            },
        },
    )
    write(repo, "gate/base.yml", {"version": 1, "extends": "default", "target": evil_target(hosts)})  # edited
    commit_all(repo)
    code, report, _ = run(capsys, repo, github_pr(repo, hosts))
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 1 and statuses(report) == {
        **live_passed(hosts),
        f"policy.unchanged file:{POLICY}": "passed",
        "policy.unchanged file:gate/base.yml": "failed",
    }
    hosts.prometheus.seen.clear()
    hosts.alertmanager.seen.clear()
    evil = policy()
    evil["extends"] = "evil.yml"  # a file the request adds
    write(repo, POLICY, evil)
    write(repo, "evil.yml", {"version": 1, "extends": "gate/base.yml", "target": evil_target(hosts)})
    commit_all(repo)
    code, report, _ = run(capsys, repo, github_pr(repo, hosts))
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 1 and statuses(report)[f"policy.unchanged file:{POLICY}"] == "failed"


def test_a_policy_replaced_by_a_symbolic_link_is_not_followed(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: trusted_policy(hosts)})
    write(repo, "docs/example.yml", policy(evil_target(hosts)))
    (repo / POLICY).unlink()
    (repo / POLICY).symlink_to("docs/example.yml")
    commit_all(repo, "link")
    code, report, _ = run(capsys, repo, github_pr(repo, hosts))
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 1 and statuses(report) == {**live_passed(hosts), f"policy.unchanged file:{POLICY}": "failed"}


def test_a_policy_the_target_branch_does_not_have_decides_nothing(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {})
    write(repo, POLICY, policy(evil_target(hosts)))  # the request adds the policy it would be judged by
    commit_all(repo)
    code, report, _ = run(capsys, repo, github_pr(repo, hosts), only="monitoring.live,policy.unchanged,vcs.*")
    assert hosts.evil.seen == [] and hosts.prometheus.seen == [] and hosts.alertmanager.seen == []
    # the built-in default profile judges: no Prometheus there (an error, never the request's host); CI's platform
    assert {k: v for k, v in statuses(report).items() if not k.startswith("vcs.")} == {
        "monitoring.live check:monitoring.live": "error",
        f"policy.unchanged file:{POLICY}": "failed",
    }
    live = next(r for r in report["results"] if r["check"] == "monitoring.live")
    assert live["message"].startswith("not configured: set --prometheus-url or target.prometheus_url")
    assert auth_seen(hosts.github) == {"token gh-secret-1"} and code == 1
    code, report, err = run(capsys, repo, github_pr(repo, hosts), "--policy", str(repo / POLICY))
    assert code == 2 and report == {} and f"the target branch main has no {POLICY}" in err
    assert hosts.evil.seen == []


def test_a_policy_outside_the_repository_cannot_extend_a_file_of_the_change(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy the runner provides (outside the checkout) is not part of the change and is used as it is —
    unless it extends a working-tree file, which the request controls."""
    repo = make_repo(tmp_path / "r", {"gate/base.yml": {"version": 1, "extends": "default"}})
    write(repo, "gate/base.yml", {"version": 1, "extends": "default", "target": evil_target(hosts)})
    commit_all(repo)
    runner = tmp_path / "runner-policy.yml"
    write(tmp_path, runner.name, trusted_policy(hosts))
    code, report, _ = run(capsys, repo, github_pr(repo, hosts), "--policy", str(runner), only="monitoring.live")
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 0 and statuses(report) == live_passed(hosts)
    hosts.prometheus.seen.clear()
    hosts.alertmanager.seen.clear()
    doc = trusted_policy(hosts)
    doc["extends"] = str(repo / "gate" / "base.yml")
    write(tmp_path, runner.name, doc)
    code, report, err = run(capsys, repo, github_pr(repo, hosts), "--policy", str(runner), only="monitoring.live")
    assert code == 3 and report == {} and f"reads {repo / 'gate' / 'base.yml'} from the working tree" in err
    assert all(s.seen == [] for s in (*hosts.trusted().values(), hosts.evil))


def test_a_tag_named_like_the_target_branch_cannot_stand_in_for_it(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    """git takes a tag before a branch of the same short name: a pushed tag `main` (or `origin/main`) on the
    request's commit must not become the trusted policy, in a local clone or a CI clone alike."""
    upstream = make_repo(tmp_path / "upstream", {POLICY: trusted_policy(hosts)})
    write(upstream, POLICY, policy(evil_target(hosts)))
    commit_all(upstream, "point the gate elsewhere")
    git(upstream, "tag", "main")
    git(upstream, "tag", "origin/main")
    code, report, _ = run(capsys, upstream, github_pr(upstream, hosts))
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 1 and statuses(report) == {**live_passed(hosts), f"policy.unchanged file:{POLICY}": "failed"}
    code, report, err = run(capsys, upstream, github_pr(upstream, hosts), "--policy-ref", "main")
    assert code == 2 and report == {}
    assert "--policy-ref main is ambiguous: refs/tags/main, refs/heads/main (git would take the first)" in err
    assert "--policy-ref refs/heads/main" in err
    hosts.prometheus.seen.clear()
    hosts.alertmanager.seen.clear()
    clone = tmp_path / "clone"  # as CI checks out: every branch and tag, the request's commit checked out
    subprocess.run(
        ["git", "clone", "-q", "--branch", "feature", str(upstream), str(clone)],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    assert git(clone, "rev-parse", "origin/main") == git(clone, "rev-parse", "HEAD")  # the tag wins in git
    code, report, _ = run(capsys, clone, github_pr(clone, hosts))
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 1 and statuses(report) == {**live_passed(hosts), f"policy.unchanged file:{POLICY}": "failed"}
    unchanged = next(r for r in report["results"] if r["check"] == "policy.unchanged")
    assert "differs from origin/main" in unchanged["message"]


def test_an_unreadable_target_branch_fails_closed_before_any_request(
    tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: trusted_policy(hosts)})
    write(repo, POLICY, policy(evil_target(hosts)))
    commit_all(repo)
    env = {**github_pr(repo, hosts), "GITHUB_BASE_REF": "release"}  # not in the clone, no origin to fetch it from
    for extra in ((), ("--policy-ref", "HEAD"), ("--policy-ref", "feature")):
        code, report, err = run(capsys, repo, env, *extra)
        assert code == 3 and report == {}
        assert "the target branch release is not in the clone" in err and "never from the request" in err
        assert "fetch-depth: 0" in err and "--policy-ref does not replace it" in err
    merge_group = {**github_pr(repo, hosts, "merge_group"), "GITHUB_BASE_REF": ""}
    (tmp_path / "event.json").write_text("{}")  # a merge queue event that names no target branch
    code, report, err = run(capsys, repo, merge_group)
    assert code == 3 and "without a known target branch" in err
    assert all(s.seen == [] for s in (*hosts.trusted().values(), hosts.evil))


def test_a_push_trusts_the_working_tree(tmp_path: Path, hosts: Hosts, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a pull/merge request (a push to a protected branch, a tag, a local run): the checked-out policy is
    the trusted one, and the hosts it names are used — with the environment's credentials."""
    repo = make_repo(tmp_path / "r", {POLICY: policy()})
    write(repo, POLICY, policy({"prometheus_url": hosts.prometheus.url, "alertmanager_url": hosts.alertmanager.url}))
    commit_all(repo)
    env = as_push(github_pr(repo, hosts), repo, "refs/heads/main")
    code, report, _ = run(capsys, repo, env)
    assert_only_trusted(hosts, "prometheus", "alertmanager")
    assert code == 0 and statuses(report) == {**live_passed(hosts), f"policy.unchanged policy:{POLICY}": "passed"}


# --- what the gate trusts: keys read from the target branch -----------------------------------------------

KEY, ATTACKER = Signer.ec(), Signer.ec()
NAME = "ml/churn"
LABELS = {"org.opencontainers.image.source": f"https://github.com/{REPO}", "org.opencontainers.image.revision": COMMIT}
needs_registry = pytest.mark.skipif(tools_missing() is not None, reason=str(tools_missing()))


@dataclass
class Images:
    registry: Registry
    good: str  # signed and attested with KEY
    evil: str  # signed and attested with ATTACKER, from the same commit


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    if tools_missing():
        pytest.skip(str(tools_missing()))
    registry = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        layout = Layout(tmp_path_factory.mktemp("layout"))
        digests = {}
        for tag in ("good", "evil"):
            desc = layout.image(LABELS, content=tag.encode())
            layout.tag(desc, tag)
            registry.push_layout(layout, tag, NAME)
            digests[tag] = desc["digest"]
        for tag, signer in (("good", KEY), ("evil", ATTACKER)):
            registry.sign(NAME, digests[tag], signer)
            registry.attest(NAME, digests[tag], slsa_v1(digests[tag]), signer)
        yield Images(registry, f"{registry.host}/{NAME}@{digests['good']}", f"{registry.host}/{NAME}@{digests['evil']}")
    finally:
        registry.stop()


def key_policy(**target: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "extends": "default",
        "checks": {
            "image.signature": {"params": {"keys": ["cosign.pub"]}},
            "image.provenance": {"params": {"keys": ["cosign.pub"], "builder_ids": [BUILDER]}},
        },
    }
    if target:
        doc["target"] = target
    return doc


def run_image(
    capsys: pytest.CaptureFixture[str], repo: Path, env: dict[str, str], *extra: str
) -> tuple[int, dict[str, Any]]:
    env = {**env, "GITHUB_API_URL": "https://api.github.com"}  # provenance names github.com: the platform's host
    code, report, _ = run(
        capsys, repo, env, "--commit", COMMIT, "--repository", REPO, *extra, only="image.signature,image.provenance"
    )
    return code, report


@needs_registry
def test_a_swapped_key_file_does_not_verify_the_attackers_image(
    tmp_path: Path, hosts: Hosts, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: key_policy(), "cosign.pub": KEY.pem})
    write(repo, "cosign.pub", ATTACKER.pem)  # the policy file itself is unchanged: policy.unchanged would pass
    commit_all(repo, "rotate the key")
    env = github_pr(repo, hosts)
    for extra in ((), ("--policy-ref", "main")):
        code, report = run_image(capsys, repo, env, "--image", images.evil, *extra)  # the image CI built
        subject = f"oci:{images.evil}"
        assert code == 1 and statuses(report) == {
            f"image.signature {subject}": "failed",
            f"image.provenance {subject}": "failed",
        }
        sig = next(r for r in report["results"] if r["check"] == "image.signature")
        assert "does not verify with any of the 1 policy key(s)" in sig["violations"][0]["message"]
        assert "cosign.pub differs in the change under review: the copy on main is used" in sig["evidence"]
    code, report = run_image(capsys, repo, env, "--image", images.good)  # signed with the target branch's key
    assert code == 0 and set(statuses(report).values()) == {"passed"}
    push = as_push(env, repo, "refs/heads/feature")
    code, report = run_image(capsys, repo, push, "--image", images.evil)  # a push trusts its own tree
    assert code == 0 and set(statuses(report).values()) == {"passed"}
    assert hosts.evil.seen == []


@needs_registry
def test_a_pull_request_cannot_choose_the_image_judged(
    tmp_path: Path, hosts: Hosts, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", {POLICY: key_policy(image=images.good), "cosign.pub": KEY.pem})
    attacker_image = f"{hosts.evil.url.removeprefix('http://')}/{NAME}@sha256:{'e' * 64}"
    write(repo, POLICY, key_policy(image=attacker_image))
    write(repo, "cosign.pub", ATTACKER.pem)
    commit_all(repo)
    code, report = run_image(capsys, repo, github_pr(repo, hosts))
    assert hosts.evil.seen == []  # no request, so no registry credential, at the host the request named
    subject = f"oci:{images.good}"
    assert code == 0 and statuses(report) == {
        f"image.signature {subject}": "passed",
        f"image.provenance {subject}": "passed",
    }
    assert report["target"]["image"] == images.good


@needs_registry
def test_a_key_the_target_branch_lacks_or_links_is_not_trusted(
    tmp_path: Path, hosts: Hosts, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        tmp_path / "linked", {POLICY: key_policy(), "keys/real.pub": KEY.pem}, links={"cosign.pub": "keys/real.pub"}
    )  # the target branch's own key is a link: refused
    code, report = run_image(capsys, repo, github_pr(repo, hosts), "--image", images.good)
    sig = next(r for r in report["results"] if r["check"] == "image.signature")
    assert code == 3 and set(statuses(report).values()) == {"error"}
    assert "cosign.pub is or is below a symbolic link on main (cosign.pub -> keys/real.pub)" in sig["message"]
    repo = make_repo(tmp_path / "added", {POLICY: key_policy()})
    write(repo, "cosign.pub", ATTACKER.pem)  # the request adds the key it would be judged by
    commit_all(repo)
    code, report = run_image(capsys, repo, github_pr(repo, hosts), "--image", images.evil)
    sig = next(r for r in report["results"] if r["check"] == "image.signature")
    assert code == 3 and set(statuses(report).values()) == {"error"}
    assert "cosign.pub is not on the target branch main (cosign.pub)" in sig["message"]
    assert "merge the key through a pull/merge request of its own first" in sig["message"]
    assert hosts.evil.seen == []


@needs_registry
def test_a_key_replaced_by_a_link_in_the_request_is_read_from_the_target_branch(
    tmp_path: Path, hosts: Hosts, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "attacker.pub"
    outside.write_text(ATTACKER.pem)
    repo = make_repo(tmp_path / "r", {POLICY: key_policy(), "cosign.pub": KEY.pem})
    (repo / "cosign.pub").unlink()
    (repo / "cosign.pub").symlink_to(outside)
    commit_all(repo)
    code, report = run_image(capsys, repo, github_pr(repo, hosts), "--image", images.evil)
    sig = next(r for r in report["results"] if r["check"] == "image.signature")
    assert code == 1 and set(statuses(report).values()) == {"failed"}
    assert "cosign.pub is a symbolic link in the change under review: the copy on main is used" in sig["evidence"]


@needs_registry
def test_a_key_outside_the_repository_comes_from_the_environment(
    tmp_path: Path, hosts: Hosts, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    runner_key = tmp_path / "runner" / "release.pub"  # put there by the CI runner, not by the request
    runner_key.parent.mkdir()
    runner_key.write_text(KEY.pem)
    doc = key_policy()
    for check in doc["checks"].values():
        check["params"]["keys"] = [str(runner_key)]
    repo = make_repo(tmp_path / "r", {POLICY: doc})
    code, report = run_image(capsys, repo, github_pr(repo, hosts), "--image", images.good)
    assert code == 0 and set(statuses(report).values()) == {"passed"}
    shutil.rmtree(runner_key.parent)
    code, report = run_image(capsys, repo, github_pr(repo, hosts), "--image", images.good)
    assert code == 3 and "cannot read key file" in report["results"][0]["message"]
