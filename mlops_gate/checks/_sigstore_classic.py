"""Classic cosign keyless layers (`sha256-<hex>.sig` simple-signing and `.att` DSSE layers), verified offline as
`cosign verify --offline` does (sigstore/cosign pkg/cosign/verify.go VerifyBundle, VerifySET):

1. Rekor's signed entry timestamp (the `dev.sigstore.cosign/bundle` annotation) verifies with a log key of the
   trusted root; its integrated time is the verification time;
2. the logged entry is this layer: hashedrekord (payload hash, signature, certificate) for `.sig`; dsse or the
   older intoto 0.0.2 (payload hash, signatures, certificate) for `.att`;
3. the signature verifies with the certificate's key (DSSE: over PAE(payloadType, payload));
4. the certificate chains to a Fulcio CA of the root at that time, is a code-signing certificate valid then,
   carries an SCT from a CT log of the root (when the root lists CT logs), and its identity is accepted.

The `dev.sigstore.cosign/chain` annotation is informative only: intermediates come from the trusted root.
A keyless layer without the Rekor annotation cannot be verified offline, and fails.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlops_gate import signing
from mlops_gate.checks._fulcio import Identity, Mismatch
from mlops_gate.checks._sigstore_pki import Invalid, Verified, b64, chain, leaf_profile, sct, signed_entry_time
from mlops_gate.checks._sigstore_roots import Root


def verify_layer(
    blob: bytes, signature: str, certificate: str, rekor_bundle: str | None, roots: list[Root], identity: Identity
) -> Verified:
    """A `.sig` layer (`blob` = the simple-signing payload, `signature` the annotation) or a `.att` layer
    (`blob` = the DSSE envelope, `signature` ""). Invalid(why) unless it verifies."""
    from cryptography import x509

    if not rekor_bundle:
        raise Invalid(
            "a keyless signature without Rekor's bundle annotation (dev.sigstore.cosign/bundle): its signing time "
            "cannot be verified offline"
        )
    try:
        leaf = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise Invalid("the certificate annotation is not a PEM certificate") from None
    candidates = issuing_roots(leaf, roots)
    failures = []
    for root in candidates:
        try:
            return _verify(blob, signature, leaf, rekor_bundle, root, identity)
        except Invalid as exc:
            failures.append(str(exc))
    raise Invalid(failures[0] if len(failures) == 1 else "; ".join(failures))


def issuing_roots(leaf: Any, roots: list[Root]) -> list[Root]:
    """The roots with a Fulcio CA named as the leaf's issuer; Invalid when none is."""
    found = [r for r in roots if any(c.subject == leaf.issuer for ca in r.fulcio for c in ca.certs)]
    if not found:
        names = ", ".join(r.name for r in roots) or "none"
        raise Invalid(
            f"the certificate's issuer ({leaf.issuer.rfc4514_string()}) is no Fulcio CA of the trusted roots ({names})"
        )
    return found


def _verify(blob: bytes, signature: str, leaf: Any, annotation: str, root: Root, identity: Identity) -> Verified:
    when, body, log = signed_entry_time(annotation, root)
    kind, spec = body.get("kind"), body.get("spec")
    if not isinstance(spec, dict):
        raise Invalid("the Rekor entry has no spec")
    if kind == "hashedrekord":
        payload_type, payload = "", blob
        _hashedrekord(spec, blob, b64(signature, "the signature annotation"), leaf)
    elif kind in ("dsse", "intoto"):
        payload_type, payload = _dsse(spec, kind, blob, leaf)
    else:
        raise Invalid(f"the Rekor entry is a {kind!r} entry, not hashedrekord, dsse or intoto")
    path = chain(leaf, root, when)
    leaf_profile(leaf, when)
    if root.ctlogs:
        sct(leaf, path[0], root)
    try:
        claims = identity.match(leaf)
    except Mismatch as exc:
        raise Invalid(str(exc)) from None
    return Verified(claims, when, f"Rekor signed entry timestamp ({log})", payload_type, payload)


def _same_cert(logged: Any, leaf: Any) -> bool:
    from cryptography import x509

    try:
        return bool(x509.load_pem_x509_certificate(b64(logged, "the logged certificate")) == leaf)
    except (ValueError, Invalid):
        return False


def _hashedrekord(spec: dict[str, Any], blob: bytes, sig: bytes, leaf: Any) -> None:
    try:
        logged_hash = spec["data"]["hash"]["value"]
        logged_sig = b64(spec["signature"]["content"], "the logged signature")
        logged_cert = spec["signature"]["publicKey"]["content"]
    except (KeyError, TypeError):
        raise Invalid("the Rekor hashedrekord entry is malformed") from None
    if logged_hash != hashlib.sha256(blob).hexdigest():
        raise Invalid("the Rekor entry logs another payload (its hash differs)")
    if logged_sig != sig:
        raise Invalid("the Rekor entry logs another signature")
    if not _same_cert(logged_cert, leaf):
        raise Invalid("the Rekor entry logs another certificate")
    if not signing.verify(sig, blob, leaf.public_key()):
        raise Invalid("the signature does not verify with the certificate's key")


def _dsse(spec: dict[str, Any], kind: str, blob: bytes, leaf: Any) -> tuple[str, bytes]:
    try:
        env = json.loads(blob)
        payload_type = str(env["payloadType"])
        payload = b64(env["payload"], "the DSSE payload")
        sigs = [b64(s["sig"], "a DSSE signature") for s in env["signatures"]]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise Invalid("the layer is not a DSSE envelope") from None
    message = signing.pae(payload_type, payload)
    good = [s for s in sigs if signing.verify(s, message, leaf.public_key())]
    if not good:
        raise Invalid("the DSSE signature does not verify with the certificate's key")
    try:
        if kind == "dsse":
            logged_hash = spec["payloadHash"]["value"]
            logged = [(b64(s["signature"], "a logged signature"), s["verifier"]) for s in spec["signatures"]]
        else:  # intoto 0.0.2: the envelope's signatures base64-encoded once more
            content = spec["content"]
            logged_hash = content["payloadHash"]["value"]
            logged = [
                (b64(b64(s["sig"], "a logged signature").decode(), "a logged signature"), s["publicKey"])
                for s in content["envelope"]["signatures"]
            ]
    except (KeyError, TypeError, UnicodeDecodeError):
        raise Invalid(f"the Rekor {kind} entry is malformed") from None
    if logged_hash != hashlib.sha256(payload).hexdigest():
        raise Invalid("the Rekor entry logs another payload (its hash differs)")
    if not any(sig in good and _same_cert(cert, leaf) for sig, cert in logged):
        raise Invalid("the Rekor entry logs another signature or certificate")
    return payload_type, payload
