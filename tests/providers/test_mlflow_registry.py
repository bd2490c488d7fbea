"""The registry checks end to end: the gate's CLI against a real `mlflow server` on loopback, with
experiments, runs, logged models, registered models, versions, aliases and tags made by the mlflow client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from mlops_gate.cli import main
from tests.support.mlflow_seed import GOOD_SHA, OTHER_SHA, POLICY, REPO, Seeded, _mlflow_env, _seed, _version
from tests.support.mlflow_server import (  # noqa: F401  (fixtures)
    ADMIN,
    NOBODY,
    MlflowServer,
    mlflow_auth_server,
    mlflow_server,
    mlflow_servers,
)

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def seeded(mlflow_server: MlflowServer) -> Seeded:  # noqa: F811  (the imported fixture)
    return _seed(mlflow_server)


def gate(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    url: str,
    model: str,
    *extra: str,
    only: str = "registry.*",
    commit: str = GOOD_SHA,
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    code = main(
        [
            "check",
            "--policy",
            str(policy),
            "--repo",
            str(tmp_path),
            "--only",
            only,
            "--model",
            model,
            "--commit",
            commit,
            "--repository",
            REPO,
            "--format",
            "json",
            *extra,
        ],
        env={"MLFLOW_TRACKING_URI": url, **(env or {})},
    )
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def by_check(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["check"]: r for r in report["results"]}


def violations(result: dict[str, Any]) -> str:
    return " | ".join(v["message"] for v in result["violations"])


def test_good_release_passes_every_registry_check(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = tmp_path / "facts.json"
    code, report = gate(capsys, tmp_path, seeded.url, "churn@candidate", "--facts-out", str(facts))
    results = by_check(report)
    assert code == 0, report["results"]
    assert {c: r["status"] for c, r in results.items()} == dict.fromkeys(
        ("registry.lineage", "registry.metadata", "registry.metrics", "registry.model-version"), "passed"
    )
    assert all(r["subject"] == "mlflow:churn@candidate" for r in report["results"])
    assert "compared with version 1 (champion): 1 metric(s) compared" in results["registry.metrics"]["evidence"]
    fact = json.loads(facts.read_text())["facts"]["mlflow_model"]
    assert fact["value"]["logged_model"]["model_id"].startswith("m-")
    assert fact["value"]["mlmodel"]["has_signature"] and fact["value"]["mlmodel"]["has_input_example"]
    # each entity once: model, alias, logged model, run, MLmodel (2), champion version + run
    assert 6 <= fact["requests"] <= 12, fact["requests"]


def test_version_given_by_number(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, f"churn/{seeded.versions['candidate']}")
    assert code == 0, report["results"]
    assert report["results"][0]["subject"] == f"mlflow:churn/{seeded.versions['candidate']}"


def test_run_from_another_commit_blocks(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@other-commit", "--skip", "registry.model-version")
    r = by_check(report)["registry.lineage"]
    assert code == 1 and r["status"] == "failed"
    assert f"trained from commit {OTHER_SHA}, the release is commit {GOOD_SHA}" in violations(r)


def test_tag_without_an_allowed_value_fails_metadata(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@untagged", only="registry.metadata")
    r = by_check(report)["registry.metadata"]
    assert code == 1 and r["status"] == "failed"
    assert violations(r) == "tag validation_status='pending', policy allows approved"


def test_metric_below_threshold_blocks(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@low", only="registry.metrics")
    r = by_check(report)["registry.metrics"]
    assert code == 1 and r["status"] == "failed"
    assert "val_auc = 0.7, policy wants >= 0.8" in violations(r)


def test_regression_against_champion_blocks(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@regressed", only="registry.metrics")
    r = by_check(report)["registry.metrics"]
    assert code == 1 and r["status"] == "failed"
    assert violations(r) == "val_auc regressed from 0.9 (version 1) to 0.85: worse by 0.05, policy allows 0.02"


def test_champion_is_not_compared_with_itself(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@champion", only="registry.metrics")
    r = by_check(report)["registry.metrics"]
    assert code == 0 and r["status"] == "passed"
    assert any("comparison with champion skipped" in e for e in r["evidence"])


@pytest.mark.parametrize("alias, status", [("failed", "FAILED_REGISTRATION"), ("pending", "PENDING_REGISTRATION")])
def test_version_not_ready_blocks(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str], alias: str, status: str
) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, f"churn@{alias}", only="registry.model-version")
    r = by_check(report)["registry.model-version"]
    assert code == 1 and r["status"] == "failed"
    assert f"version {seeded.versions[alias]} is {status}, not READY" in violations(r)
    assert "does not hold alias 'candidate' (version 2 does)" in violations(r)


def test_malformed_mlmodel_fails_metadata(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@broken", only="registry.metadata")
    r = by_check(report)["registry.metadata"]
    assert code == 1 and r["status"] == "failed"
    assert "MLmodel is not valid YAML (line 2)" in violations(r)


def test_unknown_alias_is_an_error(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "churn@nope")
    assert code == 3 and report["verdict"] == "error"
    assert {r["status"] for r in report["results"]} == {"error"}
    assert "registered model 'churn' has no alias 'nope'" in report["results"][0]["message"]
    assert "champion -> 1" in report["results"][0]["message"]


def test_unknown_model_is_an_error(seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(capsys, tmp_path, seeded.url, "fraud@champion", only="registry.model-version")
    assert code == 3
    assert "registered model 'fraud' not found at" in report["results"][0]["message"]


def test_unreachable_server_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mlflow")
    port = __import__("tests.support.mlflow_server", fromlist=["_free_port"])._free_port()
    url = f"http://127.0.0.1:{port}"
    code, report = gate(
        capsys,
        tmp_path,
        url,
        "churn@champion",
        only="registry.model-version",
        env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
    )
    message = report["results"][0]["message"]
    assert code == 3 and report["results"][0]["status"] == "error"
    assert f"cannot reach MLflow at {url} (MLFLOW_TRACKING_URI)" in message
    assert "Traceback" not in message


def test_missing_tracking_uri_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "check",
            "--repo",
            str(tmp_path),
            "--only",
            "registry.model-version",
            "--model",
            "churn@champion",
            "--format",
            "json",
        ],
        env={},
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and "MLFLOW_TRACKING_URI is not set" in report["results"][0]["message"]


@pytest.fixture(scope="module")
def auth_url(mlflow_auth_server: MlflowServer) -> str:  # noqa: F811  (the imported fixture)
    url = mlflow_auth_server.url
    admin = requests.auth.HTTPBasicAuth(*ADMIN)
    r = requests.post(
        f"{url}/api/2.0/mlflow/users/create",
        json={"username": NOBODY[0], "password": NOBODY[1]},
        auth=admin,
        timeout=10,
    )
    assert r.ok, r.text
    with _mlflow_env(MLFLOW_TRACKING_USERNAME=ADMIN[0], MLFLOW_TRACKING_PASSWORD=ADMIN[1]):
        from mlflow import MlflowClient

        client = MlflowClient(url)
        client.create_registered_model("churn", description="Churn classifier", tags={"owner": "ml"})
        _version(client, "churn", "champion", commit=GOOD_SHA, metrics={"val_auc": 0.9})
    return url


@pytest.mark.parametrize(
    "who, status, fix",
    [
        (None, "401 Unauthorized", "set MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"),
        (NOBODY, "403 Forbidden", "READ permission"),
    ],
)
def test_auth_failures_are_errors_without_credentials_in_output(
    auth_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    who: tuple[str, str] | None,
    status: str,
    fix: str,
) -> None:
    env = {"MLFLOW_TRACKING_USERNAME": who[0], "MLFLOW_TRACKING_PASSWORD": who[1]} if who else {}
    code, report = gate(capsys, tmp_path, auth_url, "churn@champion", only="registry.model-version", env=env)
    message = report["results"][0]["message"]
    assert code == 3 and report["results"][0]["status"] == "error"
    assert f"MLflow at {auth_url} (MLFLOW_TRACKING_URI) answered {status}" in message and fix in message
    assert NOBODY[1] not in json.dumps(report)


def test_auth_server_with_credentials_passes(auth_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"MLFLOW_TRACKING_USERNAME": ADMIN[0], "MLFLOW_TRACKING_PASSWORD": ADMIN[1]}
    code, report = gate(capsys, tmp_path, auth_url, "churn@champion", only="registry.model-version", env=env)
    assert code == 1, report["results"]  # it resolves; the policy wants alias `candidate`, which it lacks
    r = by_check(report)["registry.model-version"]
    assert r["status"] == "failed" and "does not hold alias 'candidate'" in violations(r)
    assert ADMIN[1] not in json.dumps(report)
