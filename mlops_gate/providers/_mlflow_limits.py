"""Time bounds for the mlflow client, which owns its HTTP session: each client call runs in a worker thread
the reader waits for at most the call's budget; a call that does not finish in time is abandoned (its
daemon thread ends with the server's connection, or with the process) and reported as a timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from mlops_gate.errors import FactError
from mlops_gate.providers import netpolicy

T = TypeVar("T")
HINT = ("check MLFLOW_TRACKING_URI and the network; a slow server can be given more time with "
        "MLOPS_GATE_HTTP_TIMEOUT and MLOPS_GATE_HTTP_REQUEST_DEADLINE")


def call_budget(env: Mapping[str, str], defaults: Mapping[str, str]) -> float:
    """Seconds one client call may take: each of its attempts MLOPS_GATE_HTTP_TIMEOUT, plus mlflow's backoff
    (and up to 1 s jitter) between them; never more than the request deadline."""
    limits = netpolicy.limits(env)
    try:
        retries = max(0, int(env.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES") or defaults["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]))
        factor = max(0.0, float(env.get("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")
                                or defaults["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"]))
    except ValueError:
        retries, factor = 2, 1.0
    backoff = sum(factor * 2 ** (k - 1) for k in range(2, retries + 1)) + retries
    return float(min(limits.request_s, (retries + 1) * limits.attempt_s + backoff))


def bounded(what: str, budget: float, run_deadline: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)`, or a FactError naming `what` once `budget` (or the run's deadline) has passed."""
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
        why = ("the run's network deadline (MLOPS_GATE_HTTP_RUN_DEADLINE)" if wait < budget else
               f"{budget:g} s (MLOPS_GATE_HTTP_TIMEOUT per attempt, MLFLOW_HTTP_REQUEST_MAX_RETRIES retries, at most "
               "MLOPS_GATE_HTTP_REQUEST_DEADLINE)")
        raise FactError(f"{what} did not answer within {why}; gave up after {time.monotonic() - started:.1f} s", HINT)
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
