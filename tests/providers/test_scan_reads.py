"""A file is read whole, however few bytes each read returns (FUSE, 9p and network file systems may return
fewer than asked, which is no end of file), and never beyond the limit asked for."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mlops_gate.providers._scan import read_whole


class _Dribble(io.RawIOBase):
    """A file that returns at most three bytes per read."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(size if size >= 0 else len(self.data), 3, len(self.data) - self.at)
        self.at += size
        return self.data[self.at - size : self.at]


@pytest.mark.parametrize(
    ("data", "size", "limit"),
    [
        (b"0123456789", 10, 100),  # as stat'ed
        (b"0123456789" * 3, 10, 100),  # grown since stat: read on
        (b"0123456789" * 30, 10, 100),  # grown past the limit: limit + 1 bytes tell the caller so
        (b"012", 10, 100),  # shrunk since stat
        (b"", 0, 100),
        (b"x" * 100, 100, 100),
        (b"x" * 101, 100, 100),
    ],
)
def test_short_reads_are_not_the_end_of_the_file(data: bytes, size: int, limit: int) -> None:
    assert read_whole(_Dribble(data), size, limit) == data[: limit + 1]  # type: ignore[arg-type]


def test_a_file_too_large_to_keep_is_counted_once_however_many_searches_read_it(tmp_path: Path) -> None:
    import re

    from mlops_gate.providers._scan import KEEP_BYTES, Content, ScanBudget

    (tmp_path / "big.py").write_bytes(b"import airflow\n" + b"#" * KEEP_BYTES + b"\nDAG('x')\n")
    budget = ScanBudget()
    content = Content(tmp_path, "big.py", "python", budget)
    assert content.has(re.compile(rb"airflow")) and content.has(re.compile(rb"DAG\("))
    assert content.data is None  # not kept: each search read it again
    assert budget.left == ScanBudget().left - (tmp_path / "big.py").stat().st_size
