"""Work on threads without `concurrent.futures`, whose import brings in `logging` (~5 ms of a files-only run's
start-up): a function mapped over items on a few threads, and one call run in the background. The threads are
not daemons, as the executor's were not: the interpreter waits for them at exit (a tool run's clean-up runs)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_threads(func: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """`[func(item) for item in items]`, on at most `workers` threads, in the items' order. All calls finish
    before it returns; the first exception (in the items' order) is then raised, as `Executor.map` does."""
    results: list[R | None] = [None] * len(items)
    errors: list[BaseException | None] = [None] * len(items)
    left = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(left, None)
            if i is None:
                return
            try:
                results[i] = func(items[i])
            except BaseException as exc:  # handed to the caller below
                errors[i] = exc

    threads = [threading.Thread(target=work) for _ in range(max(1, min(workers, len(items))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results  # type: ignore[return-value]  # every slot filled: no call raised


class Background(Generic[R]):
    """`func()` running on a thread of its own from construction; `result()` waits for it and returns its value
    or raises its exception."""

    def __init__(self, func: Callable[[], R]) -> None:
        self._value: R | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(func,))
        self._thread.start()

    def _run(self, func: Callable[[], R]) -> None:
        try:
            self._value = func()
        except BaseException as exc:  # handed to result()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> R:
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: func returned
