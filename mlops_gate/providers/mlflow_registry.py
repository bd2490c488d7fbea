"""mlflow_model: the released model version, its run, logged model and MLmodel, read with the mlflow client.

Why the mlflow client rather than raw REST: it speaks every tracking URI users have (http(s), databricks,
plugins), honours the standard `MLFLOW_TRACKING_*` auth and TLS variables, and downloads the MLmodel from
whatever artifact store backs the server. `mlflow-skinny` is enough: it talks to a full server.

The client reads its settings from `os.environ`, so for the duration of the read the `MLFLOW_*` variables
are set to exactly those of the gate's environment (under a lock: one MLflow read at a time per process).
Each entity is fetched once; every REST request the client makes is counted into the meter.

Bounds: each client call is waited for at most its attempts' worth of MLOPS_GATE_HTTP_TIMEOUT (see
`_mlflow_limits`). The URIs must be https:// (loopback, or MLOPS_GATE_INSECURE_HOSTS, aside); redirects
are not followed unless MLFLOW_ALLOW_HTTP_REDIRECTS says so.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

from mlops_gate.errors import FactError
from mlops_gate.facts.mlflow_registry import (
    MlflowModel,
)
from mlops_gate.providers import Context, Meter, netpolicy
from mlops_gate.providers._mlflow_reader import CREDENTIALS, DEFAULTS, Reader, without_userinfo

T = TypeVar("T")
_LOCK = threading.Lock()
_ACTIVE: list[Meter] = []  # the meter of the read in progress (at most one: _LOCK)


def parse_model(ref: str) -> tuple[str, str | None, str | None]:
    """NAME@ALIAS or NAME/VERSION (a leading `models:/` is accepted) -> (name, alias, version)."""
    text = ref.removeprefix("models:/")
    name, sep, alias = text.rpartition("@")
    if sep and name and alias:
        return name, alias, None
    name, sep, version = text.rpartition("/")
    if sep and name and version.isdigit():
        return name, None, version
    raise FactError(
        f"model {ref!r} is neither NAME@ALIAS nor NAME/VERSION",
        "give --model churn@champion or --model churn/3 (or target.model in the policy)",
    )


def mlflow_model(ctx: Context) -> MlflowModel:
    uri = ctx.env.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        raise FactError(
            "MLFLOW_TRACKING_URI is not set: the gate does not know which MLflow server to read",
            f"export MLFLOW_TRACKING_URI=https://mlflow.example.com (and {CREDENTIALS} if it needs auth)",
        )
    if not ctx.target.model:
        raise FactError("no model to read", "set --model NAME@ALIAS or NAME/VERSION, or target.model")
    name, alias, version = parse_model(ctx.target.model)
    compare = sorted(s.removeprefix("alias:") for s in ctx.scope if s.startswith("alias:"))
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        value = ctx.env.get(var, "")
        if urlsplit(value).scheme.lower() in ("http", "https"):
            netpolicy.require_secure(value, ctx.env, "MLflow", var)
    from mlops_gate.providers import http

    clock = http.clock(ctx)
    with _LOCK, _environment(ctx.env):
        try:
            from mlflow import MlflowClient  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise FactError(
                "reading MLflow needs the mlflow client, which is not installed", "pip install mlflow-skinny"
            ) from None
        _install_counter()
        _ACTIVE.append(ctx.meter)
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=ctx.env.get("MLFLOW_REGISTRY_URI") or uri)
            reader = Reader(client, without_userinfo(uri), ctx, clock.deadline)
            return reader.read(ctx.target.model, name, alias, version, compare)
        finally:
            _ACTIVE.clear()


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    wanted = {**DEFAULTS, **{k: v for k, v in env.items() if k.startswith("MLFLOW_")}}
    wanted["MLFLOW_DISABLE_TELEMETRY"] = "true"
    wanted.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, math.ceil(netpolicy.limits(env).attempt_s))))
    try:
        for k in saved:
            del os.environ[k]
        os.environ.update(wanted)
        yield
    finally:
        for k in wanted:
            os.environ.pop(k, None)
        os.environ.update(saved)


class _RequestCounter:
    """An mlflow request-header provider: mlflow asks it once per REST request it sends."""

    def in_context(self) -> bool:
        for meter in _ACTIVE:
            meter.requests += 1
        return False

    def request_headers(self) -> dict[str, str]:
        return {}


def _install_counter() -> None:
    from mlflow.tracking.request_header import registry  # type: ignore[import-untyped,unused-ignore]

    providers = registry._request_header_provider_registry
    if not any(isinstance(p, _RequestCounter) for p in providers):
        providers.register(_RequestCounter)  # type: ignore[no-untyped-call,unused-ignore]
