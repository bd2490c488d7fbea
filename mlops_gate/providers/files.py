"""Repository files: discovered in one walk, parsed once, sorted into fact kinds.

Discovery is broad and param-free (every YAML file with top-level `groups` is a rule-file
candidate); checks narrow it with their own params (`rule_files`, `paths`, ...).
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable
from pathlib import Path

from mlops_gate import yamlio
from mlops_gate.errors import FactError
from mlops_gate.facts import RepoFiles, SourceFile
from mlops_gate.gitlab_includes import GITLAB_CI
from mlops_gate.gitlab_includes import resolve as resolve_includes
from mlops_gate.policy import DISCOVERED_NAMES
from mlops_gate.providers import Context

SKIP_DIRS = {
    ".git",
    ".hg",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    ".terraform",
    ".idea",
    ".vscode",
}
MAX_FILES = 50_000
MAX_BYTES = 1 << 20
YAML_EXT = (".yml", ".yaml")


def walk(ctx: Context) -> list[str]:
    """Every file under the root (relative, '/'-separated, sorted); computed once per run."""
    with ctx.shared.lock:
        cached = ctx.shared.cache.get("walk")
        if cached is None:
            cached = _walk(ctx.root)
            ctx.shared.cache["walk"] = cached
    return cached  # type: ignore[return-value]


def _walk(root: Path) -> list[str]:
    if not root.is_dir():
        raise FactError(f"repository directory {root} does not exist", "pass --repo DIR")
    problems: list[str] = []
    found: list[str] = []
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: problems.append(f"{e.filename}: {e.strerror}")):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel = Path(dirpath).relative_to(root).as_posix()
        for name in filenames:
            path = Path(dirpath) / name
            if not _inside_regular(path, real_root):
                continue  # FIFOs, sockets, links out of the repository: not project files
            found.append(name if rel == "." else f"{rel}/{name}")
            if len(found) > MAX_FILES:
                raise FactError(f"{root} holds more than {MAX_FILES} files", "point --repo at the project")
    if problems:  # an unreadable folder could hide exactly the file a check looks for: fail closed
        raise FactError(f"cannot read part of the repository: {'; '.join(problems[:3])}",
                        "run the gate as a user who can read the whole checkout")
    return sorted(found)


def _inside_regular(path: Path, real_root: Path) -> bool:
    try:
        if not path.is_file():
            return False
        return not path.is_symlink() or path.resolve().is_relative_to(real_root)
    except OSError:
        return False


def read(ctx: Context, rel: str) -> SourceFile:
    """The file parsed by its kind; cached, so a file in two categories is read once."""
    key = f"file:{rel}"
    with ctx.shared.lock:
        hit = ctx.shared.cache.get(key)
    if isinstance(hit, SourceFile):
        return hit
    parsed = _parse(ctx.root / rel, rel)
    with ctx.shared.lock:
        ctx.shared.cache[key] = parsed
    return parsed


def _fmt(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1].lower()
    if name.endswith(YAML_EXT) or name.endswith(".rules"):
        return "yaml"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".py"):
        return "python"
    if _is_dockerfile(name):
        return "dockerfile"
    return "text"


def _parse(path: Path, rel: str) -> SourceFile:
    fmt = _fmt(rel)
    try:
        if path.stat().st_size > MAX_BYTES:
            return SourceFile(rel, fmt, error=f"larger than {MAX_BYTES} bytes; not read")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return SourceFile(rel, fmt, error=f"cannot read: {exc}")
    if fmt in ("python", "dockerfile", "text"):
        return SourceFile(rel, fmt, text=text)
    try:
        loaded = yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        if fmt == "json":
            return _json(rel, text)
        return SourceFile(rel, fmt, text=text, error=str(exc), error_line=exc.line)  # text: to classify it
    return SourceFile(rel, fmt, documents=loaded.documents, lines=loaded.lines)


def _json(rel: str, text: str) -> SourceFile:
    try:
        return SourceFile(rel, "json", documents=(json.loads(text),))
    except (ValueError, RecursionError) as exc:
        return SourceFile(rel, "json", error=f"invalid JSON: {exc}", error_line=getattr(exc, "lineno", None))


def _is_dockerfile(name: str) -> bool:
    return (
        name in ("dockerfile", "containerfile")
        or name.startswith("dockerfile.")
        or name.endswith(".dockerfile")
        or name.endswith(".containerfile")
    )


def _top(f: SourceFile) -> dict[str, object]:
    doc = f.documents[0] if f.documents else None
    return doc if isinstance(doc, dict) else {}


def _collect(
    ctx: Context,
    select: Callable[[str], bool],
    keep: Callable[[SourceFile], bool] | None = None,
    named: Callable[[SourceFile], bool] = lambda f: False,
) -> RepoFiles:
    """Files whose path passes `select` and whose content passes `keep`; an unparsable file is
    kept (to be reported) when `keep` is None or its name alone says what it is (`named`)."""
    files = []
    for rel in walk(ctx):
        if not select(rel):
            continue
        f = read(ctx, rel)
        if _ours(f):
            continue  # the gate's own facts files and reports are not project configuration
        if keep is None or (keep(f) if not f.error else named(f)):
            files.append(f)
            ctx.meter.read(rel)
    return RepoFiles(str(ctx.root), tuple(files))


def _ours(f: SourceFile) -> bool:
    tool = _top(f).get("tool")
    return isinstance(tool, dict) and tool.get("name") == "mlops-gate"


def _name(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].lower()


# --- fact kinds -----------------------------------------------------------------------------------


def _is_ci(rel: str) -> bool:
    return (
        (rel.startswith(".github/workflows/") and rel.count("/") == 2 and rel.endswith(YAML_EXT))
        or rel == ".gitlab-ci.yml"
        or rel in ("azure-pipelines.yml", "azure-pipelines.yaml")
        or (rel.startswith((".azure-pipelines/", ".azuredevops/")) and rel.endswith(YAML_EXT))
    )


def ci_config(ctx: Context) -> RepoFiles:
    """The CI files, and the local files `.gitlab-ci.yml` includes (recursively, globs expanded)."""
    found = _collect(ctx, _is_ci)
    main = next((f for f in found.files if f.path == GITLAB_CI and not f.error), None)
    if main is None:
        return found
    have = {f.path for f in found.files}
    included = tuple(f for f in resolve_includes(main, lambda rel: read(ctx, rel), walk(ctx)).files
                     if f.path not in have)
    for f in included:
        ctx.meter.read(f.path)
    return RepoFiles(found.root, found.files + included)


def dockerfiles(ctx: Context) -> RepoFiles:
    return _collect(ctx, lambda rel: _is_dockerfile(rel.rsplit("/", 1)[-1].lower()))


def _is_compose(rel: str) -> bool:
    name = _name(rel)
    return name.endswith(YAML_EXT) and (name.startswith("docker-compose") or name.startswith("compose."))


def _is_manifest(f: SourceFile) -> bool:
    if _is_compose(f.path):
        return True
    if f.path.rsplit("/", 1)[-1].startswith("values") and f.documents:
        return True  # Helm values
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in f.documents)


def deploy_manifests(ctx: Context) -> RepoFiles:
    return _collect(
        ctx, lambda rel: rel.endswith(YAML_EXT) and not _is_ci(rel) and not _helm_template(ctx, rel), _is_manifest,
        _named_manifest
    )


def _helm_template(ctx: Context, rel: str) -> bool:
    """Helm chart templates are Go templates, not YAML; the chart's values files are read instead."""
    parts = rel.split("/")
    if "templates" not in parts[:-1]:
        return False
    chart = "/".join(parts[: parts.index("templates")])
    return (f"{chart}/Chart.yaml" if chart else "Chart.yaml") in set(walk(ctx))


def _named_manifest(f: SourceFile) -> bool:
    """An unparsable file still counts (and is reported) where its text, name or folder says it deploys."""
    rel, text = f.path, f.text or ""
    if "apiVersion:" in text and "kind:" in text:
        return True
    parts = rel.lower().split("/")
    return (
        _is_compose(rel)
        or parts[-1].startswith("values")
        or any(
            p in ("k8s", "kubernetes", "deploy", "manifests", "helm", "charts", "kustomize")
            for p in parts[:-1]
        )
    )


def _workflow_candidate(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1].lower()
    return name.endswith((".py", ".json", ".asl.yaml", ".asl.yml")) or name in (
        "databricks.yml",
        "databricks.yaml",
    )


def _is_workflow(f: SourceFile) -> bool:
    name = f.path.rsplit("/", 1)[-1].lower()
    if name in ("databricks.yml", "databricks.yaml"):
        return True
    if f.format == "python":
        text = f.text or ""
        return "airflow" in text and ("DAG(" in text or "@dag" in text)
    top = _top(f)
    return "StartAt" in top and "States" in top


def workflow_files(ctx: Context) -> RepoFiles:
    found = _collect(
        ctx,
        _workflow_candidate,
        _is_workflow,
        lambda f: _name(f.path).startswith("databricks.") or ".asl." in _name(f.path),
    )
    extra = _bundle_includes(ctx, found)
    return RepoFiles(found.root, found.files + extra)


def _bundle_includes(ctx: Context, found: RepoFiles) -> tuple[SourceFile, ...]:
    """Databricks bundles split jobs into files named by `include:` globs."""
    out = []
    have = {f.path for f in found.files}
    all_files = walk(ctx)
    for bundle in found.files:
        if not bundle.path.rsplit("/", 1)[-1].startswith("databricks."):
            continue
        base = bundle.path.rsplit("/", 1)[0] + "/" if "/" in bundle.path else ""
        includes = _top(bundle).get("include") or []
        for pattern in includes if isinstance(includes, list) else []:
            for rel in all_files:
                if rel not in have and fnmatch.fnmatch(rel, base + str(pattern)):
                    have.add(rel)
                    out.append(read(ctx, rel))
                    ctx.meter.read(rel)
    return tuple(out)


def is_rule_test(f: SourceFile) -> bool:
    """A promtool unit-test file (top-level `rule_files` and `tests`), not a rule file."""
    top = _top(f)
    return "rule_files" in top and "tests" in top


def _is_rules(f: SourceFile) -> bool:
    if is_rule_test(f):
        return False
    top = _top(f)
    if isinstance(top.get("groups"), list) and "route" not in top:
        return True
    # a file named like rules is reported even when misshapen, unless it is something else
    return _named_rules(f.path) and not _is_alertmanager(f) and not _prometheus_rule_crd(f)


def _named_rules(rel: str) -> bool:
    name = _name(rel)
    return name.endswith(".rules") or (
        "alertmanager" not in name and any(w in name for w in ("rules", "alerts"))
    )


def _prometheus_rule_crd(f: SourceFile) -> bool:
    return any(isinstance(d, dict) and d.get("kind") == "PrometheusRule" for d in f.documents)


def _crd_rules(f: SourceFile) -> SourceFile:
    """A Prometheus Operator PrometheusRule manifest holds a rule file under `spec`: judge that,
    with lines kept (key paths rewritten from "<doc>/spec/groups/..." to "0/groups/...")."""
    for i, doc in enumerate(f.documents):
        if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
            pre = f"{i}/spec"
            keep = [k for k in f.lines if k.startswith(pre + "/") or k == pre]
            lines = {"0" + k[len(pre) :]: f.lines[k] for k in keep}
            spec = doc.get("spec")
            body = spec if isinstance(spec, dict) else {}
            return SourceFile(f.path, f.format, documents=(body,), lines=lines)
    return f


def rule_files(ctx: Context) -> RepoFiles:
    found = _collect(
        ctx,
        lambda rel: rel.endswith((*YAML_EXT, ".rules")) and not _is_ci(rel),
        lambda f: _is_rules(f) or _prometheus_rule_crd(f),
        lambda f: _named_rules(f.path),
    )
    return RepoFiles(found.root, tuple(_crd_rules(f) if _prometheus_rule_crd(f) else f for f in found.files))


def _is_alertmanager(f: SourceFile) -> bool:
    top = _top(f)
    return "route" in top and "receivers" in top


def alertmanager_config(ctx: Context) -> RepoFiles:
    return _collect(
        ctx,
        lambda rel: rel.endswith(YAML_EXT) and not _is_ci(rel),
        _is_alertmanager,
        lambda f: _name(f.path).startswith("alertmanager"),
    )


DRIFT_WORDS = (
    "evidently",
    "nannyml",
    "quality_monitors",
    "data_drift",
    "datadrift",
    "drift_signal",
    "model_monitor",
    "monitoring_signals",
    "prediction_drift",
    "alibi_detect",
    "whylogs",
)


def _drift_candidate(rel: str) -> bool:
    candidate = rel.endswith((*YAML_EXT, ".json", ".py")) and not _is_ci(rel)
    return candidate and _name(rel) not in DISCOVERED_NAMES


def _mentions_drift(f: SourceFile) -> bool:
    name = f.path.lower()
    if any(w in name for w in ("evidently", "nannyml", "drift")):
        return True
    if f.format == "python":
        return any(f"import {w}" in (f.text or "") or f"from {w}" in (f.text or "") for w in DRIFT_WORDS)
    blob = json.dumps(f.documents, default=str).lower() if f.documents else ""
    return any(w in blob for w in DRIFT_WORDS)


def drift_config(ctx: Context) -> RepoFiles:
    return _collect(ctx, _drift_candidate, _mentions_drift)
