"""Signatures, in one place: public keys from PEM, key ids, DSSE PAE, verify and sign.

Pure functions over bytes and `cryptography` key objects; the evidence bundle (`evidence.py`) and the image
checks (`checks/_oci_verify.py`) both use them. Keys: ECDSA P-256, P-384 and P-521, RSA and Ed25519.
Verification accepts what signers actually emit: ECDSA as ASN.1 DER (cosign, sigstore) or raw r||s
(WebCrypto, JWS, some KMS), over the curve's own hash or SHA-256 (cosign's historical choice);
RSA as PKCS#1 v1.5 (cosign) or PSS (any salt length), over SHA-256.
"""

from __future__ import annotations

import hashlib
from typing import Any

_CURVE_HASHES = {"secp256r1": "SHA256", "secp384r1": "SHA384", "secp521r1": "SHA512"}


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a DSSE signature actually signs."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def public_key(pem: bytes, *, private_ok: bool = False) -> Any:
    """A PEM public key (SubjectPublicKeyInfo or PKCS#1 RSA); with `private_ok`, an unencrypted PEM private
    key gives its public half. ValueError when it is neither."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        if not private_ok:
            raise ValueError(str(exc)) from None
    try:
        return serialization.load_pem_private_key(pem, None).public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(str(exc)) from None


def key_id(key: Any) -> str:
    """SHA-256 (hex) of the public key's SubjectPublicKeyInfo DER; a private key is identified by its public half."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "private_bytes") else key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def supported(key: Any) -> bool:
    """An ECDSA (P-256/384/521), RSA or Ed25519 key, public or private."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return key.curve.name in _CURVE_HASHES
    return isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, rsa.RSAPrivateKey, rsa.RSAPublicKey))


def _curve_hash(key: Any) -> Any:
    from cryptography.hazmat.primitives import hashes

    return getattr(hashes, _CURVE_HASHES.get(key.curve.name, "SHA256"))()


def verify(signature: bytes, message: bytes, key: Any) -> bool:
    """Does `signature` over `message` verify with the public `key`? False for any other key type."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    attempts: list[tuple[Any, ...]] = []
    if isinstance(key, ed25519.Ed25519PublicKey):
        attempts = [(signature, message)]
    elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVE_HASHES:
        encodings = [signature]
        size = (key.curve.key_size + 7) // 8
        if len(signature) == 2 * size:  # raw r||s (IEEE P1363)
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            encodings.append(encode_dss_signature(r, s))
        algorithms = [_curve_hash(key)]
        if not isinstance(algorithms[0], hashes.SHA256):
            algorithms.append(hashes.SHA256())
        attempts = [(sig, message, ec.ECDSA(alg)) for sig in encodings for alg in algorithms]
    elif isinstance(key, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        attempts = [(signature, message, pad, hashes.SHA256()) for pad in (padding.PKCS1v15(), pss)]
    for args in attempts:
        try:
            key.verify(*args)
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def sign(key: Any, message: bytes) -> bytes:
    """Sign `message` with a private key: Ed25519; ECDSA (DER) over the curve's hash; RSA-PSS over SHA-256
    (salt as long as the digest). ValueError for any other key type."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVE_HASHES:
        return key.sign(message, ec.ECDSA(_curve_hash(key)))
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        return key.sign(message, pss, hashes.SHA256())
    raise ValueError(f"unsupported key type {type(key).__name__}; use ECDSA P-256/P-384/P-521, RSA or Ed25519")
