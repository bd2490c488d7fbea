"""image checks read from the registry: OCI labels and cosign signatures (SLSA provenance: image_provenance).

Pure over the `oci_image` facts: the provider fetched every byte (digests verified); these checks
verify signatures with the policy's keys and judge what the signed documents say.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _oci_verify as v
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.oci import Signature
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

SOURCE, REVISION = "org.opencontainers.image.source", "org.opencontainers.image.revision"
COSIGN_TYPE = "cosign container image signature"


# --- image.labels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelParams:
    """The params of image.labels.

    source_label: the label (or annotation) that must name the gated repository; empty skips it.
        e.g. org.opencontainers.image.source
    revision_label: the label (or annotation) that must be the gated commit; empty skips it.
        e.g. org.opencontainers.image.revision
    """

    source_label: str = SOURCE  # must name the repository being gated ("" to skip)
    revision_label: str = REVISION  # must equal the commit being gated ("" to skip)


def _label_scope(params: LabelParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return {"oci_image": ("labels",)}


@check(
    "image.labels",
    title="Image labels name the gated repository and commit",
    severity=Severity.MEDIUM,
    needs=("oci_image",),
    params=LabelParams,
    requires_target=("image", "repository", "commit"),
    scope=_label_scope,
)
def labels(facts: Facts, params: LabelParams, target: Target) -> Iterator[Outcome]:
    """The image says where it was built from: `org.opencontainers.image.source` names the repository and
    `org.opencontainers.image.revision` is the commit being gated.

    Labels are read from the image config (`LABEL` in the Dockerfile) and from manifest and index
    annotations; for a multi-arch index every platform's image is read. Each label must be present
    somewhere, and every value found must match: one platform built from another commit fails.
    The source matches when its host is the platform's (github.com, the GitLab or Azure DevOps host) and its path
    (`git+`, `.git` and `@ref` dropped) is the target repository.

    Fix: `docker buildx build --label org.opencontainers.image.revision=$GITHUB_SHA --label
    org.opencontainers.image.source=$GITHUB_SERVER_URL/$GITHUB_REPOSITORY` (docker/metadata-action sets both).
    """
    img = facts.oci_image
    if img.labels is None:
        yield v.unread(img, "labels")
        return
    violations, evidence = [], [f"resolved {img.ref} to {img.digest}"]
    host = slsa.platform_host(target.platform, target.api_url)
    wanted = [
        (params.source_label, target.repository or "", "repository"),
        (params.revision_label, target.commit or "", "commit"),
    ]
    for key, want, what in wanted:
        if not key:
            continue
        found = [lab for lab in img.labels if lab.key == key]
        evidence += [f"{lab.key}={lab.value} ({lab.source})" for lab in found]
        if not found:
            violations.append(Violation(f"label {key} is missing (it should be the {what} {want})"))
        for lab in found:
            ok = slsa.same_repo(lab.value, want, host) if what == "repository" else slsa.same_commit(lab.value, want)
            if not ok:
                violations.append(Violation(f"{key}={lab.value} ({lab.source}), but the gated {what} is {want}"))
    checked = [k for k, _, _ in wanted if k]
    message = (
        f"{len(violations)} label problem(s) on {img.digest}"
        if violations
        else f"{', '.join(checked)} match {target.repository}@{(target.commit or '')[:12]}"
    )
    yield Outcome(img.subject, message, tuple(violations), tuple(evidence) + img.notes)


# --- image.signature ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureParams:
    """The params of image.signature.

    keys: the public keys a signature must verify with: PEM files relative to the repository root, or inline
        PEM text. Empty is an error, never a pass.
        e.g. [cosign.pub]
    """

    keys: tuple[str, ...] = ()  # PEM public-key files (relative to the repository root) or inline PEM


def _sig_scope(params: SignatureParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return v.key_scope(params.keys, "signatures")


@check(
    "image.signature",
    title="The image carries a cosign signature from a trusted key",
    severity=Severity.HIGH,
    needs=("oci_image",),
    params=SignatureParams,
    requires_target=("image",),
    scope=_sig_scope,
)
def signature(facts: Facts, params: SignatureParams, target: Target) -> Iterator[Outcome]:
    """A cosign signature of the image verifies with one of the policy's `keys` and binds the image digest.

    Signatures are read from cosign's classic layout (the tag `sha256-<hex>.sig` next to the image;
    every layer is one signature) and from OCI 1.1 referrers. Each signature is verified over the exact
    simple-signing payload bytes with every key (ECDSA P-256/P-384/P-521, RSA PKCS#1 v1.5 or PSS,
    Ed25519); the payload's `critical.image.docker-manifest-digest` must be the image digest (for a
    multi-arch image, the index digest), so a signature copied from another image fails. The
    payload's docker-reference is informative only: images are relocated between registries.

    Params: `keys` - PEM public keys: file paths relative to the repository root, or inline PEM text.
    On a pull/merge request the key files are read from the target branch, never from the request
    (docs/security.md): a request that replaces `cosign.pub` is still judged with the target branch's
    key. An empty list is an error, never a pass. Keyless signatures (Fulcio certificates) are listed
    but not verified yet.

    Fix: `cosign sign --key cosign.key registry/app@sha256:<digest>` in the release pipeline, and commit
    `cosign.pub` to the repository.
    """
    img = facts.oci_image
    if img.signatures is None:
        yield v.unread(img, "signatures")
        return
    if not params.keys:
        yield Outcome(img.subject, "no keys configured", error=v.NEEDS_KEYS.format(id="image.signature"))
        return
    keys, problems = v.keys_of(params.keys, img.keys)
    judged = [(s, *_judge_signature(s, keys, img.digest or "")) for s in img.signatures]
    good = [(s, why) for s, ok, why in judged if ok]
    evidence = tuple(f"{s.source} layer {s.layer_digest[:19]}: {why}" for s, _, why in judged) + img.notes
    if good:
        yield Outcome(
            img.subject, f"{good[0][1]} ({len(good)} of {len(judged)} signatures)", evidence=evidence + tuple(problems)
        )
    elif problems:
        yield Outcome(
            img.subject,
            "cannot verify signatures",
            evidence=evidence,
            error="the policy's keys cannot be used: " + "; ".join(problems),
        )
    elif not judged:
        yield Outcome(
            img.subject,
            f"no signature for {img.digest}",
            evidence=evidence,
            violations=(
                Violation(
                    f"no cosign signature found for {img.digest} (tag {img.digest and img.digest.replace(':', '-')}.sig"
                    " and OCI referrers)"
                ),
            ),
        )
    else:
        yield Outcome(
            img.subject,
            f"none of {len(judged)} signatures verifies and binds {img.digest}",
            tuple(Violation(f"{s.source} layer {s.layer_digest[:19]}: {why}") for s, _, why in judged),
            evidence,
        )


def _judge_signature(s: Signature, keys: list[v.Key], digest: str) -> tuple[bool, str]:
    """(binds the digest with a policy key, why)."""
    if s.error:
        return False, f"could not be read: {s.error}"
    payload, sig = v.b64(s.payload), v.b64(s.signature)
    if payload is None or not sig:
        return False, "no signature annotation (dev.cosignproject.cosign/signature)"
    key = v.first_verifying(keys, sig, payload)
    if key is None:
        extra = " (a keyless signature: certificate identities are not verified yet)" if s.certificate else ""
        return False, f"does not verify with any of the {len(keys)} policy key(s){extra}"
    try:
        data = json.loads(payload)
        critical = data["critical"]
        signed = critical["image"]["docker-manifest-digest"]
        kind, reference = critical.get("type"), critical.get("identity", {}).get("docker-reference")
    except (ValueError, KeyError, TypeError, AttributeError):
        return False, f"verifies with {key.id} but the payload is not a cosign simple-signing payload"
    if kind != COSIGN_TYPE:
        return False, f"verifies with {key.id} but its type is {kind!r}, not {COSIGN_TYPE!r}"
    if signed != digest:
        return False, f"verifies with {key.id} but signs {signed}, not {digest} (a signature copied from another image)"
    return True, f"verified with {key.id}, binds {digest} (signed as {reference})"
