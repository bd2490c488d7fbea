"""The pieces of Sigstore verification the gate does itself, for what sigstore-python 4.x cannot take:
classic cosign layers (Rekor's signed entry timestamp only, no inclusion proof) and GitHub-instance bundles
(one RFC 3161 timestamp, no transparency log, no SCT). Each piece is what cosign and `gh attestation verify`
check offline, built on `cryptography` and `rfc3161-client` (both sigstore-python dependencies, so they come
with the `sigstore` extra). The verification time is always the log's or the timestamp's, never now.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

from mlops_gate import signing
from mlops_gate.checks._fulcio import Claims
from mlops_gate.checks._sigstore_roots import Root, within


class Invalid(Exception):
    """Verification failed; the message says why."""


@dataclass(frozen=True)
class Verified:
    """What a verified keyless signature says (the caller judges the payload: type, predicate, subject)."""

    claims: Claims
    time: dt.datetime  # the transparency-log or timestamp time the certificate was checked at
    how: str  # the time's source, for evidence
    payload_type: str  # DSSE payloadType; "" for a simple-signing payload or a message signature
    payload: bytes  # the exact signed bytes (simple-signing JSON, in-toto statement); b"" for a digest only
    message_digest: str = ""  # "sha256:<hex>" a message-signature bundle signs


def b64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{what} is not base64") from None


def chain(leaf: Any, root: Root, at: dt.datetime) -> list[Any]:
    """The path from `leaf` to a Fulcio CA of `root` valid at `at` (the CA's own `validFor` included):
    [issuer, ..., root certificate]."""
    from cryptography import x509
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

    eku = (x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(*eku)
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(*eku)
    errors = []
    for ca in root.fulcio:
        if not within(at, ca.start, ca.end):
            errors.append(f"{ca.name} is not valid at {at.isoformat()}")
            continue
        verifier = (
            PolicyBuilder()
            .store(Store([ca.certs[-1]]))
            .time(at)
            .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
            .build_client_verifier()
        )
        try:
            return list(verifier.verify(leaf, list(ca.certs[:-1])).chain[1:])
        except (VerificationError, x509.UnsupportedGeneralNameType, ValueError) as exc:
            errors.append(f"{ca.name}: {exc}")
    shown = "; ".join(errors[-2:]) or "it lists no certificate authority"
    raise Invalid(f"the certificate does not chain to a Fulcio CA of {root.name} at {at.isoformat()} ({shown})")


def leaf_profile(leaf: Any, at: dt.datetime) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if not leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc:
        raise Invalid(f"signed at {at.isoformat()}, outside the certificate's validity")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise Invalid("the certificate is not a code-signing certificate (no key usage)") from None
    if not usage.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise Invalid("the certificate is not a code-signing certificate")


def _spki(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def sct(leaf: Any, issuer: Any, root: Root) -> None:
    """An embedded precertificate SCT (RFC 6962 §3.2) signed by a CT log of `root`."""
    from cryptography import x509
    from cryptography.x509.certificate_transparency import LogEntryType

    try:
        scts = leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound:
        raise Invalid(f"the certificate has no SCT, which {root.name} requires (it lists CT logs)") from None
    issuer_hash = hashlib.sha256(_spki(issuer.public_key())).digest()
    tbs = leaf.tbs_precertificate_bytes
    for one in scts:
        log = root.ctlogs.get(one.log_id)
        if one.entry_type != LogEntryType.PRE_CERTIFICATE or log is None:
            continue
        ms = int(one.timestamp.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
        signed = (
            struct.pack("!BBQH", one.version.value, 0, ms, 1)
            + issuer_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", len(one.extension_bytes))
            + one.extension_bytes
        )
        if signing.verify(one.signature, signed, log.key):
            return
        raise Invalid(f"the certificate's SCT does not verify with {log.name}")
    raise Invalid(f"the certificate has no SCT from a CT log of {root.name}")


def signed_entry_time(annotation: str, root: Root) -> tuple[dt.datetime, dict[str, Any], str]:
    """(integrated time, the entry's body, log name) from cosign's `dev.sigstore.cosign/bundle` annotation,
    after checking Rekor's signed entry timestamp: the log key's signature over the RFC 8785 JSON of
    {body, integratedTime, logID, logIndex} (all ASCII strings or integers, so sorted compact JSON is it)."""
    try:
        doc = json.loads(annotation)
        payload = doc["Payload"]
        body, log_hex = str(payload["body"]), str(payload["logID"])
        integrated = int(payload["integratedTime"])
        fields: dict[str, str | int] = {
            "body": body,
            "integratedTime": integrated,
            "logID": log_hex,
            "logIndex": int(payload["logIndex"]),
        }
        log_id = bytes.fromhex(log_hex)
        set_sig = b64(doc["SignedEntryTimestamp"], "the signed entry timestamp")
    except (ValueError, KeyError, TypeError, RecursionError):
        raise Invalid("the Rekor bundle annotation is malformed") from None
    log = root.tlogs.get(log_id)
    if log is None:
        raise Invalid(f"the Rekor log {log_hex[:16]}... is not in {root.name}")
    when = dt.datetime.fromtimestamp(integrated, tz=dt.timezone.utc)
    if not within(when, log.start, log.end):
        raise Invalid(f"logged at {when.isoformat()}, outside the validity of {log.name}")
    message = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    if not signing.verify(set_sig, message, log.key):
        raise Invalid("the Rekor signed entry timestamp does not verify (entry, time or index altered, or another log)")
    try:
        entry = json.loads(b64(body, "the Rekor entry"))
    except (ValueError, RecursionError):
        raise Invalid("the Rekor entry is not JSON") from None
    if not isinstance(entry, dict):
        raise Invalid("the Rekor entry is not an object")
    return when, entry, log.name


def timestamp_time(response: bytes, signature: bytes, root: Root) -> tuple[dt.datetime, str]:
    """(time, authority) of an RFC 3161 timestamp over `signature` by a timestamp authority of `root`,
    its time within the authority's validity."""
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        decoded = decode_timestamp_response(response)
    except ValueError:
        raise Invalid("the RFC 3161 timestamp is malformed") from None
    when = decoded.tst_info.gen_time.astimezone(dt.timezone.utc)
    for tsa in root.tsas:
        if len(tsa.certs) < 2:
            continue
        builder = VerifierBuilder().tsa_certificate(tsa.certs[0]).add_root_certificate(tsa.certs[-1])
        for middle in tsa.certs[1:-1]:
            builder = builder.add_intermediate_certificate(middle)
        try:
            builder.build().verify_message(decoded, signature)
        except VerificationError:
            continue
        if within(when, tsa.start, tsa.end):
            return when, tsa.name
    raise Invalid(f"no timestamp authority of {root.name} signed this timestamp over this signature")
