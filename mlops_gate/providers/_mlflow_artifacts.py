"""Where the mlflow client may download the MLmodel from: the tracking (or registry) server itself.

The artifact location of a model version is whatever the server answers, and the client sends the tracking
credentials (MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN) to an `http(s)://` or `mlflow-artifacts://host` location,
and signs requests with the runner's cloud credentials for `s3://`, `gs://`, `wasbs://`... So before any
download the location is held to the trusted endpoints (the environment's MLFLOW_TRACKING_URI and
MLFLOW_REGISTRY_URI):

- `mlflow-artifacts:/path` (served by the tracking server) and `mlflow-artifacts://host/path` or
  `http(s)://host/...` on the same scheme, host and port as one of them: downloaded;
- a location under a prefix listed in MLOPS_GATE_MLFLOW_ARTIFACT_STORES (comma-separated, e.g.
  `s3://ml-artifacts/,https://artifacts.example.com/`): downloaded with the environment's credentials (plain
  http:// only to loopback or MLOPS_GATE_INSECURE_HOSTS);
- with a tracking URI that is not http(s) (a local store, `databricks`, a plugin), the environment chose the
  store: downloaded as the client resolves it;
- anything else (another host, a path on the runner, a cloud store): not downloaded, and said why.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from mlops_gate.errors import FactError
from mlops_gate.providers import netpolicy

STORES_VAR = "MLOPS_GATE_MLFLOW_ARTIFACT_STORES"


def _origin(url: str) -> tuple[str, str, int | None] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or netpolicy.DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, parts.hostname.lower(), port


def _under(location: str, prefix: str) -> bool:
    """`location` is `prefix` or inside it, on a path boundary: `s3://models` lists neither `s3://models-evil`
    nor `https://a.example.com` lists `https://a.example.com.evil.net`."""
    if not urlsplit(prefix).scheme:
        return False  # a bare path or word is not a store
    base = prefix if prefix.endswith("/") else prefix + "/"
    return location == prefix or location.startswith(base)


def refusal(location: str, env: Mapping[str, str]) -> str | None:
    """None when the MLmodel may be downloaded from `location`; else why not (with the fix)."""
    servers = [u for u in (env.get("MLFLOW_TRACKING_URI", ""), env.get("MLFLOW_REGISTRY_URI", "")) if u]
    origins = {o for u in servers if (o := _origin(u)) is not None}
    listed = [p.strip() for p in env.get(STORES_VAR, "").split(",") if p.strip()]
    if any(_under(location, prefix) for prefix in listed):
        if urlsplit(location).scheme.lower() in ("http", "https"):
            try:
                netpolicy.require_secure(location, env, "MLflow artifacts", STORES_VAR)
            except FactError as exc:
                return exc.message
        return None
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "mlflow-artifacts":
        if not parts.netloc:
            return None  # the tracking server serves it
        try:
            port = parts.port
        except ValueError:
            port = -1
        if any(parts.hostname == host and (port or netpolicy.DEFAULT_PORTS[sch]) == p for sch, host, p in origins):
            return None  # mlflow resolves the host against the tracking URI's scheme
    elif scheme in ("http", "https"):
        if _origin(location) in origins:
            return None
    elif not origins:
        return None  # a local, Databricks or plugin tracking store: the environment chose where artifacts are
    where = f"{scheme}://{parts.netloc}" if parts.netloc else (f"{scheme}:" if scheme else "a path on the runner")
    return (
        f"the server names the artifact location {where}, which is not the tracking server "
        f"(MLFLOW_TRACKING_URI): the MLmodel is not downloaded, so that no credential of this run goes there; "
        f"serve artifacts through the tracking server (mlflow server --serve-artifacts), or list the store in "
        f"{STORES_VAR} to download from it with the environment's credentials"
    )
