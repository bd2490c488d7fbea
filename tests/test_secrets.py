"""No form of a credential in any output: raw, percent-encoded, base64 of `:token` and `user:password`
(Basic auth), escaped by a report format, or the password of MLFLOW_TRACKING_URI — in stdout, stderr with -v,
every report format, the facts file and the evidence bundle.

The servers are real loopback HTTP servers: one that answers every request with an error quoting the
request (method, URL, every header, the Basic credentials decoded and percent-encoded), as a careless or
hostile server would, spoken to by the real SDKs; and the real `mlflow server` with basic auth."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests

from mlops_gate import secrets, stderr_guard
from mlops_gate.cli import main
from mlops_gate.reporters.markdown import text as markdown_text
from tests.support.mlflow_server import (  # noqa: F401  (fixtures)
    ADMIN,
    MlflowServer,
    mlflow_auth_server,
    mlflow_servers,
)

FORMATS = ("json", "sarif", "junit", "markdown", "github", "gitlab-codequality", "azure")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def forms(secret: str, user: str = "") -> set[str]:
    """Every shape a secret can leak in: what the tests look for in every output."""
    b64 = {
        base64.b64encode(p).decode()
        for enc in ("utf-8", "latin-1")
        for raw in [secret.encode(enc, "replace")]
        for p in (raw, b":" + raw, f"{user}:".encode(enc) + raw)
    }
    b64 |= {b.rstrip("=") for b in b64}
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe="").lower(),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
        markdown_text(secret),
        secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        *b64,
        *(quote(b, safe="") for b in b64),
    }
    return {f for f in found if len(f) >= 6}


# --- the redactor itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        lambda s, u: s,
        lambda s, u: quote(s, safe=""),
        lambda s, u: quote(s, safe="").lower(),
        lambda s, u: quote_plus(s),
        lambda s, u: "Basic " + base64.b64encode(f":{s}".encode()).decode(),
        lambda s, u: "Basic " + base64.b64encode(f"{u}:{s}".encode()).decode(),
        lambda s, u: base64.b64encode(f"x-access-token:{s}".encode()).decode(),  # any user name
        lambda s, u: base64.urlsafe_b64encode(f"ab:{s}".encode()).decode().rstrip("="),
        lambda s, u: json.dumps(s)[1:-1],
        lambda s, u: json.dumps(s, ensure_ascii=True)[1:-1],
        lambda s, u: markdown_text(s),
        lambda s, u: s.replace("&", "&amp;").replace("<", "&lt;"),
        lambda s, u: "".join(f"%{b:02x}" for b in s.encode()),  # every byte encoded, lower-case hex
    ],
)
def test_every_shape_of_a_secret_is_masked(shape: Any) -> None:
    secret, user = "pa$$ w/rd&<x>_é-42", "bob"
    env = {"MLOPS_GATE_PROMETHEUS_USERNAME": user, "MLOPS_GATE_PROMETHEUS_PASSWORD": secret}
    leaked = shape(secret, user)
    masked = secrets.redact(f"error: server said {leaked} (end)", env)
    assert masked.startswith("error: server said ") and masked.endswith(" (end)")
    assert "***" in masked
    for form in forms(secret, user):
        assert form not in masked, (form, masked)


def test_uri_passwords_and_docker_credentials_are_secrets(tmp_path: Path) -> None:
    env = {
        "MLFLOW_TRACKING_URI": "https://alice:p%40ss%3Aw0rd@mlflow.example",
        "HTTPS_PROXY": "http://u:proxy-secret-9@p:3128",
        "MLFLOW_REGISTRY_URI": "https://carol:registry-pw-77@reg.example",
    }
    creds = set(secrets.credentials(env))
    assert {
        ("alice", "p@ss:w0rd"),
        ("alice", "p%40ss%3Aw0rd"),
        ("u", "proxy-secret-9"),
        ("carol", "registry-pw-77"),
    } <= creds
    text = secrets.redact("alice:p@ss:w0rd " + base64.b64encode(b"alice:p@ss:w0rd").decode() + " proxy-secret-9", env)
    assert "w0rd" not in text and "proxy-secret" not in text and "YWxpY2U6cEBzczp3MHJk" not in text
    short = {"MLFLOW_TRACKING_URI": "http://al:pw@mlflow.example"}  # masked with its user, never alone
    assert (
        secrets.redact("http://al:pw@mlflow.example Basic YWw6cHc= pw", short)
        == "http://***mlflow.example Basic *** pw"
    )

    from mlops_gate.providers import _oci_auth

    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"registry.example": {"auth": base64.b64encode(b"robot:docker-pw-from-config").decode()}}})
    )
    assert _oci_auth.credentials("registry.example", {"DOCKER_CONFIG": str(tmp_path)})[0] == (
        "robot",
        "docker-pw-from-config",
    )
    leaked = "docker-pw-from-config " + base64.b64encode(b"robot:docker-pw-from-config").decode()
    assert secrets.redact(leaked, {}) == "*** ***"


def test_stderr_is_redacted_while_the_gate_runs(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"GITLAB_TOKEN": "glpat-secret-value-123456"}
    logger = logging.getLogger("some.sdk")
    with stderr_guard.guard_stderr(env):
        handler = logging.StreamHandler()  # as an SDK imported during the run sets up its logging
        logger.addHandler(handler)
        try:
            print("token glpat-secret-value-123456 in a diagnostic", file=sys.stderr)
            logger.warning("retrying with PRIVATE-TOKEN: %s", "glpat-secret-value-123456")
        finally:
            logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "glpat-secret" not in err and err.count("***") == 2


# --- end to end: a server that echoes the request in its errors ---------------------------------------


class EchoServer:
    """Answers every request with an error that quotes it; `shape` is the platform's error format."""

    def __init__(self, shape: str) -> None:
        self.shape = shape
        self.seen: list[dict[str, str]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def echo(self, method: str, target: str, headers: dict[str, str]) -> str:
        auth = headers.get("Authorization") or headers.get("PRIVATE-TOKEN") or ""
        parts = [f"ECHO {method} {target}", f"auth={auth}", f"quoted={quote(auth, safe='')}"]
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth.split()[1]).decode("latin-1")  # what requests encodes Basic in
            parts += [f"decoded={decoded}", f"decoded-quoted={quote(decoded, safe='')}"]
        return " | ".join(parts + [f"{k}: {v}" for k, v in headers.items()])

    def reply(self, echo: str) -> tuple[int, dict[str, Any]]:
        if self.shape == "prometheus":
            return 200, {"status": "error", "errorType": "bad_data", "error": echo}
        if self.shape == "mlflow":
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": echo}
        return 400, {"message": echo, "typeKey": "EchoException", "$id": "1"}  # GitHub, Azure DevOps

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                if int(self.headers.get("Content-Length") or 0):
                    self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                server.seen.append(headers)
                status, body = server.reply(server.echo(self.command, self.path, headers))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def released(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("release\n")
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "r"], ["tag", "v1"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=GIT_ENV)
    return repo


def audit_everything(
    capsys: pytest.CaptureFixture[str], repo: Path, out: Path, env: dict[str, str], *args: str
) -> tuple[int, dict[str, str]]:
    """audit with -v, every report format, the facts file and the evidence bundle; every output's text."""
    files = {fmt: out / f"report.{fmt}" for fmt in FORMATS}
    files |= {"facts": out / "facts.json", "evidence": out / "evidence.json"}
    code = main(
        [
            "audit",
            "--release",
            "v1",
            "--repo",
            str(repo),
            "-v",
            "--format",
            "console",
            "--facts-out",
            str(files["facts"]),
            "--evidence",
            str(files["evidence"]),
            *(a for fmt in FORMATS for a in ("--output", f"{fmt}={files[fmt]}")),
            *args,
        ],
        env=env,
    )
    stdout, stderr = capsys.readouterr()
    texts = {"stdout": stdout, "stderr": stderr, **{k: p.read_text(encoding="utf-8") for k, p in files.items()}}
    return code, texts


def assert_no_secret(texts: dict[str, str], *creds: tuple[str, str]) -> None:
    for name, text in texts.items():
        assert "Traceback" not in text, name
        for user, secret in creds:
            for form in forms(secret, user):
                assert form not in text, f"{form!r} leaked in {name}"


@pytest.mark.parametrize("case", ["github", "azure", "prometheus-basic", "prometheus-bearer", "mlflow-uri"])
def test_echoed_credentials_reach_no_output(
    case: str, released: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shape = case.split("-")[0]
    server = EchoServer(shape)
    try:
        secret = {
            "github": "ghp_Echo0123456789abcdefghijklmnopqrstu",
            "azure": "azpat0123456789abcdefghijklmnopqrstuvw",
            "prometheus-basic": "pa$$ w/rd&<x>_é-42",
            "prometheus-bearer": "prom-bearer+token/with=padding==",
            "mlflow-uri": "p@ss:w0rd/é&<>_1",
        }[case]
        user = {"prometheus-basic": "bob", "mlflow-uri": "alice"}.get(case, "")
        env, args = {
            "github": (
                {"GITHUB_TOKEN": secret},
                [
                    "--platform",
                    "github",
                    "--repository",
                    "acme/x",
                    "--api-url",
                    server.url,
                    "--only",
                    "vcs.branch-protected",
                ],
            ),
            "azure": (
                {"AZURE_DEVOPS_TOKEN": secret},
                [
                    "--platform",
                    "azure",
                    "--repository",
                    "org/proj/repo",
                    "--api-url",
                    f"{server.url}/org",
                    "--only",
                    "vcs.branch-protected",
                ],
            ),
            "prometheus-basic": (
                {"MLOPS_GATE_PROMETHEUS_USERNAME": user, "MLOPS_GATE_PROMETHEUS_PASSWORD": secret},
                ["--prometheus-url", server.url, "--only", "monitoring.live"],
            ),
            "prometheus-bearer": (
                {"MLOPS_GATE_PROMETHEUS_TOKEN": secret},
                ["--prometheus-url", server.url, "--only", "monitoring.live"],
            ),
            "mlflow-uri": (
                {
                    "MLFLOW_TRACKING_URI": f"http://{user}:{quote(secret, safe='')}@{server.url[7:]}",
                    "MLFLOW_REGISTRY_URI": f"http://{user}:{quote(secret, safe='')}@{server.url[7:]}",
                },
                ["--model", "churn/3", "--only", "registry.model-version"],
            ),
        }[case]
        code, texts = audit_everything(capsys, released, tmp_path, {"HOME": str(tmp_path), **env}, *args)
    finally:
        server.stop()
    assert server.seen, "the gate talked to the echo server"
    sent = " ".join(server.seen[0].get(h, "") for h in ("Authorization", "PRIVATE-TOKEN"))
    assert sent, "a credential was sent, so the echo quotes it"
    assert code == 3
    for name in ("json", "evidence", "facts", "markdown", "stderr"):  # the echoed body reached the outputs ...
        mask = markdown_text("***") if name == "markdown" else "***"
        assert "ECHO " in texts[name] and mask in texts[name], name
    assert_no_secret(texts, (user, secret))  # ... with no form of the credential in any of them
    if case == "mlflow-uri":
        assert quote(secret, safe="") not in json.dumps(json.loads(texts["json"])["target"])
        assert f"MLflow at {server.url} (MLFLOW_TRACKING_URI)" in texts["json"]


# --- the real mlflow server, credentials in MLFLOW_TRACKING_URI ----------------------------------------


@pytest.fixture
def mlflow_user(mlflow_auth_server: MlflowServer) -> tuple[str, str]:  # noqa: F811  (the imported fixture)
    user = ("uri-user", "uri pa$$:w0rd/&<x>_@9%")  # ASCII: requests sends Basic as latin-1, MLflow reads UTF-8
    r = requests.post(
        f"{mlflow_auth_server.url}/api/2.0/mlflow/users/create",
        json={"username": user[0], "password": user[1]},
        auth=requests.auth.HTTPBasicAuth(*ADMIN),
        timeout=60,
    )
    assert r.ok or "already exists" in r.text, r.text
    return user


@pytest.mark.server
@pytest.mark.parametrize("who", ["admin", "user", "wrong-password"])
def test_mlflow_tracking_uri_password_never_printed(
    mlflow_auth_server: MlflowServer,  # noqa: F811
    mlflow_user: tuple[str, str],
    who: str,
    released: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user, password = {"admin": ADMIN, "user": mlflow_user, "wrong-password": (mlflow_user[0], "not-the-pw-123")}[who]
    host = mlflow_auth_server.url.removeprefix("http://")
    uri = f"http://{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    code, texts = audit_everything(
        capsys,
        released,
        tmp_path,
        {"HOME": str(tmp_path), "MLFLOW_TRACKING_URI": uri},
        "--model",
        "no-such-model@champion",
        "--only",
        "registry.model-version",
    )
    assert code == 3
    message = json.loads(texts["json"])["results"][0]["message"]
    assert f"{mlflow_auth_server.url} (MLFLOW_TRACKING_URI)" in message  # the URI without userinfo
    expected = {"admin": "not found", "user": "403 Forbidden", "wrong-password": "401 Unauthorized"}[who]
    assert expected in message, message  # the password in the URI was what authenticated (or was refused)
    assert_no_secret(texts, (user, password), (user, quote(password, safe="")))


@pytest.fixture(autouse=True)
def _no_leftover_registrations() -> Iterator[None]:
    yield
    with secrets._lock:
        secrets._registered.clear()


def test_python_dash_v_writing_to_the_guarded_stderr_does_not_deadlock(tmp_path: Path) -> None:
    """`python -v` reports every import on stderr, also the imports made while the guard cleans a line: the guard's
    lock is re-entrant, so the run ends (it used to hang)."""
    root = Path(__file__).resolve().parents[1]
    args = [
        "check",
        "--repo",
        str(root / "examples" / "churn-model"),
        "--only",
        "image.base-pinned",
        "--format",
        "json",
    ]
    done = subprocess.run(
        [sys.executable, "-v", "-m", "mlops_gate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["verdict"] == "pass"
    assert "import " in done.stderr  # -v's own lines went through the guard


def test_the_live_status_line_never_shows_a_secret_even_folded_at_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The status line is laid out by rich, which folds a long line at the terminal's width: the text is redacted
    before, so a token in a request's path is masked whole, never split over two writes."""
    import io
    import re
    import time

    from mlops_gate import display, progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    env = {"MLOPS_GATE_PROMETHEUS_TOKEN": token, "TERM": "xterm"}
    for width in (40, 58, 61, 76):
        monkeypatch.setenv("COLUMNS", str(width))
        inner = Tty()
        guarded = stderr_guard._GuardedStream(inner, env)
        with display.showing(env, False, stream=guarded):
            url = f"GET https://prom.example/api/v1/{token}/query"
            progress.emit(progress.Event("request", "prometheus_state", url, 1))
            time.sleep(0.2)
        shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", inner.getvalue())
        assert "reading prometheus_state" in shown  # the line was drawn
        flat = re.sub(r"[\r\n]", "", shown)
        assert not any(token[i : i + 8] in flat for i in range(len(token) - 7)), (width, shown)
