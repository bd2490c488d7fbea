"""One pass over the repository for every file fact kind a run reads.

Each file kind says which files it takes with a `Selector` (the tests `_repo.select` takes). The first file
kind the run reads walks the repository once for all of them (`Shared.kinds`: the kinds the engine
collects), and every other file kind waits for that pass, then takes its share. For each path, in walk order:

1. its name decides which kinds it could feed (`wanted`); a path no kind wants is never opened;
2. a search over its bytes (read once, shared by the kinds: `_scan.Content`) rules out the kinds it cannot
   feed (`could_hold`), or shows that a kind would not keep it if it parses (`keep_bytes`);
3. it is read and parsed once (`_repo.read`), and offered to each remaining kind (`keep`);
4. a file no kind keeps is released at once (`_repo.release`): its documents, and its share of the run's
   byte and YAML budgets, are given back, so memory follows what the checks judge, not the repository.

The cyclic garbage collector is paused during the pass (`_gc_paused`).

What a kind cannot judge is kept as before (`error` set): nothing is skipped silently.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from mlops_gate.facts.files import SourceFile
from mlops_gate.providers import Context, _parse, _repo
from mlops_gate.providers._scan import Content, scan_budget


@dataclass(frozen=True)
class Selector:
    """Which files a fact kind takes: paths that pass `wanted`, whose bytes pass `could_hold` (a test that
    never says no to a file `keep` would take), whose content passes `keep`. A candidate that could not be
    read or parsed is taken too (to be reported) unless `errors` is False."""

    wanted: Callable[[str], bool]
    keep: Callable[[SourceFile], bool] | None = None
    could_hold: Callable[[Content], bool] | None = None
    errors: bool = True
    # a test over the bytes that never says no to a file `keep` would take: where it says no, `keep` is not
    # asked (the file is still a candidate: read, and reported if it cannot be)
    keep_bytes: Callable[[Content], bool] | None = None


def selected(
    ctx: Context,
    kind: str,
    selectors: Mapping[str, Selector],
    only: Callable[[str], bool] | None = None,
    meter: bool = True,
) -> tuple[SourceFile, ...]:
    """The files of `kind` (recorded on its meter, unless the caller records them), from the run's one pass
    over the repository; `only`: those whose path it takes. A selector named `kind/part` is part of the pass
    when `kind` is read in the run."""
    with ctx.shared.lock:
        lock = cast(threading.Lock, ctx.shared.cache.setdefault("pass-lock", threading.Lock()))
    with lock:  # the first file kind makes the pass; the others wait for it, not for the GIL
        done = cast(dict[str, tuple[SourceFile, ...]], ctx.shared.cache.setdefault("pass", {}))
        if kind not in done:  # the run's first file kind: every file kind of the run; a kind asked later: its own
            kinds = {kind} | ({k for k in selectors if k.partition("/")[0] in ctx.shared.kinds} if not done else set())
            with _gc_paused():
                done.update(one_pass(ctx, {k: selectors[k] for k in sorted(kinds)}))
        files = done[kind] if only is None else tuple(f for f in done[kind] if only(f.path))
    for f in files if meter else ():
        ctx.meter.read(f.path)
    return files


def one_pass(ctx: Context, selectors: Mapping[str, Selector]) -> dict[str, tuple[SourceFile, ...]]:
    own = _repo.own_outputs(ctx)
    budget = scan_budget(ctx)
    paths, _, _, links = _repo._walked(ctx)
    out: dict[str, list[SourceFile]] = {k: [] for k in selectors}
    with ctx.shared.lock:  # the files a kind of an earlier pass kept: held for it, never released
        held = cast(set[str], ctx.shared.cache.setdefault("held", set()))
    for rel in paths:
        if rel in own:
            continue
        linked = rel in links
        want = [k for k, s in selectors.items() if s.wanted(rel) or (linked and could_link(s.wanted, rel))]
        if not want:
            continue
        content = Content(ctx.root, rel, _parse.fmt(rel), budget)
        want = [k for k in want if _could_hold(selectors[k], content)]
        moot = {k for k in want if not _could_keep(selectors[k], content)}
        data = content.data  # the bytes, if a search read them: parsed from memory
        del content
        if not want:
            continue  # its bytes show it cannot be one: not read, not parsed
        f = _repo.read(ctx, rel, data)
        del data
        kept = False
        for k in want:
            s = selectors[k]
            if s.errors if f.error is not None else k not in moot and (s.keep is None or s.keep(f)):
                out[k].append(f)
                kept = True
        if kept:
            with ctx.shared.lock:
                held.add(rel)
        elif rel not in held:
            _repo.release(ctx, rel)
    return {k: tuple(v) for k, v in out.items()}


_GC = threading.Lock()
_paused = [0, False]  # passes running; whether the collector was on when the first began


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while files are parsed: the documents kept are acyclic, but every
    collection would traverse all of them again (a third of the parse time on a 30 MB tree). Process-wide,
    so counted: the last pass to end turns it back on, if it was on."""
    with _GC:
        if _paused[0] == 0:
            _paused[1] = gc.isenabled()
            gc.disable()
        _paused[0] += 1
    try:
        yield
    finally:
        with _GC:
            _paused[0] -= 1
            if _paused[0] == 0 and _paused[1]:
                gc.enable()


def _could_hold(s: Selector, content: Content) -> bool:
    return s.could_hold is None or s.could_hold(content)


def _could_keep(s: Selector, content: Content) -> bool:
    return s.keep_bytes is None or s.keep_bytes(content)


def could_link(wanted: Callable[[str], bool], rel: str) -> bool:
    """A link to a folder the walk does not reach could hold what the kind wants."""
    return any(wanted(f"{rel}/{p}") for p in _repo._PROBES)
