"""Sigstore trusted roots (`trusted_root.json`), read from the text the provider fetched.

A file holds one root (JSON), or one root per line (JSON lines, as `gh attestation trusted-root` prints:
the public-good root and GitHub's own). GitHub's root has no `tlogs`/`ctlogs` keys at all (its instance has
neither a transparency log nor CT), so each root is normalised with empty lists before sigstore-python's
model sees it. The material is also kept parsed (`cryptography` objects) for the shapes the gate verifies
itself (classic cosign layers, timestamp-only bundles): mlops_gate.checks._sigstore_pki.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


@dataclass(frozen=True)
class Authority:
    """A Fulcio CA or a timestamp authority: its chain (leaf-most first, root last) and validity."""

    certs: tuple[Any, ...]  # cryptography x509.Certificate
    start: dt.datetime | None
    end: dt.datetime | None
    name: str


@dataclass(frozen=True)
class LogKey:
    """The public key of a Rekor or CT log in a trusted root: its validity period, and a name (log URL and root)."""

    key: Any  # a cryptography public key
    start: dt.datetime | None
    end: dt.datetime | None
    name: str


@dataclass(frozen=True)
class Root:
    """One Sigstore trusted root: its JSON (for sigstore-python), and its CAs, timestamp authorities and log keys
    parsed (for what the gate verifies itself)."""

    name: str  # where it came from: "public-good (sigstore 4.5.1)", "roots.jsonl line 2"
    doc: dict[str, Any]  # the root as JSON, `tlogs`/`ctlogs` present
    fulcio: tuple[Authority, ...]
    tsas: tuple[Authority, ...]
    tlogs: dict[bytes, LogKey]  # by log id (sha256 of the key's SubjectPublicKeyInfo)
    ctlogs: dict[bytes, LogKey]


def within(t: dt.datetime, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    """`t` in the closed interval [start, end] (a TimeRange; an open end is open)."""
    return (start is None or start <= t) and (end is None or t <= end)


def parse(text: str, name: str) -> list[Root]:
    """Every root in `text` (JSON, or JSON lines); ValueError(why) when one is not a Sigstore trusted root."""
    try:
        docs = [json.loads(text)]
    except ValueError:
        try:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise ValueError(f"{name} is neither JSON nor JSON lines") from None
    if not docs:
        raise ValueError(f"{name} is empty")
    return [_root(doc, name if len(docs) == 1 else f"{name} line {i + 1}") for i, doc in enumerate(docs)]


def _root(doc: Any, name: str) -> Root:
    if not isinstance(doc, dict) or doc.get("mediaType") != MEDIA_TYPE:
        raise ValueError(f"{name} is not a Sigstore trusted root ({MEDIA_TYPE})")
    try:
        return Root(
            name,
            {**doc, "tlogs": doc.get("tlogs") or [], "ctlogs": doc.get("ctlogs") or []},
            tuple(_authority(ca, name) for ca in doc.get("certificateAuthorities") or ()),
            tuple(_authority(ca, name) for ca in doc.get("timestampAuthorities") or ()),
            dict(_log(log, name) for log in doc.get("tlogs") or ()),
            dict(_log(log, name) for log in doc.get("ctlogs") or ()),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ValueError(f"{name}: a malformed trusted root ({type(exc).__name__}: {exc})") from None


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _authority(ca: dict[str, Any], name: str) -> Authority:
    from cryptography import x509

    certs = tuple(
        x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"])) for c in ca["certChain"]["certificates"]
    )
    if not certs:
        raise ValueError("an authority without certificates")
    valid = ca.get("validFor") or {}
    subject = ca.get("subject") or {}
    label = subject.get("commonName") or certs[0].subject.rfc4514_string()
    return Authority(certs, _time(valid.get("start")), _time(valid.get("end")), f"{label} ({name})")


def _log(log: dict[str, Any], name: str) -> tuple[bytes, LogKey]:
    from cryptography.hazmat.primitives import serialization

    public = log["publicKey"]
    der = base64.b64decode(public["rawBytes"])
    key = serialization.load_der_public_key(der)
    valid = public.get("validFor") or {}
    log_id = hashlib.sha256(der).digest()
    return log_id, LogKey(
        key, _time(valid.get("start")), _time(valid.get("end")), f"{log.get('baseUrl', '?')} ({name})"
    )
