"""Signing keys written to files (ECDSA P-256, Ed25519, RSA), and the checks the evidence tests gate with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

CHECKS = "ci.pr-pipeline,image.base-pinned,monitoring.alert-rules,policy.unchanged"


def write_keys(tmp: Path, kind: str) -> tuple[Path, Path]:
    key: Any = {
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }[kind]()
    priv, pub = tmp / f"{kind}.pem", tmp / f"{kind}.pub"
    priv.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pub.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return priv, pub
