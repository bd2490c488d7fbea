"""The repository as the files provider reads it: one walk per run, each file read and parsed once
(cached), and the selection helper every file fact kind uses.

A *candidate* of a fact kind is a file whose path that kind's discovery selects (its name or extension
says it could hold those facts: a Dockerfile name, `.gitlab-ci.yml`, any YAML file for manifests and rule
files, ...), and a link to a folder the walk does not reach (out of the repository, to nothing, or into a
skipped folder) where such a file could be. A candidate the gate cannot judge — larger than 1 MiB, not
UTF-8, a link out of the repository or to nothing, not a regular file, unreadable, with a name that cannot
be printed, or YAML that does not parse or expands beyond its budget (see _parse) — is never dropped: it
is kept with `error` set (starting with NOT_READ when it was not read at all) and every check that
consumes the kind reports it. Where a kind is recognised by content (an Airflow DAG among Python files),
a file is not even read when a search over its bytes shows it cannot be one (_scan).

The gate's own outputs are recognised by path, never by content: this run's reports, facts file and
evidence bundle (`Context.inputs.own_outputs`, set by the run). No file name is left out on its own: a pull
request could give a manifest that name (the shipped CI templates' `mlops-gate-report.json` is this run's
output anyway).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

from mlops_gate import printable
from mlops_gate.errors import FactError
from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.providers import Context, _exclude, _parse
from mlops_gate.providers._parse import YAML_EXT, is_dockerfile, name_of
from mlops_gate.providers._scan import Content, scan_budget

__all__ = ["YAML_EXT", "has_path", "is_dockerfile", "name_of", "read", "release", "select", "top_mapping", "walk"]

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
MAX_DEPTH = 128  # folders below the root: far more than a project needs, far less than Python's recursion limit


def walk(ctx: Context) -> list[str]:
    """Every file under the root (relative, '/'-separated, sorted; a name that cannot be printed is shown
    escaped, and never read); computed once per run."""
    return _walked(ctx)[0]


Walked = tuple[list[str], frozenset[str], frozenset[str], frozenset[str]]


def has_path(ctx: Context, rel: str) -> bool:
    """Whether the walk found `rel` (a set lookup: no list is rebuilt per question)."""
    return rel in _walked(ctx)[1]


def _walked(ctx: Context) -> Walked:
    """(every path, the same as a set, the escaped names among them, the links to folders not walked). A walk
    that failed fails once: its error is kept and raised to every fact kind that asks again."""
    with ctx.shared.lock:
        cached = ctx.shared.cache.get("walk")
        if cached is None:
            try:
                cached = _exclude.apply(ctx, _walk(ctx.root))  # the policy's `exclude:` and .gitignore
            except FactError as exc:
                cached = exc
            ctx.shared.cache["walk"] = cached
    if isinstance(cached, FactError):
        raise cached
    return cached  # type: ignore[return-value]


def _walk(root: Path) -> Walked:
    if not root.is_dir():
        raise FactError(f"repository directory {root} does not exist", "pass --repo DIR")
    problems: list[str] = []
    found: list[str] = []
    links: set[str] = set()  # links to folders whose files are not walked elsewhere: candidates of what they hold
    skipped: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: problems.append(f"{e.filename}: {e.strerror}")):
        skipped.extend(Path(dirpath) / d for d in dirnames if d in SKIP_DIRS and d not in (".git", ".hg"))
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel = Path(dirpath).relative_to(root).as_posix()
        if dirnames and rel.count("/") + 1 >= MAX_DEPTH:  # os.walk recurses (Python 3.11): stop before it breaks
            raise FactError(
                f"{root} nests folders more than {MAX_DEPTH} deep (under {printable.name(rel[:200])}/...), "
                "so not every file can be judged",
                "flatten the folders, or point --repo at the project",
            )
        hidden = [d for d in dirnames if _hidden_folder(Path(dirpath) / d, root)]
        links.update(d if rel == "." else f"{rel}/{d}" for d in hidden)
        for name in [*filenames, *hidden]:  # links to files or nothing, FIFOs, sockets: read() says what they are
            found.append(name if rel == "." else f"{rel}/{name}")
    found.extend(_committed(root, skipped))
    if problems:  # an unreadable folder could hide exactly the file a check looks for: fail closed
        shown = printable.name("; ".join(problems[:3]))
        raise FactError(
            f"cannot read part of the repository: {shown}", "run the gate as a user who can read the whole checkout"
        )
    escaped = {printable.name(rel) for rel in found if not printable.is_clean_name(rel)}
    paths = sorted({rel for rel in found if printable.is_clean_name(rel)} | escaped)
    return paths, frozenset(paths), frozenset(escaped), frozenset(links & set(paths))


def _committed(root: Path, skipped: list[Path]) -> list[str]:
    """The files git tracks under folders the walk skips by name (`deploy/venv/pod.yaml` is applied by
    `kubectl apply -R`): a change under review commits them, a job's own `.venv` or `node_modules` is not."""
    if not skipped:
        return []
    from mlops_gate.providers import git

    try:
        top = git.toplevel(root).resolve()
        listed = git.git(root, "ls-files", "-z", "--full-name", "--", *(str(p.resolve()) for p in skipped))
    except FactError:
        return []  # not a git checkout: the folders are the environment's, not a change's
    real = root.resolve()
    out = []
    for name in filter(None, listed.split("\0")):
        path = top / name
        if path.is_relative_to(real):
            out.append(path.relative_to(real).as_posix())
    return out


def _hidden_folder(path: Path, root: Path) -> bool:
    """A link to a folder whose files the walk does not reach: out of the repository, to nothing, or into
    a skipped folder (a link to a walked folder is judged there)."""
    if not path.is_symlink():
        return False
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    real = root.resolve()
    return not target.is_relative_to(real) or bool(SKIP_DIRS & set(target.relative_to(real).parts))


def read(ctx: Context, rel: str, data: bytes | None = None) -> SourceFile:
    """The file parsed by its kind; cached, so a file in two categories is read once (`data`: its bytes,
    already read whole from a regular file that is no link)."""
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
        _, paths, escaped, _ = _walked(ctx)
        parsed = _parse.parse(ctx, rel, escaped=rel in escaped, known=rel in paths, data=data)
        with ctx.shared.lock:
            ctx.shared.cache[key] = parsed
    return parsed


def release(ctx: Context, rel: str) -> None:
    """Forget the parsed file (no fact kind kept it): its memory, and its share of the run's budgets, are
    freed. A later read() parses it again."""
    with ctx.shared.lock:
        ctx.shared.cache.pop(f"file:{rel}", None)
        ctx.shared.cache.pop(f"lock:{rel}", None)
    _parse.forget(ctx, rel)


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
    paths, _, _, links = _walked(ctx)
    for rel in paths:
        if rel in own or not (wanted(rel) or (rel in links and any(wanted(f"{rel}/{p}") for p in _PROBES))):
            continue
        if could_hold is not None and not could_hold(Content(ctx.root, rel, _parse.fmt(rel), budget)):
            continue  # its bytes show it cannot be one: not read, not parsed
        f = read(ctx, rel)
        if keep is None or f.error is not None or keep(f):
            files.append(f)
            ctx.meter.read(rel)
    return RepoFiles(str(ctx.root), tuple(files), _exclude.skipped(ctx, wanted))


_PROBES = ("x.yaml", "x.yml", "x.json", "x.py", "x.rules", "Dockerfile", "databricks.yml", "x.asl.json")


def own_outputs(ctx: Context) -> frozenset[str]:
    """This run's output files inside the repository, relative to it (the run lists them in the context)."""
    root = ctx.root.resolve()
    out = set()
    for line in ctx.inputs.own_outputs:
        path = Path(line).resolve() if line.strip() else None
        if path is not None and path.is_relative_to(root):
            out.add(path.relative_to(root).as_posix())
    return frozenset(out)
