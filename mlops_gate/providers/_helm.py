"""Helm charts in the repository: a file under `templates/` of a chart (a folder holding Chart.yaml) is a
Go template, which is no rule file, Alertmanager config or pipeline until Helm renders it."""

from __future__ import annotations

from mlops_gate.providers import Context
from mlops_gate.providers._repo import walk


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
    parts = rel.split("/")
    known = charts(ctx)
    return any(p == "templates" and "/".join(parts[:i]) in known for i, p in enumerate(parts[:-1]))
