"""Time bounds for the mlflow client, which owns its HTTP session: each client call runs in a worker thread
the reader waits for at most the call's budget; a call that does not finish in time is reported as a
timeout, and the connections the client opened to the MLflow server are shut down so its worker wakes
and ends instead of reading on.

Which connections: urllib3 and http.client announce every connection they open with the audit event
`http.client.connect` (connection, host, port). A hook (installed once, it only compares two strings for
other events) keeps, weakly, the connections opened to a server being watched. Only one MLflow read runs
at a time (mlflow_registry's lock), so shutting them down touches nothing else."""

from __future__ import annotations

import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mlops_gate.errors import FactError
from mlops_gate.providers import netpolicy

T = TypeVar("T")
HINT = (
    "check MLFLOW_TRACKING_URI and the network; a slow server can be given more time with "
    "MLOPS_GATE_HTTP_TIMEOUT and MLOPS_GATE_HTTP_REQUEST_DEADLINE"
)


def call_budget(env: Mapping[str, str], defaults: Mapping[str, str]) -> float:
    """Seconds one client call may take: each of its attempts MLOPS_GATE_HTTP_TIMEOUT, plus mlflow's backoff
    (and up to 1 s jitter) between them; never more than the request deadline."""
    limits = netpolicy.limits(env)
    try:
        retries = max(0, int(env.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES") or defaults["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]))
        factor = max(
            0.0, float(env.get("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR") or defaults["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
        )
    except ValueError:
        retries, factor = 2, 1.0
    backoff = sum(factor * 2 ** (k - 1) for k in range(2, retries + 1)) + retries
    return float(min(limits.request_s, (retries + 1) * limits.attempt_s + backoff))


_WATCHED: dict[tuple[str, int], weakref.WeakSet[Any]] = {}
_HOOK = threading.Lock()
_hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "http.client.connect" and _WATCHED and len(args) == 3:
        found = _WATCHED.get((str(args[1]).lower().strip("[]"), int(args[2] or 0)))
        if found is not None:
            found.add(args[0])


def watch(uri: str) -> weakref.WeakSet[Any]:
    """The connections opened, from now on, to the server of an http(s) URI."""
    global _hooked
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with _HOOK:
        if not _hooked:
            sys.addaudithook(_audit)
            _hooked = True
        return _WATCHED.setdefault(((parts.hostname or "").lower(), port), weakref.WeakSet())


def hang_up(watched: Iterable[weakref.WeakSet[Any]]) -> None:
    """Shut down (not close: safe while another thread reads) every socket of these connections."""
    for conn in [c for connections in watched for c in list(connections)]:
        sock = getattr(conn, "sock", None)
        try:
            if sock is not None and sock.fileno() != -1:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


def bounded(
    what: str,
    budget: float,
    run_deadline: float,
    func: Callable[..., T],
    *args: Any,
    connections: Iterable[weakref.WeakSet[Any]] = (),
    **kwargs: Any,
) -> T:
    """`func(*args, **kwargs)`, or a FactError naming `what` once `budget` (or the run's deadline) has passed
    (then the `connections` are hung up on)."""
    wait = min(budget, run_deadline - time.monotonic())
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, which reports it
            box["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=work, name="mlops-gate-mlflow", daemon=True)
    worker.start()
    worker.join(max(0.0, wait))
    if worker.is_alive():
        hang_up(connections)
        why = (
            "the run's network deadline (MLOPS_GATE_HTTP_RUN_DEADLINE)"
            if wait < budget
            else f"{budget:g} s (MLOPS_GATE_HTTP_TIMEOUT per attempt, MLFLOW_HTTP_REQUEST_MAX_RETRIES retries, at most "
            "MLOPS_GATE_HTTP_REQUEST_DEADLINE)"
        )
        raise FactError(f"{what} did not answer within {why}; gave up after {time.monotonic() - started:.1f} s", HINT)
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
