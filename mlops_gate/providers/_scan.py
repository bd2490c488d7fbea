"""A bounded search over a file's bytes, to tell before reading it whether it could hold a fact kind's
facts at all (a 5 MiB `tokenizer.json` without `StartAt` is no Step Functions definition; a Python file
that never says `airflow` is no Airflow DAG), so data files are neither parsed nor reported.

The answer errs towards "could": a file that cannot be searched (a link out of the repository, a FIFO, a
name that cannot be printed, larger than SCAN_BYTES, or past the run's RUN_SCAN_BYTES) could hold anything,
so it is read, and reported when it cannot be.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlops_gate.providers import Context

SCAN_BYTES = 64 << 20  # per file
RUN_SCAN_BYTES = 512 << 20  # per run
CHUNK = 1 << 20
KEEP_BYTES = 1 << 20  # a file up to this size is read once and kept while its kinds search it
OVERLAP = 1024  # longer than any pattern searched for


class ScanBudget:
    def __init__(self, total: int = RUN_SCAN_BYTES) -> None:
        self.left = total
        self.lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self.lock:
            if size > self.left:
                return False
            self.left -= size
            return True


def scan_budget(ctx: Context) -> ScanBudget:
    with ctx.shared.lock:
        budget = ctx.shared.cache.get("scan-budget")
        if not isinstance(budget, ScanBudget):
            budget = ScanBudget()
            ctx.shared.cache["scan-budget"] = budget
    return budget


class Content:
    """The bytes of one repository file (`path` relative to `root`, `format` as the reader names it),
    searched on demand; a file up to KEEP_BYTES is read once, however many patterns are searched."""

    def __init__(self, root: Path, path: str, format: str, budget: ScanBudget) -> None:
        self.path, self.format = path, format
        self._root = root
        self._budget = budget
        self._data: bytes | None = None
        self._folded: bytes | None = None
        self._plain = False
        self._charged = False  # its size taken from the run's budget (once, however many searches read it)

    def has(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether the file's bytes match `pattern` somewhere, or cannot be searched."""
        return self._search(lambda data: pattern.search(data) is not None)

    def has_any(self, needles: tuple[bytes, ...], coarse: tuple[bytes, ...] = ()) -> bool:
        """Whether the file's bytes, ASCII letters lower-cased, hold one of `needles` (lower-case), or cannot
        be searched: a substring test per needle, much faster than a case-blind regex of alternatives.
        `coarse`: fewer, shorter needles, one of which every needle holds, tried first (one search: a file
        too large to keep is read, and its bytes counted, once)."""
        if coarse:
            return self._search(lambda d: any(n in d for n in coarse) and any(n in d for n in needles), fold=True)
        return self._search(lambda data: any(n in data for n in needles), fold=True)

    def matches(self, found: Callable[[bytes], bool]) -> bool:
        """Whether `found` says yes to the file's bytes (to each chunk of a large file, overlapping by
        OVERLAP), or the file cannot be searched."""
        return self._search(found)

    def _search(self, found: Callable[[bytes], bool], fold: bool = False) -> bool:
        if self._data is not None:
            return found(self._lower() if fold else self._data)
        path = os.path.join(self._root, self.path)  # a str: pathlib costs more than the read on small files
        try:
            st = os.lstat(path)
            plain = stat.S_ISREG(st.st_mode)  # no link: the walk reached it through real folders of the root
            if plain:
                real, size = path, st.st_size
            else:
                target = Path(path).resolve(strict=True)
                if not target.is_relative_to(self._root.resolve()) or not target.is_file():
                    return True
                real, size = str(target), target.stat().st_size
            if size > SCAN_BYTES or not (self._charged or self._budget.take(size)):
                return True
            self._charged = True
            if size <= KEEP_BYTES:
                with open(real, "rb", buffering=0) as fh:
                    data = read_whole(fh, size, KEEP_BYTES)
                if len(data) <= KEEP_BYTES:  # not grown past it while read
                    self._data, self._plain = data, plain
                    return found(self._lower() if fold else data)
            with open(real, "rb") as fh:
                tail = b""
                while chunk := fh.read(CHUNK):
                    if found((tail + chunk).lower() if fold else tail + chunk):
                        return True
                    tail = chunk[-OVERLAP:]
        except (OSError, RuntimeError):
            return True
        return False

    @property
    def data(self) -> bytes | None:
        """The file's bytes, when a search read them whole from a regular file (not through a link)."""
        return self._data if self._plain else None

    def _lower(self) -> bytes:
        if self._folded is None:
            self._folded = (self._data or b"").lower()
        return self._folded


def read_whole(fh: BinaryIO, size: int, limit: int) -> bytes:
    """The file's bytes (it was `size` when stat'ed), up to `limit` + 1: a buffer of the file's size, not of the
    largest allowed, and as many reads as it takes (a FUSE, 9p or network file system may return fewer bytes
    than asked, which is no end of file)."""
    want, parts, got = min(size, limit) + 1, [], 0
    while got < want and (part := fh.read(want - got)):
        parts.append(part)
        got += len(part)
        if got == want < limit + 1:  # grown since stat: read on, up to the limit
            want = limit + 1
    return b"".join(parts)


def word(text: str, fold: bool = False) -> bytes:
    """A regex (bytes) for `text` as JSON may write it: each character literally or as a `\\u00XX` escape
    (`fold`: of either case, for a case-blind search)."""
    out = []
    for c in text:
        forms = {c, c.lower(), c.upper()} if fold else {c}
        escapes = b"|".join(f"{ord(f):02x}".encode() for f in sorted(forms) if ord(f) < 0x100)
        out.append(b"(?:" + re.escape(c.encode()) + rb"|\\u00(?i:" + escapes + b"))")
    return b"".join(out)


@dataclass(frozen=True)
class Word:
    """`text` as JSON may write it (see `word`): found literally, or by the regex in a file with a `\\u`."""

    literal: bytes
    escaped: re.Pattern[bytes]


def json_word(text: str) -> Word:
    return Word(text.encode(), re.compile(word(text)))


def has_word(c: Content, w: Word) -> bool:
    """c.has(re.compile(word(text))), with the regex run only over bytes that hold an escape."""
    return c.matches(lambda data: w.literal in data or (b"\\u" in data and w.escaped.search(data) is not None))
