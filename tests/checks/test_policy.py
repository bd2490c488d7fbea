"""policy.unchanged and --policy-ref against real git repositories made in tmp dirs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.git_repos import GIT_ENV, GOOD, POLICY, PR_ENV, commit_all, git, make_repo


def gate(
    capsys: pytest.CaptureFixture[str], repo: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    code = main(
        ["check", "--repo", str(repo), "--only", "policy.unchanged", "--format", "json", *extra],
        env=PR_ENV if env is None else env,
    )
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def only_result(report: dict[str, Any]) -> dict[str, Any]:
    results = [r for r in report["results"] if r["check"] == "policy.unchanged"]
    assert len(results) == 1, results
    return results[0]


def edit_policy(repo: Path, old: str, new: str, name: str = POLICY) -> None:
    text = (repo / name).read_text()
    assert old in text
    (repo / name).write_text(text.replace(old, new))


def test_not_a_pull_request_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "fail_on: high", "fail_on: critical")
    code, report, _ = gate(capsys, repo, env={})
    assert code == 0
    assert only_result(report)["message"].startswith("not a pull request")


def test_pull_request_with_the_target_branch_policy_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 0 and r["status"] == "passed" and r["subject"] == f"file:{POLICY}"
    assert r["message"] == "identical to main"
    assert r["severity"] == "critical"


def test_pull_request_that_edits_the_policy_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "fail_on: high", "fail_on: critical")
    commit_all(repo)
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed" and r["blocking"]
    assert "differs from main: 1 changed blocks, +1 -1 lines" in r["message"]
    assert r["violations"][0]["location"] == {"path": POLICY, "line": 4}
    assert r["evidence"] == [f"compared with git main:{POLICY}"]


def test_pull_request_that_adds_the_policy_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "r"
    shutil.copytree(GOOD, repo)
    policy = (repo / POLICY).read_text()
    (repo / POLICY).unlink()
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "no policy yet")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / POLICY).write_text(policy)
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed"
    assert r["message"] == f"{POLICY} is not on main: the pull request adds the policy it is judged by"


def test_a_changed_file_the_policy_extends_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "r"
    shutil.copytree(GOOD, repo)
    (repo / "gate").mkdir()
    (repo / "gate" / "base.yml").write_text("version: 1\nextends: strict\n")
    edit_policy(repo, "extends: default", "extends: gate/base.yml")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "gate" / "base.yml").write_text("version: 1\nextends: default\n")
    code, report, _ = gate(capsys, repo)
    by_subject = {r["subject"]: r["status"] for r in report["results"]}
    assert code == 1 and by_subject == {f"file:{POLICY}": "passed", "file:gate/base.yml": "failed"}


def test_missing_target_branch_is_an_error_naming_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the run fails closed before anything is fetched: the target branch's policy is the one the gate trusts
    repo = make_repo(tmp_path / "r")
    code, report, err = gate(capsys, repo, env={**PR_ENV, "GITHUB_BASE_REF": "develop"})
    assert code == 3 and report == {}
    assert "the target branch develop is not in the clone" in err
    assert "fetch-depth: 0" in err and "git fetch origin develop" in err
    code, report, err = gate(capsys, repo, "--base-branch", "develop", env={})  # outside Actions
    assert code == 3 and report == {} and "run `git fetch origin develop`" in err


def test_not_a_git_repository_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "r"
    shutil.copytree(GOOD, repo)
    code, report, err = gate(capsys, repo)
    assert code == 3 and report == {} and "is not a git repository" in err


def test_a_clone_compares_with_the_remote_tracking_branch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upstream = make_repo(tmp_path / "upstream")
    git(upstream, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(upstream), str(clone)], check=True, env={**os.environ, **GIT_ENV})
    git(clone, "checkout", "-q", "-b", "feature")
    git(clone, "branch", "-D", "main")  # as in CI: only origin/main is there
    edit_policy(clone, "fail_on: high", "fail_on: critical")
    code, report, _ = gate(capsys, clone)
    r = only_result(report)
    assert code == 1 and "differs from origin/main" in r["message"]


def test_the_pull_requests_own_waiver_and_switch_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "checks:\n", "checks:\n  policy.unchanged:\n    enabled: false\n    severity: info\n")
    (repo / POLICY).write_text(
        (repo / POLICY).read_text()
        + (
            "waivers:\n  - check: policy.unchanged\n    subject: '*'\n    owner: '@me'\n"
            "    reason: trust me\n    expires: 2999-01-01\n"
        )
    )
    code, report, err = gate(capsys, repo)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed" and r["severity"] == "critical"
    assert report["waivers"]["applied"] == [] and report["waivers"]["unused"] == []
    assert "waiver of policy.unchanged for '*' (owner @me)" in err and "only the policy on main can waive it" in err


def test_a_waiver_from_the_target_branch_policy_applies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waiver = (
        "waivers:\n  - check: policy.unchanged\n    subject: 'file:.mlops-gate.yml'\n    owner: '@ml-platform'\n"
        "    reason: policy migration PLAT-7\n    expires: 2999-01-01\n"
    )
    repo = make_repo(tmp_path / "r", (GOOD / POLICY).read_text() + waiver)
    edit_policy(repo, "fail_on: high", "fail_on: critical")
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 0 and r["status"] == "waived"
    assert [w["owner"] for w in report["waivers"]["applied"]] == ["@ml-platform"]


def test_the_target_branch_policy_may_lower_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r", (GOOD / POLICY).read_text() + "  policy.unchanged:\n    severity: low\n")
    edit_policy(repo, "fail_on: high", "fail_on: high  # edited")
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 0 and r["status"] == "failed" and r["severity"] == "low" and not r["blocking"]


def test_policy_ref_reads_the_policy_from_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "fail_on: high", "fail_on: critical")
    code, report, _ = gate(capsys, repo, "--policy-ref", "main")
    r = only_result(report)
    assert code == 0 and r["status"] == "passed"
    assert "policy loaded from the git ref main (--policy-ref)" in r["message"]
    assert report["fail_on"] == "high"  # main's copy, not the edited working tree
    code, report, _ = gate(capsys, repo, "--policy-ref", "main", "--policy", POLICY, env={})
    assert code == 0 and report["fail_on"] == "high"


def test_policy_ref_errors_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    code, _, err = gate(capsys, repo, "--policy-ref", "nope")
    assert code == 2 and "--policy-ref nope: no such ref" in err
    code, _, err = gate(capsys, repo, "--policy-ref", "main", "--policy", "missing.yml", env={})
    assert code == 2 and "no policy file at that ref (looked for missing.yml)" in err
    # on a pull request the target branch's copy is read first: it is the one missing
    code, _, err = gate(capsys, repo, "--policy-ref", "main", "--policy", "missing.yml")
    assert code == 2 and "--policy missing.yml: the target branch main has no missing.yml" in err
    (repo / "bad.yml").write_text("version: 1\nfail_on: sometimes\n")
    commit_all(repo)
    code, _, err = gate(capsys, repo, "--policy-ref", "feature", "--policy", "bad.yml", env={})
    assert code == 2 and "feature:bad.yml" in err and "fail_on" in err


def test_builtin_profile_has_nothing_to_tamper_with(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    code, report, _ = gate(capsys, repo, "--policy", "strict")
    assert code == 0 and only_result(report)["message"].startswith("built-in profile strict")


def test_base_branch_flag_simulates_a_pull_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "fail_on: high", "fail_on: low")
    code, report, _ = gate(capsys, repo, "--base-branch", "main", env={})
    assert code == 1 and only_result(report)["status"] == "failed"


def test_pull_request_that_deletes_the_policy_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "rm", "-q", POLICY)
    commit_all(repo, "drop the gate")
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed" and r["blocking"] and r["subject"] == f"file:{POLICY}"
    assert r["message"].startswith(
        f"{POLICY} is on main but the pull request deletes it: the run falls back to default"
    )
    assert r["evidence"] == [f"git main:{POLICY} exists"]
    code, report, _ = gate(capsys, repo, env={})  # not a pull request: nothing to compare
    assert code == 0 and only_result(report)["message"].startswith("not a pull request")


def test_deleting_the_policy_in_the_working_tree_only_is_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    (repo / POLICY).unlink()
    code, report, _ = gate(capsys, repo)
    assert code == 1 and only_result(report)["status"] == "failed"


def test_renaming_the_policy_to_another_discovered_name_is_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "mv", POLICY, "mlops-gate.yaml")
    edit_policy(repo, "fail_on: high", "fail_on: critical", name="mlops-gate.yaml")
    commit_all(repo)
    code, report, _ = gate(capsys, repo)
    by_subject = {r["subject"]: (r["status"], r["message"]) for r in report["results"]}
    assert code == 1
    assert by_subject[f"file:{POLICY}"][0] == "failed" and "deletes it" in by_subject[f"file:{POLICY}"][1]
    assert by_subject["file:mlops-gate.yaml"] == (
        "failed",
        "mlops-gate.yaml is not on main: the pull request adds the policy it is judged by",
    )


def test_a_second_policy_file_on_the_target_branch_cannot_be_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    (repo / "mlops-gate.yml").write_text("version: 1\nextends: default\n")
    commit_all(repo, "a fallback policy")
    git(repo, "checkout", "-q", "-B", "feature")
    git(repo, "rm", "-q", POLICY)  # discovery now picks mlops-gate.yml, identical on main
    commit_all(repo)
    code, report, _ = gate(capsys, repo)
    by_subject = {r["subject"]: r["status"] for r in report["results"]}
    assert code == 1 and by_subject == {f"file:{POLICY}": "failed", "file:mlops-gate.yml": "passed"}


def test_deleting_a_policy_given_with_the_policy_flag_is_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "mv", POLICY, "gate.yml")
    commit_all(repo)
    git(repo, "checkout", "-q", "-b", "pr")
    git(repo, "rm", "-q", "gate.yml")
    commit_all(repo)
    code, _, err = gate(capsys, repo, "--policy", str(repo / "gate.yml"), env={**PR_ENV, "GITHUB_BASE_REF": "feature"})
    assert code == 2 and "gate.yml" in err  # a usage error: never a pass


def test_the_deleted_policy_on_the_target_branch_still_configures_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r", (GOOD / POLICY).read_text() + "  policy.unchanged:\n    severity: low\n")
    git(repo, "rm", "-q", POLICY)
    commit_all(repo)
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert r["status"] == "failed" and r["severity"] == "low" and not r["blocking"] and code == 0


def test_no_policy_on_either_side_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", POLICY)
    commit_all(repo, "no policy")
    git(repo, "checkout", "-q", "-B", "feature")
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 0 and r["message"] == "built-in profile default: no policy file in the repository to change"


def make_origin(tmp_path: Path) -> str:
    """A bare `origin` with `main` and a `feature` branch that edits the policy; its file:// URL."""
    upstream = make_repo(tmp_path / "upstream")
    edit_policy(upstream, "fail_on: high", "fail_on: critical")
    commit_all(upstream, "weaken the gate")
    git(upstream, "commit", "-q", "--allow-empty", "-m", "more")
    bare = tmp_path / "origin.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(upstream), str(bare)], check=True, env={**os.environ, **GIT_ENV}
    )
    return bare.as_uri()


def clone(url: str, dest: Path, *flags: str) -> Path:
    subprocess.run(
        ["git", "clone", "-q", *flags, "--branch", "feature", url, str(dest)], check=True, env={**os.environ, **GIT_ENV}
    )
    return dest


def test_a_shallow_clone_fetches_the_target_branch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shallow = clone(make_origin(tmp_path), tmp_path / "clone", "--depth", "1")  # as actions/checkout does
    assert git(shallow, "rev-parse", "--is-shallow-repository") == "true"
    assert git(shallow, "branch", "-a", "--list", "*main") == ""
    code, report, _ = gate(capsys, shallow)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed" and "differs from origin/main" in r["message"]
    assert git(shallow, "rev-parse", "origin/main") == git(tmp_path / "upstream", "rev-parse", "main")
    assert git(shallow, "rev-parse", "--is-shallow-repository") == "true"
    assert git(shallow, "tag") == ""  # --no-tags


def test_a_single_branch_clone_is_not_made_shallow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = clone(make_origin(tmp_path), tmp_path / "clone", "--single-branch")
    code, report, _ = gate(capsys, single)
    assert code == 1 and "differs from origin/main" in only_result(report)["message"]
    assert git(single, "rev-parse", "--is-shallow-repository") == "false"
    assert git(single, "rev-list", "--count", "HEAD") == "3"


def test_a_branch_origin_does_not_have_is_still_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shallow = clone(make_origin(tmp_path), tmp_path / "clone", "--depth", "1")
    code, report, err = gate(capsys, shallow, env={**PR_ENV, "GITHUB_BASE_REF": "develop"})
    assert code == 3 and report == {}
    assert "the target branch develop is not in the clone" in err and "fetching it from origin" in err
    assert "fetch-depth: 0" in err and "git fetch origin develop" in err
    code, report, err = gate(capsys, shallow, env={**PR_ENV, "GITHUB_BASE_REF": "-x"})  # never passed to git fetch
    assert code == 3 and report == {} and "'-x' is not a branch name" in err


def test_policy_ref_other_than_the_target_branch_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    code, report, _ = gate(capsys, repo, "--policy-ref", "HEAD")  # feature == main: the same commit
    r = only_result(report)
    assert code == 0 and r["status"] == "passed" and "the target branch main's commit" in r["message"]
    edit_policy(repo, "checks:\n", "checks:\n  policy.unchanged:\n    enabled: false\n")
    commit_all(repo)
    for ref in ("HEAD", "feature"):
        code, report, _ = gate(capsys, repo, "--policy-ref", ref)
        r = only_result(report)  # HEAD's policy disables the check: the target branch's policy decides
        assert code == 1 and r["status"] == "failed" and r["severity"] == "critical"
        assert f"the policy was read from the git ref {ref} (--policy-ref" in r["message"]
        assert "which is not the target branch main" in r["message"] and "use --policy-ref main" in r["message"]
    code, report, _ = gate(capsys, repo, "--policy-ref", "main")
    assert code == 0 and only_result(report)["status"] == "passed"


LENIENT = "version: 1\nextends: default\nfail_on: critical\n"


def test_a_policy_replaced_by_a_link_to_a_lenient_file_on_main_is_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    (repo / "examples").mkdir()
    (repo / "examples" / "lenient.yml").write_text(LENIENT)
    commit_all(repo, "an example")
    git(repo, "checkout", "-q", "-B", "feature")
    (repo / POLICY).unlink()
    (repo / POLICY).symlink_to("examples/lenient.yml")  # identical to main's examples/lenient.yml
    commit_all(repo, "weaken")
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed" and r["blocking"] and r["subject"] == f"file:{POLICY}"
    assert r["message"].startswith(f"{POLICY} is a symbolic link: the policy file, every file it extends")
    assert [v["message"] for v in r["violations"]] == [
        f"{POLICY} is a symbolic link in the working tree (-> examples/lenient.yml)"
    ]
    assert report["fail_on"] == "high"  # main's policy judges the request, not the lenient file it links to


def test_adding_a_linked_policy_name_next_to_mains_is_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    git(repo, "mv", POLICY, ".mlops-gate.yaml")
    (repo / "lenient.yml").write_text(LENIENT)
    commit_all(repo, "main uses .mlops-gate.yaml")
    git(repo, "checkout", "-q", "-B", "feature")
    (repo / POLICY).symlink_to("lenient.yml")  # discovered before .mlops-gate.yaml
    code, report, _ = gate(capsys, repo)
    r = only_result(report)
    assert code == 1 and r["status"] == "failed" and r["subject"] == f"file:{POLICY}"
    assert "is a symbolic link" in r["message"]


def make_extending_repo(path: Path) -> Path:
    """main: the policy extends gate/base.yml (strict); lenient/base.yml (default) is on main too."""
    shutil.copytree(GOOD, path, ignore=shutil.ignore_patterns("facts.json"))
    for folder, profile in (("gate", "strict"), ("lenient", "default")):
        (path / folder).mkdir()
        (path / folder / "base.yml").write_text(f"version: 1\nextends: {profile}\n")
    edit_policy(path, "extends: default", "extends: gate/base.yml")
    git(path, "init", "-q", "-b", "main")
    commit_all(path)
    git(path, "checkout", "-q", "-b", "feature")
    return path


def test_an_extended_file_replaced_by_a_link_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_extending_repo(tmp_path / "r")
    (repo / "gate" / "base.yml").unlink()
    (repo / "gate" / "base.yml").symlink_to("../lenient/base.yml")
    code, report, _ = gate(capsys, repo)
    by_subject = {r["subject"]: r for r in report["results"]}
    assert code == 1 and by_subject[f"file:{POLICY}"]["status"] == "passed"
    r = by_subject["file:gate/base.yml"]
    assert r["status"] == "failed" and r["message"].startswith("gate/base.yml is a symbolic link")


def test_a_folder_replaced_by_a_link_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_extending_repo(tmp_path / "r")
    shutil.rmtree(repo / "gate")
    (repo / "gate").symlink_to("lenient")  # gate/base.yml now reads lenient/base.yml
    commit_all(repo, "weaken")
    code, report, _ = gate(capsys, repo)
    r = {r["subject"]: r for r in report["results"]}["file:gate/base.yml"]
    assert code == 1 and r["status"] == "failed"
    assert r["message"].startswith("gate/base.yml is or is below a symbolic link (gate)")
    assert "gate is a symbolic link in the working tree (-> lenient)" in r["violations"][0]["message"]


def test_a_link_on_the_target_branch_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "main")
    git(repo, "mv", POLICY, "gate.yml")
    (repo / POLICY).symlink_to("gate.yml")
    commit_all(repo, "main's policy is a link")
    git(repo, "checkout", "-q", "-B", "feature")
    (repo / POLICY).unlink()
    (repo / POLICY).write_text(LENIENT)
    code, report, err = gate(capsys, repo)  # main's policy is never read through the link: nothing is trusted
    assert code == 2 and report == {}
    assert f"the target branch main: {POLICY} is or is below a symbolic link ({POLICY} -> gate.yml)" in err
    code, _, err = gate(capsys, repo, "--policy-ref", "main")  # never read through the link at the ref
    assert code == 2 and "is or is below a symbolic link" in err


def test_a_repository_reached_through_a_link_is_compared_normally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    (tmp_path / "alias").symlink_to(repo)  # as /tmp -> /private/tmp on macOS: outside the repository
    code, report, _ = gate(capsys, tmp_path / "alias")
    r = only_result(report)
    assert code == 0 and r["status"] == "passed" and r["subject"] == f"file:{POLICY}"


@pytest.mark.parametrize("base", ["HEAD", "HEAD~0", "@{-1}", "main~1", "refs/heads/main"])
def test_the_target_branch_must_be_a_branch_name(tmp_path: Path, capsys: pytest.CaptureFixture[str], base: str) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "checks:\n", "checks:\n  policy.unchanged:\n    enabled: false\n")
    commit_all(repo, "switch the guard off")
    code, report, err = gate(capsys, repo, "--base-branch", base, env={})
    assert code == 3 and report == {}  # the request's own policy is never used instead: the run fails closed
    assert "is not a branch name" in err or "not in the clone" in err


def test_the_target_branch_cannot_be_the_branch_being_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    edit_policy(repo, "checks:\n", "checks:\n  policy.unchanged:\n    enabled: false\n")
    commit_all(repo, "switch the guard off")
    code, report, err = gate(capsys, repo, "--base-branch", "feature", env={})  # the checked-out branch
    assert code == 3 and report == {}
    assert "the target branch is the branch being checked (feature)" in err
    git(repo, "checkout", "-q", "--detach")  # as in CI; the request's own branch named by the platform
    code, report, err = gate(capsys, repo, "--base-branch", "feature", env=PR_ENV)
    assert code == 3 and "the target branch is the branch being checked" in err
    code, report, err = gate(capsys, repo, "--base-branch", "feature", "--branch", "feature", env={})
    assert code == 3 and "the target branch is the branch being checked" in err
    code, report, _ = gate(capsys, repo, "--base-branch", "main", env={})
    assert code == 1 and only_result(report)["status"] == "failed"


def test_a_fork_pull_request_between_same_named_branches_is_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "--detach")
    env = {**PR_ENV, "GITHUB_HEAD_REF": "main"}  # a fork's main into main: the platform names the target
    code, report, _ = gate(capsys, repo, env=env)
    assert code == 0 and only_result(report)["status"] == "passed"
    edit_policy(repo, "fail_on: high", "fail_on: critical")
    code, report, _ = gate(capsys, repo, env=env)
    assert code == 1 and only_result(report)["status"] == "failed"


@pytest.mark.parametrize("selection", [["--only", "ci.*"], ["--only", "ci.*,policy.*", "--skip", "policy.unchanged"]])
def test_the_target_branch_policy_judges_whatever_is_selected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], selection: list[str]
) -> None:
    # formerly "no fetch when the check is not selected": every pull-request run now reads the policy it trusts
    # from the target branch (fetched once when the clone lacks it), whichever checks are selected
    shallow = clone(make_origin(tmp_path), tmp_path / "clone", "--depth", "1")
    assert git(shallow, "for-each-ref", "refs/remotes/origin/main") == ""
    main(["check", "--repo", str(shallow), "--format", "json", *selection], env=PR_ENV)
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["results"] and all(r["check"] != "policy.unchanged" for r in report["results"])
    assert report["fail_on"] == "high"  # main's policy: the request's edit (fail_on: critical) is not applied
    assert "judged by origin/main:.mlops-gate.yml" in err
    assert git(shallow, "for-each-ref", "refs/remotes/origin/main") != ""
    code, report, _ = gate(capsys, shallow)
    assert code == 1 and only_result(report)["status"] == "failed"
