"""Keep credentials out of every output: one redactor, applied where anything is written.

A credential leaks in more shapes than its raw value: URL-encoded (in a query or a URI), inside
`Basic base64(user:password)` or `base64(:token)` (Azure DevOps), escaped by a report format (JSON, XML,
Markdown), or as the password of a URI such as `MLFLOW_TRACKING_URI=https://user:password@host`. The
`Redactor` knows every secret of the run (from the environment, plus what providers `register()` — the
credentials of Docker's config.json) and replaces each of those shapes with `***`: in text (`text()`),
in plain data and frozen dataclasses (`data()`: reports, facts files, evidence bundles), and in anything
written to stderr while the gate runs (`guard_stderr()`: diagnostics, -v tracebacks, library logs — also
made printable there, so that no CI command reaches the log).
"""

from __future__ import annotations

import binascii
import dataclasses
import enum
import functools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
T = TypeVar("T")
TOKEN_VARS = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "AZURE_DEVOPS_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "MLOPS_GATE_REGISTRY_PASSWORD",
    "MLOPS_GATE_PROMETHEUS_TOKEN",
    "MLOPS_GATE_PROMETHEUS_PASSWORD",
    "MLOPS_GATE_ADMIN_TOKEN",
    "MLOPS_GATE_ALERTMANAGER_TOKEN",
    "MLOPS_GATE_ALERTMANAGER_PASSWORD",
    "MLOPS_GATE_SIGN_KEY_PASSWORD",
)
SECRET_SUFFIXES = ("_TOKEN", "_PASSWORD", "_PASSWD", "_SECRET", "_API_KEY", "_SECRET_KEY", "_ACCESS_KEY")
MIN_NAMED = 6  # a variable listed in TOKEN_VARS; any shorter shape is not masked alone
MIN_GUESSED = 8  # a variable recognised by its suffix
_PATTERNS = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,})")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@\s]*)@")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
# a text with none of these escapes can only hold the literal shapes (JSON's \n \r \t: covered by those)
_ESCAPED = re.compile(r"%[0-9A-Fa-f]{2}|\\[^nrt]|&(?:#|[A-Za-z]+;)")
_registered: set[tuple[str, str]] = set()  # (user, secret) found by providers outside the environment
_lock = threading.Lock()


def register(secret: str, user: str = "") -> None:
    """A credential read from elsewhere than the environment (Docker's config.json): redact it too."""
    if len(secret) >= MIN_NAMED:
        with _lock:
            _registered.add((user, secret))


def credentials(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Every (user, secret) of the run; user is "" when the secret is a token with no user."""
    found: set[tuple[str, str]] = set()
    for name, value in env.items():
        upper = name.upper()
        if (name in TOKEN_VARS and len(value) >= MIN_NAMED) or (
            upper.endswith(SECRET_SUFFIXES) and len(value) >= MIN_GUESSED
        ):
            user = next((env[u] for u in _user_vars(upper) if env.get(u)), "")
            found.add((user, value))
        for user, password in _uri_credentials(value):
            found.add((user, password))
    with _lock:
        found |= _registered
    return tuple(sorted(found))


def _user_vars(name: str) -> tuple[str, ...]:
    for suffix in ("_PASSWORD", "_PASSWD", "_TOKEN"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return (f"{stem}_USERNAME", f"{stem}_USER")
    return ()


def _uri_credentials(value: str) -> list[tuple[str, str]]:
    """user:password@ in a URI (MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI, a proxy URL, ...): the password as
    written and as sent (percent-decoded). A short one is kept too: alone it is not masked (it would mask
    common words), but `user:password@` and base64(user:password) are."""
    m = _URI.match(value.strip())
    if not m or ":" not in m.group(1):
        return []
    user, _, password = m.group(1).partition(":")
    out = [(unquote(user), unquote(password))]
    if unquote(password) != password:
        out.append((user, password))
    return [(u, p) for u, p in out if p]


# --- the shapes of one secret ----------------------------------------------------------------------


def _b64(data: bytes) -> list[str]:
    std = binascii.b2a_base64(data, newline=False).decode("ascii")  # base64.b64encode, without its import
    url = std.replace("+", "-").replace("/", "_")  # base64.urlsafe_b64encode
    return [std, url, std.rstrip("="), url.rstrip("=")]


def _b64_cores(secret: bytes) -> list[str]:
    """The part of base64(anything + secret + anything) that depends on the secret only, for each of the
    three alignments: it catches `Basic base64(x-access-token:TOKEN)` whatever the user name."""
    cores = []
    for shift in range(3):
        encoded = binascii.b2a_base64(b"\0" * shift + secret, newline=False).decode("ascii")
        start, end = (4 if shift else 0), (shift + len(secret)) // 3 * 4
        core = encoded[start:end]
        if len(core) >= MIN_GUESSED:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def literal_shapes(user: str, secret: str) -> set[str]:
    """The shapes found by plain substring search: raw, percent-encoded, base64 (Basic auth), escaped."""
    import html  # here, with a secret to hide: its import (html.entities) is paid by no run without one

    shapes = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }
    if user:
        shapes |= {f"{user}:{secret}@", f"{quote(user, safe='')}:{quote(secret, safe='')}@"}
    for encoding in ("utf-8", "latin-1"):  # requests encodes Basic credentials as latin-1 when it can
        try:
            raw, prefix = secret.encode(encoding), f"{user}:".encode(encoding)
        except UnicodeEncodeError:
            continue
        encoded = [*(s for data in (b":" + raw, prefix + raw, raw + b":", raw) for s in _b64(data)), *_b64_cores(raw)]
        shapes.update(encoded)
        shapes.update(q for s in encoded if (q := quote(s, safe="")) != s)  # base64 in a URL or a form
        shapes.update(_PERCENT.sub(lambda m: m.group(0).lower(), q) for q in list(shapes) if "%" in q)
    return {s for s in shapes if len(s) >= MIN_NAMED}


def _flexible(secret: str) -> str:
    """A pattern for the secret with any of its characters escaped as a report or a URL would: %XX (any
    case), + for a space, JSON \\uXXXX or \\c, an HTML entity, a Markdown backslash."""
    import html

    parts = []
    for ch in secret:
        options = [re.escape(ch)]
        options.append("".join("%" + "".join(_hex_any(c) for c in f"{b:02X}") for b in ch.encode("utf-8")))
        if ch == " ":
            options.append(r"\+")
        if ord(ch) < 0x10000:
            options.append(r"\\u" + "".join(_hex_any(c) for c in f"{ord(ch):04X}"))
        if not ch.isalnum():
            options.append(r"\\" + re.escape(ch))
            options.append(f"&#0*{ord(ch)};|&#[xX]0*{ord(ch):x};")
            entity = html.escape(ch)
            if entity != ch:
                options.append(re.escape(entity))
        parts.append("(?:" + "|".join(o for o in options if o) + ")")
    return "".join(parts)


def _hex_any(c: str) -> str:
    return f"[{c.upper()}{c.lower()}]" if c.isalpha() else c


class Redactor:
    """Every shape of every secret of a run, replaced by `***`."""

    def __init__(self, creds: Iterable[tuple[str, str]]) -> None:
        creds = tuple(creds)
        shapes = set().union(*(literal_shapes(u, s) for u, s in creds)) if creds else set()
        # longest first: at one position the longest shape wins (sre checks first characters in C: cheaper
        # than one `in` per shape, on short strings and on megabytes alike)
        self._literal = re.compile("|".join(map(re.escape, sorted(shapes, key=len, reverse=True)))) if shapes else None
        secrets = sorted({s for _, s in creds if len(s) >= MIN_NAMED}, key=len, reverse=True)
        self._flexible_re = re.compile("|".join(_flexible(s) for s in secrets)) if secrets else None

    def text(self, text: str) -> str:
        if self._literal is not None:
            text = self._literal.sub(MASK, text)
        if self._flexible_re is not None and _ESCAPED.search(text):
            text = self._flexible_re.sub(MASK, text)
        if "gh" in text or "github_pat_" in text or "glpat-" in text:  # `in` is far cheaper than the regex
            text = _PATTERNS.sub(MASK, text)
        return text

    def data(self, obj: T) -> T:
        """`obj` with every string redacted (mapping keys too): plain data, tuples, frozen dataclasses."""
        return cast(T, self._data(obj))

    def _data(self, obj: Any) -> Any:
        if isinstance(obj, enum.Enum):
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self._data(k): self._data(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._data(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self._data(v) for v in obj)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {f.name: self._data(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
            return dataclasses.replace(obj, **changes)
        return obj


@functools.lru_cache(maxsize=8)
def _cached(creds: tuple[tuple[str, str], ...]) -> Redactor:
    return Redactor(creds)


def redactor(env: Mapping[str, str]) -> Redactor:
    return _cached(credentials(env))


def redact(text: str, env: Mapping[str, str]) -> str:
    return redactor(env).text(text)


def redact_values(text: str, secrets: Iterable[str | None]) -> str:
    """For a client that holds its own credential: the same shapes, without an environment at hand."""
    return _cached(tuple(sorted({("", s) for s in secrets if s and len(s) >= MIN_NAMED}))).text(text)
