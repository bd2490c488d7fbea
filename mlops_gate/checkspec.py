"""What a check is: a plain function `(facts, params, target) -> Iterable[Outcome]`, declared with `@check(...)`.

The declaration gives it a stable id (`area.name`), a title, a default severity, the fact kinds it needs,
its typed params (a frozen dataclass whose defaults are the policy's) and, from its docstring, its
documentation (`mlops-gate explain ID`). A check never does I/O: it judges the facts it is given.
Built-in checks live in `checks/`; mlops_gate.catalogue collects them with the third-party ones.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.errors import PluginError
from mlops_gate.facts import FACT_KINDS, Facts
from mlops_gate.links import check_docs
from mlops_gate.model import Outcome, Severity
from mlops_gate.target import Target

CheckFunc = Callable[[Facts, Any, Target], Iterable[Outcome]]  # Facts is a Mapping too: plugins may take one
ScopeFunc = Callable[[Any, Target], Mapping[str, Iterable[str]]]

ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class NoParams:
    """A check without parameters."""


@dataclass(frozen=True)
class CheckSpec:
    """A declared check: its id, title, default severity, the fact kinds it needs, its params type, function and
    documentation, and where it comes from."""

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
        return check_docs(self.id)  # the installed version's docs/checks.md

    def defaults(self) -> Any:
        return self.params()


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
