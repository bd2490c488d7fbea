"""Drift monitors declared in configuration or code: Azure ML signals, Databricks quality monitors,
and Evidently, NannyML, alibi-detect or whylogs configs and imports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang.source import loc
from mlops_gate.model import Location

DriftKind = Literal["prometheus", "azureml", "databricks", "evidently", "nannyml", "alibi-detect", "whylogs"]
LIBRARIES: dict[str, DriftKind] = {
    "evidently": "evidently",
    "nannyml": "nannyml",
    "alibi_detect": "alibi-detect",
    "whylogs": "whylogs",
}
AZURE_SIGNALS = {"data_drift", "prediction_drift", "feature_attribution_drift"}


def drift_configs(drift: RepoFiles) -> Iterator[tuple[DriftKind, str, Location]]:
    """The drift monitors in drift config and code files, in file order."""
    for f in drift.files:
        if f.error:
            continue
        if f.format == "python":
            text = f.text or ""
            for module, kind in LIBRARIES.items():
                # [ \t], not \s: a run of blank lines would make \s* backtrack quadratically
                if re.search(rf"^[ \t]*(?:import|from)[ \t]+{module}\b", text, re.M) and "drift" in text.lower():
                    yield kind, f"{module} drift code", Location(f.path)
            continue
        for i, doc in enumerate(f.documents):
            yield from _drift_doc(f, i, doc)


def _drift_doc(f: SourceFile, i: int, doc: Any) -> Iterator[tuple[DriftKind, str, Location]]:
    if not isinstance(doc, dict):
        return
    resources = doc.get("resources")
    monitors = resources.get("quality_monitors") if isinstance(resources, dict) else None
    if isinstance(monitors, dict) and monitors:
        at = loc(f, "resources", "quality_monitors", doc=i)
        yield "databricks", f"Databricks quality monitor {', '.join(monitors)}", at
    for path, monitor in _find_key(doc, "create_monitor", ()):
        target = monitor.get("monitoring_target") if isinstance(monitor, dict) else None
        if isinstance(target, dict) and target.get("endpoint_deployment_id") and not monitor.get("monitoring_signals"):
            # Azure ML's out-of-box monitoring: without signals it runs data drift, prediction drift and data
            # quality on the deployment it targets (its collected production data)
            yield (
                "azureml",
                "Azure ML monitor with its default signals (data drift, prediction drift)",
                loc(f, *path, doc=i),
            )
    for path, signals in _find_key(doc, "monitoring_signals", ()):
        items = signals.items() if isinstance(signals, dict) else enumerate(_list(signals))
        for name, signal in items:
            if isinstance(signal, dict) and str(signal.get("type", "")).lower() in AZURE_SIGNALS:
                yield "azureml", f"Azure ML {signal['type']} signal {name}", loc(f, *path, name, doc=i)
    blob = repr(doc).lower()
    if "drift" in blob or "drift" in f.path.lower():
        for module, kind in LIBRARIES.items():
            if module in blob or module in f.path.lower():
                yield kind, f"{module} drift config", loc(f, doc=i)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _find_key(
    node: Any, key: str, path: tuple[object, ...], depth: int = 0
) -> Iterator[tuple[tuple[object, ...], Any]]:
    if depth > 20:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield (*path, k), v
            yield from _find_key(v, key, (*path, k), depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _find_key(v, key, (*path, i), depth + 1)
