"""Signature verification for the image checks, over bytes the provider fetched: the policy's keys and
base64 as registries serve it; the crypto itself is `mlops_gate.signing`.

Keys: ECDSA (P-256, P-384, P-521), RSA (PKCS#1 v1.5 and PSS) and Ed25519, as PEM public keys.
cosign signs the exact simple-signing payload bytes; DSSE signs PAE(payloadType, payload).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate import signing
from mlops_gate.facts.oci import Attestation, DsseSignature, ImageFacts, PublicKey, SigstoreBundle
from mlops_gate.model import Outcome
from mlops_gate.signing import pae as pae  # re-exported: image_provenance builds DSSE messages with v.pae

PEM_MARK = "-----BEGIN"


@dataclass(frozen=True)
class Key:
    """One of the policy's public keys, parsed, with the name the evidence calls it by."""

    id: str  # the policy's file name, or "inline key sha256:<12 hex>"
    key: Any  # a cryptography public key


def keys_of(wanted: Iterable[str], read: Iterable[PublicKey]) -> tuple[list[Key], list[str]]:
    """The policy's keys (inline PEM, or files the provider read), and why any could not be used."""
    files = {k.path: k for k in read}
    keys: list[Key] = []
    problems: list[str] = []
    for entry in wanted:
        if PEM_MARK in entry:
            pem, name = entry, None
        else:
            got = files.get(entry)
            if got is None:
                problems.append(f"key file {entry} was not read (collect facts with this policy)")
                continue
            if got.pem is None:
                problems.append(got.error or f"key file {entry} could not be read")
                continue
            pem, name = got.pem, entry
        try:
            key = signing.public_key(pem.encode())
        except ValueError as exc:
            problems.append(f"{name or 'an inline key'} is not a PEM public key: {exc}")
            continue
        keys.append(Key(name or f"inline key sha256:{signing.key_id(key)[:12]}", key))
    return keys, problems


def b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # DSSE allows URL-safe base64
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None


def verifies(key: Key, signature: bytes, message: bytes) -> bool:
    return signing.verify(signature, message, key.key)


def first_verifying(keys: Iterable[Key], signature: bytes, message: bytes) -> Key | None:
    return next((k for k in keys if verifies(k, signature, message)), None)


NEEDS_KEYS = (
    "neither `keys` nor `signers` in the policy: set checks.{id}.params.keys (PEM public-key files or inline PEM) "
    "or checks.{id}.params.signers (keyless: issuer and workflows)"
)
SIGN_V1 = "https://sigstore.dev/cosign/sign/v1"  # the predicate of a cosign v3 signature (a DSSE bundle)


def key_scope(keys: tuple[str, ...], *items: str) -> Mapping[str, tuple[str, ...]]:
    """Ask the provider for `items` and to read the key files (inline PEM needs no reading)."""
    return {"oci_image": (*items, *(f"key:{k}" for k in keys if PEM_MARK not in k))}


def bundle_envelope(b: SigstoreBundle) -> Attestation | None:
    """The DSSE envelope of a Sigstore bundle, for verification with the policy's keys (a bundle signed with a
    managed key); None when the bundle carries none (a message signature) or cannot be read."""
    import json

    try:
        data = json.loads(b.json) if b.json else None
    except (ValueError, RecursionError):
        return None
    env = data.get("dsseEnvelope") if isinstance(data, dict) else None
    if not isinstance(env, dict) or not isinstance(env.get("payload"), str):
        return None
    sigs = tuple(
        DsseSignature(str(s.get("sig") or ""), str(s.get("keyid") or ""))
        for s in env.get("signatures") or ()
        if isinstance(s, dict)
    )
    return Attestation(f"bundle ({b.source})", "", b.digest, str(env.get("payloadType") or ""), env["payload"], sigs)


def unread(img: ImageFacts, what: str) -> Outcome:
    return Outcome(
        img.subject,
        f"{what} not read",
        evidence=img.notes,
        error=f"the {what} of {img.ref} were not collected (facts read without this check enabled?)",
    )
