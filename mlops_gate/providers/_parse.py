"""One repository file read and parsed, within bounds: links followed only inside the repository, regular
files only, at most MAX_BYTES each and RUN_BYTES a run, UTF-8 only, YAML and JSON within yamlio's budgets.
What cannot be read is a SourceFile whose `error` starts with NOT_READ and says how to fix it."""

from __future__ import annotations

import json
import stat
import threading

from mlops_gate import yamlio
from mlops_gate.facts.files import NOT_READ, SourceFile
from mlops_gate.providers import Context
from mlops_gate.providers._scan import read_whole

MAX_BYTES = 1 << 20  # per file
RUN_BYTES = 64 << 20  # the files one run holds at once (a file no fact kind keeps is released, and given back)
YAML_EXT = (".yml", ".yaml")
LFS_POINTER = b"version https://git-lfs.github.com/spec/"  # git-lfs writes exactly this first line


class _Run:
    """What one run may still hold: bytes of files, and YAML nodes (shared by every fact kind); `spent`: what
    each file held took, given back when it is released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes_left = RUN_BYTES
        self.yaml = yamlio.Budget()
        self.spent: dict[str, tuple[int, int]] = {}  # path -> (bytes, YAML units)

    def record(self, rel: str, size: int = 0, units: int = 0) -> None:
        with self.lock:
            was = self.spent.get(rel, (0, 0))
            self.spent[rel] = (was[0] + size, was[1] + units)


def forget(ctx: Context, rel: str) -> None:
    """Give back what the file took from the run's budgets (its parsed form is no longer held)."""
    run = _state(ctx)
    with run.lock:
        size, units = run.spent.pop(rel, (0, 0))
        run.bytes_left += size
    run.yaml.give_back(units)


def _state(ctx: Context) -> _Run:
    with ctx.shared.lock:
        run = ctx.shared.cache.get("run-budget")
        if not isinstance(run, _Run):
            run = _Run()
            ctx.shared.cache["run-budget"] = run
    return run


def fmt(rel: str) -> str:
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


def parse(ctx: Context, rel: str, *, escaped: bool, known: bool, data: bytes | None = None) -> SourceFile:
    """The file read and parsed by its format, or why not (`escaped`: its name cannot be printed; `known`:
    the walk found it; `data`: its bytes, already read whole from a regular file that is no link)."""
    kind = fmt(rel)
    if escaped:
        return not_read(
            rel, kind, "its name holds control characters or bytes that are not UTF-8 (shown escaped); rename it"
        )
    if not known:
        return not_read(rel, kind, "no such file in the repository")
    problem, data = _bytes(ctx, rel) if data is None else _given(ctx, data)
    if problem is not None:
        return not_read(rel, kind, problem)
    _state(ctx).record(rel, size=len(data))
    if data.startswith(LFS_POINTER):
        return not_read(
            rel,
            kind,
            "a Git LFS pointer: the file itself is not in this checkout, but a job that pulls LFS deploys it; "
            "fetch LFS files before the gate runs (actions/checkout `lfs: true`, `git lfs pull`)",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not_read(
            rel, kind, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        )
    if kind in ("python", "dockerfile", "text"):
        return SourceFile(rel, kind, text=text)
    try:
        loaded = yamlio.load(text, _state(ctx).yaml)
    except yamlio.YamlSyntaxError as exc:
        if kind == "json" and not exc.bounded:
            return _json(ctx, rel, text)
        return SourceFile(rel, kind, text=text, error=str(exc), error_line=exc.line)  # text: to classify it
    _state(ctx).record(rel, units=loaded.units)
    return SourceFile(rel, kind, documents=loaded.documents, lines=loaded.lines)


_SPENT = (
    f"this run holds {RUN_BYTES >> 20} MiB of files already; point --repo at the project, "
    "or move generated files out of it"
)


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
        if stat.S_ISDIR(st.st_mode):
            return "a symbolic link to a folder the gate does not walk; its files are not judged: commit them", b""
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a FIFO, socket or device); remove it from the checkout", b""
        if st.st_size > MAX_BYTES:
            return (
                f"larger than {MAX_BYTES} bytes ({st.st_size} bytes); the gate reads files up to 1 MiB: "
                "split it, or move it out of the repository",
                b"",
            )
        if not _spend(ctx, st.st_size):
            return _SPENT, b""
        with open(path, "rb", buffering=0) as fh:  # a regular file: opening cannot block
            data = read_whole(fh, st.st_size, MAX_BYTES)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}", b""
    if len(data) > MAX_BYTES:
        return f"larger than {MAX_BYTES} bytes (it grew while read)", b""
    return None, data


def _given(ctx: Context, data: bytes) -> tuple[str | None, bytes]:
    """Bytes a search read already: held to the same limits as _bytes."""
    if len(data) > MAX_BYTES:
        return f"larger than {MAX_BYTES} bytes ({len(data)} bytes); the gate reads files up to 1 MiB: split it", b""
    if not _spend(ctx, len(data)):
        return _SPENT, b""
    return None, data


def _spend(ctx: Context, size: int) -> bool:
    run = _state(ctx)
    with run.lock:
        if size > run.bytes_left:
            return False
        run.bytes_left -= size
        return True


def _json(ctx: Context, rel: str, text: str) -> SourceFile:
    """JSON that YAML would not read (a tab, a `\\/`), held to the limits YAML files get: nesting at most
    yamlio.MAX_DEPTH, no lone surrogate (`"\\udcff"`), its nodes counted in the run's budget."""
    budget = _state(ctx).yaml
    try:
        doc = json.loads(text)
        nodes = _json_bounds(doc)
    except (ValueError, RecursionError) as exc:
        return SourceFile(rel, "json", error=f"invalid JSON: {exc}", error_line=getattr(exc, "lineno", None))
    got = budget.take(nodes)
    if got < nodes:
        budget.give_back(got)
        return SourceFile(
            rel,
            "json",
            error=f"not parsed: this run's YAML budget ({budget.total:,} nodes for "
            "every file together) is spent; point --repo at the project",
        )
    _state(ctx).record(rel, units=nodes)
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


# a `Dockerfile.<ext>` / `dockerfile_<x>.<ext>` with one of these is source, data or documentation, not a Dockerfile
# (e.g. a parser module dockerfile_parse.py, dockerfile.md)
NOT_DOCKERFILE_EXT = (
    ".dockerignore", ".py", ".pyc", ".pyi", ".md", ".rst", ".txt", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini",
    ".sh", ".ps1", ".bat", ".js", ".ts", ".go", ".rs", ".rb", ".java", ".kt", ".c", ".h", ".html", ".xml", ".lock",
    ".patch", ".diff", ".png", ".svg",
)  # fmt: skip


def is_dockerfile(name: str) -> bool:
    """`Dockerfile`, `Dockerfile.prod`, `Dockerfile-gpu`, `Dockerfile_x`, `app.dockerfile` (and Containerfile
    alike), lower-cased; not BuildKit's per-Dockerfile ignore file `Dockerfile.dockerignore`, nor a source, data or
    documentation file whose name starts that way (`dockerfile_parse.py`, `Dockerfile.md`)."""
    return not name.endswith(NOT_DOCKERFILE_EXT) and (
        name in ("dockerfile", "containerfile")
        or name.startswith(
            ("dockerfile.", "dockerfile-", "dockerfile_", "containerfile.", "containerfile-", "containerfile_")
        )
        or name.endswith((".dockerfile", ".containerfile"))
    )


def name_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].lower()
