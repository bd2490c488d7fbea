"""The registry checks end to end: the gate's CLI against a real `mlflow server` on loopback, with
experiments, runs, logged models, registered models, versions, aliases and tags made by the mlflow client."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from mlops_gate.cli import main
from tests.mlflow_fixtures import (  # noqa: F401  (fixtures)
    ADMIN,
    NOBODY,
    MlflowServer,
    mlflow_auth_server,
    mlflow_server,
    mlflow_servers,
)

pytestmark = pytest.mark.server

GOOD_SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98"
REPO = "acme/churn-model"
POLICY = """\
version: 1
extends: default
fail_on: medium
checks:
  registry.model-version:
    params: {required_alias: candidate}
  registry.metadata:
    params:
      required_tags: {owner: null, validation_status: [approved]}
      required_params: [learning_rate]
  registry.lineage:
    params: {require_dataset_inputs: true}
  registry.metrics:
    params:
      thresholds: {val_auc: ">= 0.80", latency_p95_ms: "<= 50"}
      compare_to: champion
      max_regression: {val_auc: 0.02}
"""
MLMODEL = """\
flavors:
  python_function: {loader_module: mlflow.pyfunc.model, python_version: 3.11.7}
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: null
saved_input_example_info: {artifact_path: input_example.json, type: dataframe, pandas_orient: split}
"""


@contextmanager
def _mlflow_env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _version(
    client: Any,
    name: str,
    alias: str,
    *,
    commit: str,
    metrics: dict[str, float],
    mlmodel: str = MLMODEL,
    version_tags: dict[str, str] | None = None,
    description: str = "candidate",
    dataset: bool = True,
) -> str:
    """A run with an MLmodel written as an artifact (fast: no model is serialised), registered as a version."""
    import mlflow

    exp = client.get_experiment_by_name("churn") or client.get_experiment(client.create_experiment("churn"))
    run = client.create_run(
        exp.experiment_id,
        tags={"mlflow.source.git.commit": commit, "mlflow.source.git.repoURL": f"https://github.com/{REPO}.git"},
    )
    rid = run.info.run_id
    client.log_param(rid, "learning_rate", "0.1")
    for k, v in metrics.items():
        client.log_metric(rid, k, v)
    if dataset:
        import pandas as pd

        ds = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="train")
        client.log_inputs(rid, datasets=[mlflow.entities.DatasetInput(ds._to_mlflow_entity())])
    client.log_text(rid, mlmodel, "model/MLmodel")
    client.set_terminated(rid, "FINISHED")
    mv = client.create_model_version(
        name,
        f"runs:/{rid}/model",
        rid,
        description=description,
        tags={"validation_status": "approved", **(version_tags or {})},
    )
    client.set_registered_model_alias(name, alias, mv.version)
    return str(mv.version)


@dataclass
class Seeded:
    url: str
    versions: dict[str, str]


def _seed(server: MlflowServer) -> Seeded:
    import mlflow
    from mlflow import MlflowClient

    with _mlflow_env(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false"):
        mlflow.set_tracking_uri(server.url)
        client = MlflowClient(server.url)
        client.create_registered_model("churn", tags={"owner": "ml-platform"}, description="Churn classifier")
        good = {"val_auc": 0.90, "latency_p95_ms": 30.0}
        v: dict[str, str] = {}
        v["champion"] = _version(client, "churn", "champion", commit=OTHER_SHA, metrics=good)
        # The candidate is a real MLflow 3 logged model (models:/m-...) with a signature and an input example.
        import pandas as pd

        class Echo(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
            def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
                return model_input

        mlflow.set_experiment("churn")
        with mlflow.start_run(tags={"mlflow.source.git.commit": GOOD_SHA}) as run:
            mlflow.log_param("learning_rate", "0.1")
            mlflow.log_input(mlflow.data.from_pandas(pd.DataFrame({"x": [1.0]}), name="train"), context="training")
            info = mlflow.pyfunc.log_model(
                name="model", python_model=Echo(), pip_requirements=["mlflow"], input_example=pd.DataFrame({"x": [1.0]})
            )
            mlflow.log_metric("val_auc", 0.91, model_id=info.model_id)
            mlflow.log_metric("latency_p95_ms", 28.0, model_id=info.model_id)
        mv = client.create_model_version(
            "churn",
            info.model_uri,
            run.info.run_id,
            description="v2: retrained",
            model_id=info.model_id,
            tags={"validation_status": "approved"},
        )
        client.set_registered_model_alias("churn", "candidate", mv.version)
        v["candidate"] = str(mv.version)
        v["other-commit"] = _version(client, "churn", "other-commit", commit=OTHER_SHA, metrics=good)
        v["untagged"] = _version(
            client, "churn", "untagged", commit=GOOD_SHA, metrics=good, version_tags={"validation_status": "pending"}
        )
        v["low"] = _version(client, "churn", "low", commit=GOOD_SHA, metrics={"val_auc": 0.70, "latency_p95_ms": 30})
        v["regressed"] = _version(
            client, "churn", "regressed", commit=GOOD_SHA, metrics={"val_auc": 0.85, "latency_p95_ms": 30.0}
        )
        v["failed"] = _version(client, "churn", "failed", commit=GOOD_SHA, metrics=good)
        v["pending"] = _version(client, "churn", "pending", commit=GOOD_SHA, metrics=good)
        v["broken"] = _version(
            client,
            "churn",
            "broken",
            commit=GOOD_SHA,
            metrics=good,
            mlmodel="flavors: [python_function\n  signature: {",
        )
    with sqlite3.connect(server.db) as db:  # states the registry API cannot produce on demand
        for alias, status in (("failed", "FAILED_REGISTRATION"), ("pending", "PENDING_REGISTRATION")):
            db.execute(
                "UPDATE model_versions SET status = ? WHERE name = 'churn' AND version = ?", (status, int(v[alias]))
            )
    return Seeded(server.url, v)


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
    port = __import__("tests.mlflow_fixtures", fromlist=["_free_port"])._free_port()
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
