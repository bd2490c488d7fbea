"""The repository as the files provider reads it: one walk per run, each file read and parsed once
(cached), and the selection helper every file fact kind uses.

A *candidate* of a fact kind is a file whose path that kind's discovery selects (its name or extension
says it could hold those facts: a Dockerfile name, `.gitlab-ci.yml`, any YAML file for manifests and rule
files, ...). A candidate the gate cannot judge — larger than MAX_BYTES, not UTF-8, a symbolic link out of
the repository or to nothing, not a regular file, unreadable, with a name that cannot be printed, or YAML
that does not parse or expands beyond its budget — is never dropped: it is kept with `error` set (a text
starting with NOT_READ when it was not read at all) and every check that consumes the kind reports it.
Where a kind is recognised by content (an Airflow DAG among Python files), a candidate that could not be
read is dropped only when a search over its bytes shows it cannot be one.

The gate's own outputs are recognised by path, never by content: this run's reports, facts file and
evidence bundle (OUTPUTS_ENV, set by the CLI). No file name is left out on its own: a pull request could
give a manifest that name (the shipped CI templates' `mlops-gate-report.json` is this run's output anyway).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

from mlops_gate import printable, yamlio
from mlops_gate.errors import FactError
from mlops_gate.facts import NOT_READ, RepoFiles, SourceFile
from mlops_gate.providers import Context
from mlops_gate.providers._scan import Content, scan_budget

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
MAX_BYTES = 1 << 20  # per file
RUN_BYTES = 64 << 20  # every file one run reads, together (parsed files stay in memory for the run)
YAML_EXT = (".yml", ".yaml")
OUTPUTS_ENV = "MLOPS_GATE_OWN_OUTPUTS"  # this run's output paths, one a line


class _Run:
    """What one run may still read: bytes of files, and YAML nodes (shared by every fact kind)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes_left = RUN_BYTES
        self.yaml = yamlio.Budget()


def _state(ctx: Context) -> _Run:
    with ctx.shared.lock:
        run = ctx.shared.cache.get("run-budget")
        if not isinstance(run, _Run):
            run = _Run()
            ctx.shared.cache["run-budget"] = run
    return run


def walk(ctx: Context) -> list[str]:
    """Every file under the root (relative, '/'-separated, sorted; a name that cannot be printed is shown
    escaped, and never read); computed once per run."""
    return _walked(ctx)[0]


def _walked(ctx: Context) -> tuple[list[str], frozenset[str], frozenset[str]]:
    """(every path, the same as a set, the escaped names among them)."""
    with ctx.shared.lock:
        cached = ctx.shared.cache.get("walk")
        if cached is None:
            cached = _walk(ctx.root)
            ctx.shared.cache["walk"] = cached
    return cached  # type: ignore[return-value]


def _walk(root: Path) -> tuple[list[str], frozenset[str], frozenset[str]]:
    if not root.is_dir():
        raise FactError(f"repository directory {root} does not exist", "pass --repo DIR")
    problems: list[str] = []
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: problems.append(f"{e.filename}: {e.strerror}")):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel = Path(dirpath).relative_to(root).as_posix()
        for name in filenames:  # links to files, links to nothing, FIFOs and sockets too: read() says what they are
            found.append(name if rel == "." else f"{rel}/{name}")
            if len(found) > MAX_FILES:
                raise FactError(f"{root} holds more than {MAX_FILES} files", "point --repo at the project")
    if problems:  # an unreadable folder could hide exactly the file a check looks for: fail closed
        shown = printable.name("; ".join(problems[:3]))
        raise FactError(f"cannot read part of the repository: {shown}",
                        "run the gate as a user who can read the whole checkout")
    escaped = {printable.name(rel) for rel in found if not printable.is_clean_name(rel)}
    paths = sorted({rel for rel in found if printable.is_clean_name(rel)} | escaped)
    return paths, frozenset(paths), frozenset(escaped)


def read(ctx: Context, rel: str) -> SourceFile:
    """The file parsed by its kind; cached, so a file in two categories is read once."""
    key = f"file:{rel}"
    with ctx.shared.lock:
        hit = ctx.shared.cache.get(key)
    if isinstance(hit, SourceFile):
        return hit
    with ctx.shared.lock:
        lock = cast(threading.Lock, ctx.shared.cache.setdefault(f"lock:{rel}", threading.Lock()))
    with lock:  # two fact kinds asking at once: one reads, the other waits (and nothing is counted twice)
        with ctx.shared.lock:
            hit = ctx.shared.cache.get(key)
        if isinstance(hit, SourceFile):
            return hit
        parsed = _parse(ctx, rel)
        with ctx.shared.lock:
            ctx.shared.cache[key] = parsed
    return parsed


def _fmt(rel: str) -> str:
    name = name_of(rel)
    if name.endswith(YAML_EXT) or name.endswith(".rules"):
        return "yaml"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".py"):
        return "python"
    if is_dockerfile(name):
        return "dockerfile"
    return "text"


def not_read(rel: str, fmt: str, why: str) -> SourceFile:
    return SourceFile(rel, fmt, error=NOT_READ + why)


def _parse(ctx: Context, rel: str) -> SourceFile:
    fmt = _fmt(rel)
    _, paths, escaped = _walked(ctx)
    if rel in escaped:
        return not_read(rel, fmt, "its name holds control characters or bytes that are not UTF-8 (shown "
                                  "escaped); rename it")
    if rel not in paths:
        return not_read(rel, fmt, "no such file in the repository")
    problem, data = _bytes(ctx, rel)
    if problem is not None:
        return not_read(rel, fmt, problem)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not_read(rel, fmt, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                                  "save it as UTF-8")
    if fmt in ("python", "dockerfile", "text"):
        return SourceFile(rel, fmt, text=text)
    try:
        loaded = yamlio.load(text, _state(ctx).yaml)
    except yamlio.YamlSyntaxError as exc:
        if fmt == "json" and not exc.bounded:
            return _json(rel, text, _state(ctx).yaml)
        return SourceFile(rel, fmt, text=text, error=str(exc), error_line=exc.line)  # text: to classify it
    return SourceFile(rel, fmt, documents=loaded.documents, lines=loaded.lines)


def _bytes(ctx: Context, rel: str) -> tuple[str | None, bytes]:
    """The file's bytes, or why they were not read: links are followed only within the repository, only
    regular files are opened, and no more than MAX_BYTES (and the run's RUN_BYTES) are read."""
    path = ctx.root / rel
    try:
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                return "a symbolic link to nothing (or a loop); replace it with the file", b""
            if not target.is_relative_to(ctx.root.resolve()):
                return "a symbolic link out of the repository, not followed; commit the file itself", b""
            path = target
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a FIFO, socket or device); remove it from the checkout", b""
        if st.st_size > MAX_BYTES:
            return (f"larger than {MAX_BYTES} bytes ({st.st_size} bytes); the gate reads files up to 1 MiB: "
                    "split it, or move it out of the repository", b"")
        if not _spend(ctx, st.st_size):
            return (f"this run has read {RUN_BYTES >> 20} MiB of files already; point --repo at the project, "
                    "or move generated files out of it", b"")
        with open(path, "rb") as fh:  # a regular file: opening cannot block
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}", b""
    if len(data) > MAX_BYTES:
        return f"larger than {MAX_BYTES} bytes (it grew while read)", b""
    return None, data


def _spend(ctx: Context, size: int) -> bool:
    run = _state(ctx)
    with run.lock:
        if size > run.bytes_left:
            return False
        run.bytes_left -= size
        return True


def _json(rel: str, text: str, budget: yamlio.Budget) -> SourceFile:
    """JSON that YAML would not read (a tab, a `\\/`), held to the limits YAML files get: nesting at most
    yamlio.MAX_DEPTH, no lone surrogate (`"\\udcff"`), its nodes counted in the run's budget."""
    try:
        doc = json.loads(text)
        nodes = _json_bounds(doc)
    except (ValueError, RecursionError) as exc:
        return SourceFile(rel, "json", error=f"invalid JSON: {exc}", error_line=getattr(exc, "lineno", None))
    got = budget.take(nodes)
    if got < nodes:
        budget.give_back(got)
        return SourceFile(rel, "json", error=f"not parsed: this run's YAML budget ({budget.total:,} nodes for "
                                             "every file together) is spent; point --repo at the project")
    return SourceFile(rel, "json", documents=(doc,))


def _json_bounds(doc: object) -> int:
    """How many nodes `doc` has; ValueError past yamlio.MAX_DEPTH or at a lone surrogate."""
    stack, nodes = [(doc, 0)], 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > yamlio.MAX_DEPTH:
            raise ValueError(f"nested deeper than {yamlio.MAX_DEPTH} levels")
        if isinstance(node, dict):
            for k, v in node.items():
                yamlio.no_surrogates(k)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            yamlio.no_surrogates(node)
    return nodes


def is_dockerfile(name: str) -> bool:
    """`Dockerfile`, `Dockerfile.prod`, `Dockerfile-gpu`, `Dockerfile_x`, `app.dockerfile` (and Containerfile
    alike), lower-cased; not BuildKit's per-Dockerfile ignore file `Dockerfile.dockerignore`."""
    return not name.endswith(".dockerignore") and (
        name in ("dockerfile", "containerfile")
        or name.startswith(("dockerfile.", "dockerfile-", "dockerfile_", "containerfile.", "containerfile-",
                            "containerfile_"))
        or name.endswith((".dockerfile", ".containerfile"))
    )


def top_mapping(f: SourceFile) -> dict[str, object]:
    doc = f.documents[0] if f.documents else None
    return doc if isinstance(doc, dict) else {}


def select(
    ctx: Context,
    wanted: Callable[[str], bool],
    keep: Callable[[SourceFile], bool] | None = None,
    could_hold: Callable[[Content], bool] | None = None,
) -> RepoFiles:
    """The candidates (paths that pass `wanted`, and `could_hold`: a test over their bytes that never says
    no to a file that `keep` would take) whose content passes `keep`. A candidate that could not be read or
    parsed is kept, to be reported."""
    files = []
    own = own_outputs(ctx)
    budget = scan_budget(ctx)
    for rel in walk(ctx):
        if not wanted(rel) or rel in own:
            continue
        if could_hold is not None and not could_hold(Content(ctx.root, rel, _fmt(rel), budget)):
            continue  # its bytes show it cannot be one: not read, not parsed
        f = read(ctx, rel)
        if keep is None or f.error is not None or keep(f):
            files.append(f)
            ctx.meter.read(rel)
    return RepoFiles(str(ctx.root), tuple(files))


def own_outputs(ctx: Context) -> frozenset[str]:
    """This run's output files inside the repository, relative to it (the CLI lists them in OUTPUTS_ENV)."""
    root = ctx.root.resolve()
    out = set()
    for line in ctx.env.get(OUTPUTS_ENV, "").splitlines():
        path = Path(line).resolve() if line.strip() else None
        if path is not None and path.is_relative_to(root):
            out.add(path.relative_to(root).as_posix())
    return frozenset(out)


def name_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].lower()
