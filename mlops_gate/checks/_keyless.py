"""Keyless verification for the image checks: the `signers` and `trusted_roots` params, what the provider must
read for them, and one verdict per signature, attestation or bundle the registry (or GitHub) holds.

The identity policy is mlops_gate.checks._fulcio; the verifiers are _sigstore_bundle (sigstore-python, and
timestamp-only bundles) and _sigstore_classic (cosign's classic layers). Nothing here imports sigstore: a
policy without `signers` never pays for it, and a policy with them but without the `sigstore` extra installed
ends in an error naming `pip install 'mlops-gate[sigstore]'`, never a pass.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlops_gate.checks._fulcio import Claims, Identity, Signer, config_problems
from mlops_gate.facts.oci import Attestation, ImageFacts, Signature, SigstoreBundle
from mlops_gate.lang import slsa
from mlops_gate.target import Target

if TYPE_CHECKING:
    from mlops_gate.checks._sigstore_bundle import Verifiers
    from mlops_gate.checks._sigstore_pki import Verified
    from mlops_gate.checks._sigstore_roots import Root

PUBLIC_GOOD = "public-good"  # in `trusted_roots`: the public-good root shipped with sigstore-python
GITHUB_ATTESTATIONS = "github-attestations"


def scope(signers: tuple[Signer, ...], trusted_roots: tuple[str, ...], target: Target) -> tuple[str, ...]:
    """What the OCI provider must read for keyless verification: the trusted roots (the public-good root when
    none is named) and, for a GitHub repository, the GitHub attestations API."""
    if not signers:
        return ()
    items = [f"root:{r}" for r in trusted_roots or (PUBLIC_GOOD,)]
    return (*items, GITHUB_ATTESTATIONS) if target.platform == "github" else tuple(items)


@dataclass(frozen=True)
class Signed:
    """A signature that verified: by whom, and the exact bytes (or digest) it signs, for the check to judge."""

    by: str  # "key cosign.pub" | "keyless <SAN> (issuer ...), <time source> <time>"
    payload_type: str  # DSSE payloadType; "" for a simple-signing payload or a message signature
    payload: bytes
    message_digest: str = ""  # what a message-signature bundle signs
    claims: Claims | None = None  # keyless: what the certificate says (source repository, commit)


@dataclass
class Keyless:
    """One check run's keyless setup; `problems` (configuration, unreadable roots, no sigstore) are errors."""

    identity: Identity
    roots: list[Root] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    verifiers: Verifiers | None = None


def setup(
    check_id: str,
    signers: tuple[Signer, ...],
    trusted_roots: tuple[str, ...],
    img: ImageFacts,
    target: Target,
    *,
    bind_commit: bool = True,
) -> Keyless | None:
    """The keyless setup of a check (None: no `signers`). Binds the gated repository always, and the gated
    commit when the target names one (`bind_commit=False`: the caller compares the commit itself)."""
    if not signers:
        return None
    host = slsa.platform_host(target.platform, target.api_url)
    commit = (target.commit or "") if bind_commit else ""
    k = Keyless(Identity(signers, target.repository or "", host, commit))
    k.problems += config_problems(signers, check_id)
    if not target.repository:
        k.problems.append("keyless signers are bound to the gated repository: set --repository (or target.repository)")
    from mlops_gate.checks import _sigstore_bundle, _sigstore_roots

    missing = _sigstore_bundle.require()
    if missing:
        k.problems.append(missing)
        return k
    k.verifiers = _sigstore_bundle.Verifiers()
    read = {r.path: r for r in img.trusted_roots}
    for name in trusted_roots or (PUBLIC_GOOD,):
        got = read.get(name)
        if got is None:
            k.problems.append(f"trusted root {name} was not read (collect facts with this policy)")
        elif got.text is None:
            k.problems.append(got.error or f"trusted root {name} could not be read")
        else:
            try:
                k.roots += _sigstore_roots.parse(got.text, name)
            except ValueError as exc:
                k.problems.append(str(exc))
    return k


def _signed(v: Verified) -> Signed:
    by = f"keyless {v.claims.who}, {v.how} {v.time.isoformat()}"
    return Signed(by, v.payload_type, v.payload, v.message_digest, v.claims)


def signature(s: Signature, k: Keyless) -> Signed | str:
    """A classic `.sig` layer with a Fulcio certificate (verdict: Signed, or why not)."""
    from mlops_gate.checks import _sigstore_classic
    from mlops_gate.checks._sigstore_pki import Invalid

    if not s.certificate:
        return "no certificate (not a keyless signature)"
    try:
        blob = base64.b64decode(s.payload, validate=True)
    except (binascii.Error, ValueError):
        return "the payload is not base64"
    try:
        verified = _sigstore_classic.verify_layer(blob, s.signature, s.certificate, s.bundle, k.roots, k.identity)
    except Invalid as exc:
        return f"keyless: {exc}"
    return _signed(verified)


def attestation(a: Attestation, k: Keyless) -> Signed | str:
    """A classic `.att` (DSSE) layer with a Fulcio certificate."""
    from mlops_gate.checks import _sigstore_classic
    from mlops_gate.checks._sigstore_pki import Invalid

    if not a.certificate:
        return "no certificate (not a keyless attestation)"
    envelope = json.dumps(
        {"payloadType": a.payload_type, "payload": a.payload, "signatures": [{"sig": s.sig} for s in a.signatures]}
    ).encode()
    try:
        verified = _sigstore_classic.verify_layer(envelope, "", a.certificate, a.rekor_bundle, k.roots, k.identity)
    except Invalid as exc:
        return f"keyless: {exc}"
    return _signed(verified)


def bundle(b: SigstoreBundle, k: Keyless, digest: str) -> Signed | str:
    """A Sigstore bundle (a message-signature bundle must sign `digest`)."""
    from mlops_gate.checks import _sigstore_bundle
    from mlops_gate.checks._sigstore_pki import Invalid

    if b.error:
        return f"could not be read: {b.error}"
    assert k.verifiers is not None
    try:
        verified = _sigstore_bundle.verify(b.json, k.roots, k.identity, digest, k.verifiers)
    except Invalid as exc:
        return f"keyless: {exc}"
    return _signed(verified)
