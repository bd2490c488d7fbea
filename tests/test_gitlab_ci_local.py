"""The GitLab components under gitlab-ci-local (a GitLab runner emulator, shell executor): the job a user's
`include: component:` gets, run as GitLab runs it, for pass, block, could-not-evaluate and a release tag.

The component files are served from gitlab-ci-local's include cache, as if fetched from
gitlab.example.com/acme/mlops-gate@<version>. The release-tag job installs mlops-gate the way a user's
pipeline does: it fetches this checkout's source at the tag v<version> and installs the locked dependencies
(pip through the machine's index; skipped, naming it, only when none is reachable). The other scenarios run
the same job with MLOPS_GATE_SKIP_INSTALL=1 on the tests' interpreter, to keep the suite's time down.
gitlab-ci-local comes from npm (.ci/run installs the pinned version).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_gate import __version__
from tests.support.policies import only_policy
from tests.support.source_install import git, install_env, installed_from_source, skip_when_offline, tagged_source

ROOT = Path(__file__).resolve().parents[1]
GCL = shutil.which("gitlab-ci-local")
pytestmark = pytest.mark.skipif(
    GCL is None, reason="gitlab-ci-local is not installed (npm install -g gitlab-ci-local@4.73.0; .ci/run does)"
)
COMPONENT = "gitlab.example.com/acme/mlops-gate"
PINNED = "FROM python:3.12-slim@sha256:" + "a" * 64 + "\n"


def make_project(
    tmp_path: Path,
    component: str,
    inputs: dict[str, Any],
    *,
    unpinned: int = 0,
    checks: tuple[str, ...] = ("image.base-pinned",),
) -> Path:
    """A user's project: Dockerfiles, a policy, a .gitlab-ci.yml including the component, a git history."""
    project = tmp_path / "project"
    project.mkdir(parents=True)
    (project / "Dockerfile").write_text(PINNED, encoding="utf-8")
    for i in range(unpinned):
        (project / f"svc{i}").mkdir()
        (project / f"svc{i}" / "Dockerfile").write_text("FROM alpine:3\n", encoding="utf-8")
    only_policy(project, *checks)
    # the components as gitlab-ci-local caches an include fetched from the component project at this version
    cache = project / ".gitlab-ci-local" / "includes" / COMPONENT / __version__ / "templates"
    cache.mkdir(parents=True)
    for name in ("gate.yml", "release-gate.yml"):
        shutil.copy2(ROOT / "templates" / name, cache / name)
    ci = {"stages": ["test"], "include": [{"component": f"{COMPONENT}/{component}@{__version__}", "inputs": inputs}]}
    (project / ".gitlab-ci.yml").write_text(yaml.safe_dump(ci, sort_keys=False), encoding="utf-8")
    (project / ".gitignore").write_text(".gitlab-ci-local/\n", encoding="utf-8")
    git(project, "init", "-q", "-b", "main")
    git(project, "remote", "add", "origin", "https://gitlab.example.com/acme/churn-model.git")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "project")
    return project


def run_job(
    project: Path, job: str, variables: dict[str, str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """gitlab-ci-local runs `job` with the shell executor in its own build folder; the job's folder is returned."""
    assert GCL is not None
    argv = [GCL, "--force-shell-executor", "--shell-isolation", "--no-color"]
    for key, value in variables.items():
        argv += ["--variable", f"{key}={value}"]
    # only what a runner host would have: PATH, the locale and pip's configuration (no MLFLOW_*, CI or token
    # variables from the tests' own process)
    run_env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL") or k.startswith("PIP_")}
    run_env["HOME"] = str(project.parent)
    proc = subprocess.run([*argv, job], cwd=project, env=run_env | env, capture_output=True, text=True, timeout=900)
    return proc, project / ".gitlab-ci-local" / "builds" / job


def quick(tmp_path: Path) -> dict[str, str]:
    """The job's install step skipped: the gate runs on the tests' interpreter (isolated, as the job runs it)."""
    return {"MLOPS_GATE_SKIP_INSTALL": "1", "MLOPS_GATE_PYTHON": sys.executable}


def reports(build: Path) -> tuple[dict[str, Any], list[Any], str]:
    report = json.loads((build / "mlops-gate-report.json").read_text(encoding="utf-8"))
    quality = json.loads((build / "mlops-gate-codequality.json").read_text(encoding="utf-8"))
    return report, quality, (build / "mlops-gate-junit.xml").read_text(encoding="utf-8")


def test_merge_request_gate_passes(tmp_path: Path) -> None:
    project = make_project(tmp_path, "gate", {"version": __version__})
    proc, build = run_job(project, "mlops-gate-check", quick(tmp_path), {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mlops-gate: verdict pass (exit code 0)" in proc.stdout
    report, quality, junit = reports(build)
    assert report["verdict"] == "pass" and quality == []
    assert 'failures="0"' in junit and "image.base-pinned" in junit


def test_merge_request_gate_blocks(tmp_path: Path) -> None:
    project = make_project(tmp_path, "gate", {"version": __version__}, unpinned=2)
    proc, build = run_job(project, "mlops-gate-check", quick(tmp_path), {})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "mlops-gate: verdict fail (exit code 1)" in proc.stdout
    report, quality, junit = reports(build)
    assert report["verdict"] == "fail"
    assert {q["location"]["path"] for q in quality} == {"svc0/Dockerfile", "svc1/Dockerfile"}
    assert 'failures="2"' in junit


def test_merge_request_gate_that_could_not_evaluate_fails_closed(tmp_path: Path) -> None:
    """A model the job cannot read (no MLflow server configured): exit 3, never a pass; soft-fail lets it by."""
    model = ("image.base-pinned", "registry.model-version")
    project = make_project(tmp_path, "gate", {"version": __version__, "model": "churn@champion"}, checks=model)
    proc, build = run_job(project, "mlops-gate-check", quick(tmp_path), {})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "mlops-gate: verdict error (exit code 3)" in proc.stdout
    report, _, junit = reports(build)
    assert report["verdict"] == "error" and report["target"]["model"] == "churn@champion"
    assert "registry.model-version" in junit

    soft = make_project(
        tmp_path / "soft", "gate", {"version": __version__, "model": "churn@champion", "soft-fail": True}, checks=model
    )
    proc, _ = run_job(soft, "mlops-gate-check", quick(tmp_path), {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "soft-fail is set, so this job passes (the verdict stays error)" in proc.stdout


def test_release_gate_installs_from_the_source_at_the_tag_and_audits_it(tmp_path: Path) -> None:
    source = tagged_source(tmp_path / "mlops-gate-source")
    project = make_project(tmp_path, "release-gate", {"source": str(source), "version": __version__})
    git(project, "tag", "v1.0.0")
    temp = tmp_path / "job-tmp"
    temp.mkdir()
    env = install_env(tmp_path) | {"TMPDIR": str(temp)}
    proc, build = run_job(project, "mlops-gate-release", {"CI_COMMIT_TAG": "v1.0.0"}, env)
    skip_when_offline(proc.returncode, proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    assert f"mlops-gate: installing {source} at v{__version__}" in proc.stdout
    assert f"mlops-gate: source commit {git(source, 'rev-parse', 'HEAD')}" in proc.stdout
    assert installed_from_source(temp / "mlops-gate" / "venv")
    report, quality, junit = reports(build)
    assert report["verdict"] == "pass" and quality == [] and 'failures="0"' in junit
    assert report["target"]["commit"] == git(project, "rev-parse", "HEAD")
