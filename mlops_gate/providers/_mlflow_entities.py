"""The mlflow client's entities as host-neutral facts: a model version, an MLmodel file (read as YAML; the model
itself is never loaded), the latest value of each metric."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import yaml

from mlops_gate.facts.mlflow_registry import MlmodelSummary, ModelVersionFacts

LOGGED_MODEL = re.compile(r"^models:/(m-[0-9a-f]+)/?$")


def version_facts(mv: Any, uri: str) -> ModelVersionFacts:
    source = mv.source or ""
    model_id = getattr(mv, "model_id", None) or (m.group(1) if (m := LOGGED_MODEL.match(source)) else "")
    return ModelVersionFacts(
        mv.name,
        str(mv.version),
        tuple(mv.aliases or ()),
        enum_text(mv.status),
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


def latest_metrics(metrics: Any) -> dict[str, float]:
    out: dict[str, tuple[int, int, float]] = {}
    for m in metrics:
        key = (m.timestamp or 0, m.step or 0, float(m.value))
        if m.key not in out or key[:2] >= out[m.key][:2]:
            out[m.key] = key
    return {k: v[2] for k, v in sorted(out.items())}


def enum_text(value: Any) -> str:
    return str(getattr(value, "value", value) or "")
