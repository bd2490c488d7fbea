"""Prometheus rule unit tests: discovered with the repository files, run with `promtool test rules`
only when a check asks (scope "run"), so a plain run never spends time on them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from mlops_gate.facts.promtool import RuleTestFile, RuleTests
from mlops_gate.providers import Context
from mlops_gate.providers.files import YAML_EXT, is_rule_test, read, walk

TIMEOUT_S = 120
MAX_OUTPUT = 2000


def rule_tests(ctx: Context) -> RuleTests:
    found = []
    for rel in walk(ctx):
        if not rel.endswith(YAML_EXT):
            continue
        f = read(ctx, rel)
        if f.error or not is_rule_test(f):
            continue
        ctx.meter.read(rel)
        found.append(RuleTestFile(rel, _alerts(f.documents[0])))
    if "run" not in ctx.scope:
        return RuleTests(str(ctx.root), tuple(found))
    promtool = shutil.which("promtool")
    return RuleTests(str(ctx.root), tuple(_run(ctx.root, t, promtool) for t in found))


def _alerts(doc: Any) -> tuple[str, ...]:
    names: set[str] = set()
    for test in doc.get("tests") or () if isinstance(doc, dict) else ():
        for case in (test.get("alert_rule_test") or ()) if isinstance(test, dict) else ():
            if isinstance(case, dict) and case.get("alertname"):
                names.add(str(case["alertname"]))
    return tuple(sorted(names))


def _run(root: Path, t: RuleTestFile, promtool: str | None) -> RuleTestFile:
    if promtool is None:
        return RuleTestFile(t.path, t.alerts, None, note="promtool not found: install Prometheus (Debian: prometheus)")
    path = root / t.path
    try:
        proc = subprocess.run(
            [promtool, "test", "rules", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return RuleTestFile(t.path, t.alerts, None, note=f"promtool could not run: {exc}")
    output = (proc.stdout + proc.stderr).strip()
    return RuleTestFile(t.path, t.alerts, proc.returncode == 0, output[-MAX_OUTPUT:])
