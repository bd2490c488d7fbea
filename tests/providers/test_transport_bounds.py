"""Every network read is bounded: a whole attempt in time (a server dripping bytes is cut off), retries and
Retry-After waits by the request's and the run's deadline, bodies in size, lists in pages (never judged on
a part), JSON in nesting; and bad limits are a usage error. Through the real SDKs and clients, against
hostile servers on loopback (tests/support/adversary.py).

No timings here (benchmarks/transport_bounds.py measures them): a drip or a huge body is shown to be cut
off by what the server managed to send before the gate hung up, against what it would have sent.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from mlops_gate.errors import FactError
from mlops_gate.providers import Context, azure, gitlab, oci, prometheus
from mlops_gate.providers import github as gh
from mlops_gate.target import Target
from tests.support.adversary import Adversary, Servers, nested, servers
from tests.support.azure_devops import PROJECT, REPO_ID, ctx_for, replay_answers_options, serve_repository
from tests.support.replay import ReplayServer

__all__ = ["replay_answers_options"]

TOKEN = "t0ken-for-tests"
SHA = "abc1234def5678abc1234def5678abc1234def56"
GH_REPO = "/repos/acme/churn"
GL_PIPELINES = "/api/v4/projects/acme%2Fchurn/pipelines"
DRIP_COUNT = 100_000  # bytes a drip would send at one per 20 ms: more than half an hour
FAST = {"MLOPS_GATE_HTTP_TIMEOUT": "0.5"}


@pytest.fixture
def srv() -> Iterator[Servers]:
    yield from servers()


# --- one way to read the same path through each client ---------------------------------------------------


def read_github(server: Adversary, env: dict[str, str]) -> Any:
    ctx = Context(
        root=Path("."),
        target=Target(platform="github", repository="acme/churn", commit=SHA, api_url=server.url),
        env={"GITHUB_TOKEN": TOKEN, **env},
    )
    return gh.environments(ctx)


def read_gitlab(server: Adversary, env: dict[str, str]) -> Any:
    ctx = Context(
        root=Path("."),
        target=Target(platform="gitlab", repository="acme/churn", commit=SHA, api_url=server.url + "/api/v4"),
        env={"GITLAB_TOKEN": TOKEN, **env},
    )
    return gitlab.commit_runs(ctx)


def read_prometheus(server: Adversary, env: dict[str, str]) -> Any:
    return prometheus.prometheus_state(Context(root=Path("."), target=Target(prometheus_url=server.url), env=env))


def read_registry(server: Adversary, env: dict[str, str]) -> Any:
    return oci.oci_image(
        Context(
            root=Path("."), target=Target(image=f"{server.netloc}/ml/churn:latest"), env={"HOME": "/nonexistent", **env}
        )
    )


def read_azure(server: Adversary, env: dict[str, str]) -> Any:
    target = Target(platform="azure", repository="contoso/ml/churn", commit=SHA, api_url=f"{server.url}/contoso/")
    return azure.commit_runs(Context(root=Path("."), target=target, env={"AZURE_DEVOPS_TOKEN": TOKEN, **env}))


def read_mlflow(server: Adversary, env: dict[str, str]) -> Any:
    from mlops_gate.providers import mlflow_registry

    ctx = Context(
        root=Path("."),
        target=Target(model="churn@champion"),
        env={"MLFLOW_TRACKING_URI": server.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", **env},
    )
    return mlflow_registry.mlflow_model(ctx)


READERS: dict[str, tuple[Callable[[Adversary, dict[str, str]], Any], str]] = {  # client -> (read, first path)
    "azure": (read_azure, f"{PROJECT}/git/repositories/churn"),
    "github": (read_github, GH_REPO),
    "gitlab": (read_gitlab, GL_PIPELINES),
    "prometheus": (read_prometheus, "/api/v1/rules"),
    "registry": (read_registry, "/v2/ml/churn/manifests/latest"),
    "mlflow": (read_mlflow, "/api/2.0/mlflow/registered-models/get"),
}


def serve_everywhere(server: Adversary, name: str, handler: Callable[..., None]) -> None:
    if name == "azure":  # the SDK's discovery answers; the first business call misbehaves
        serve_repository(server)  # type: ignore[arg-type]
    server.on(READERS[name][1], handler)
    if name == "prometheus":  # read concurrently: every endpoint misbehaves alike
        for path in ("/api/v1/targets", "/api/v1/alerts"):
            server.on(path, handler)


# --- time -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(READERS))
@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_server_is_cut_off(srv: Servers, name: str, where: str) -> None:
    server = srv()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % DRIP_COUNT
        if where == "body"
        else b"HTTP/1.1 200 OK\r\nX-Slow: "
    )
    serve_everywhere(server, name, server.drip(head, every_s=0.02, count=DRIP_COUNT))
    read, _ = READERS[name]
    with pytest.raises(FactError) as err:
        read(server, FAST)
    text = err.value.diagnostics()
    assert "did not answer within" in text and "cannot reach" not in text
    assert "MLOPS_GATE_HTTP_TIMEOUT" in text
    if name != "mlflow":  # the transport's own message: what it tried
        assert "connect to last byte" in text and " attempt" in text
    assert server.hung_up.wait(10)  # the gate hung up on the drip ...
    assert server.sent < DRIP_COUNT // 10  # ... long before it ended


def test_a_silent_server_is_a_timeout_with_its_attempts(srv: Servers) -> None:
    server = srv()
    server.on(GL_PIPELINES, server.silent())
    with pytest.raises(FactError) as err:
        read_gitlab(server, FAST)
    assert "did not answer within 0.5 s (MLOPS_GATE_HTTP_TIMEOUT, connect to last byte; 3 attempts" in err.value.message
    assert len(server.requests(GL_PIPELINES)) == 3  # the first attempt and two read retries


def test_the_run_deadline_bounds_every_request_of_the_run(srv: Servers) -> None:
    server = srv()
    server.on(GL_PIPELINES, server.silent())
    with pytest.raises(FactError) as err:
        read_gitlab(server, {"MLOPS_GATE_HTTP_TIMEOUT": "30", "MLOPS_GATE_HTTP_RUN_DEADLINE": "0.5"})
    assert "the run's network deadline passed" in err.value.message
    assert "MLOPS_GATE_HTTP_RUN_DEADLINE=0.5 s" in err.value.message
    assert len(server.requests(GL_PIPELINES)) == 1


@pytest.mark.parametrize("name", ["azure", "github", "gitlab", "prometheus"])
def test_retry_after_past_the_request_deadline_fails_at_once(srv: Servers, name: str) -> None:
    server = srv()
    serve_everywhere(server, name, server.reply(429, {"message": "slow down"}, {"Retry-After": "30"}))
    read, path = READERS[name]
    with pytest.raises(FactError) as err:
        read(server, {"MLOPS_GATE_HTTP_REQUEST_DEADLINE": "5"})
    assert "rate limited" in err.value.message and "for another 30 s" in err.value.message
    assert "request deadline (5 s, MLOPS_GATE_HTTP_REQUEST_DEADLINE)" in err.value.message
    assert len(server.requests(path)) == 1  # no wait was started


def test_retry_after_waits_add_up_against_the_request_deadline(srv: Servers) -> None:
    """Each wait alone is short; together they would pass the deadline: the one that would is refused."""
    server = srv()
    server.on(GL_PIPELINES, server.reply(429, {"message": "slow down"}, {"Retry-After": "1"}))
    with pytest.raises(FactError) as err:
        read_gitlab(server, {"MLOPS_GATE_HTTP_REQUEST_DEADLINE": "2.5"})
    assert "rate limited" in err.value.message and "request deadline (2.5 s" in err.value.message
    assert 2 <= len(server.requests(GL_PIPELINES)) <= 3  # 4 retries allowed, the deadline stops them first


# --- size -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["azure", "github", "gitlab", "prometheus", "registry"])
@pytest.mark.parametrize("declared", [True, False])
def test_a_huge_response_is_refused_while_it_streams(srv: Servers, name: str, declared: bool) -> None:
    server = srv()
    total = 512 << 20
    serve_everywhere(server, name, server.stream(total, declared=declared))
    read, _ = READERS[name]
    with pytest.raises(FactError) as err:
        read(server, {"MLOPS_GATE_HTTP_MAX_BYTES": str(1 << 20)})
    text = err.value.message
    size = f"{total} bytes, more than the 1048576" if declared else "more than the 1048576 bytes"
    assert f"the response is {size} the gate reads (MLOPS_GATE_HTTP_MAX_BYTES)" in text
    assert server.sent < total // 8  # stopped long before the end: nothing like 512 MiB was read


# --- pages ------------------------------------------------------------------------------------------


def github_branches(server: Adversary, pages: int, last: list[dict[str, Any]]) -> None:
    """`GET /repos/acme/churn/branches`: `pages` pages of 100 feature branches, then `last` on one more."""

    def answer(req: Any) -> None:
        page = int(dict(p.split("=") for p in req.path.partition("?")[2].split("&") if "=" in p).get("page", 1))
        body = last if page > pages else [{"name": f"feature/{page}-{i}", "protected": False} for i in range(100)]
        link = (
            {}
            if page > pages
            else {"Link": f'<{server.url}{GH_REPO}/branches?per_page=100&page={page + 1}>; rel="next"'}
        )
        req.json(200, body, link)

    server.on(f"{GH_REPO}/branches", answer)


def gate_release_branches(tmp_path: Path, server: Adversary, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    policy = {"version": 1, "checks": {"vcs.branch-protected": {"params": {"branches": ["release/*"]}}}}
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            [
                "check",
                "--repo",
                str(tmp_path),
                "--policy",
                str(tmp_path / "policy.json"),
                "--only",
                "vcs.branch-protected",
                "--platform",
                "github",
                "--repository",
                "acme/churn",
                "--commit",
                SHA,
                "--api-url",
                server.url,
                "--format",
                "json",
            ],
            env={"GITHUB_TOKEN": TOKEN, **env},
        )
    return code, json.loads(out.getvalue()), err.getvalue()


def test_an_unprotected_branch_on_page_101_is_never_a_pass(srv: Servers, tmp_path: Path) -> None:
    server = srv()
    server.on(GH_REPO, server.reply(200, {"id": 1, "default_branch": "main"}))
    github_branches(server, 100, [{"name": "release/2.0", "protected": False}])
    code, report, stderr = gate_release_branches(tmp_path, server, {})
    (result,) = report["results"]
    assert (code, result["status"]) == (3, "error")
    assert "has more than 100 pages of 100; the rest was not read, so it is not judged" in result["message"]
    assert "MLOPS_GATE_HTTP_MAX_PAGES" in result["message"] and "Traceback" not in stderr
    assert len(server.requests(f"{GH_REPO}/branches")) == 100
    # with a cap that reaches it, the branch is read, and judged: unprotected, it blocks
    server.on(f"{GH_REPO}/branches/release/2.0/protection", server.reply(404, {"message": "Branch not protected"}))
    server.on(f"{GH_REPO}/rules/branches/release/2.0", server.reply(200, []))
    code, report, _ = gate_release_branches(tmp_path, server, {"MLOPS_GATE_HTTP_MAX_PAGES": "101"})
    assert code == 1 and [r["status"] for r in report["results"]] == ["failed"]
    assert report["results"][0]["subject"] == "github:acme/churn@release/2.0"


def test_github_202_forever_is_not_waited_for(srv: Servers) -> None:
    server = srv()
    server.on(GH_REPO, server.reply(202, {}))
    with pytest.raises(FactError) as err:
        read_github(server, {})
    assert "answered 202 Accepted (not ready yet); not waited for" in err.value.message
    assert len(server.requests(GH_REPO)) == 1


def test_github_pages_that_loop_are_an_error(srv: Servers) -> None:
    server = srv()
    server.on(GH_REPO, server.reply(200, {"id": 1, "default_branch": "main"}))
    server.on(
        f"{GH_REPO}/environments/production",
        server.reply(
            200,
            {
                "name": "production",
                "protection_rules": [],
                "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
            },
        ),
    )
    path = f"{GH_REPO}/environments/production/deployment-branch-policies"
    server.on(
        path,
        server.reply(
            200,
            {"total_count": 1, "branch_policies": [{"name": "main"}]},
            {"Link": f'<{{url}}{path}?page=2>; rel="next"'},
        ),
    )
    with pytest.raises(FactError) as err:
        read_github(server, {})
    assert "loop (the next link repeats" in err.value.message
    assert len(server.requests(path)) == 2


def test_gitlab_next_link_to_itself_ends_with_an_error(srv: Servers) -> None:
    server = srv()
    server.on(
        GL_PIPELINES, server.reply(200, [], {"Link": f'<{{url}}{GL_PIPELINES}?sha={SHA}&per_page=100>; rel="next"'})
    )
    with pytest.raises(FactError) as err:
        read_gitlab(server, {})
    assert "GitLab pipelines: the pages of" in err.value.message and "loop" in err.value.message
    assert len(server.requests(GL_PIPELINES)) == 1  # the next link is the page just read


def test_gitlab_endless_pages_stop_at_the_cap_with_an_error(srv: Servers) -> None:
    server = srv()

    def answer(req: Any) -> None:
        page = len(server.requests(GL_PIPELINES))
        req.json(200, [], {"Link": f'<{server.url}{GL_PIPELINES}?page={page + 1}>; rel="next"'})

    server.on(GL_PIPELINES, answer)
    with pytest.raises(FactError) as err:
        read_gitlab(server, {"MLOPS_GATE_HTTP_MAX_PAGES": "7"})
    assert "has more than 7 pages of 100; the rest was not read, so it is not judged" in err.value.message
    assert len(server.requests(GL_PIPELINES)) == 7


def test_azure_branch_list_past_the_cap_is_an_error(replay: ReplayServer, tmp_path: Path) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/{REPO_ID}/refs",
        200,
        {"count": 1, "value": [{"name": "refs/heads/release/1"}]},
        headers={"X-MS-ContinuationToken": "again"},
    )
    ctx = ctx_for(tmp_path, replay, scope=("release/*",))
    with pytest.raises(FactError) as err:
        azure.branch_protection(ctx)
    assert "branches: the pages of" in err.value.message and "loop (a continuation token repeats)" in err.value.message


# --- nesting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(READERS))
def test_json_nested_too_deeply_is_a_clean_error(srv: Servers, name: str) -> None:
    server = srv()
    serve_everywhere(server, name, server.reply(200, nested()))
    read, _ = READERS[name]
    with pytest.raises(FactError) as err:
        read(server, {})
    if name != "mlflow":  # the mlflow client reports it in its own words; it is still a FactError
        assert "nested too deeply" in err.value.message or "not a JSON manifest" in err.value.message


# --- limits as settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable",
    [
        "MLOPS_GATE_HTTP_TIMEOUT",
        "MLOPS_GATE_HTTP_REQUEST_DEADLINE",
        "MLOPS_GATE_HTTP_RUN_DEADLINE",
        "MLOPS_GATE_HTTP_MAX_BYTES",
        "MLOPS_GATE_HTTP_MAX_PAGES",
    ],
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "abc", "1e400", "2.5e9"])
def test_a_bad_limit_is_a_usage_error(srv: Servers, tmp_path: Path, variable: str, value: str) -> None:
    server = srv()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            [
                "check",
                "--repo",
                str(tmp_path),
                "--only",
                "cd.production-environment",
                "--platform",
                "github",
                "--repository",
                "acme/churn",
                "--api-url",
                server.url,
            ],
            env={variable: value},
        )
    assert code == 2 and server.seen == []  # nothing was fetched
    assert f"mlops-gate: error: {variable}={value!r} is not a" in err.getvalue()
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()


def test_a_fractional_page_cap_is_a_usage_error(tmp_path: Path) -> None:
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        assert main(["check", "--repo", str(tmp_path)], env={"MLOPS_GATE_HTTP_MAX_PAGES": "2.5"}) == 2
    assert "is not a whole number greater than 0" in err.getvalue()


# --- a TLS handshake dripped a byte at a time ------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_a_tls_handshake_dripped_a_byte_at_a_time_is_cut_off(tmp_path: Path) -> None:
    """A real TLS server behind a relay that passes its bytes on one every 20 ms: the handshake alone would
    take minutes; the attempt's deadline shuts the socket down in the middle of it."""
    import socket
    import ssl
    import threading

    from mlops_gate.providers import http

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = socket.create_server(("127.0.0.1", 0))
    relay = socket.create_server(("127.0.0.1", 0))
    stop, relayed, hung_up = threading.Event(), [0], threading.Event()

    def serve_tls() -> None:
        conn, _ = tls.accept()
        try:
            with context.wrap_socket(conn, server_side=True) as s:
                s.recv(1024)
        except OSError:
            pass

    def pump(src: socket.socket, dst: socket.socket, slow: bool) -> None:
        try:
            while not stop.is_set():
                data = src.recv(1 if slow else 65536)
                if not data:
                    break
                if slow:
                    stop.wait(0.02)
                    relayed[0] += 1
                dst.sendall(data)
        except OSError:
            hung_up.set()

    def serve_relay() -> None:
        client, _ = relay.accept()
        upstream = socket.create_connection(tls.getsockname())
        threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
        pump(upstream, client, True)
        hung_up.set()

    for target in (serve_tls, serve_relay):
        threading.Thread(target=target, daemon=True).start()
    ctx = Context(
        root=tmp_path,
        target=Target(),
        env={"MLOPS_GATE_HTTP_TIMEOUT": "0.5", "MLOPS_GATE_HTTP_REQUEST_DEADLINE": "1.5"},
    )
    session = http.session(ctx)
    session.verify = str(cert)
    try:
        with pytest.raises(FactError) as err:
            session.get(f"https://localhost:{relay.getsockname()[1]}/", timeout=30)
        assert "did not answer within 0.5 s (MLOPS_GATE_HTTP_TIMEOUT, connect to last byte" in err.value.message
        assert hung_up.wait(10) and relayed[0] < 200  # a TLS 1.3 server flight is well over 200 bytes
    finally:
        stop.set()
        tls.close()
        relay.close()
