"""Session fixtures: real `mlflow server` processes on loopback (sqlite backend, temporary artifact root),
one open and one behind MLflow's own `--app-name basic-auth`, started together and torn down at the end.
Import the fixtures into a test module (`from tests.support.mlflow_server import mlflow_servers, ...`)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN = ("admin", "gate-admin-pw-1234")
NOBODY = ("nobody", "nobody-pw-12345678")
START_TIMEOUT_S = 120


@dataclass
class MlflowServer:
    url: str
    db: Path  # the sqlite backend store, for states the client cannot create (FAILED_REGISTRATION)
    log: Path
    proc: subprocess.Popen[bytes]


@dataclass
class MlflowServers:
    plain: MlflowServer
    auth: MlflowServer | None
    auth_skip: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path, auth: bool, extra_env: dict[str, str] | None = None) -> MlflowServer:
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(extra_env or {})}
    env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_TRACKING_")}
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--serve-artifacts",
    ]
    if auth:
        ini = root / "basic_auth.ini"
        ini.write_text(
            "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
            f"database_uri = sqlite:///{root / 'auth.db'}\nadmin_username = {ADMIN[0]}\n"
            f"admin_password = {ADMIN[1]}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        )
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(ini)
        env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "gate-tests-csrf-key"
        cmd += ["--app-name", "basic-auth"]
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    return MlflowServer(f"http://127.0.0.1:{port}", root / "mlflow.db", log, proc)


def _wait(server: MlflowServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({server.proc.returncode}):\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"mlflow server not healthy after {START_TIMEOUT_S} s:\n{server.log.read_text()[-3000:]}")


def _stop(server: MlflowServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def mlflow_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServers]:
    if importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("mlflow.server") is None:
        pytest.skip("the full `mlflow` package (with its server) is not installed: pip install 'mlflow[auth]'")
    root = tmp_path_factory.mktemp("mlflow")
    auth_skip = (
        ""
        if importlib.util.find_spec("flask_wtf")
        else "MLflow's basic-auth app needs Flask-WTF: pip install 'mlflow[auth]'"
    )
    plain = _start(root / "plain", auth=False)
    auth = None if auth_skip else _start(root / "auth", auth=True)
    try:
        _wait(plain)
        if auth is not None:
            try:
                _wait(auth)
            except RuntimeError as exc:
                _stop(auth)
                auth, auth_skip = None, f"`mlflow server --app-name basic-auth` did not start: {exc}"[:500]
        yield MlflowServers(plain, auth, auth_skip)
    finally:
        for server in (plain, auth):
            if server is not None:
                _stop(server)


@pytest.fixture(scope="session")
def mlflow_server(mlflow_servers: MlflowServers) -> MlflowServer:
    return mlflow_servers.plain


@pytest.fixture(scope="session")
def mlflow_auth_server(mlflow_servers: MlflowServers) -> MlflowServer:
    if mlflow_servers.auth is None:
        pytest.skip(mlflow_servers.auth_skip)
    return mlflow_servers.auth


@pytest.fixture(scope="module")
def mlflow_lenient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A server that accepts model versions and experiments whose artifact location names another host
    (MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES, what MLflow before 3 did by default): a hostile or old
    server, as far as the gate is concerned."""
    if importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("mlflow.server") is None:
        pytest.skip("the full `mlflow` package (with its server) is not installed: pip install 'mlflow[auth]'")
    schemes = {"MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES": "http,https,mlflow-artifacts,s3"}
    server = _start(tmp_path_factory.mktemp("mlflow-lenient"), auth=False, extra_env=schemes)
    try:
        _wait(server)
        yield server
    finally:
        _stop(server)
