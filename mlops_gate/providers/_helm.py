"""Helm charts in the repository: a file under `templates/` of a chart (a folder holding Chart.yaml) is a
Go template, which is no rule file, Alertmanager config or pipeline until Helm renders it."""

from __future__ import annotations

import re
from collections.abc import Callable

from mlops_gate.providers import Context
from mlops_gate.providers._repo import walk
from mlops_gate.providers._scan import Content, scan_budget


def charts(ctx: Context) -> frozenset[str]:
    """The chart folders ('' for the root), computed once per run."""
    with ctx.shared.lock:
        cached = ctx.shared.cache.get("helm-charts")
    if isinstance(cached, frozenset):
        return cached
    found = frozenset(
        p.rsplit("/", 1)[0] if "/" in p else "" for p in walk(ctx) if p.rsplit("/", 1)[-1] == "Chart.yaml"
    )
    with ctx.shared.lock:
        ctx.shared.cache["helm-charts"] = found
    return found


def helm_template(ctx: Context, rel: str) -> bool:
    """A file under `templates/` of a chart (at any depth below it, as Helm renders them)."""
    if "templates/" not in rel:
        return False
    parts = rel.split("/")
    known = charts(ctx)
    return any(p == "templates" and "/".join(parts[:i]) in known for i, p in enumerate(parts[:-1]))


def not_helm(ctx: Context, wanted: Callable[[str], bool]) -> Callable[[str], bool]:
    """`wanted`, less the Helm templates."""
    return lambda rel: wanted(rel) and not helm_template(ctx, rel)


def helm_skipped(ctx: Context, *words: bytes) -> tuple[str, ...]:
    """The Helm templates whose bytes hold every one of `words` (what the kind's files are made of), each with
    the note the report shows: they are judged once rendered, never as written."""
    budget = scan_budget(ctx)
    patterns = [re.compile(w) for w in words]
    return tuple(
        f"{rel}: a Helm chart template, judged only once rendered (`helm template`), not as written"
        for rel in walk(ctx)
        if rel.endswith((".yaml", ".yml", ".rules", ".tpl"))
        and helm_template(ctx, rel)
        and all(Content(ctx.root, rel, "yaml", budget).has(p) for p in patterns)
    )
