"""The check catalogue: the built-in checks (one module per area in `checks/`) and the third-party checks of
the `mlops_gate.checks` entry-point group, by id. A plugin that cannot be loaded is reported, never dropped.

A run imports only the check modules it runs: the catalogue knows every built-in check's id, title, severity,
needs and default params from `checks/index.json` (written by `python -m mlops_gate.docsgen` from the modules
themselves; tests/test_catalogue.py keeps it current), and a check's module is imported the first time its
function, params, docs or scope are asked for. The entry points are read only when a distribution on the path
mentions the group (a plain read of the entry_points.txt files, not the full metadata scan).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate.checkspec import CheckFunc, CheckSpec, ScopeFunc
from mlops_gate.errors import PluginError
from mlops_gate.model import Severity

GROUP = "mlops_gate.checks"
INDEX = Path(__file__).parent / "checks" / "index.json"
# every module of checks/ that declares checks (tests/test_catalogue.py keeps this list complete)
BUILTIN: tuple[str, ...] = tuple(
    f"mlops_gate.checks.{name}"
    for name in (
        "vcs",
        "vcs_rules",
        "ci",
        "ci_runs",
        "cd",
        "cd_environment",
        "orchestration",
        "image",
        "image_remote",
        "image_signature",
        "image_provenance",
        "release",
        "monitoring",
        "monitoring_routing",
        "monitoring_drift",
        "monitoring_live",
        "registry",
        "registry_metrics",
        "policy",
    )
)


@dataclass(frozen=True)
class Catalogue:
    """Every check the gate knows (built-in, then plugins), by id, and why each broken plugin could not be loaded."""

    checks: dict[str, CheckSpec]
    plugin_errors: tuple[str, ...] = ()


class IndexedSpec(CheckSpec):
    """A built-in check as checks/index.json describes it. Its function, params, docs and scope are its
    module's, imported when first asked for; `default_params` is its params' defaults as data (what the
    policy's digest covers for a check the policy does not configure), known without the import."""

    def __init__(self, entry: dict[str, Any]) -> None:
        values = {
            "id": entry["id"],
            "title": entry["title"],
            "severity": Severity(entry["severity"]),
            "needs": tuple(entry["needs"]),
            "requires_target": tuple(entry["requires_target"]),
            "origin": entry["module"],
            "default_params": entry["params"],
            "_spec": None,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    default_params: dict[str, Any]
    _spec: CheckSpec | None

    def loaded(self) -> CheckSpec:
        """The check as its module declares it (the module is imported once). A module that no longer
        declares what the index says is an error, never a different check."""
        if self._spec is None:
            spec = next((s for s in _specs_of(importlib.import_module(self.origin)) if s.id == self.id), None)
            if spec is None or (spec.title, spec.severity, spec.needs, spec.requires_target) != (
                self.title,
                self.severity,
                self.needs,
                self.requires_target,
            ):
                raise PluginError(
                    f"check {self.id}: {self.origin} does not declare it as {INDEX.name} says",
                    "the check index is stale: run python -m mlops_gate.docsgen",
                )
            object.__setattr__(self, "_spec", spec)
            return spec
        return self._spec

    @property
    def func(self) -> CheckFunc:
        return self.loaded().func

    @property
    def params(self) -> type:
        return self.loaded().params

    @property
    def doc(self) -> str:
        return self.loaded().doc

    @property
    def scope(self) -> ScopeFunc | None:
        return self.loaded().scope

    def __repr__(self) -> str:
        return f"IndexedSpec({self.id!r}, {self.origin})"


_CACHE: list[Catalogue] = []


def catalogue() -> Catalogue:
    """All checks: built-in ones, then plugins. A broken plugin is reported, never silently dropped."""
    if _CACHE:
        return _CACHE[0]
    indexed = json.loads(INDEX.read_text(encoding="utf-8"))
    checks: dict[str, CheckSpec] = {e["id"]: IndexedSpec(e) for e in indexed}
    errors: list[str] = []
    for ep in _entry_points():
        try:
            loaded = ep.load()
            specs = _specs_of(loaded)
            if not specs:
                raise PluginError("it exposes no function declared with @mlops_gate.registry.check")
            for spec in specs:
                if spec.id in checks:
                    raise PluginError(f"check id {spec.id} is already defined by {checks[spec.id].origin}")
                checks[spec.id] = dataclasses.replace(spec, origin=f"plugin {ep.name} ({ep.value})")
        except Exception as exc:
            reason = exc.message if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            errors.append(f"plugin {ep.name!r} ({ep.value}) could not be loaded: {reason}")
    _CACHE.append(Catalogue(checks, tuple(errors)))
    return _CACHE[0]


def builtin_specs() -> list[CheckSpec]:
    """Every built-in check as its module declares it, by id (imports every module of BUILTIN)."""
    return sorted((s for name in BUILTIN for s in _specs_of(importlib.import_module(name))), key=lambda s: s.id)


def index_text() -> str:
    """checks/index.json as the check modules declare it today."""
    from mlops_gate import typed

    entries = [
        {
            "id": s.id,
            "module": s.origin,
            "title": s.title,
            "severity": s.severity.value,
            "needs": list(s.needs),
            "requires_target": list(s.requires_target),
            "params": typed.to_data(s.params()),
        }
        for s in builtin_specs()
    ]
    return json.dumps(entries, indent=1) + "\n"


def _entry_points() -> list[Any]:
    if not _group_mentioned():
        return []
    from importlib.metadata import entry_points

    return list(entry_points(group=GROUP))


# finders whose distributions are the sys.path folders' (what the look below reads): the standard library's and
# the importlib_metadata backport's, which a dependency may have added
_PATH_FINDERS = {
    "importlib.machinery.PathFinder",
    "importlib._bootstrap_external.PathFinder",
    "_frozen_importlib_external.PathFinder",
    "importlib.metadata.MetadataPathFinder",
    "importlib_metadata.MetadataPathFinder",
}


def _finder_name(finder: object) -> str:
    cls = finder if isinstance(finder, type) else type(finder)
    return f"{cls.__module__}.{cls.__qualname__}"


def _group_mentioned() -> bool:
    """Whether a distribution on sys.path may declare the entry-point group: each *.dist-info/*.egg-info
    folder's entry_points.txt read as text (a few ms, against ~90 ms for importlib.metadata and its scan).
    What this cannot see through (a zip on sys.path, a meta-path finder with distributions of its own) counts
    as a mention: the full scan decides then, so a plugin is never missed."""
    if any(hasattr(f, "find_distributions") and _finder_name(f) not in _PATH_FINDERS for f in sys.meta_path):
        return True
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return True  # a zip or an egg: metadata inside it
            continue
        with os.scandir(folder) as found:
            for item in found:
                if not item.name.lower().endswith((".dist-info", ".egg-info")) or not item.is_dir():
                    continue
                try:
                    with open(os.path.join(item.path, "entry_points.txt"), encoding="utf-8", errors="replace") as f:
                        if GROUP in f.read():
                            return True
                except OSError:
                    continue
    return False


def _specs_of(obj: Any) -> list[CheckSpec]:
    if isinstance(getattr(obj, "spec", None), CheckSpec):
        return [obj.spec]
    if inspect.ismodule(obj):
        return [v.spec for v in vars(obj).values() if isinstance(getattr(v, "spec", None), CheckSpec)]
    if isinstance(obj, (list, tuple)):
        return [s for item in obj for s in _specs_of(item)]
    return []


def reset_cache() -> None:
    _CACHE.clear()
