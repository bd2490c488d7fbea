"""A real MLflow server seeded with the churn model's versions, runs and logged models (the registry tests and
benchmarks/mlflow_gate.py judge them)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.mlflow_server import MlflowServer

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
