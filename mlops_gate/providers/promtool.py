"""promtool on the repository's rule files: `promtool check rules` (the authority on whether Prometheus
loads them, when promtool is available) and the rule unit tests, run with `promtool test rules` only
when a check asks (scope "run"). Every run is bounded (providers/_tools.py)."""

from __future__ import annotations

import glob
import json
import os
import posixpath
import re
import tempfile
from pathlib import Path
from typing import Any

from mlops_gate.facts.files import SourceFile
from mlops_gate.facts.promtool import RuleTestFile, RuleTests, ToolCheck, ToolVerdicts
from mlops_gate.providers import Context, _tools, files
from mlops_gate.providers.files import read, rule_files

MAX_OUTPUT = 2000  # of a tool's output kept per file
MAX_TEST_FILES = 50
MAX_CHECKED = 2000  # rule files given to `promtool check rules`
BATCH = 200  # files per `promtool check rules` invocation
MAX_FILE_BYTES = 4 << 20


def promtool_check(ctx: Context) -> ToolVerdicts:
    found = [f for f in rule_files(ctx).files if not f.error and f.documents]
    if not found:
        return ToolVerdicts("promtool", None, "no rule file to check")
    tool, checks = _tools.alongside(ctx, "promtool", lambda path: _check_all(ctx, path, found))
    if tool.path is None or checks is None:
        return ToolVerdicts("promtool", None, tool.note)
    ctx.meter.read(f"{tool.path} check rules ({len(checks)} file(s))")
    return ToolVerdicts("promtool", tool.version, "", tuple(checks))


def _check_all(ctx: Context, promtool: str, found: list[SourceFile]) -> list[ToolCheck]:
    checks: list[ToolCheck] = []
    with tempfile.TemporaryDirectory(prefix="mlops-gate-promtool-") as tmp:
        names: dict[str, str] = {}
        for i, f in enumerate(found[:MAX_CHECKED]):
            name = f"r{i:05d}.yml"
            if _copy(ctx, f, Path(tmp) / name):
                names[name] = f.path
            else:
                checks.append(ToolCheck(f.path, None, note="too large to hand to promtool"))
        batch = list(names)
        for start in range(0, len(batch), BATCH):
            part = batch[start : start + BATCH]
            ran = _tools.run(ctx, [promtool, "check", "rules", "--lint=none", *part], Path(tmp))
            checks += _verdicts(ran, {n: names[n] for n in part})
    return checks + [ToolCheck(f.path, None, note=f"more than {MAX_CHECKED} rule files") for f in found[MAX_CHECKED:]]


def _copy(ctx: Context, f: SourceFile, to: Path) -> bool:
    """What promtool should read: the file's bytes, or (a PrometheusRule manifest) its `spec` as JSON."""
    raw = read(ctx, f.path)
    if raw.documents[:1] == f.documents[:1]:
        source = ctx.root / f.path
        if source.stat().st_size > MAX_FILE_BYTES:
            return False
        to.write_bytes(source.read_bytes())
    else:
        to.write_text(json.dumps(f.documents[0]), encoding="utf-8")
    return True


def _verdicts(ran: _tools.Ran, names: dict[str, str]) -> list[ToolCheck]:
    """Per file, from promtool's `Checking NAME` lines and its `NAME: error` lines (its load errors name the
    file). A file loads when its block says SUCCESS, or when promtool ended with 0 having named no error for it
    (a lint finding is not a load error). The file it was checking when it died (no SUCCESS, no error of its
    own, a failing exit) is refused when promtool panicked on it, and has no verdict when it ran out of memory
    or was stopped; the files after it have none either."""
    if ran.code is None:
        return [ToolCheck(path, None, note=f"promtool {ran.note}") for path in names.values()]
    blocks: dict[str, list[str]] = {}
    current = None
    for line in ran.out.splitlines():
        m = re.match(r"Checking (r\d{5}\.yml)\s*$", line.strip())
        if m:
            current = m.group(1)
            blocks[current] = []
        elif current:
            blocks[current].append(line.strip())
    errors: dict[str, list[str]] = {}
    for line in ran.err.splitlines():
        m = re.match(r"(r\d{5}\.yml): (.*)", line.strip())
        if m:
            errors.setdefault(m.group(1), []).append(m.group(2))
    out = []
    for name, path in names.items():
        said = errors.get(name, [])
        if said:
            text = "\n".join(dict.fromkeys(said))
            out.append(ToolCheck(path, False, text.replace(name, path)[:MAX_OUTPUT]))
        elif name in blocks and (ran.code == 0 or any(line.startswith("SUCCESS") for line in blocks[name])):
            out.append(ToolCheck(path, True))
        elif name in blocks:  # it died while checking this one
            panicked, why = _tools.died(ran)
            if panicked:
                out.append(ToolCheck(path, False, f"promtool crashed on it: {why}"[:MAX_OUTPUT]))
            else:
                out.append(ToolCheck(path, None, note=f"promtool ended (exit {ran.code}) while checking it: {why}"))
        else:
            out.append(ToolCheck(path, None, note=f"promtool said nothing about it: {ran.output[-200:]}"))
    return out


def rule_tests(ctx: Context) -> RuleTests:
    found = [RuleTestFile(f.path, _alerts(f.documents[0])) for f in files.rule_test_files(ctx)]
    if "run" not in ctx.scope:
        return RuleTests(str(ctx.root), tuple(found))
    tool = _tools.find(ctx, "promtool")
    out = []
    for i, t in enumerate(found):
        if i >= MAX_TEST_FILES:
            out.append(
                RuleTestFile(t.path, t.alerts, None, note=f"not run: more than {MAX_TEST_FILES} rule test files")
            )
        else:
            out.append(_run(ctx, t, tool))
    return RuleTests(str(ctx.root), tuple(out))


def _alerts(doc: Any) -> tuple[str, ...]:
    names: set[str] = set()
    for test in doc.get("tests") or () if isinstance(doc, dict) else ():
        for case in (test.get("alert_rule_test") or ()) if isinstance(test, dict) else ():
            if isinstance(case, dict) and case.get("alertname"):
                names.add(str(case["alertname"]))
    return tuple(sorted(names))


def _run(ctx: Context, t: RuleTestFile, tool: _tools.Tool) -> RuleTestFile:
    if tool.path is None:
        return RuleTestFile(t.path, t.alerts, None, note=f"promtool not available: {tool.note} (Debian: prometheus)")
    outside = _outside(ctx, t.path)
    if outside:
        return RuleTestFile(
            t.path, t.alerts, None, note=f"not run: its rule_files name {outside}, outside the repository"
        )
    path = ctx.root / t.path
    ran = _tools.run(ctx, [tool.path, "test", "rules", path.name], path.parent)
    if ran.code is None:
        return RuleTestFile(t.path, t.alerts, None, note=f"promtool test rules {t.path}: {ran.note}")
    return RuleTestFile(t.path, t.alerts, ran.code == 0, ran.output[-MAX_OUTPUT:])


def _outside(ctx: Context, rel: str) -> str | None:
    """A `rule_files` entry of a unit-test file that reaches outside the repository, or None."""
    doc = read(ctx, rel).documents[0]
    root = os.path.realpath(ctx.root)
    base = posixpath.dirname(rel)
    for entry in doc.get("rule_files") or () if isinstance(doc, dict) else ():
        text = str(entry)
        if posixpath.isabs(text) or text.startswith("~"):
            return text
        joined = os.path.realpath(os.path.join(root, base, text))
        if os.path.commonpath([root, joined]) != root:
            return text
        for hit in glob.glob(joined):
            if os.path.commonpath([root, os.path.realpath(hit)]) != root:
                return f"{text} ({os.path.relpath(hit, root)})"
    return None
