"""What the run is reading right now, as events: the engine says which fact kind it reads, the HTTP transport
each request it sends (and each retry), the run each step before them. The CLI's display (mlops_gate.display)
listens: a live status line on a terminal, one line per request with -v. With no listener, emitting costs a
check of an empty list. A listener never breaks a run: what it raises is dropped."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Listener = Callable[["Event"], None]
_listeners: list[Listener] = []
_local = threading.local()


@dataclass(frozen=True)
class Event:
    """One thing the run reports as it goes: a step, a fact kind started or read, an HTTP request, retry or answer."""

    what: str  # step | fact | fact-done | request | retry | response | failed
    kind: str = ""  # the fact kind being read ("" when not known)
    text: str = ""  # step: what is done; request and after: "GET https://host/path" (no query, no credentials)
    key: int = 0  # one request's events share it
    status: int | None = None  # response: the HTTP status
    seconds: float = 0.0  # fact-done, response, failed, retry: time since the start
    attempt: int = 0  # retry: the attempt about to start; response, failed: how many were made
    error: str = ""  # failed: why


def listen(listener: Listener) -> Callable[[], None]:
    """Add a listener; returns the function that removes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def emit(event: Event) -> None:
    for listener in list(_listeners):
        with contextlib.suppress(Exception):
            listener(event)


def active() -> bool:
    return bool(_listeners)


def step(text: str) -> None:
    if _listeners:
        emit(Event("step", text=text))


def kind() -> str:
    """The fact kind this thread is reading (set by `reading`)."""
    return str(getattr(_local, "kind", ""))


@contextlib.contextmanager
def reading(kind: str) -> Iterator[None]:
    """The engine reads one fact kind in this thread: its requests are reported under that kind."""
    _local.kind = kind
    start = time.monotonic()
    if _listeners:
        emit(Event("fact", kind))
    try:
        yield
    finally:
        _local.kind = ""
        if _listeners:
            emit(Event("fact-done", kind, seconds=time.monotonic() - start))
