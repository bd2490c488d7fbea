"""What the mlflow_model provider reads through the mlflow client, and how it turns the client's entities into
the host-neutral facts of mlops_gate.facts.mlflow_registry (the client itself is set up in mlflow_registry)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

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
from mlops_gate.providers import Context, _mlflow_artifacts
from mlops_gate.providers._mlflow_entities import enum_text, latest_metrics, summarize, version_facts
from mlops_gate.providers._mlflow_limits import bounded, call_budget, watch
from mlops_gate.secrets import redact

T = TypeVar("T")
DEFAULTS = {  # bounded retries: a CI gate fails clearly instead of backing off for minutes
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_ALLOW_HTTP_REDIRECTS": "false",  # the credentials and the facts come from the configured server only
}
CREDENTIALS = "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"


def without_userinfo(uri: str) -> str:
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class Reader:
    """One read of the released version, its run, logged model, MLmodel and compared versions, each fetched
    once, every client call bounded (_mlflow_limits)."""

    def __init__(self, client: Any, uri: str, ctx: Context, run_deadline: float) -> None:
        self.client, self.uri, self.ctx = client, uri, ctx
        self.notes: list[str] = []
        self.budget, self.run_deadline = call_budget(ctx.env, DEFAULTS), run_deadline
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
        return version_facts(mv, self.uri)

    def logged_model(self, model_id: str) -> LoggedModelFacts | None:
        lm = self.call(f"logged model {model_id}", self.client.get_logged_model, model_id, missing_ok=True)
        if lm is None:
            return None
        return LoggedModelFacts(
            lm.model_id,
            lm.name or "",
            lm.source_run_id or "",
            enum_text(lm.status),
            lm.artifact_location or "",
            latest_metrics(lm.metrics or ()),
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
        try:  # runs:/ and models:/ name a location the server gives: judged, and downloaded, as resolved
            resolved = self.artifact_location(str(location))
        except FactError as exc:
            return None, exc.diagnostics()
        source = f"{resolved.rstrip('/')}/MLmodel"
        refused = _mlflow_artifacts.refusal(source, self.ctx.env)
        if refused is not None:  # never a credential to a host the server names
            return None, f"MLmodel of {name}/{version}: {refused}"
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

    def artifact_location(self, location: str) -> str:
        """`runs:/RUN/PATH` and `models:/...` as the server resolves them (the run's artifact URI, the logged
        model's or version's location); any other location as it is."""
        for _ in range(3):
            parts = urlsplit(location)
            ref = parts.path.lstrip("/")
            if parts.scheme == "runs":
                run_id, _, rest = ref.partition("/")
                base = str(self.call(f"run {run_id}", self.client.get_run, run_id).info.artifact_uri or "")
                location = f"{base.rstrip('/')}/{rest}" if rest else base
            elif parts.scheme == "models" and ref.startswith("m-") and "/" not in ref:
                location = str(self.call(f"logged model {ref}", self.client.get_logged_model, ref).artifact_location)
            elif parts.scheme == "models" and ref.count("/") == 1:
                model, version = ref.split("/")
                location = str(
                    self.call(f"download URI of {ref}", self.client.get_model_version_download_uri, model, version)
                )
            else:
                return location
        return location

    def compared(self, name: str, alias: str, registered: RegisteredModelFacts, candidate: str) -> ComparedVersion:
        holder = registered.aliases.get(alias)
        if holder is None:
            return ComparedVersion(alias, None, notes=(f"no version of {name} holds alias {alias!r}",))
        if holder == candidate:
            return ComparedVersion(alias, holder, notes=(f"the candidate is version {holder}, which holds {alias}",))
        mv = version_facts(
            self.call(f"model version {name}/{holder}", self.client.get_model_version, name, holder), self.uri
        )
        logged = self.logged_model(mv.model_id) if mv.model_id else None
        run_id = mv.run_id or (logged.source_run_id if logged else "")
        run = self.run(run_id) if run_id else None
        metrics = {**(run.metrics if run else {}), **(logged.metrics if logged else {})}
        return ComparedVersion(alias, holder, run_id, metrics)


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
