"""map_threads and Background: what the engine and the tool runner used concurrent.futures for."""

from __future__ import annotations

import threading
import time

import pytest

from mlops_gate.threads import Background, map_threads


def test_map_threads_keeps_the_order_and_the_bound() -> None:
    lock = threading.Lock()
    running, most = 0, 0
    barrier = threading.Barrier(3, timeout=10)

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if n < 3:
            barrier.wait()  # the first three really run at once
        with lock:
            running -= 1
        return n * n

    assert map_threads(work, list(range(10)), 3) == [n * n for n in range(10)]
    assert most == 3
    assert map_threads(work, [], 3) == []


def test_map_threads_raises_the_first_error_once_every_call_has_finished() -> None:
    done: list[int] = []

    def work(n: int) -> int:
        if n in (1, 3):
            raise ValueError(f"bad {n}")
        time.sleep(0.05)
        done.append(n)
        return n

    with pytest.raises(ValueError, match="bad 1"):
        map_threads(work, list(range(5)), 2)
    assert sorted(done) == [0, 2, 4]


def test_background_returns_or_raises_what_its_call_did() -> None:
    assert Background(lambda: threading.current_thread() is not threading.main_thread()).result() is True

    def fail() -> int:
        raise KeyError("gone")

    failing = Background(fail)
    failing.wait()
    with pytest.raises(KeyError, match="gone"):
        failing.result()
