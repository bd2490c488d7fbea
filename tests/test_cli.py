"""The CLI end to end through main(argv): exit codes, outputs, facts files, plugins, secrets."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import catalogue, registry
from mlops_gate.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "examples" / "churn-model"
BAD = ROOT / "examples" / "fraud-model"
# The examples name a GitHub/GitLab repository; offline, their platform facts come from facts.json.
GOOD_RUN = ("--repo", str(GOOD), "--facts-in", str(GOOD / "facts.json"))
BAD_RUN = ("--repo", str(BAD), "--facts-in", str(BAD / "facts.json"))
PLATFORM_CHECKS = "vcs.*,ci.required-runs,cd.production-environment,registry.*"  # offline: no remote reads


def run(capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    code = main(list(argv), env=env or {})
    out, err = capsys.readouterr()
    return code, out, err


def test_good_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *GOOD_RUN, "--format", "json")
    report = json.loads(out)
    assert code == 0, [r for r in report["results"] if r["status"] != "passed"]
    assert report["verdict"] == "pass"
    assert {r["check"] for r in report["results"]} >= {
        "ci.pr-pipeline",
        "cd.deploy-via-pipeline",
        "image.base-pinned",
        "monitoring.alert-rules",
    }


def test_bad_example_blocks_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *BAD_RUN, "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["verdict"] == "fail"
    failed = {r["check"] for r in report["results"] if r["status"] == "failed"}
    assert {
        "ci.pr-pipeline",
        "image.base-pinned",
        "monitoring.alert-rules",
        "monitoring.alert-routing",
        "monitoring.drift-monitor",
        "orchestration.workflow-defined",
    } <= failed
    waived = [r for r in report["results"] if r["status"] == "waived"]
    assert [(r["check"], r["subject"]) for r in waived] == [("image.base-pinned", "file:tools/Dockerfile")]
    assert [w["check"] for w in report["waivers"]["expired"]] == ["cd.deploy-via-pipeline"]


def test_console_report_has_verdict_and_no_color_off_tty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *BAD_RUN)
    assert code == 1
    assert "\x1b[" not in out
    assert "BLOCKED" in out


def test_every_output_written_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    formats = ["json", "sarif", "junit", "markdown", "github", "gitlab-codequality", "azure", "console"]
    args = [a for f in formats for a in ("--output", f"{f}={tmp_path / ('r.' + f)}")]
    code, out, _ = run(capsys, "check", *BAD_RUN, "-q", *args)
    assert code == 1 and out == ""
    for f in formats:
        assert (tmp_path / f"r.{f}").stat().st_size > 0, f
    assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "fail"
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_exit_code_does_not_depend_on_format(capsys: pytest.CaptureFixture[str]) -> None:
    codes = {
        fmt: run(capsys, "check", *BAD_RUN, "--format", fmt)[0]
        for fmt in ("console", "json", "sarif", "junit", "markdown", "github", "gitlab-codequality", "azure")
    }
    assert set(codes.values()) == {1}


def test_fail_on_critical_lets_high_failures_through(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *BAD_RUN, "--format", "json", "--fail-on", "critical", "--skip", "vcs.*")
    assert code == 0 and json.loads(out)["verdict"] == "pass"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "--output", "pdf=x.pdf"], "unknown format 'pdf'"),
        (["check", "--output", "sarif"], "expected FMT=PATH"),
        (["check", "--only", "ci.pr-pipelin"], "did you mean ci.pr-pipeline?"),
        (["check", "--repo", "/nonexistent/dir"], "--repo /nonexistent/dir: no such directory"),
        (["check", "--policy", "/nonexistent.yml"], "no policy file or built-in profile"),
        (["check", "--facts-in", "/nonexistent.json"], "--facts-in: cannot read"),
        (["explain", "ci.nope"], "unknown check id 'ci.nope'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "--format", "pdf")[0] == 2
    assert run(capsys, "frobnicate")[0] == 2
    assert run(capsys)[0] == 2
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("mlops-gate ")


def test_missing_facts_is_error_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(GOOD, tmp_path / "repo")
    pol = tmp_path / "p.yml"
    pol.write_text("version: 1\nextends: default\n")
    facts = tmp_path / "facts.json"
    skip = ("--skip", PLATFORM_CHECKS)
    code, _, _ = run(
        capsys, "check", "--repo", str(tmp_path / "repo"), "--policy", str(pol), "--facts-out", str(facts), "-q", *skip
    )
    assert code == 0
    data = json.loads(facts.read_text())
    del data["facts"]["rule_files"]
    facts.write_text(json.dumps(data))
    code, out, _ = run(capsys, "check", "--policy", str(pol), "--facts-in", str(facts), "--format", "json", *skip)
    report = json.loads(out)
    assert code == 3 and report["verdict"] == "error"
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert {r["check"] for r in errors} == {
        "monitoring.alert-rules",
        "monitoring.alert-routing",
        "monitoring.drift-monitor",
    }
    assert all("rule_files: not in the facts given" in r["message"] for r in errors)


def test_platform_checks_without_a_target_say_which_flag_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", "--repo", str(tmp_path), "--only", "vcs.branch-protected", "--format", "json")
    (result,) = json.loads(out)["results"]
    assert code == 3 and result["status"] == "error"
    assert result["message"] == (
        "not configured: set --platform or target.platform; --repository or target.repository, or disable the check"
    )


def test_facts_round_trip_reproduces_the_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = tmp_path / "facts.json"
    code, first, _ = run(
        capsys, "check", "--repo", str(BAD), "--format", "json", "--facts-out", str(facts), "--skip", PLATFORM_CHECKS
    )
    saved = json.loads(facts.read_text())
    assert saved["facts"]["ci_config"]["sources"] == [".gitlab-ci.yml"]
    assert saved["target"]["repository"] == "acme/fraud-model"
    code2, second, _ = run(
        capsys,
        "check",
        "--policy",
        str(BAD / ".mlops-gate.yml"),
        "--facts-in",
        str(facts),
        "--repo",
        str(BAD),  # only where findings are shown relative to: nothing is read from it
        "--format",
        "json",
        "--skip",
        PLATFORM_CHECKS,
    )
    a, b = json.loads(first), json.loads(second)
    assert code == code2 == 1
    assert a["results"] == b["results"]


def test_malformed_facts_file_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "f.json"
    bad.write_text(json.dumps({"schema_version": 1, "facts": {"ci_config": {"value": {"root": 3}}}}))
    code, _, err = run(capsys, "check", "--facts-in", str(bad))
    assert code == 2 and "facts.ci_config.value.root: expected a string" in err
    bad.write_text(json.dumps({"schema_version": 1, "facts": {"warp_drive": {"value": {}}}}))
    assert "unknown fact kind" in run(capsys, "check", "--facts-in", str(bad))[2]
    bad.write_text("{not json")
    assert "is not JSON" in run(capsys, "check", "--facts-in", str(bad))[2]


def test_checks_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "checks")
    assert code == 0 and "ci.pr-pipeline" in out and "monitoring.alert-rules" in out
    # which checks the default profile turns on, and which only strict does
    assert re.search(r"^ci\.pr-pipeline +high +on +", out, re.M)
    assert re.search(r"^monitoring\.live +high +off +", out, re.M)  # off in both profiles
    assert re.search(r"^registry\.lineage +high +off\* +", out, re.M)  # on in strict
    assert re.search(r"^vcs\.signed-commits +medium +off\* +", out, re.M)
    rows = {r["id"]: r for r in json.loads(run(capsys, "checks", "--format", "json")[1])}
    assert rows["ci.pr-pipeline"]["default"] and not rows["registry.metrics"]["default"]
    assert rows["vcs.signed-commits"]["strict"] and not rows["vcs.signed-commits"]["default"]
    code, out, _ = run(capsys, "explain", "image.base-pinned")
    assert code == 0 and "default severity: medium" in out and "on by default" in out
    # each param: type, default, meaning and an example
    assert "  allow  (list of strings; default [])" in out
    assert "globs over image references that need no digest." in out
    assert 'example:  allow: ["registry.internal/base/*"]' in out
    code, out, _ = run(capsys, "explain", "vcs.reviews-required")
    assert "  min_approvals  (integer; default 1)" in out and "example:  min_approvals: 2" in out
    assert "example:  require_last_push_approval: true" in out  # a true/false param: the other value


def test_tokens_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (tmp_path / ".gitlab-ci.yml").write_text(f'# leaked {token}\ntest:\n  script: ["echo {token}"]\n  x: [\n')
    env = {"GITHUB_TOKEN": token}
    _, out, err = run(
        capsys,
        "check",
        "--repo",
        str(tmp_path),
        "--format",
        "json",
        "--facts-out",
        str(tmp_path / "facts.json"),
        env=env,
    )
    assert token not in out + err
    assert token not in (tmp_path / "facts.json").read_text()


class _EP:
    def __init__(self, name: str, value: str, loaded: Any) -> None:
        self.name, self.value, self._loaded = name, value, loaded

    def load(self) -> Any:
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def test_broken_plugin_is_reported_and_blocks_a_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue.reset_cache()
    monkeypatch.setattr(
        catalogue,
        "_entry_points",
        lambda: [_EP("acme", "acme_checks:all", ImportError("No module named 'acme_checks'"))],
    )
    try:
        code, _, err = run(capsys, "check", *GOOD_RUN, "--format", "json")
        assert code == 3
        assert "plugin 'acme' (acme_checks:all) could not be loaded: ImportError" in err
        assert run(capsys, "checks")[0] == 3
    finally:
        catalogue.reset_cache()


def test_third_party_check_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from collections.abc import Iterator

    from mlops_gate.model import Outcome, Severity, Violation

    # declared as the README's plugin contract says: with mlops_gate.registry.check, reading a mapping of facts
    @registry.check("acme.has-readme", title="README present", severity=Severity.LOW, needs=("ci_config",))
    def has_readme(facts: Any, params: Any, target: Any) -> Iterator[Outcome]:
        """The repository has CI config (a third-party check for the test)."""
        n = len(facts["ci_config"].files)
        yield Outcome("repo:x", f"{n} CI files", violations=() if n else (Violation("no CI"),))

    catalogue.reset_cache()
    monkeypatch.setattr(catalogue, "_entry_points", lambda: [_EP("acme", "acme:has_readme", has_readme)])
    try:
        code, out, _ = run(capsys, "check", "--repo", str(GOOD), "--format", "json", "--only", "acme.has-readme")
        report = json.loads(out)
        assert code == 0
        assert [(r["check"], r["status"]) for r in report["results"]] == [("acme.has-readme", "passed")]
    finally:
        catalogue.reset_cache()


@pytest.mark.parametrize("example", [GOOD, BAD], ids=["churn-model", "fraud-model"])
def test_committed_demo_facts_reproduce_the_live_run(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The examples' facts.json (the offline demo) judges exactly as reading the files does.

    Regenerate with: mlops-gate check --repo examples/NAME --facts-out examples/NAME/facts.json -q
    """
    skip = ("--skip", PLATFORM_CHECKS)
    no_tools = {"MLOPS_GATE_PROMTOOL": "off", "MLOPS_GATE_AMTOOL": "off"}  # as examples/make_facts.py reads them
    live_code, live, _ = run(capsys, "check", "--repo", str(example), "--format", "json", *skip, env=no_tools)
    saved_code, saved, _ = run(
        capsys, "check", "--repo", str(example), "--facts-in", str(example / "facts.json"), "--format", "json", *skip
    )
    assert live_code == saved_code
    assert json.loads(live)["results"] == json.loads(saved)["results"]


def test_committed_demo_facts_are_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_facts", ROOT / "examples" / "make_facts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for name in ("churn-model", "fraud-model"):
            expected = json.loads((ROOT / "examples" / name / "facts.json").read_text())
            assert module.build(name) == expected, "run: python examples/make_facts.py"
    finally:
        os.chdir(cwd)


def test_audit_uses_the_strict_profile_and_records_the_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(BAD, repo)
    (repo / ".mlops-gate.yml").unlink()
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "release"], ["tag", "v1.2.0"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=git_env)
    code, out, _ = run(capsys, "audit", "--release", "v1.2.0", "--repo", str(repo), "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert report["fail_on"] == "medium" and report["target"]["release"] == "v1.2.0"
    severities = {r["check"]: r["severity"] for r in report["results"]}
    assert severities["ci.pr-pipeline"] == "critical" and severities["image.base-pinned"] == "high"
    assert run(capsys, "audit", "--repo", str(repo))[0] == 2  # --release is required


def test_locations_are_relative_to_the_ci_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"GITHUB_WORKSPACE": str(ROOT)}
    _, out, _ = run(capsys, "check", *BAD_RUN, "--format", "github", "--only", "image.base-pinned", env=env)
    assert "file=examples/fraud-model/Dockerfile,line=1" in out
    env = {"GITHUB_WORKSPACE": str(BAD)}
    _, out, _ = run(capsys, "check", *BAD_RUN, "--format", "github", "--only", "image.base-pinned", env=env)
    assert "file=Dockerfile,line=1" in out


def test_empty_selection_cannot_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", *GOOD_RUN, "--only", "ci.pr-pipeline", "--skip", "ci.*", "--format", "json")
    assert code == 3 and json.loads(out)["verdict"] == "error"
    assert "no check was selected" in err


def test_stdout_holds_one_report_and_outputs_are_checked_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", *BAD_RUN, "--output", "markdown=-")
    assert code == 1 and out.startswith("#") and "┏" not in out  # markdown only, no console table
    assert run(capsys, "check", *BAD_RUN, "--output", "json=-", "--output", "sarif=-")[0] == 2
    code, _, err = run(capsys, "check", *BAD_RUN, "--output", f"sarif={tmp_path}")
    assert code == 2 and "it is a directory" in err


def test_credentials_in_urls_are_dropped_and_verbose_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"MLOPS_GATE_PROMETHEUS_TOKEN": "s3cr3t-prom-token"}
    code, out, err = run(
        capsys,
        "check",
        *GOOD_RUN,
        "-v",
        "--format",
        "json",
        "--prometheus-url",
        "https://bob:s3cr3t-prom-token@prom.example:9090",
        env=env,
    )
    assert code == 0
    assert "s3cr3t" not in out + err
    assert json.loads(out)["target"]["prometheus_url"] == "https://prom.example:9090"
    assert "credentials in the prometheus_url URL are ignored" in err
