"""Sigstore bundles (v0.1-v0.3: cosign v3 referrers, GitHub artifact attestations, slsa-github-generator v2),
verified offline against explicit trusted roots.

* A bundle with a transparency-log entry goes to sigstore-python 4.x (`Verifier(trusted_root=...)`,
  `verify_dsse` / `verify_artifact`): inclusion proof + checkpoint, signed entry timestamp and RFC 3161
  timestamps, chain at the verified time, SCT, entry/bundle consistency, then the gate's identity policy.
* A bundle without one (GitHub's own instance, for private repositories: one RFC 3161 timestamp, no SCT) is
  verified as `gh attestation verify` does: only against a root that has no transparency log (a root that has
  one requires an entry), a timestamp from one of its authorities over the signature, chain and validity at
  that time, the DSSE signature, the identity. SET-only bundles are never routed here: they fail.

sigstore is imported only here, by a run whose policy names keyless signers (`require()` says how to install it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mlops_gate import signing
from mlops_gate.checks._fulcio import Claims, Identity, Mismatch
from mlops_gate.checks._sigstore_classic import issuing_roots
from mlops_gate.checks._sigstore_pki import Invalid, Verified, b64, chain, leaf_profile, sct, timestamp_time
from mlops_gate.checks._sigstore_roots import Root

INSTALL = "keyless signers need the sigstore extra: pip install 'mlops-gate[sigstore]'"


def require() -> str | None:
    """None when sigstore-python (and rfc3161-client) can be imported; else how to install them."""
    try:
        import rfc3161_client  # noqa: F401
        import sigstore.verify  # noqa: F401
    except ImportError as exc:
        return f"{INSTALL} ({exc})"
    return None


@dataclass
class Verifiers:
    """sigstore-python verifiers, one per trusted root, made once per check run."""

    made: dict[str, Any] = field(default_factory=dict)

    def of(self, root: Root) -> Any:
        key = hashlib.sha256(json.dumps(root.doc, sort_keys=True).encode()).hexdigest()  # by content, not name
        if key not in self.made:
            from sigstore.models import TrustedRoot
            from sigstore.verify import Verifier
            from sigstore_models.trustroot.v1 import TrustedRoot as Model

            try:
                self.made[key] = Verifier(trusted_root=TrustedRoot(Model.from_json(json.dumps(root.doc))))
            except Exception as exc:  # the library's own refusal of a root (pydantic, sigstore errors)
                self.made[key] = Invalid(f"sigstore-python cannot use {root.name}: {_first_line(exc)}")
        made = self.made[key]
        if isinstance(made, Invalid):
            raise made
        return made


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def leaf_of(doc: dict[str, Any]) -> Any:
    from cryptography import x509

    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise Invalid("the bundle has no verification material")
    cert = material.get("certificate")
    chain_ = material.get("x509CertificateChain")
    raw = (cert or {}).get("rawBytes") if isinstance(cert, dict) else None
    if raw is None and isinstance(chain_, dict) and chain_.get("certificates"):
        first = chain_["certificates"][0]
        raw = first.get("rawBytes") if isinstance(first, dict) else None
    if raw is None:
        raise Invalid("the bundle carries no certificate (a public-key bundle: verify it with `keys`)")
    try:
        return x509.load_der_x509_certificate(b64(raw, "the bundle's certificate"))
    except ValueError:
        raise Invalid("the bundle's certificate is not a DER certificate") from None


def verify(text: str, roots: list[Root], identity: Identity, digest: str, verifiers: Verifiers) -> Verified:
    """The bundle `text` verified with one of `roots` for `identity`; a message-signature bundle must sign
    `digest` ("sha256:<hex>"). Invalid(why) otherwise."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("the bundle is not JSON") from None
    if not isinstance(doc, dict):
        raise Invalid("the bundle is not a JSON object")
    leaf = leaf_of(doc)
    entries = (doc.get("verificationMaterial") or {}).get("tlogEntries") or []
    failures = []
    for root in issuing_roots(leaf, roots):
        try:
            if entries:
                return _with_sigstore(text, doc, root, identity, digest, verifiers)
            return _timestamp_only(doc, leaf, root, identity)
        except Invalid as exc:
            failures.append(str(exc))
    raise Invalid(failures[0] if len(failures) == 1 else "; ".join(failures))


class _Policy:
    """sigstore-python's VerificationPolicy protocol over the gate's identity policy (same rules as the
    gate's own paths, so the two cannot diverge)."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.claims: Claims | None = None

    def verify(self, cert: Any) -> None:
        from sigstore.errors import VerificationError

        try:
            self.claims = self.identity.match(cert)
        except Mismatch as exc:
            raise VerificationError(str(exc)) from None


def _with_sigstore(
    text: str, doc: dict[str, Any], root: Root, identity: Identity, digest: str, v: Verifiers
) -> Verified:
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

    verifier = v.of(root)
    policy = _Policy(identity)
    try:
        bundle = Bundle.from_json(text)
        if isinstance(doc.get("dsseEnvelope"), dict):
            payload_type, payload = verifier.verify_dsse(bundle, policy)
            message_digest = ""
        else:
            algo, _, hexd = digest.partition(":")
            if algo != "sha256" or len(hexd) != 64:
                raise Invalid(f"a message-signature bundle is checked against a sha256 digest, not {digest!r}")
            verifier.verify_artifact(
                Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(hexd)), bundle, policy
            )
            payload_type, payload, message_digest = "", b"", digest
    except Invalid:
        raise
    except Exception as exc:  # sigstore.errors.Error, pydantic's ValueError, a malformed field: never a pass
        raise Invalid(f"{_first_line(exc)} ({root.name})") from None
    if policy.claims is None:  # the library returned without asking the policy: never trusted
        raise Invalid("the identity policy was not applied")
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    logged = int(entry.get("integratedTime") or 0) if isinstance(entry, dict) else 0
    import datetime as dt

    when = dt.datetime.fromtimestamp(logged, tz=dt.timezone.utc)
    how = f"Rekor entry with inclusion proof ({root.name})" + ("" if logged else ", RFC 3161 time")
    return Verified(policy.claims, when, how, str(payload_type), bytes(payload), message_digest)


def _timestamp_only(doc: dict[str, Any], leaf: Any, root: Root, identity: Identity) -> Verified:
    if root.tlogs:
        raise Invalid(f"the bundle has no transparency-log entry, which {root.name} requires (it lists a log)")
    env = doc.get("dsseEnvelope")
    if not isinstance(env, dict) or not isinstance(env.get("signatures"), list) or len(env["signatures"]) != 1:
        raise Invalid("a bundle without a log entry must carry a DSSE envelope with one signature")
    sig = b64((env["signatures"][0] or {}).get("sig"), "the DSSE signature")
    stamps = ((doc["verificationMaterial"].get("timestampVerificationData") or {}).get("rfc3161Timestamps")) or []
    if not stamps:
        raise Invalid("the bundle has neither a transparency-log entry nor an RFC 3161 timestamp: no trusted time")
    times = [timestamp_time(b64((s or {}).get("signedTimestamp"), "a timestamp"), sig, root) for s in stamps]
    for when, _ in times:
        path = chain(leaf, root, when)
        leaf_profile(leaf, when)
        if root.ctlogs:
            sct(leaf, path[0], root)
    try:
        payload_type = str(env["payloadType"])
        payload = base64.b64decode(str(env["payload"]), validate=True)
    except (KeyError, binascii.Error, ValueError):
        raise Invalid("the DSSE envelope is malformed") from None
    if not signing.verify(sig, signing.pae(payload_type, payload), leaf.public_key()):
        raise Invalid("the DSSE signature does not verify with the certificate's key")
    try:
        claims = identity.match(leaf)
    except Mismatch as exc:
        raise Invalid(str(exc)) from None
    return Verified(claims, times[0][0], f"RFC 3161 timestamp by {times[0][1]}", payload_type, payload)
