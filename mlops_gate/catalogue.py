"""The check catalogue: the built-in checks (one module per area in `checks/`) and the third-party checks of
the `mlops_gate.checks` entry-point group, by id. A plugin that cannot be loaded is reported, never dropped.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mlops_gate.checks import (
    cd,
    cd_environment,
    ci,
    ci_runs,
    image,
    image_provenance,
    image_remote,
    image_signature,
    monitoring,
    monitoring_drift,
    monitoring_live,
    monitoring_routing,
    orchestration,
    policy,
    registry,
    registry_metrics,
    release,
    vcs,
)
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import PluginError

# every module of checks/ that declares checks (tests/test_catalogue.py keeps this list complete)
BUILTIN: tuple[ModuleType, ...] = (
    vcs,
    ci,
    ci_runs,
    cd,
    cd_environment,
    orchestration,
    image,
    image_remote,
    image_signature,
    image_provenance,
    release,
    monitoring,
    monitoring_routing,
    monitoring_drift,
    monitoring_live,
    registry,
    registry_metrics,
    policy,
)


@dataclass(frozen=True)
class Catalogue:
    checks: dict[str, CheckSpec]
    plugin_errors: tuple[str, ...] = ()


_CACHE: list[Catalogue] = []


def catalogue() -> Catalogue:
    """All checks: built-in ones, then plugins. A broken plugin is reported, never silently dropped."""
    if _CACHE:
        return _CACHE[0]
    checks = dict(sorted((s.id, s) for module in BUILTIN for s in _specs_of(module)))
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


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group="mlops_gate.checks"))


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
