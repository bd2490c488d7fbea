"""image.signature: the image carries a signature that binds its digest, from a trusted key or keyless signer.

Pure over the `oci_image` facts: the provider fetched every byte (digests verified); this check verifies the
signatures with the policy's keys or keyless signers and trusted roots, then judges what they sign.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _keyless
from mlops_gate.checks import _oci_verify as v
from mlops_gate.checks._fulcio import Signer
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.oci import Signature, SigstoreBundle
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

COSIGN_TYPE = "cosign container image signature"


@dataclass(frozen=True)
class SignatureParams:
    """The params of image.signature.

    keys: the public keys a signature must verify with: PEM files relative to the policy file's folder (else the
        repository root), or inline PEM text. Neither keys nor signers is an error, never a pass.
        e.g. [cosign.pub]
    signers: keyless signers accepted (any one): the OIDC issuer exactly, globs over the certificate's workflow SAN,
        an optional source ref glob and the runner kind; the gated repository and commit are always required.
        e.g. [{issuer: "https://token.actions.githubusercontent.com", workflows: ["https://github.com/acme/app/.github/workflows/release.yml@*"]}]
    trusted_roots: Sigstore trusted root files (JSON, relative to the policy file's folder, else the repository
        root) keyless signatures must chain to; empty means the public-good instance's root shipped with
        sigstore-python.
        e.g. [sigstore/trusted_root.json]
    """

    keys: tuple[str, ...] = ()  # PEM public-key files (relative to the policy file, else the root) or inline PEM
    signers: tuple[Signer, ...] = ()  # keyless signers (any of them): issuer, workflows, source_ref, runner
    trusted_roots: tuple[str, ...] = ()  # Sigstore trusted root files; empty: the public-good root


def _sig_scope(params: SignatureParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    items = v.key_scope(params.keys, "signatures")["oci_image"]
    return {"oci_image": (*items, *_keyless.scope(params.signers, params.trusted_roots, target))}


@check(
    "image.signature",
    title="The image carries a cosign signature from a trusted key or keyless signer",
    severity=Severity.HIGH,
    needs=("oci_image",),
    params=SignatureParams,
    requires_target=("image",),
    scope=_sig_scope,
)
def signature(facts: Facts, params: SignatureParams, target: Target) -> Iterator[Outcome]:
    """A cosign signature of the image verifies with one of the policy's `keys` or comes from one of its
    keyless `signers`, and binds the image digest.

    Signatures are read from cosign's classic layout (the tag `sha256-<hex>.sig` next to the image; every
    layer is one signature), from OCI 1.1 referrers (or their `sha256-<hex>` tag fallback) — including
    cosign v3's Sigstore bundles (a DSSE statement with predicate `https://sigstore.dev/cosign/sign/v1`, or
    a message signature) — and, on GitHub, from the attestations API. A simple-signing payload's
    `critical.image.docker-manifest-digest`, or the statement's subject, must be the image digest (for a
    multi-arch image, the index digest), so a signature copied from another image fails. The payload's
    docker-reference is informative only: images are relocated between registries.

    Params: `keys` - PEM public keys (file paths relative to the policy file's folder, else the repository root,
    or inline PEM).
    `signers` - keyless signers, any of: `issuer` (exact; empty is an error), `workflows` (globs over the
    certificate's SAN: the signing workflow), `source_ref` (glob over the source ref, e.g. `refs/tags/v*`),
    `runner` (`hosted` by default: GitHub- or GitLab-hosted; `self-hosted`, `any`). Whatever the signer, the
    certificate's source repository (Fulcio extension 1.12) must be the gated repository and its source
    commit (1.13) the gated commit when the target names one; certificates without them (before mid-2023)
    are rejected. `trusted_roots` - Sigstore trusted root files (JSON, or the JSON lines `gh attestation
    trusted-root` prints); empty means the public-good root shipped with sigstore-python; `public-good`
    names it next to others. Verification is offline, at the transparency-log or timestamp time. Keyless
    signers need `pip install 'mlops-gate[sigstore]'`. On a pull/merge request key and root files are read
    from the target branch, never from the request (docs/security.md). Neither keys nor signers is an
    error, never a pass.

    Fix: `cosign sign --yes registry/app@sha256:<digest>` in the release workflow (keyless, with
    `id-token: write`) and list the workflow in `signers`; or `cosign sign --key cosign.key ...` and commit
    `cosign.pub`.
    """
    img = facts.oci_image
    if img.signatures is None:
        yield v.unread(img, "signatures")
        return
    if not params.keys and not params.signers:
        yield Outcome(img.subject, "no keys or signers configured", error=v.NEEDS_KEYS.format(id="image.signature"))
        return
    keys, problems = v.keys_of(params.keys, img.keys)
    keyless = _keyless.setup("image.signature", params.signers, params.trusted_roots, img, target)
    if keyless is not None and keyless.problems:
        yield Outcome(
            img.subject, "cannot verify keyless signatures", evidence=img.notes, error="; ".join(keyless.problems)
        )
        return
    digest = img.digest or ""
    judged = [
        (f"{s.source} layer {s.layer_digest[:19]}", *_judge_layer(s, keys, keyless, digest)) for s in img.signatures
    ]
    judged += [(b.source, *_judge_bundle(b, keys, keyless, digest)) for b in img.bundles or ()]
    good = [why for _, ok, why in judged if ok]
    evidence = tuple(f"{where}: {why}" for where, _, why in judged) + img.notes
    unreadable = [f"{where}: {why}" for where, ok, why in judged if not ok and why.startswith("could not be read")]
    if good:
        yield Outcome(
            img.subject, f"{good[0]} ({len(good)} of {len(judged)} signatures)", evidence=evidence + tuple(problems)
        )
    elif problems:
        yield Outcome(
            img.subject,
            "cannot verify signatures",
            evidence=evidence,
            error="the policy's keys cannot be used: " + "; ".join(problems),
        )
    elif unreadable:
        yield Outcome(img.subject, "signatures could not be read", evidence=evidence, error="; ".join(unreadable))
    elif not judged:
        yield Outcome(
            img.subject,
            f"no signature for {digest}",
            evidence=evidence,
            violations=(
                Violation(
                    f"no cosign signature found for {digest} (tag {digest.replace(':', '-')}.sig, OCI referrers"
                    + (" and the GitHub attestations API)" if keyless and target.platform == "github" else ")")
                ),
            ),
        )
    else:
        yield Outcome(
            img.subject,
            f"none of {len(judged)} signatures verifies and binds {digest}",
            tuple(Violation(f"{where}: {why}") for where, _, why in judged),
            evidence,
        )


def _judge_layer(s: Signature, keys: list[v.Key], keyless: _keyless.Keyless | None, digest: str) -> tuple[bool, str]:
    """A classic simple-signing layer: (binds the digest with a policy key or keyless signer, why)."""
    if s.error:
        return False, f"could not be read: {s.error}"
    payload, sig = v.b64(s.payload), v.b64(s.signature)
    if payload is None or not sig:
        return False, "no signature annotation (dev.cosignproject.cosign/signature)"
    key = v.first_verifying(keys, sig, payload)
    if key is not None:
        return _binds(payload, digest, f"verified with {key.id}", f"verifies with {key.id} but")
    if keyless is not None and s.certificate:
        got = _keyless.signature(s, keyless)
        return (False, got) if isinstance(got, str) else _binds(got.payload, digest, got.by, f"{got.by}, but")
    extra = " (a keyless signature: configure `signers` to verify it)" if s.certificate else ""
    return False, f"does not verify with any of the {len(keys)} policy key(s){extra}"


def _binds(payload: bytes, digest: str, by: str, but: str) -> tuple[bool, str]:
    """Does a verified simple-signing payload bind `digest`? (`by`: who signed; `but`: how a failure starts)"""
    try:
        critical = json.loads(payload)["critical"]
        signed = critical["image"]["docker-manifest-digest"]
        kind, reference = critical.get("type"), critical.get("identity", {}).get("docker-reference")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return False, f"{but} the payload is not a cosign simple-signing payload"
    if kind != COSIGN_TYPE:
        return False, f"{but} its type is {kind!r}, not {COSIGN_TYPE!r}"
    if signed != digest:
        return False, f"{but} signs {signed}, not {digest} (a signature copied from another image)"
    return True, f"{by}, binds {digest} (signed as {reference})"


def _judge_bundle(
    b: SigstoreBundle, keys: list[v.Key], keyless: _keyless.Keyless | None, digest: str
) -> tuple[bool, str]:
    """A Sigstore bundle: a cosign v3 signature (DSSE sign/v1 statement, or a message signature over the
    image manifest) counts; an attestation of anything else is not a signature."""
    if b.error:
        return False, f"could not be read: {b.error}"
    envelope = v.bundle_envelope(b)
    if envelope is not None and keys:
        body = v.b64(envelope.payload)
        message = v.pae(envelope.payload_type, body) if body is not None else b""
        key = next(
            (k for s in envelope.signatures if (sig := v.b64(s.sig)) for k in keys if v.verifies(k, sig, message)), None
        )
        if key is not None and body is not None:
            return _statement_binds(envelope.payload_type, body, digest, f"verified with {key.id}")
    if keyless is None:
        return False, f"does not verify with any of the {len(keys)} policy key(s)"
    got = _keyless.bundle(b, keyless, digest)
    if isinstance(got, str):
        return False, got
    if not got.payload_type:
        return (got.message_digest == digest), f"{got.by}, signs {got.message_digest}"
    return _statement_binds(got.payload_type, got.payload, digest, got.by)


def _statement_binds(payload_type: str, body: bytes, digest: str, by: str) -> tuple[bool, str]:
    if payload_type != slsa.IN_TOTO:
        return False, f"{by}, but its payloadType {payload_type!r} is not {slsa.IN_TOTO}"
    statement = slsa.parse(body)
    if isinstance(statement, str):
        return False, f"{by}, but {statement}"
    if statement.predicate_type != v.SIGN_V1:
        return False, f"{by}: an attestation ({statement.predicate_type}), not a cosign signature ({v.SIGN_V1})"
    if digest not in statement.subjects:
        return False, f"{by}, but signs {', '.join(statement.subjects) or 'nothing'}, not {digest}"
    return True, f"{by}, binds {digest} (cosign v3 signature bundle)"
