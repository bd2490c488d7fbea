"""A fleet whose repositories name their own model (in their policy file on the default branch): the registry
checks judge each repository's model on the real `mlflow server` (tests/support/mlflow_server.py) that the
environment names, and a repository that names none is an error, never a pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate.cli import main
from tests.support import fleet_org
from tests.support.mlflow_seed import OTHER_SHA, _mlflow_env, _version
from tests.support.mlflow_server import (  # noqa: F401  (fixtures)
    MlflowServer,
    MlflowServers,
    mlflow_server,
    mlflow_servers,
)
from tests.support.replay import ReplayServer

pytestmark = pytest.mark.server
MODEL = "fleet-churn"


@pytest.fixture(scope="module")
def registry(mlflow_server: MlflowServer) -> str:  # noqa: F811  (the imported fixture)
    from mlflow import MlflowClient

    with _mlflow_env(MLFLOW_DISABLE_TELEMETRY="true"):
        client = MlflowClient(mlflow_server.url)
        client.create_registered_model(MODEL)
        _version(client, MODEL, "champion", commit=OTHER_SHA, metrics={"val_auc": 0.9})
    return mlflow_server.url


def test_each_repository_is_judged_on_its_own_model(registry: str, tmp_path: Path) -> None:
    own = {"version": 1, "target": {"model": f"{MODEL}@champion"}}
    server = ReplayServer(resolver=fleet_org.github(30, policy=own)).start()
    fleet_policy = tmp_path / "fleet.yml"
    fleet_policy.write_text("version: 1\nextends: default\nchecks:\n  registry.model-version: {enabled: true}\n")
    out = tmp_path / "fleet.json"
    try:
        argv = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", server.url, "-q"]
        argv += ["--policy", str(fleet_policy), "--include", "model-00[01][12]", "--output", f"json={out}"]
        main(argv, {"GITHUB_TOKEN": "t0ken", "MLFLOW_TRACKING_URI": registry})
    finally:
        server.stop()
    repos = {r["name"]: r for r in json.loads(out.read_text())["repositories"]}
    assert sorted(repos) == ["acme/model-0001", "acme/model-0002", "acme/model-0011", "acme/model-0012"]
    for name in ("acme/model-0001", "acme/model-0011"):  # their own file names the model
        result = next(r for r in repos[name]["results"] if r["check"] == "registry.model-version")
        assert result["status"] == "passed", result
        assert result["subject"].startswith(f"mlflow:{MODEL}")
    for name in ("acme/model-0002", "acme/model-0012"):  # no file: no model, so not judged as passed
        result = next(r for r in repos[name]["results"] if r["check"] == "registry.model-version")
        assert result["status"] == "error" and "--model" in result["message"]
    registry_area = {r["area"] for r in repos["acme/model-0001"]["results"]}
    assert "registry" in registry_area
