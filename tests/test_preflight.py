"""What a run says once, before it reads anything: the token or endpoint its planned checks will miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_gate import preflight
from mlops_gate.cli import main
from mlops_gate.target import Target

NEEDED = {"branch_protection": ["vcs.branch-protected", "vcs.no-bypass"], "commit_runs": ["ci.required-runs"]}
ROOT = Path(__file__).resolve().parents[1]


def test_no_github_token_names_the_variables_the_scope_and_the_host() -> None:
    (note,) = preflight.notes(NEEDED, NEEDED, Target(platform="github", repository="acme/churn"), {})
    assert note.startswith("no GitHub token: 3 checks (ci.required-runs, vcs.branch-protected, vcs.no-bypass) read ")
    assert "set GITHUB_TOKEN (or GH_TOKEN) to a fine-grained token with Metadata, Contents, Checks" in note
    assert note.endswith("The token is sent to https://api.github.com only")
    enterprise = Target(platform="github", repository="acme/churn", api_url="https://ghe.example.com/api/v3")
    assert preflight.notes(NEEDED, NEEDED, enterprise, {})[0].endswith("sent to https://ghe.example.com/api/v3 only")
    assert preflight.notes(NEEDED, NEEDED, Target(platform="github"), {"GH_TOKEN": "x"}) == []


def test_gitlab_and_azure() -> None:
    gitlab = Target(platform="gitlab", repository="acme/fraud")
    (note,) = preflight.notes(NEEDED, NEEDED, gitlab, {"CI_API_V4_URL": "https://gitlab.example.com/api/v4"})
    assert "set GITLAB_TOKEN to a token with the read_api scope" in note
    assert "read https://gitlab.example.com/api/v4 anonymously" in note
    (note,) = preflight.notes(NEEDED, NEEDED, gitlab, {"CI_JOB_TOKEN": "x"})
    assert note.startswith("GITLAB_TOKEN is not set: 3 checks read https://gitlab.com with CI_JOB_TOKEN, which cannot")
    (note,) = preflight.notes(NEEDED, NEEDED, Target(platform="azure", repository="contoso/ml/fraud"), {})
    assert "set AZURE_DEVOPS_TOKEN (or SYSTEM_ACCESSTOKEN) to a personal access token" in note
    assert "https://dev.azure.com/contoso" in note


def test_files_only_and_mlflow() -> None:
    assert preflight.notes({"dockerfiles": []}, {}, Target(platform="github"), {}) == []
    registry = {"mlflow_model": ["registry.metrics", "registry.model-version"]}
    (note,) = preflight.notes(registry, registry, Target(model="churn@champion"), {})
    assert note.startswith("MLFLOW_TRACKING_URI is not set: 2 checks (registry.metrics, registry.model-version)")
    assert preflight.notes(registry, registry, Target(), {"MLFLOW_TRACKING_URI": "https://mlflow"}) == []


def test_said_once_before_reading_and_never_on_a_replay(capsys: pytest.CaptureFixture[str]) -> None:
    good = ROOT / "examples" / "churn-model"
    main(["check", "--repo", str(good), "--facts-in", str(good / "facts.json"), "-q"], env={})
    assert "note:" not in capsys.readouterr().err  # a replay reads nothing: nothing to say about tokens
