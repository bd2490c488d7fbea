"""`mlops-gate init` on the two examples and, when the research copies are on this machine, on public
repositories of other shapes: the starter validates, turns on what the repository can be judged on, and a first
run on it has no "not configured" error for a check it turned on."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_gate import yamlio
from mlops_gate.cli import main
from tests.support.adversary import Servers
from tests.support.git_repos import git

ROOT = Path(__file__).resolve().parents[1]
# extracted public repositories (read here, never copied into the project): docs/corpus.md says how to fetch them
RESEARCH = Path(os.environ.get("MLOPS_GATE_CORPUS_REPOS", "/work/research/12/repos"))


@pytest.fixture
def api() -> Iterator[str]:
    """A loopback API that knows no repository: the platform checks read it, and end in error, offline."""
    made = Servers()
    try:
        yield made().url
    finally:
        made.stop()


def make(tmp_path: Path, source: Path, remote: str | None) -> Path:
    repo = tmp_path / source.name
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("facts.json", ".mlops-gate.yml", ".git"))
    if remote is not None:
        git(repo, "init", "-q", "-b", "main")
        git(repo, "remote", "add", "origin", remote)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "x")
    return repo


def enabled(policy: Path) -> dict[str, bool]:
    doc = yamlio.load(policy.read_text()).documents[0]
    return {cid: entry["enabled"] for cid, entry in doc["checks"].items()}


def first_run(
    capsys: pytest.CaptureFixture[str], repo: Path, api: str, extra: dict[str, str] | None = None
) -> dict[str, object]:
    env = {"MLOPS_GATE_API_URL": api, "MLOPS_GATE_HTTP_TIMEOUT": "2", "HOME": str(repo.parent), **(extra or {})}
    code = main(["check", "--repo", str(repo), "--format", "json"], env=env)
    out, err = capsys.readouterr()
    report: dict[str, object] = json.loads(out)
    assert code in (0, 1, 3), err
    return report


def init_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Path, remote: str | None, api: str
) -> tuple[dict[str, bool], dict[str, object]]:
    repo = make(tmp_path, source, remote)
    assert main(["init", "--repo", str(repo)], env={}) == 0
    err = capsys.readouterr().err
    policy = repo / ".mlops-gate.yml"
    assert f"wrote {policy}" in err
    assert main(["policy", "validate", str(policy)], env={}) == 0, capsys.readouterr().err
    assert ": valid (extends builtin:default" in capsys.readouterr().out
    switches = enabled(policy)
    report = first_run(capsys, repo, api)
    results = report["results"]
    assert isinstance(results, list)
    ran = {r["check"] for r in results}
    assert ran == {cid for cid, on in switches.items() if on}  # what it turned on ran, and nothing else
    unconfigured = [r for r in results if "not configured" in r["message"]]
    assert unconfigured == []
    return switches, report


@pytest.mark.parametrize(
    ("example", "remote"),
    [
        ("churn-model", "git@github.com:acme/churn-model.git"),
        ("fraud-model", "https://gitlab.com/acme/fraud-model.git"),
    ],
)
def test_init_on_the_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], api: str, example: str, remote: str
) -> None:
    switches, _ = init_and_run(tmp_path, capsys, ROOT / "examples" / example, remote, api)
    on = {cid for cid, value in switches.items() if value}
    # the platform is known from the remote: the platform checks are on; the model and image are not: off
    assert {"vcs.branch-protected", "ci.required-runs", "cd.production-environment"} <= on
    assert {"ci.pr-pipeline", "image.base-pinned", "image.digest-pinned", "monitoring.alert-rules"} <= on
    assert {"orchestration.workflow-defined", "monitoring.alert-routing", "policy.unchanged"} <= on
    assert not on & {"registry.model-version", "image.signature", "release.traceability", "monitoring.live"}
    assert "cd.deploy-via-pipeline" in on  # both deploy from CI (deploy-production, deploy-prod)
    text = (tmp_path / example / ".mlops-gate.yml").read_text()
    assert "# The model version is registered and ready. Off: needs --model (or target.model)." in text


def test_init_without_a_remote_leaves_the_platform_checks_off_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], api: str
) -> None:
    switches, _ = init_and_run(tmp_path, capsys, ROOT / "examples" / "churn-model", None, api)
    assert not any(on for cid, on in switches.items() if cid.startswith("vcs.") or cid == "ci.required-runs")
    text = (tmp_path / "churn-model" / ".mlops-gate.yml").read_text().replace("\n  #   ", " ")
    assert (
        "Off: needs target.platform and target.repository (not a git checkout, and not in CI): set them above" in text
    )


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make(tmp_path, ROOT / "examples" / "fraud-model", None)
    (repo / ".mlops-gate.yml").write_text("version: 1\n# mine\n")
    assert main(["init", "--repo", str(repo)], env={}) == 2
    err = capsys.readouterr().err
    assert "already exists: init does not overwrite a policy" in err and "--force" in err
    assert (repo / ".mlops-gate.yml").read_text() == "version: 1\n# mine\n"
    assert main(["init", "--repo", str(repo), "--output", "-"], env={}) == 0  # to stdout: nothing is overwritten
    assert capsys.readouterr().out.startswith("# mlops-gate policy for fraud-model")
    assert main(["init", "--repo", str(repo), "--force"], env={}) == 0
    assert "# mine" not in (repo / ".mlops-gate.yml").read_text()


RESEARCH_SHAPES = [
    # (repository, remote, checks the starter must turn on, checks it must leave off)
    (
        "stefanprodan__dockprom",  # monitoring only: compose, Prometheus rules, Alertmanager; no CI, no Dockerfile
        "https://github.com/stefanprodan/dockprom.git",
        {"monitoring.alert-rules", "monitoring.alert-routing", "image.digest-pinned", "vcs.branch-protected"},
        {"ci.pr-pipeline", "image.base-pinned", "orchestration.workflow-defined", "cd.deploy-via-pipeline"},
    ),
    (
        "muhammadhassaan-solves__automated-ml-pipeline-with-gitlab-ci-cd",  # a GitLab pipeline and scripts
        "git@gitlab.com:muhammadhassaan-solves/automated-ml-pipeline-with-gitlab-ci-cd.git",
        {"ci.pr-pipeline", "vcs.reviews-required"},
        {"image.base-pinned", "monitoring.alert-rules", "orchestration.workflow-defined"},
    ),
    (
        "A-Chughtai__MLOPS_Project",  # Airflow DAG, Dockerfile, compose, Prometheus and Alertmanager; no remote
        None,
        {"orchestration.workflow-defined", "image.base-pinned", "monitoring.alert-rules", "monitoring.drift-monitor"},
        {"ci.pr-pipeline", "vcs.branch-protected", "ci.required-runs"},
    ),
]


@pytest.mark.parametrize(("name", "remote", "on", "off"), RESEARCH_SHAPES, ids=[s[0] for s in RESEARCH_SHAPES])
def test_init_on_public_repositories_of_other_shapes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    api: str,
    name: str,
    remote: str | None,
    on: set[str],
    off: set[str],
) -> None:
    found = next((RESEARCH / n for n in (name, name.replace("__", "+")) if (RESEARCH / n).is_dir()), None)
    if found is None:
        pytest.skip(f"{RESEARCH / name} is not on this machine")
    switches, _ = init_and_run(tmp_path, capsys, found, remote, api)
    assert on <= {cid for cid, value in switches.items() if value}
    assert off <= {cid for cid, value in switches.items() if not value}
