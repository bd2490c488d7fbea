"""mlops_gate.signing: DSSE PAE, PEM keys, key ids, and signatures as real signers emit them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mlops_gate import signing

MESSAGE = b"DSSEv1 28 application/vnd.in-toto+json 2 {}"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_pae_matches_the_dsse_spec_vector() -> None:
    assert signing.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert signing.pae("a", b"") == b"DSSEv1 1 a 0 "
    assert signing.pae("t\u00e9", b"x") == b"DSSEv1 3 t\xc3\xa9 1 x"  # lengths count UTF-8 bytes


@pytest.mark.parametrize(
    "curve,own",
    [(ec.SECP256R1(), hashes.SHA256()), (ec.SECP384R1(), hashes.SHA384()), (ec.SECP521R1(), hashes.SHA512())],
)
def test_ecdsa_der_and_raw_over_the_curve_hash_or_sha256(curve: ec.EllipticCurve, own: hashes.HashAlgorithm) -> None:
    key = ec.generate_private_key(curve)
    public = key.public_key()
    size = (curve.key_size + 7) // 8
    for algorithm in (own, hashes.SHA256()):
        der = key.sign(MESSAGE, ec.ECDSA(algorithm))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")  # IEEE P1363, as WebCrypto and JWS emit
        assert signing.verify(der, MESSAGE, public) and signing.verify(raw, MESSAGE, public)
        assert not signing.verify(der, MESSAGE + b"!", public) and not signing.verify(raw, MESSAGE + b"!", public)
    assert not signing.verify(key.sign(MESSAGE, ec.ECDSA(hashes.SHA1())), MESSAGE, public)


@pytest.mark.parametrize(
    "pad",
    [
        padding.PKCS1v15(),
        padding.PSS(padding.MGF1(hashes.SHA256()), 32),
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH),
    ],
    ids=["pkcs1v15", "pss-32", "pss-max"],
)
def test_rsa_pkcs1v15_and_pss_both_verify(pad: padding.AsymmetricPadding) -> None:
    sig = RSA_KEY.sign(MESSAGE, pad, hashes.SHA256())
    assert signing.verify(sig, MESSAGE, RSA_KEY.public_key())
    assert not signing.verify(sig, MESSAGE + b"!", RSA_KEY.public_key())


def test_ed25519() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    assert signing.verify(key.sign(MESSAGE), MESSAGE, key.public_key())
    assert not signing.verify(key.sign(MESSAGE), MESSAGE + b"!", key.public_key())


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
        ed25519.Ed25519PrivateKey.generate,
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ],
    ids=["p256", "p384", "p521", "ed25519", "rsa"],
)
def test_sign_then_verify_and_nothing_else_verifies(make: Any) -> None:
    key, other = make(), make()
    sig = signing.sign(key, MESSAGE)
    assert signing.verify(sig, MESSAGE, key.public_key())
    assert not signing.verify(sig, MESSAGE, other.public_key())
    for junk in (b"", b"\x00" * len(sig), b"\x30\x02\x01"):
        assert not signing.verify(junk, MESSAGE, key.public_key())  # never raises


def test_rsa_signs_with_pss() -> None:
    sig = signing.sign(RSA_KEY, MESSAGE)
    RSA_KEY.public_key().verify(sig, MESSAGE, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


def test_unsupported_keys() -> None:
    k1 = ec.generate_private_key(ec.SECP256K1())
    dsa_key = dsa.generate_private_key(2048)
    assert not signing.supported(k1) and not signing.supported(dsa_key.public_key())
    assert all(signing.supported(k) for k in (RSA_KEY, RSA_KEY.public_key(), ed25519.Ed25519PrivateKey.generate()))
    assert not signing.verify(k1.sign(MESSAGE, ec.ECDSA(hashes.SHA256())), MESSAGE, k1.public_key())
    assert not signing.verify(dsa_key.sign(MESSAGE, hashes.SHA256()), MESSAGE, dsa_key.public_key())
    with pytest.raises(ValueError, match="unsupported key type"):
        signing.sign(k1, MESSAGE)


def test_key_id_is_the_sha256_of_the_subject_public_key_info() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert signing.key_id(key.public_key()) == signing.key_id(key) == hashlib.sha256(der).hexdigest()


def test_public_key_from_pem() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert signing.key_id(signing.public_key(pem(key))) == signing.key_id(key)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError):
        signing.public_key(private)  # a private key is not a public key unless asked for
    assert signing.key_id(signing.public_key(private, private_ok=True)) == signing.key_id(key)
    pkcs1 = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert signing.key_id(signing.public_key(pkcs1)) == signing.key_id(RSA_KEY)
    for bad in (b"not a key", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"):
        with pytest.raises(ValueError):
            signing.public_key(bad, private_ok=True)
