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
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

from mlops_gate.errors import FactError
from mlops_gate.facts.mlflow_registry import (
    ComparedVersion,
    DatasetInputFacts,
    LoggedModelFacts,
    MlflowModel,
    MlmodelSummary,
    ModelVersionFacts,
    RegisteredModelFacts,
    RunFacts,
)
from mlops_gate.providers import Context, Meter, netpolicy
from mlops_gate.providers._mlflow_limits import bounded, call_budget, watch
from mlops_gate.secrets import redact

T = TypeVar("T")
_LOCK = threading.Lock()
_ACTIVE: list[Meter] = []  # the meter of the read in progress (at most one: _LOCK)
_DEFAULTS = {  # bounded retries: a CI gate fails clearly instead of backing off for minutes
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_ALLOW_HTTP_REDIRECTS": "false",  # the credentials and the facts come from the configured server only
}
CREDENTIALS = "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"
LOGGED_MODEL = re.compile(r"^models:/(m-[0-9a-f]+)/?$")


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


def without_userinfo(uri: str) -> str:
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


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
            reader = _Reader(client, without_userinfo(uri), ctx, clock.deadline)
            return reader.read(ctx.target.model, name, alias, version, compare)
        finally:
            _ACTIVE.clear()


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    wanted = {**_DEFAULTS, **{k: v for k, v in env.items() if k.startswith("MLFLOW_")}}
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


class _Reader:
    def __init__(self, client: Any, uri: str, ctx: Context, run_deadline: float) -> None:
        self.client, self.uri, self.ctx = client, uri, ctx
        self.notes: list[str] = []
        self.budget, self.run_deadline = call_budget(ctx.env, _DEFAULTS), run_deadline
        uris = {uri, without_userinfo(ctx.env.get("MLFLOW_REGISTRY_URI") or uri)}
        self.connections = [watch(u) for u in uris if urlsplit(u).scheme in ("http", "https")]

    def bounded(self, what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return bounded(
            f"{what}: MLflow at {self.uri}",
            self.budget,
            self.run_deadline,
            func,
            *args,
            connections=self.connections,
            **kwargs,
        )

    def call(self, what: str, func: Any, *args: Any, missing_ok: bool = False) -> Any:
        """One client call; None when the entity does not exist and `missing_ok`."""
        try:
            return self.bounded(what, func, *args)
        except FactError:
            raise
        except Exception as exc:
            status, code = _status_of(exc)
            if status == 404 or code == "RESOURCE_DOES_NOT_EXIST":
                if missing_ok:
                    self.notes.append(f"{what}: not found at {self.uri}")
                    return None
                raise FactError(
                    f"{what} not found at {self.uri} (MLFLOW_TRACKING_URI)",
                    "check --model / target.model, and that MLFLOW_TRACKING_URI names the right server",
                ) from None
            raise self.failure(what, exc, status, code) from None

    def failure(self, what: str, exc: Exception, status: int | None, code: str) -> FactError:
        where = f"MLflow at {self.uri} (MLFLOW_TRACKING_URI)"
        if status == 401 or code == "UNAUTHENTICATED":
            return FactError(f"{what}: {where} answered 401 Unauthorized", f"set {CREDENTIALS} for that server")
        if status == 403 or code == "PERMISSION_DENIED":
            return FactError(
                f"{what}: {where} answered 403 Forbidden",
                "give the user of MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_TOKEN READ permission "
                "on the experiment and registered model",
            )
        if status is None:
            return FactError(
                f"{what}: cannot reach {where}", "check MLFLOW_TRACKING_URI, that the server is up, and the network"
            )
        detail = redact(str(getattr(exc, "message", exc)), self.ctx.env).replace(
            self.ctx.env.get("MLFLOW_TRACKING_URI", self.uri), self.uri
        )
        return FactError(f"{what}: {where} answered {code or status}: {detail[:300]}")

    def read(self, given: str, name: str, alias: str | None, version: str | None, compare: list[str]) -> MlflowModel:
        c = self.client
        rm = self.call(f"registered model {name!r}", c.get_registered_model, name)
        registered = RegisteredModelFacts(
            name,
            rm.description or "",
            dict(rm.tags or {}),
            {str(k): str(v) for k, v in (rm.aliases or {}).items()},
            f"{self.uri}/#/models/{quote(name)}",
        )
        mv = self.resolve(name, alias, version, registered)
        logged = self.logged_model(mv.model_id) if mv.model_id else None
        run_id = mv.run_id or (logged.source_run_id if logged else "")
        run = self.run(run_id) if run_id else None
        if not run_id:
            self.notes.append(f"version {mv.version} names no run (source: {mv.source or 'none'})")
        mlmodel, mlmodel_error = self.mlmodel(name, mv.version, logged)
        compared = {a: self.compared(name, a, registered, mv.version) for a in compare}
        for url in (mv.url, run.url if run else "", mlmodel.source if mlmodel else ""):
            if url:
                self.ctx.meter.read(url)
        return MlflowModel(
            self.uri, given, mv, registered, run, run_id, logged, mlmodel, mlmodel_error, compared, tuple(self.notes)
        )

    def resolve(
        self, name: str, alias: str | None, version: str | None, registered: RegisteredModelFacts
    ) -> ModelVersionFacts:
        if alias is not None:
            try:
                mv = self.bounded(f"alias {name}@{alias}", self.client.get_model_version_by_alias, name, alias)
            except FactError:
                raise
            except Exception as exc:
                status, code = _status_of(exc)
                if status in (400, 404) or code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                    known = ", ".join(f"{a} -> {v}" for a, v in sorted(registered.aliases.items())) or "none"
                    raise FactError(
                        f"registered model {name!r} has no alias {alias!r} at {self.uri} (its aliases: {known})",
                        "check --model / target.model",
                    ) from None
                raise self.failure(f"alias {name}@{alias}", exc, status, code) from None
        else:
            mv = self.call(f"model version {name}/{version}", self.client.get_model_version, name, version)
        return _version(mv, self.uri)

    def logged_model(self, model_id: str) -> LoggedModelFacts | None:
        lm = self.call(f"logged model {model_id}", self.client.get_logged_model, model_id, missing_ok=True)
        if lm is None:
            return None
        return LoggedModelFacts(
            lm.model_id,
            lm.name or "",
            lm.source_run_id or "",
            _enum(lm.status),
            lm.artifact_location or "",
            _latest(lm.metrics or ()),
            {str(k): str(v) for k, v in (lm.params or {}).items()},
        )

    def run(self, run_id: str) -> RunFacts | None:
        r = self.call(f"run {run_id}", self.client.get_run, run_id, missing_ok=True)
        if r is None:
            return None
        inputs = tuple(
            DatasetInputFacts(
                d.dataset.name or "",
                d.dataset.digest or "",
                d.dataset.source_type or "",
                next((t.value for t in d.tags or () if t.key == "mlflow.data.context"), ""),
            )
            for d in (r.inputs.dataset_inputs if r.inputs else ()) or ()
        )
        info = r.info
        return RunFacts(
            info.run_id,
            info.experiment_id or "",
            info.status or "",
            info.lifecycle_stage or "",
            dict(r.data.tags),
            dict(r.data.params),
            {k: float(v) for k, v in r.data.metrics.items()},
            inputs,
            f"{self.uri}/#/experiments/{info.experiment_id}/runs/{info.run_id}",
        )

    def mlmodel(
        self, name: str, version: str, logged: LoggedModelFacts | None
    ) -> tuple[MlmodelSummary | None, str | None]:
        location = (
            logged.artifact_location
            if logged and logged.artifact_location
            else self.call(
                f"download URI of {name}/{version}", self.client.get_model_version_download_uri, name, version
            )
        )
        source = f"{str(location).rstrip('/')}/MLmodel"
        from mlflow.artifacts import download_artifacts  # type: ignore[import-untyped,unused-ignore]

        with tempfile.TemporaryDirectory(prefix="mlops-gate-") as tmp:
            try:
                path = Path(
                    self.bounded(
                        f"MLmodel of {name}/{version}",
                        download_artifacts,
                        artifact_uri=source,
                        dst_path=tmp,
                        tracking_uri=self.uri,
                    )
                )
            except FactError as exc:
                return None, exc.diagnostics()
            except Exception as exc:
                status, code = _status_of(exc)
                if status == 404 or code == "RESOURCE_DOES_NOT_EXIST" or isinstance(exc, (FileNotFoundError,)):
                    return MlmodelSummary(source, error="the version has no MLmodel file"), None
                return None, self.failure(f"MLmodel of {name}/{version}", exc, status, code).diagnostics()
            return summarize(source, path.read_text(encoding="utf-8", errors="replace")), None

    def compared(self, name: str, alias: str, registered: RegisteredModelFacts, candidate: str) -> ComparedVersion:
        holder = registered.aliases.get(alias)
        if holder is None:
            return ComparedVersion(alias, None, notes=(f"no version of {name} holds alias {alias!r}",))
        if holder == candidate:
            return ComparedVersion(alias, holder, notes=(f"the candidate is version {holder}, which holds {alias}",))
        mv = _version(
            self.call(f"model version {name}/{holder}", self.client.get_model_version, name, holder), self.uri
        )
        logged = self.logged_model(mv.model_id) if mv.model_id else None
        run_id = mv.run_id or (logged.source_run_id if logged else "")
        run = self.run(run_id) if run_id else None
        metrics = {**(run.metrics if run else {}), **(logged.metrics if logged else {})}
        return ComparedVersion(alias, holder, run_id, metrics)


def _version(mv: Any, uri: str) -> ModelVersionFacts:
    source = mv.source or ""
    model_id = getattr(mv, "model_id", None) or (m.group(1) if (m := LOGGED_MODEL.match(source)) else "")
    return ModelVersionFacts(
        mv.name,
        str(mv.version),
        tuple(mv.aliases or ()),
        _enum(mv.status),
        mv.status_message or "",
        str(mv.current_stage or ""),
        mv.description or "",
        dict(mv.tags or {}),
        mv.run_id or "",
        source,
        model_id,
        mv.creation_timestamp,
        f"{uri}/#/models/{quote(mv.name)}/versions/{mv.version}",
    )


def summarize(source: str, text: str) -> MlmodelSummary:
    """What an MLmodel file declares; never loads the model."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return MlmodelSummary(source, error=f"MLmodel is not valid YAML{where}")
    if not isinstance(doc, dict) or not isinstance(doc.get("flavors"), dict) or not doc["flavors"]:
        return MlmodelSummary(source, error="MLmodel is not an MLmodel file: no `flavors` mapping")
    signature = doc.get("signature")
    return MlmodelSummary(
        source,
        tuple(sorted(str(f) for f in doc["flavors"])),
        has_signature=isinstance(signature, dict) and bool(signature.get("inputs")),
        has_input_example=isinstance(doc.get("saved_input_example_info"), dict),
    )


def _latest(metrics: Any) -> dict[str, float]:
    out: dict[str, tuple[int, int, float]] = {}
    for m in metrics:
        key = (m.timestamp or 0, m.step or 0, float(m.value))
        if m.key not in out or key[:2] >= out[m.key][:2]:
            out[m.key] = key
    return {k: v[2] for k, v in sorted(out.items())}


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _status_of(exc: Exception) -> tuple[int | None, str]:
    """(HTTP status, MLflow error code) of a client exception; status None: the server was not reached."""
    code = str(getattr(exc, "error_code", "") or "")
    text = str(exc)
    unreached = isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and not code
    if unreached or "failed with exception" in text:
        return None, code
    m = re.search(r"error code (\d{3})", text)
    if m:
        return int(m.group(1)), code
    getter = getattr(exc, "get_http_status_code", None)
    return (int(getter()) if callable(getter) else 500), code
