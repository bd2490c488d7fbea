"""The repository as the files provider reads it: one walk per run, each file parsed once (cached),
and the selection helper every file fact kind uses."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from mlops_gate import yamlio
from mlops_gate.errors import FactError
from mlops_gate.facts import RepoFiles, SourceFile
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
    if is_dockerfile(name):
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


def is_dockerfile(name: str) -> bool:
    return (
        name in ("dockerfile", "containerfile")
        or name.startswith("dockerfile.")
        or name.endswith(".dockerfile")
        or name.endswith(".containerfile")
    )


def top_mapping(f: SourceFile) -> dict[str, object]:
    doc = f.documents[0] if f.documents else None
    return doc if isinstance(doc, dict) else {}


def select(
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
    tool = top_mapping(f).get("tool")
    return isinstance(tool, dict) and tool.get("name") == "mlops-gate"


def name_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].lower()
