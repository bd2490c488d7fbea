"""Where credentials go: each token only to the host it belongs to, over HTTPS (loopback aside), through
the real SDKs (PyGithub, python-gitlab, azure-devops, the mlflow client), the registry client and the
Prometheus client, against hostile servers on loopback (tests/support/adversary.py).

Every case asserts which host saw which credential header: the intended host sees it, any other host
sees none (127.0.0.2 stands for "another host": see tests/support/adversary.py for why that is honest).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from mlops_gate.errors import FactError
from mlops_gate.providers import Context, azure, gitlab, oci, prometheus
from mlops_gate.providers import github as gh
from mlops_gate.target import Target
from tests.support.adversary import Adversary, Servers, servers
from tests.support.azure_devops import REPO_ID, ctx_for, replay_answers_options, serve_repository
from tests.support.replay import ReplayServer

__all__ = ["replay_answers_options"]  # the Azure SDK discovers locations with OPTIONS (see that module)

TOKEN = "ghp_" + "T" * 36  # shaped like a GitHub token: the redaction patterns know it too
SHA = "abc1234def5678abc1234def5678abc1234def56"
GH_REPO = "/repos/acme/churn"
GL_PIPELINES = "/api/v4/projects/acme%2Fchurn/pipelines"
REPO_BODY = {"id": 1, "name": "churn", "full_name": "acme/churn", "default_branch": "main"}


@pytest.fixture
def srv() -> Iterator[Servers]:
    yield from servers()


def github_ctx(tmp_path: Path, api: str, env: dict[str, str] | None = None) -> Context:
    target = Target(platform="github", repository="acme/churn", commit=SHA, api_url=api)
    return Context(root=tmp_path, target=target, env={"GITHUB_TOKEN": TOKEN, **(env or {})})


def gitlab_ctx(api: str, env: dict[str, str]) -> Context:
    target = Target(platform="gitlab", repository="acme/churn", commit=SHA, api_url=api + "/api/v4")
    return Context(root=Path("."), target=target, env=env)


def opt_in(*servers: Adversary) -> dict[str, str]:
    """Plain HTTP allowed to these "remote" hosts, so that only the origin rule is under test."""
    return {"MLOPS_GATE_INSECURE_HOSTS": ",".join(s.netloc for s in servers)}


# --- GitHub (PyGithub) ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_github_token_never_follows_a_redirect_to_another_host(srv: Servers, tmp_path: Path, status: int) -> None:
    api, other = srv(), srv("127.0.0.2")
    other.on(GH_REPO, other.reply(200, REPO_BODY))
    api.on(GH_REPO, api.redirect(f"{other.url}{GH_REPO}", status))
    with pytest.raises(FactError) as err:
        gh.environments(github_ctx(tmp_path, api.url, opt_in(other)))
    assert other.seen == []  # not even an anonymous request: PyGithub's answers come from its own host
    assert [s.headers.get("authorization") for s in api.seen] == [f"token {TOKEN}"]
    assert TOKEN not in err.value.diagnostics()
    assert f"answered {status}, a redirect to http://127.0.0.2:" in err.value.message
    assert "on another host: not followed" in err.value.message


def test_github_next_page_on_another_host_is_not_followed(srv: Servers, tmp_path: Path) -> None:
    api, other = srv(), srv("127.0.0.2")
    api.on(GH_REPO, api.reply(200, REPO_BODY))
    api.on(
        f"{GH_REPO}/commits/{SHA}/check-runs",
        api.reply(
            200,
            {"total_count": 1, "check_runs": []},
            {"Link": f'<{other.url}{GH_REPO}/commits/{SHA}/check-runs?page=2>; rel="next"'},
        ),
    )
    with pytest.raises(FactError) as err:
        gh.commit_runs(github_ctx(tmp_path, api.url, opt_in(other)))
    assert "next page" in err.value.message and "on another host (http://127.0.0.2:" in err.value.message
    assert other.seen == []
    assert {s.headers.get("authorization") for s in api.seen} == {f"token {TOKEN}"}


def test_github_api_over_plain_http_to_a_remote_host_is_refused(srv: Servers, tmp_path: Path) -> None:
    remote = srv("127.0.0.2")
    remote.on(GH_REPO, remote.reply(200, REPO_BODY))
    with pytest.raises(FactError) as err:
        gh.environments(github_ctx(tmp_path, remote.url))
    assert "refusing plain HTTP to http://127.0.0.2:" in err.value.message
    assert "MLOPS_GATE_INSECURE_HOSTS" in (err.value.hint or "")
    assert remote.seen == []
    # listed by the user: allowed, with the token (the user said this host is trusted in cleartext)
    remote.on(f"{GH_REPO}/environments/production", remote.reply(404, {"message": "Not Found"}))
    facts = gh.environments(github_ctx(tmp_path, remote.url, opt_in(remote)))
    assert not facts.environments[0].exists
    assert {s.headers.get("authorization") for s in remote.seen} == {f"token {TOKEN}"}


def test_cli_refuses_a_cleartext_api_without_a_traceback_or_the_token(srv: Servers, tmp_path: Path) -> None:
    remote = srv("127.0.0.2")
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
                "--commit",
                SHA,
                "--api-url",
                remote.url,
                "--format",
                "json",
            ],
            env={"GITHUB_TOKEN": TOKEN},
        )
    (result,) = json.loads(out.getvalue())["results"]
    assert (code, result["status"]) == (3, "error")
    assert "refusing plain HTTP" in result["message"]
    assert remote.seen == []
    assert "Traceback" not in err.getvalue() and TOKEN not in out.getvalue() + err.getvalue()


# --- GitLab (python-gitlab) -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(("variable", "header"), [("GITLAB_TOKEN", "private-token"), ("CI_JOB_TOKEN", "job-token")])
def test_gitlab_token_is_stripped_from_a_redirect_to_another_host(
    srv: Servers, status: int, variable: str, header: str
) -> None:
    api, other = srv(), srv("127.0.0.2")
    api.on(GL_PIPELINES, api.redirect(f"{other.url}{GL_PIPELINES}?sha={SHA}&per_page=100", status))
    other.on(GL_PIPELINES, other.reply(200, []))
    runs = gitlab.commit_runs(gitlab_ctx(api.url, {variable: TOKEN, **opt_in(other)}))
    assert runs.notes == (f"no pipeline ran on commit {SHA}",)  # the other host answered ...
    assert len(other.seen) == 1 and other.credentials_seen() == []  # ... and never saw the token
    assert [s.headers.get(header) for s in api.seen] == [TOKEN]


def test_gitlab_token_follows_a_redirect_on_its_own_origin(srv: Servers) -> None:
    """The control: a redirect within the API's origin keeps the token (only another origin loses it)."""
    api = srv()
    api.on(GL_PIPELINES, api.redirect(f"{api.url}{GL_PIPELINES}-moved", 301))
    api.on(f"{GL_PIPELINES}-moved", api.reply(200, []))
    gitlab.commit_runs(gitlab_ctx(api.url, {"GITLAB_TOKEN": TOKEN}))
    assert [s.headers.get("private-token") for s in api.seen] == [TOKEN, TOKEN]


def test_gitlab_redirect_to_plain_http_on_a_remote_host_is_refused(srv: Servers) -> None:
    api, other = srv(), srv("127.0.0.2")
    api.on(GL_PIPELINES, api.redirect(f"{other.url}{GL_PIPELINES}", 302))
    other.on(GL_PIPELINES, other.reply(200, []))
    with pytest.raises(FactError) as err:
        gitlab.commit_runs(gitlab_ctx(api.url, {"GITLAB_TOKEN": TOKEN}))
    assert "refusing to follow it to plain HTTP" in err.value.message and other.seen == []


def test_gitlab_next_page_on_another_host_is_not_followed(srv: Servers) -> None:
    api, other = srv(), srv("127.0.0.2")
    api.on(GL_PIPELINES, api.reply(200, [], {"Link": f'<{other.url}{GL_PIPELINES}?page=2>; rel="next"'}))
    with pytest.raises(FactError) as err:
        gitlab.commit_runs(gitlab_ctx(api.url, {"GITLAB_TOKEN": TOKEN, **opt_in(other)}))
    assert "is on another host" in err.value.message and other.seen == []


def test_gitlab_api_over_plain_http_to_a_remote_host_is_refused(srv: Servers) -> None:
    remote = srv("127.0.0.2")
    with pytest.raises(FactError) as err:
        gitlab.commit_runs(gitlab_ctx(remote.url, {"CI_JOB_TOKEN": TOKEN}))
    assert "GitLab API: refusing plain HTTP" in err.value.message and remote.seen == []


# --- Azure DevOps (azure-devops SDK on msrest) ------------------------------------------------------


def test_azure_token_is_stripped_from_a_redirect_to_another_host(
    replay: ReplayServer, srv: Servers, tmp_path: Path
) -> None:
    other = srv("127.0.0.2")
    serve_repository(replay)
    path = "/contoso/ml/_apis/git/repositories/churn"
    replay.add("GET", path, 302, None, headers={"Location": f"{other.url}{path}"})
    other.on(path, other.reply(200, {"id": REPO_ID, "name": "churn", "defaultBranch": "refs/heads/main"}))
    other.on("/contoso/ml/_apis/build/builds", other.reply(200, {"count": 0, "value": []}))
    ctx = ctx_for(tmp_path, replay, env={"AZURE_DEVOPS_TOKEN": TOKEN, **opt_in(other)})
    with pytest.raises(FactError):  # the redirected repository read answers; the next read is not served
        azure.commit_runs(ctx)
    assert len(other.seen) >= 1 and other.credentials_seen() == []
    basic = "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode()
    assert {s.headers.get("Authorization") for s in replay.seen} == {basic}


def test_azure_resource_area_outside_the_collection_gets_no_token(
    replay: ReplayServer, srv: Servers, tmp_path: Path
) -> None:
    other = srv("127.0.0.2")
    serve_repository(replay)
    areas = [{"id": "4e080c62-fa21-4fbc-8fef-2a10a2b38049", "name": "git", "locationUrl": f"{other.url}/contoso/"}]
    replay.add("GET", "/contoso/_apis/ResourceAreas", 200, {"count": 1, "value": areas})
    with pytest.raises(FactError) as err:
        azure.commit_runs(ctx_for(tmp_path, replay, env={"AZURE_DEVOPS_TOKEN": TOKEN, **opt_in(other)}))
    assert "names http://127.0.0.2:" in err.value.message and "the token is not sent there" in err.value.message
    assert other.seen == []
    with pytest.raises(FactError) as err:  # and without the opt-in, plain HTTP to it is refused first
        azure.commit_runs(ctx_for(tmp_path, replay, env={"AZURE_DEVOPS_TOKEN": TOKEN}))
    assert "refusing plain HTTP" in err.value.message and other.seen == []


# --- Prometheus / Alertmanager -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"MLOPS_GATE_PROMETHEUS_TOKEN": TOKEN},
        {"MLOPS_GATE_PROMETHEUS_USERNAME": "ci", "MLOPS_GATE_PROMETHEUS_PASSWORD": TOKEN},
    ],
)
def test_prometheus_credentials_are_stripped_from_a_redirect(srv: Servers, env: dict[str, str]) -> None:
    api, other = srv(), srv("127.0.0.2")
    empty = {"status": "success", "data": {"groups": [], "activeTargets": [], "alerts": []}}
    for path in ("/api/v1/rules", "/api/v1/targets", "/api/v1/alerts"):
        api.on(path, api.redirect(f"{other.url}{path}", 307))
        other.on(path, other.reply(200, empty))
    ctx = Context(root=Path("."), target=Target(prometheus_url=api.url), env={**env, **opt_in(other)})
    state = prometheus.prometheus_state(ctx)
    assert state.rules == () and len(other.seen) == 3 and other.credentials_seen() == []
    assert len(api.seen) == 3 and all("authorization" in s.headers for s in api.seen)


@pytest.mark.parametrize("service", ["prometheus", "alertmanager"])
def test_prometheus_over_plain_http_to_a_remote_host_is_refused(srv: Servers, service: str) -> None:
    remote = srv("127.0.0.2")
    target = Target(prometheus_url=remote.url) if service == "prometheus" else Target(alertmanager_url=remote.url)
    read = prometheus.prometheus_state if service == "prometheus" else prometheus.alertmanager_state
    with pytest.raises(FactError) as err:
        read(
            Context(
                root=Path("."),
                target=target,
                env={"MLOPS_GATE_PROMETHEUS_TOKEN": TOKEN, "MLOPS_GATE_ALERTMANAGER_TOKEN": TOKEN},
            )
        )
    assert "refusing plain HTTP" in err.value.message and remote.seen == []


# --- OCI registries ------------------------------------------------------------------------------


def registry_ctx(tmp_path: Path, image: str, env: dict[str, str]) -> Context:
    return Context(
        root=tmp_path, target=Target(image=image), env={"HOME": str(tmp_path), **env}, scope=frozenset({"labels"})
    )


def challenge(registry: Adversary, header: str) -> None:
    registry.on("/v2/ml/churn/manifests/latest", registry.reply(401, {"errors": []}, {"WWW-Authenticate": header}))


CREDS = {"MLOPS_GATE_REGISTRY_USERNAME": "ci", "MLOPS_GATE_REGISTRY_PASSWORD": "s3cret-pass"}


def test_registry_credentials_go_only_to_the_registry_they_name(srv: Servers, tmp_path: Path) -> None:
    registry = srv()
    challenge(registry, 'Basic realm="registry"')
    image = f"{registry.netloc}/ml/churn:latest"
    with pytest.raises(FactError) as err:  # the image names this registry; the credentials are for another
        oci.oci_image(registry_ctx(tmp_path, image, {**CREDS, "MLOPS_GATE_REGISTRY_HOST": "ghcr.io"}))
    assert "Basic auth, no credentials" in err.value.message
    assert f"MLOPS_GATE_REGISTRY_HOST={registry.netloc}" in (err.value.hint or "")
    with pytest.raises(FactError):  # without MLOPS_GATE_REGISTRY_HOST they go nowhere
        oci.oci_image(registry_ctx(tmp_path, image, CREDS))
    assert registry.credentials_seen() == [] and len(registry.seen) == 2


def test_docker_config_auths_go_only_to_their_registry(srv: Servers, tmp_path: Path) -> None:
    registry = srv()
    challenge(registry, 'Basic realm="registry"')
    auth = base64.b64encode(b"ci:s3cret-pass").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": auth}}}))
    with pytest.raises(FactError):
        oci.oci_image(registry_ctx(tmp_path, f"{registry.netloc}/ml/churn:latest", {"DOCKER_CONFIG": str(tmp_path)}))
    assert registry.credentials_seen() == []


def test_token_realm_over_plain_http_on_a_remote_host_gets_no_credentials(srv: Servers, tmp_path: Path) -> None:
    registry, realm = srv(), srv("127.0.0.2")
    challenge(registry, f'Bearer realm="{realm.url}/token",service="registry",scope="repository:ml/churn:pull"')
    realm.on("/token", realm.reply(200, {"token": "t"}))
    image = f"{registry.netloc}/ml/churn:latest"
    with pytest.raises(FactError) as err:
        oci.oci_image(registry_ctx(tmp_path, image, {**CREDS, "MLOPS_GATE_REGISTRY_HOST": registry.netloc}))
    assert "refusing to send credentials over plain HTTP to the token realm" in err.value.message
    assert realm.seen == []


def test_registry_blob_redirect_to_another_host_carries_no_credentials(srv: Servers, tmp_path: Path) -> None:
    """Registries send blobs from a CDN with a redirect: followed, without the registry's credentials."""
    registry, cdn = srv(), srv("127.0.0.2")
    config = json.dumps({"config": {"Labels": {"org.opencontainers.image.revision": SHA}}}).encode()
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "layers": [],
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": len(config)},
    }
    basic = "Basic " + base64.b64encode(b"ci:s3cret-pass").decode()

    def manifests(req: Any) -> None:
        if req.headers.get("Authorization") == basic:
            req.json(200, manifest)
        else:
            req.json(401, {"errors": []}, {"WWW-Authenticate": 'Basic realm="registry"'})

    registry.on("/v2/ml/churn/manifests/latest", manifests)
    registry.on(f"/v2/ml/churn/blobs/{digest}", registry.redirect(f"{cdn.url}/blobs/{digest}", 307))
    cdn.on(f"/blobs/{digest}", cdn.reply(200, config))
    env = {**CREDS, "MLOPS_GATE_REGISTRY_HOST": registry.netloc, **opt_in(cdn)}
    facts = oci.oci_image(registry_ctx(tmp_path, f"{registry.netloc}/ml/churn:latest", env))
    assert [(label.key, label.value) for label in facts.labels or ()] == [("org.opencontainers.image.revision", SHA)]
    assert len(cdn.seen) == 1 and cdn.credentials_seen() == []
    assert [s.headers.get("authorization") for s in registry.seen] == [None, basic, basic]


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Adversary]]:
    """A real docker-registry (token auth) whose realm is a recording server on loopback."""
    import shutil

    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (see .ci/run)")
    from tests.support.oci_registry import TokenIssuer, start_registry

    realm = Adversary().start()
    realm.on("/token", realm.reply(401, {"details": "no"}))
    workdir = tmp_path_factory.mktemp("token-registry")
    bundle = workdir / "token-ca.pem"
    bundle.write_bytes(TokenIssuer({}).cert_pem())
    registry = start_registry(
        workdir,
        {
            "token": {
                "realm": f"{realm.url}/token",
                "service": "test-registry",
                "issuer": "test-issuer",
                "rootcertbundle": str(bundle),
            }
        },
    )
    try:
        yield registry, realm
    finally:
        registry.stop()
        realm.stop()


@pytest.mark.parametrize("bound", [True, False])
def test_real_registry_token_flow_sends_credentials_only_when_bound(
    token_registry: tuple[Any, Adversary], tmp_path: Path, bound: bool
) -> None:
    registry, realm = token_registry
    realm.seen.clear()
    env = {**CREDS, "MLOPS_GATE_REGISTRY_HOST": registry.host if bound else "registry.example.com"}
    with pytest.raises(FactError) as err:  # the recording realm answers 401 either way
        oci.oci_image(registry_ctx(tmp_path, f"{registry.host}/ml/churn:latest", env))
    assert "token for repository:ml/churn:pull" in err.value.message and "s3cret-pass" not in err.value.diagnostics()
    expected = [{"authorization": "Basic " + base64.b64encode(b"ci:s3cret-pass").decode()}] if bound else []
    assert realm.credentials_seen() == expected and len(realm.seen) == 1


# --- MLflow (the mlflow client) --------------------------------------------------------------------


def mlflow_ctx(uri: str, env: dict[str, str] | None = None) -> Context:
    return Context(
        root=Path("."),
        target=Target(model="churn@champion"),
        env={"MLFLOW_TRACKING_URI": uri, "MLFLOW_TRACKING_TOKEN": TOKEN, **(env or {})},
    )


def test_mlflow_over_plain_http_to_a_remote_host_is_refused(srv: Servers) -> None:
    from mlops_gate.providers import mlflow_registry

    remote = srv("127.0.0.2")
    with pytest.raises(FactError) as err:
        mlflow_registry.mlflow_model(mlflow_ctx(remote.url))
    assert "MLflow: refusing plain HTTP" in err.value.message and remote.seen == []


def test_mlflow_redirects_are_not_followed(srv: Servers) -> None:
    from mlops_gate.providers import mlflow_registry

    api, other = srv(), srv("127.0.0.2")
    path = "/api/2.0/mlflow/registered-models/get"
    api.on(path, api.redirect(f"{other.url}{path}", 302))
    with pytest.raises(FactError) as err:
        mlflow_registry.mlflow_model(mlflow_ctx(api.url, opt_in(other)))
    assert "302" in err.value.message and TOKEN not in err.value.diagnostics()
    assert other.seen == [] and [s.headers.get("authorization") for s in api.seen] == [f"Bearer {TOKEN}"]
