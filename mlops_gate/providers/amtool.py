"""amtool on the repository's Alertmanager configurations: `amtool check-config`, the authority on whether
Alertmanager loads them (and their `templates:`), when amtool is available. Bounded (providers/_tools.py)."""

from __future__ import annotations

import glob
import json
import os
import posixpath
import tempfile
from pathlib import Path

from mlops_gate.facts.files import SourceFile
from mlops_gate.facts.promtool import ToolCheck, ToolVerdicts
from mlops_gate.providers import Context, _tools
from mlops_gate.providers.files import alertmanager_config, read

MAX_FILES = 50
MAX_OUTPUT = 2000


def amtool_check(ctx: Context) -> ToolVerdicts:
    found = [f for f in alertmanager_config(ctx).files if not f.error and f.documents]
    if not found:
        return ToolVerdicts("amtool", None, "no Alertmanager configuration to check")
    tool, checks = _tools.alongside(ctx, "amtool", lambda path: _check_all(ctx, path, found))
    if tool.path is None or checks is None:
        return ToolVerdicts("amtool", None, tool.note)
    ctx.meter.read(f"{tool.path} check-config ({len(checks)} file(s))")
    return ToolVerdicts("amtool", tool.version, "", tuple(checks))


def _check_all(ctx: Context, amtool: str, found: list[SourceFile]) -> list[ToolCheck]:
    checks = []
    with tempfile.TemporaryDirectory(prefix="mlops-gate-amtool-") as tmp:
        for i, f in enumerate(found):
            if i >= MAX_FILES:
                checks.append(ToolCheck(f.path, None, note=f"not checked: more than {MAX_FILES} configurations"))
                continue
            outside = _templates_outside(ctx, f)
            if outside:
                checks.append(
                    ToolCheck(f.path, None, note=f"not checked: its templates name {outside}, outside the repository")
                )
                continue
            raw = read(ctx, f.path)
            if raw.documents[:1] == f.documents[:1] and (ctx.root / f.path).is_file():
                target = ctx.root / f.path  # in place: its `templates:` globs are relative to it
            else:  # read from inside another file: what was read, as JSON
                target = Path(tmp) / f"am{i:03d}.yml"
                target.write_text(json.dumps(f.documents[0]), encoding="utf-8")
            ran = _tools.run(ctx, [amtool, "check-config", target.name], target.parent)
            if ran.code is None:
                checks.append(ToolCheck(f.path, None, note=f"amtool {ran.note}"))
                continue
            said = "\n".join(line.strip() for line in ran.output.splitlines() if line.strip())
            said = said.replace(target.name, f.path)[-MAX_OUTPUT:]
            panicked, why = _tools.died(ran)
            if ran.code in (0, 1):  # 1: amtool refuses it (a bad receiver, YAML or template alike)
                checks.append(ToolCheck(f.path, ran.code == 0, said))
            elif panicked:  # it crashes on the file: so would Alertmanager's loader
                checks.append(ToolCheck(f.path, False, f"amtool crashed on it: {why}"[:MAX_OUTPUT]))
            else:  # out of memory, or another runtime failure: no verdict
                checks.append(ToolCheck(f.path, None, said, note=f"amtool ended (exit {ran.code}): {why}"))
    return checks


def _templates_outside(ctx: Context, f: SourceFile) -> str | None:
    """A `templates:` glob reaching outside the repository (amtool would read whatever it names), or None."""
    doc = f.documents[0]
    root = os.path.realpath(ctx.root)
    base = posixpath.dirname(f.path.split("#", 1)[0])
    for entry in doc.get("templates") or () if isinstance(doc, dict) else ():
        text = str(entry)
        joined = os.path.realpath(os.path.join(root, base, text))
        if posixpath.isabs(text) or text.startswith("~") or os.path.commonpath([root, joined]) != root:
            return text
        if any(os.path.commonpath([root, os.path.realpath(hit)]) != root for hit in glob.glob(joined)):
            return text
    return None
