"""The pre-commit hook (.pre-commit-hooks.yaml) runs exactly the checks that read only files, and blocks."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.policies import listed_checks

ROOT = Path(__file__).resolve().parents[1]
# facts read from the repository's files alone (promtool_check and amtool_check run tools; policy_file is
# judged against the target branch of a pull request)
FILE_FACTS = {"ci_config", "dockerfiles", "workflow_files", "drift_config", "rule_files"}


def hook() -> dict[str, object]:
    (only,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(only, dict)
    return only


def test_hook_runs_the_files_only_checks() -> None:
    spec = hook()
    assert spec["id"] == "mlops-gate" and spec["language"] == "python"
    assert spec["pass_filenames"] is False and spec["always_run"] is True
    argv = shlex.split(str(spec["entry"]))
    assert argv[:2] == ["mlops-gate", "check"] and argv[2] == "--only"
    files_only = {c["id"] for c in listed_checks() if set(c["needs"]) <= FILE_FACTS}
    assert set(argv[3].split(",")) == files_only


def run_hook(repo: Path) -> subprocess.CompletedProcess[str]:
    """The hook's entry as pre-commit runs it: in the repository, no file names."""
    argv = shlex.split(str(hook()["entry"]))
    return subprocess.run(
        [sys.executable, "-I", "-m", "mlops_gate", *argv[1:]],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(repo)},
    )


def test_hook_passes_a_clean_project_and_blocks_an_unpinned_image(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    wf = repo / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(
        "on:\n  pull_request:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n",
        encoding="utf-8",
    )
    (repo / ".mlops-gate.yml").write_text(
        "version: 1\nextends: default\nfail_on: high\nchecks:\n  image.base-pinned: {severity: high}\n"
        "  ci.pr-pipeline: {severity: high}\n  cd.deploy-via-pipeline: {severity: low}\n"
        "  orchestration.workflow-defined: {severity: low}\n  monitoring.drift-monitor: {severity: low}\n",
        encoding="utf-8",
    )
    (repo / "Dockerfile").write_text("FROM python:3.12-slim@sha256:" + "a" * 64 + "\n", encoding="utf-8")
    passed = run_hook(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\n", encoding="utf-8")
    blocked = run_hook(repo)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "image.base-pinned" in blocked.stdout
