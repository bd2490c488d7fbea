"""Signature verification for the image checks: pure crypto over bytes the provider fetched.

Keys: ECDSA (P-256, P-384, P-521), RSA (PKCS#1 v1.5 and PSS) and Ed25519, as PEM public keys.
cosign signs the exact simple-signing payload bytes; DSSE signs PAE(payloadType, payload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlops_gate.facts_oci import PublicKey

PEM_MARK = "-----BEGIN"


@dataclass(frozen=True)
class Key:
    id: str  # the policy's file name, or "inline key sha256:<12 hex>"
    key: Any  # a cryptography public key


def keys_of(wanted: Iterable[str], read: Iterable[PublicKey]) -> tuple[list[Key], list[str]]:
    """The policy's keys (inline PEM, or files the provider read), and why any could not be used."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

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
            key = load_pem_public_key(pem.encode())
        except (ValueError, TypeError) as exc:
            problems.append(f"{name or 'an inline key'} is not a PEM public key: {exc}")
            continue
        keys.append(Key(name or f"inline key {fingerprint(key)}", key))
    return keys, problems


def fingerprint(key: Any) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()[:12]


def b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # DSSE allows URL-safe base64
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def verifies(key: Key, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    k = key.key
    try:
        if isinstance(k, ed25519.Ed25519PublicKey):
            k.verify(signature, message)
            return True
        if isinstance(k, ec.EllipticCurvePublicKey):
            # the curve's own hash (sigstore's default), then SHA-256 (cosign's historical choice)
            own = {384: hashes.SHA384(), 521: hashes.SHA512()}.get(k.curve.key_size)
            for algorithm in (*([own] if own else []), hashes.SHA256()):
                try:
                    k.verify(signature, message, ec.ECDSA(algorithm))
                    return True
                except InvalidSignature:
                    continue
            return False
        if isinstance(k, rsa.RSAPublicKey):
            for pad in (padding.PKCS1v15(), padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO)):
                try:
                    k.verify(signature, message, pad, hashes.SHA256())
                    return True
                except InvalidSignature:
                    continue
            return False
    except (InvalidSignature, ValueError):
        return False
    return False


def first_verifying(keys: Iterable[Key], signature: bytes, message: bytes) -> Key | None:
    return next((k for k in keys if verifies(k, signature, message)), None)
