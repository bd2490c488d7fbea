"""Every option of check and audit from MLOPS_GATE_<OPTION>, below the flag; and the target's precedence, each
layer shown in the header: flags > MLOPS_GATE_* > the policy's target: > CI detection > the checkout."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mlops_gate.cli import main
from tests.support.git_repos import git

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "examples" / "churn-model"
BAD = ROOT / "examples" / "fraud-model"
PLATFORM_CHECKS = "vcs.*,ci.required-runs,cd.production-environment,registry.*"
REPLAY = ("check", "--repo", str(BAD), "--facts-in", str(BAD / "facts.json"))


def run(capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    code = main(list(argv), env=env or {})
    out, err = capsys.readouterr()
    return code, out, err


def header(out: str) -> dict[str, tuple[str, str]]:
    """The report header's target lines: field -> (value, source)."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"^([a-z_]+) +(\S+) +\((.+)\)$", line)
        if m:
            found[m.group(1)] = (m.group(2), m.group(3))
    return found


def test_target_precedence_flag_env_policy_ci_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOOD, repo, ignore=shutil.ignore_patterns("facts.json", ".mlops-gate.yml"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://github.com/acme/from-checkout.git")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    policy = tmp_path / "policy.yml"
    policy.write_text("version: 1\nextends: default\ntarget:\n  repository: acme/from-policy\n")
    ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REPOSITORY": "acme/from-ci",
        "GITHUB_SHA": "c" * 40,
    }
    base = ("check", "--repo", str(repo), "--skip", PLATFORM_CHECKS)
    layers = [
        (
            (*base, "--policy", str(policy), "--repository", "acme/from-flag"),
            {**ci, "MLOPS_GATE_REPOSITORY": "acme/from-env"},
        ),
        ((*base, "--policy", str(policy)), {**ci, "MLOPS_GATE_REPOSITORY": "acme/from-env"}),
        ((*base, "--policy", str(policy)), ci),
        (base, ci),
        (base, {}),
    ]
    seen = []
    for argv, env in layers:
        code, out, err = run(capsys, *argv, env=env)
        assert code == 0, err
        seen.append(header(out)["repository"])
    assert seen == [
        ("acme/from-flag", "flag"),
        ("acme/from-env", "MLOPS_GATE_REPOSITORY"),
        ("acme/from-policy", f"policy ({policy})"),
        ("acme/from-ci", "CI (GitHub Actions)"),
        ("acme/from-checkout", "checkout: remote origin"),
    ]
    # CI's commit wins over HEAD; HEAD is the commit when nothing else says one
    assert header(run(capsys, *base, env=ci)[1])["commit"] == ("c" * 40, "CI (GitHub Actions)")
    assert header(run(capsys, *base, env={})[1])["commit"] == (git(repo, "rev-parse", "HEAD"), "checkout: HEAD")


def test_options_from_the_environment_and_flags_win(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *REPLAY, env={"MLOPS_GATE_FORMAT": "json"})
    assert code == 1 and json.loads(out)["verdict"] == "fail"
    code, out, _ = run(capsys, *REPLAY, "--format", "console", env={"MLOPS_GATE_FORMAT": "json"})
    assert out.startswith("Facts replayed")  # the flag wins
    code, out, _ = run(capsys, *REPLAY, env={"MLOPS_GATE_FORMAT": ""})  # empty is unset (a CI input left blank)
    assert out.startswith("Facts replayed")
    assert run(capsys, *REPLAY, env={"MLOPS_GATE_QUIET": "true"})[1] == ""
    assert run(capsys, *REPLAY, env={"MLOPS_GATE_QUIET": "0"})[1] != ""
    code, out, _ = run(capsys, *REPLAY, "--format", "json", env={"MLOPS_GATE_FAIL_ON": "critical"})
    assert json.loads(out)["fail_on"] == "critical"
    skipped = run(capsys, *REPLAY, "--format", "json", env={"MLOPS_GATE_SKIP": "vcs.*, registry.*"})[1]
    assert {r["area"] for r in json.loads(skipped)["results"]}.isdisjoint({"vcs", "registry"})
    outputs = f"json={tmp_path / 'r.json'},sarif={tmp_path / 'r.sarif'}"
    assert run(capsys, *REPLAY, "-q", env={"MLOPS_GATE_OUTPUT": outputs})[0] == 1
    assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "fail"
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MLOPS_GATE_QUIET": "maybe"}, "MLOPS_GATE_QUIET='maybe' is not true or false"),
        (
            {"MLOPS_GATE_FAIL_ON": "hgh"},
            "MLOPS_GATE_FAIL_ON='hgh' is not one of critical, high, medium, low, info (did you mean high?)",
        ),
        ({"MLOPS_GATE_PLATFORM": "bitbucket"}, "MLOPS_GATE_PLATFORM='bitbucket' is not one of github, gitlab, azure"),
        ({"MLOPS_GATE_COLOR": "sometimes"}, "MLOPS_GATE_COLOR='sometimes' is not one of auto, always, never"),
        ({"MLOPS_GATE_OUTPUT": "pdf=x.pdf"}, "--output 'pdf=x.pdf': unknown format 'pdf'"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_variable(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], message: str
) -> None:
    code, out, err = run(capsys, *REPLAY, env=env)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_audit_takes_its_release_from_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "audit", "--repo", str(tmp_path))
    assert code == 2 and "the following arguments are required: --release (or MLOPS_GATE_RELEASE)" in err
    code, _, err = run(capsys, "audit", "--repo", str(tmp_path), env={"MLOPS_GATE_RELEASE": "v1"})
    assert code == 2 and "--release v1" in err  # it got as far as resolving the tag (not a git repository here)


def test_other_commands_do_not_read_the_check_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "checks", env={"MLOPS_GATE_FORMAT": "sarif", "MLOPS_GATE_QUIET": "1"})
    assert code == 0 and "ci.pr-pipeline" in out
