"""Alertmanager's value types and prometheus/common's HTTP client config, as a strict YAML decode reads
them: what a string, a bool, a duration, an http(s) URL, a `host:port`, a regular expression must look
like, and the rules of `http_config` and `tls_config` (at most one way to authenticate, one source per
secret). Shared by `alertmanager_schema.py` (types) and `alertmanager_rules.py` (struct rules)."""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

from mlops_gate.lang import gotemplate as gt
from mlops_gate.lang import regexes
from mlops_gate.lang.promql_lex import duration_seconds
from mlops_gate.lang.versions import Version

LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def is_set(node: dict[str, Any], key: str) -> bool:
    """Whether a field holds a value (Go: a non-empty string, a non-nil pointer)."""
    value = node.get(key)
    return value is not None and value != "" and value != [] and value != {}


def twins(node: dict[str, Any], *pairs: str, prefix: str = "") -> list[str]:
    """`at most one of X & X_file must be configured`, for each `X` named."""
    return [
        f"at most one of {prefix}{k} & {prefix}{k}_file must be configured"
        for k in pairs
        if is_set(node, prefix + k) and is_set(node, prefix + k + "_file")
    ]


def one_of(node: dict[str, Any], *keys: str) -> bool:
    return any(is_set(node, k) for k in keys)


def http_rule(h: dict[str, Any], v: Version) -> list[str]:
    out: list[str] = []
    bearer = one_of(h, "bearer_token", "bearer_token_file")
    basic, oauth, auth = (
        mapping(h[k]) if isinstance(h.get(k), dict) else None for k in ("basic_auth", "oauth2", "authorization")
    )
    if is_set(h, "bearer_token") and is_set(h, "bearer_token_file"):
        out.append("at most one of bearer_token & bearer_token_file must be configured")
    elif (basic is not None or oauth is not None) and bearer:
        out.append("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
    if basic is not None:
        if sum(is_set(basic, k) for k in ("username", "username_file", "username_ref")) > 1:
            out.append("at most one of basic_auth username, username_file & username_ref must be configured")
        if sum(is_set(basic, k) for k in ("password", "password_file", "password_ref")) > 1:
            out.append("at most one of basic_auth password, password_file & password_ref must be configured")
    if auth is not None:
        if bearer:
            out.append("authorization is not compatible with bearer_token & bearer_token_file")
        if sum(is_set(auth, k) for k in ("credentials", "credentials_file", "credentials_ref")) > 1:
            out.append("at most one of authorization credentials & credentials_file must be configured")
        if str(auth.get("type") or "").strip().lower() == "basic":
            out.append('authorization type cannot be set to "basic", use "basic_auth" instead')
        if basic is not None or oauth is not None:
            out.append("at most one of basic_auth, oauth2 & authorization must be configured")
    if oauth is not None:
        if basic is not None and auth is None:
            out.append("at most one of basic_auth, oauth2 & authorization must be configured")
        if not is_set(oauth, "client_id"):
            out.append("oauth2 client_id must be configured")
        if not is_set(oauth, "token_url"):
            out.append("oauth2 token_url must be configured")
        if sum(is_set(oauth, k) for k in ("client_secret", "client_secret_file", "client_secret_ref")) > 1:
            out.append("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured")
    return out


def tls_rule(t: dict[str, Any], v: Version) -> list[str]:
    return [
        f"at most one of {k}, {k}_file & {k}_ref must be configured"
        for k in ("ca", "cert", "key")
        if sum(is_set(t, f) for f in (k, f"{k}_file", f"{k}_ref")) > 1
    ]


def yaml_kind(value: Any) -> str:
    return "!!map" if isinstance(value, dict) else "!!seq" if isinstance(value, list) else f"`{value}`"


# compiled when a Go duration is first checked (a run whose configuration has none does not pay)
@functools.cache
def _go_duration() -> re.Pattern[str]:
    return re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0")


_TLS_VERSIONS = {"TLS10", "TLS11", "TLS12", "TLS13"}


def scalar_problem(value: Any, kind: str) -> str | None:
    """Why a strict decode refuses `value` as a scalar type, or None."""
    if kind in ("any", "anymap"):
        return None if kind == "any" or value is None or isinstance(value, dict) else "expected a mapping"
    if kind == "strmap":
        if value is not None and not isinstance(value, dict):
            return f"cannot unmarshal {yaml_kind(value)} into a mapping"
        pairs: dict[str, Any] = value or {}
        bad = [k for k, v in pairs.items() if isinstance(v, (dict, list))]
        return f"cannot unmarshal {yaml_kind(pairs[bad[0]])} into string (key {bad[0]!r})" if bad else None
    if kind in ("strs", "matchers"):
        if value is not None and not isinstance(value, list):
            return f"cannot unmarshal {yaml_kind(value)} into a list of strings"
        nested = [v for v in value or [] if isinstance(v, (dict, list))]
        return f"cannot unmarshal {yaml_kind(nested[0])} into string" if nested else None
    if kind == "matchre":
        return _match_re(value)
    if kind == "jirafield":
        return None if value is None or isinstance(value, dict) or not isinstance(value, list) else "expected a string"
    if isinstance(value, (dict, list)):
        return f"cannot unmarshal {yaml_kind(value)} into {kind}"
    if value is None:
        return None
    text = "true" if value is True else "false" if value is False else str(value)
    if kind == "bool":
        # YAML 1.1's unquoted yes/no/on/off are booleans to Alertmanager, a quoted 'yes' is not: the parsed
        # document cannot tell them apart, so both are refused (write true or false)
        return None if isinstance(value, bool) else f"cannot unmarshal !!str `{text}` into bool (write true or false)"
    if kind in ("int", "float"):
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (kind == "float" or isinstance(value, int))
        )
        return None if ok else f"cannot unmarshal `{text}` into {kind}"
    if kind == "dur":
        return None if duration_seconds(text) is not None else f'not a valid duration string: "{text}"'
    if kind == "godur":
        good = isinstance(value, int) or _go_duration().fullmatch(text) is not None
        return None if good else f'time: invalid duration "{text}"'
    if kind == "hostport":
        return _host_port(text)
    if kind == "tlsver":
        return None if text in _TLS_VERSIONS else f"unknown TLS version: {text}"
    if kind in ("url", "surl", "turl"):
        if kind != "url" and text == "<secret>":
            return None
        if kind == "turl" and "{{" in text:
            why = gt.template_problem(text)
            return f"invalid template syntax: {why}" if why else None
        if kind == "turl" and text == "":
            return None
        why = url_problem(text)
        return f"invalid URL: {why}" if why and kind == "turl" else why
    return None  # str, secret


def url_problem(text: str) -> str | None:
    """Why Alertmanager's ParseURL refuses `text` (http or https, with a host), or None."""
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        return f"parse {text!r}: {exc}"
    if parts.scheme not in ("http", "https"):
        return f'unsupported scheme "{parts.scheme}" for URL'
    if not parts.netloc:
        return "missing host for URL"
    return None


def _host_port(text: str) -> str | None:
    if text == "":
        return None
    host, sep, port = text.rpartition(":")
    if not sep:
        return f"address {text}: missing port in address"
    if host.startswith("[") != host.endswith("]") or (":" in host and not host.startswith("[")):
        return f"address {text}: too many colons in address"
    if port == "":
        return f'address "{text}": port cannot be empty'
    return None


def _match_re(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"cannot unmarshal {yaml_kind(value)} into a mapping of label names to regular expressions"
    for name, pattern in value.items():
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
            return f'invalid label name "{name}"'
        if pattern is None:
            return f'invalid regexp value for "{name}"'
        if isinstance(pattern, (dict, list)) or not regexes.valid(str(pattern)):
            return f"error parsing regexp: invalid regular expression {pattern!r} for {name!r}"
    return None
