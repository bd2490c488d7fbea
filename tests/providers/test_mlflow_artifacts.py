"""MLflow credentials go only to the tracking server (docs/security.md, README "Credentials and endpoints"): a
model version whose artifact location names another host — which a real `mlflow server` accepts when
MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES allows it, as MLflow before 3 did — is not downloaded, and the
host it names (127.0.0.2 stands for a remote host) sees no request; a cloud store is not signed for either.
The same server's own artifacts are downloaded with the credentials, as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.mlflow_seed import MLMODEL, _mlflow_env
from tests.support.mlflow_server import MlflowServer, mlflow_lenient_server  # noqa: F401  (fixture)
from tests.support.replay import ReplayServer

pytestmark = pytest.mark.server

CREDENTIALS = {"MLFLOW_TRACKING_USERNAME": "ci-bot", "MLFLOW_TRACKING_PASSWORD": "s3cret-mlflow-pw"}
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/evil"


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[ReplayServer]:
    """The host a hostile server names for the artifacts (it would serve a valid MLmodel)."""
    server = ReplayServer(host="127.0.0.2").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def versions(mlflow_lenient_server: MlflowServer, elsewhere: ReplayServer) -> dict[str, str]:  # noqa: F811
    """A version per artifact location: the run's experiment stores its artifacts there."""
    from mlflow import MlflowClient

    netloc = elsewhere.url.removeprefix("http://")
    locations = {
        "http-elsewhere": f"{elsewhere.url}{ARTIFACTS}",
        "mlflow-artifacts-elsewhere": f"mlflow-artifacts://{netloc}/evil",
        "cloud-store": "s3://attacker-bucket/evil",
        "own-artifacts": None,
    }
    out = {}
    with _mlflow_env(MLFLOW_DISABLE_TELEMETRY="true"):
        client = MlflowClient(mlflow_lenient_server.url)
        client.create_registered_model("churn")
        for name, location in locations.items():
            run = client.create_run(client.create_experiment(name, artifact_location=location))
            rid = run.info.run_id
            if location is None:
                client.log_text(rid, MLMODEL, "model/MLmodel")
            path = (
                f"{ARTIFACTS}/{rid}/artifacts/model"
                if name == "http-elsewhere"
                else f"/api/2.0/mlflow-artifacts/artifacts/evil/{rid}/artifacts/model"
            )
            elsewhere.add("GET", f"{path}/MLmodel", 200, MLMODEL.encode())
            out[name] = str(client.create_model_version("churn", f"runs:/{rid}/model", rid).version)
    return out


def metadata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str, version: str, **env: str
) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            *("check", "--repo", str(tmp_path), "--only", "registry.metadata", "--format", "json"),
            *("--model", f"churn/{version}", "--policy", "default"),
        ],
        env={"MLFLOW_TRACKING_URI": url, "HOME": str(tmp_path), **CREDENTIALS, **env},
    )
    (result,) = json.loads(capsys.readouterr().out)["results"]
    return code, result


@pytest.mark.parametrize("case", ["http-elsewhere", "mlflow-artifacts-elsewhere"])
def test_no_credential_follows_an_artifact_location_on_another_host(
    mlflow_lenient_server: MlflowServer,  # noqa: F811
    elsewhere: ReplayServer,
    versions: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    code, result = metadata(capsys, tmp_path, mlflow_lenient_server.url, versions[case])
    assert elsewhere.seen == [], [s.headers.get("Authorization") for s in elsewhere.seen]
    assert (code, result["status"]) == (3, "error")
    assert (
        f"the server names the artifact location http://{elsewhere.url.removeprefix('http://')}" in result["message"]
        or f"mlflow-artifacts://{elsewhere.url.removeprefix('http://')}" in result["message"]
    )
    assert "which is not the tracking server (MLFLOW_TRACKING_URI): the MLmodel is not downloaded" in result["message"]


def test_a_cloud_store_the_server_names_is_not_signed_for(
    mlflow_lenient_server: MlflowServer,  # noqa: F811
    versions: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = metadata(capsys, tmp_path, mlflow_lenient_server.url, versions["cloud-store"])
    assert (code, result["status"]) == (3, "error")
    assert "the server names the artifact location s3://attacker-bucket" in result["message"]
    assert "MLOPS_GATE_MLFLOW_ARTIFACT_STORES" in result["message"]


def test_a_store_listed_by_the_environment_is_downloaded_from(
    mlflow_lenient_server: MlflowServer,  # noqa: F811
    elsewhere: ReplayServer,
    versions: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The operator's opt-in (a second artifact host they run): the client downloads, with the credentials, and
    plain http:// to a remote host still needs MLOPS_GATE_INSECURE_HOSTS."""
    listed = {"MLOPS_GATE_MLFLOW_ARTIFACT_STORES": f"{elsewhere.url}/api/"}
    code, result = metadata(capsys, tmp_path, mlflow_lenient_server.url, versions["http-elsewhere"], **listed)
    assert (code, result["status"]) == (3, "error") and "refusing plain HTTP" in result["message"]
    assert elsewhere.seen == []
    host = elsewhere.url.removeprefix("http://")
    code, result = metadata(
        capsys,
        tmp_path,
        mlflow_lenient_server.url,
        versions["http-elsewhere"],
        MLOPS_GATE_INSECURE_HOSTS=host,
        **listed,
    )
    assert "not the tracking server" not in result["message"]
    assert elsewhere.seen, "the listed store is read"


def test_control_the_tracking_servers_own_artifacts_are_read(
    mlflow_lenient_server: MlflowServer,  # noqa: F811
    versions: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = metadata(capsys, tmp_path, mlflow_lenient_server.url, versions["own-artifacts"])
    assert code in (0, 1) and result["status"] != "error", json.dumps(result)
    assert "could not read the MLmodel" not in json.dumps(result)


@pytest.mark.parametrize(
    ("location", "stores", "allowed"),
    [
        ("mlflow-artifacts:/1/abc/artifacts/model/MLmodel", "", True),
        ("https://mlflow.example.com:443/api/2.0/mlflow-artifacts/artifacts/x/MLmodel", "", True),
        ("mlflow-artifacts://mlflow.example.com/x/MLmodel", "", True),
        ("http://mlflow.example.com/api/2.0/mlflow-artifacts/artifacts/x/MLmodel", "", False),  # scheme differs
        ("https://mlflow.example.com:8443/x/MLmodel", "", False),  # port differs
        ("https://mlflow.example.com.evil.net/x/MLmodel", "", False),
        ("mlflow-artifacts://evil.net/x/MLmodel", "", False),
        ("file:///home/runner/.ssh/x/MLmodel", "", False),
        ("/home/runner/x/MLmodel", "", False),
        ("gs://attacker/x/MLmodel", "", False),
        ("s3://ml-artifacts/1/x/MLmodel", "s3://ml-artifacts/", True),
        ("s3://ml-artifacts/1/x/MLmodel", "s3://ml-artifacts", True),
        ("s3://ml-artifacts-evil/1/x/MLmodel", "s3://ml-artifacts", False),  # a prefix ends on a path boundary
        ("https://a.example.com.evil.net/x/MLmodel", "https://a.example.com", False),
        ("/home/runner/x/MLmodel", "/home", False),  # a listed store has a scheme
    ],
)
def test_which_artifact_locations_are_downloaded_from(location: str, stores: str, allowed: bool) -> None:
    from mlops_gate.providers._mlflow_artifacts import refusal

    env = {"MLFLOW_TRACKING_URI": "https://user:pw@mlflow.example.com", "MLOPS_GATE_MLFLOW_ARTIFACT_STORES": stores}
    assert (refusal(location, env) is None) is allowed, refusal(location, env)


def test_a_tracking_store_that_is_not_http_chose_where_artifacts_are() -> None:
    from mlops_gate.providers._mlflow_artifacts import refusal

    assert refusal("s3://bucket/x/MLmodel", {"MLFLOW_TRACKING_URI": "databricks"}) is None
    assert refusal("s3://bucket/x/MLmodel", {"MLFLOW_TRACKING_URI": "https://mlflow.example.com"}) is not None
