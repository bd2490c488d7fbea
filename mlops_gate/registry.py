"""The check registry: built-in checks plus the `mlops_gate.checks` entry-point group.

A check is a plain function `(facts, params, target) -> Iterable[Outcome]` declared with
`@check(...)`; it never does I/O. Its docstring is its documentation (`mlops-gate explain ID`).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.errors import PluginError
from mlops_gate.facts import FACT_KINDS, Facts
from mlops_gate.model import Outcome, Severity
from mlops_gate.target import Target

CheckFunc = Callable[[Facts, Any, Target], Iterable[Outcome]]  # Facts is a Mapping too: plugins may take one
ScopeFunc = Callable[[Any, Target], Mapping[str, Iterable[str]]]

ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
DOCS_URL = "https://github.com/mlops-gate/mlops-gate/blob/main/docs/checks.md#{anchor}"
BUILTIN_MODULES = (
    "vcs",
    "ci",
    "runs",
    "cd",
    "environment",
    "orchestration",
    "image",
    "image_remote",
    "release",
    "monitoring",
    "monitoring_live",
    "registry",
    "policy_guard",
)


@dataclass(frozen=True)
class NoParams:
    """A check without parameters."""


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: Severity
    needs: tuple[str, ...]
    params: type
    func: CheckFunc
    doc: str
    requires_target: tuple[str, ...] = ()  # Target fields that must be set, e.g. ("model",)
    scope: ScopeFunc | None = None  # which items of a fact kind to fetch, from the params
    origin: str = "builtin"

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def docs_url(self) -> str:
        return DOCS_URL.format(anchor=self.id.replace(".", ""))

    def defaults(self) -> Any:
        return self.params()


_BUILTIN: dict[str, CheckSpec] = {}


def check(
    id: str,
    *,
    title: str,
    severity: Severity,
    needs: tuple[str, ...],
    params: type = NoParams,
    requires_target: tuple[str, ...] = (),
    scope: ScopeFunc | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Declare a check. Third-party checks use it too and expose the function (or their module)
    through the `mlops_gate.checks` entry-point group."""

    def wrap(func: CheckFunc) -> CheckFunc:
        spec = CheckSpec(
            id=id,
            title=title,
            severity=severity,
            needs=needs,
            params=params,
            func=func,
            doc=inspect.cleandoc(func.__doc__ or title),
            requires_target=requires_target,
            scope=scope,
            origin=func.__module__,
        )
        _validate(spec)
        func.spec = spec  # type: ignore[attr-defined]
        if func.__module__.startswith("mlops_gate.checks."):
            _BUILTIN[id] = spec
        return func

    return wrap


def _validate(spec: CheckSpec) -> None:
    if not ID_RE.match(spec.id):
        raise PluginError(f"check id {spec.id!r} is not area.name in kebab-case")
    unknown = [n for n in spec.needs if n not in FACT_KINDS]
    if unknown:
        raise PluginError(f"check {spec.id} needs unknown fact kinds: {', '.join(unknown)}")
    if not (dataclasses.is_dataclass(spec.params) and spec.params.__dataclass_params__.frozen):  # type: ignore[attr-defined]
        raise PluginError(f"check {spec.id}: params must be a frozen dataclass")
    try:
        spec.params()
    except TypeError as exc:
        raise PluginError(f"check {spec.id}: every param needs a default ({exc})") from None


@dataclass(frozen=True)
class Catalogue:
    checks: dict[str, CheckSpec]
    plugin_errors: tuple[str, ...] = ()


_CACHE: list[Catalogue] = []


def catalogue() -> Catalogue:
    """All checks: built-in ones, then plugins. A broken plugin is reported, never silently dropped."""
    if _CACHE:
        return _CACHE[0]
    for name in BUILTIN_MODULES:
        importlib.import_module(f"mlops_gate.checks.{name}")
    checks = dict(sorted(_BUILTIN.items()))
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
