"""Where the gate may connect in cleartext, and the limits every network read is held to.

Light on purpose (no HTTP stack imported): the CLI validates the limits before anything is read, so a bad
value is a usage error (exit 2), not an error per fact.

Loopback is exactly `localhost`, `127.0.0.1` and `::1`: other names and addresses (also the rest of
127.0.0.0/8, and `*.localhost`, which a resolver may send anywhere) are treated as remote hosts. Plain HTTP
to any other host is refused unless the user lists it in MLOPS_GATE_INSECURE_HOSTS (or, the older name
kept for registries, MLOPS_GATE_INSECURE_REGISTRIES): `host` (any port) or `host:port`, comma-separated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from mlops_gate.errors import FactError, UsageError

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
INSECURE_VARS = ("MLOPS_GATE_INSECURE_HOSTS", "MLOPS_GATE_INSECURE_REGISTRIES")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_SECONDS = 86400  # a day: no CI job waits longer, and larger values overflow the waits that use them


@dataclass(frozen=True)
class Limits:
    """Every network read is bounded by these (environment variables, documented in the README)."""

    attempt_s: float = 20.0  # MLOPS_GATE_HTTP_TIMEOUT: one attempt, connect to last byte
    request_s: float = 60.0  # MLOPS_GATE_HTTP_REQUEST_DEADLINE: one request with its retries and waits
    run_s: float = 600.0  # MLOPS_GATE_HTTP_RUN_DEADLINE: every request of one run
    max_bytes: int = 32 << 20  # MLOPS_GATE_HTTP_MAX_BYTES: one response body, decoded
    max_pages: int = 100  # MLOPS_GATE_HTTP_MAX_PAGES: one paginated list


_SECONDS = {
    "attempt_s": "MLOPS_GATE_HTTP_TIMEOUT",
    "request_s": "MLOPS_GATE_HTTP_REQUEST_DEADLINE",
    "run_s": "MLOPS_GATE_HTTP_RUN_DEADLINE",
}
_COUNTS = {"max_bytes": "MLOPS_GATE_HTTP_MAX_BYTES", "max_pages": "MLOPS_GATE_HTTP_MAX_PAGES"}
VARIABLES = (*_SECONDS.values(), *_COUNTS.values())


def limits(env: Mapping[str, str]) -> Limits:
    """The limits the environment sets; a value that is not a finite number > 0 is a UsageError."""
    default = Limits()
    values: dict[str, float | int] = {}
    for field, name in _SECONDS.items():
        raw = env.get(name, "").strip()
        if raw:
            values[field] = _seconds(name, raw)
    for field, name in _COUNTS.items():
        raw = env.get(name, "").strip()
        if raw:
            values[field] = _count(name, raw, getattr(default, field))
    return Limits(**values)  # type: ignore[arg-type]


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise UsageError(
            f"{name}={raw!r} is not a number of seconds greater than 0 (and at most {MAX_SECONDS})",
            f"set {name} to a positive number such as 20, or unset it for the default",
        )
    return value


def _count(name: str, raw: str, example: int) -> int:
    if not raw.isdigit() or int(raw) <= 0:
        raise UsageError(
            f"{name}={raw!r} is not a whole number greater than 0",
            f"set {name} to a positive integer such as {example}, or unset it for the default",
        )
    return int(raw)


def split_host(netloc: str) -> tuple[str, int | None]:
    """(host, port) of `host`, `host:port`, `[v6]:port` or a URL's netloc (credentials dropped); lowercased."""
    netloc = netloc.rsplit("@", 1)[-1].strip().lower()
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif netloc.count(":") == 1:
        host, _, port = netloc.partition(":")
    else:
        host, port = netloc, ""
    return host.rstrip("."), int(port) if port.isdigit() else None


def is_loopback(netloc: str) -> bool:
    return split_host(netloc)[0] in LOOPBACK


def insecure_hosts(env: Mapping[str, str]) -> frozenset[str]:
    return frozenset(h.strip().lower() for name in INSECURE_VARS for h in env.get(name, "").split(",") if h.strip())


def cleartext_allowed(netloc: str, env: Mapping[str, str], default_port: int = 80) -> bool:
    """Plain HTTP to this host[:port]: loopback, or listed by the user (a listed host without a port: any port)."""
    host, port = split_host(netloc)
    if host in LOOPBACK:
        return True
    listed = insecure_hosts(env)
    shown = f"[{host}]" if ":" in host else host
    return shown in listed or f"{shown}:{port if port is not None else default_port}" in listed


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what credentials are bound to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host, port = split_host(parts.netloc)
    return scheme, host, port if port is not None else DEFAULT_PORTS.get(scheme)


def page_key(url: str) -> tuple[tuple[str, str, int | None], str, tuple[tuple[str, str], ...]]:
    """A page's URL as pagination loops are detected: origin, path, and the query in any order."""
    parts = urlsplit(url)
    return origin(url), parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def shown(url: str) -> str:
    """A URL for messages: no credentials, no query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"


def require_secure(url: str, env: Mapping[str, str], what: str, setting: str) -> None:
    """Refuse, before any request, an endpoint that is not https:// (plain http:// only to loopback or a host
    the user listed in MLOPS_GATE_INSECURE_HOSTS)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return
    if scheme == "http" and parts.hostname:
        if cleartext_allowed(parts.netloc, env):
            return
        host = parts.netloc.rsplit("@", 1)[-1]
        raise FactError(
            f"{what}: refusing plain HTTP to {shown(url)}: credentials and facts would cross the network unprotected",
            f"use https:// in {setting}, or, if {host} really serves plain HTTP on a network you trust, "
            f"list it in MLOPS_GATE_INSECURE_HOSTS",
        )
    raise FactError(f"{what}: {shown(url)!r} is not an http(s) URL", f"set {setting} to an https:// URL")
