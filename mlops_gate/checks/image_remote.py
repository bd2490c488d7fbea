"""image checks read from the registry: OCI labels, cosign signatures, SLSA provenance.

Pure over the `oci_image` facts: the provider fetched every byte (digests verified); these checks
verify signatures with the policy's keys and judge what the signed documents say.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _oci_verify as v
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.oci import Attestation, ImageFacts, Signature
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

SOURCE, REVISION = "org.opencontainers.image.source", "org.opencontainers.image.revision"
COSIGN_TYPE = "cosign container image signature"
NEEDS_KEYS = "no `keys` in the policy: set checks.{id}.params.keys (PEM public-key files or inline PEM)"


def key_scope(keys: tuple[str, ...], *items: str) -> Mapping[str, tuple[str, ...]]:
    """Ask the provider for `items` and to read the key files (inline PEM needs no reading)."""
    return {"oci_image": (*items, *(f"key:{k}" for k in keys if v.PEM_MARK not in k))}


def unread(img: ImageFacts, what: str) -> Outcome:
    return Outcome(
        img.subject,
        f"{what} not read",
        evidence=img.notes,
        error=f"the {what} of {img.ref} were not collected (facts read without this check enabled?)",
    )


# --- image.labels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelParams:
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
        yield unread(img, "labels")
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
    keys: tuple[str, ...] = ()  # PEM public-key files (relative to the repository root) or inline PEM


def _sig_scope(params: SignatureParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return key_scope(params.keys, "signatures")


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
        yield unread(img, "signatures")
        return
    if not params.keys:
        yield Outcome(img.subject, "no keys configured", error=NEEDS_KEYS.format(id="image.signature"))
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


# --- image.provenance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenanceParams:
    keys: tuple[str, ...] = ()  # PEM public keys that sign the attestations
    builder_ids: tuple[str, ...] = ()  # allowed builder ids (globs)
    predicate_types: tuple[str, ...] = (slsa.SLSA_V1, slsa.SLSA_V02)


def _prov_scope(params: ProvenanceParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return key_scope(params.keys, "attestations")


@check(
    "image.provenance",
    title="The image has signed SLSA provenance from the gated commit",
    severity=Severity.HIGH,
    needs=("oci_image",),
    params=ProvenanceParams,
    requires_target=("image", "repository", "commit"),
    scope=_prov_scope,
)
def provenance(facts: Facts, params: ProvenanceParams, target: Target) -> Iterator[Outcome]:
    """A signed SLSA provenance attestation says the image was built by a trusted builder from the gated
    repository and commit.

    Attestations are DSSE envelopes from cosign's `sha256-<hex>.att` tag, OCI 1.1 referrers (or their
    `sha256-<hex>` tag fallback) and sigstore bundles (v0.3) carrying a DSSE envelope. One must: verify
    (DSSE PAE) with one of `keys`; carry an in-toto statement whose subject digest is the image digest;
    have a `predicateType` in `predicate_types` (SLSA v1 and v0.2); name a builder
    (`runDetails.builder.id`, or v0.2 `builder.id`) matching `builder_ids`; and name the target
    repository and commit as its source (v1: `resolvedDependencies` / `externalParameters`; v0.2:
    `invocation.configSource` / `materials`). Empty `keys` or `builder_ids` are errors, never passes.

    Fix: attest in the release pipeline (`cosign attest --key cosign.key --type slsaprovenance1
    --predicate provenance.json IMAGE@DIGEST`, or the SLSA GitHub generator) and list its builder id.
    """
    img = facts.oci_image
    if img.attestations is None:
        yield unread(img, "attestations")
        return
    missing = [n for n, val in (("keys", params.keys), ("builder_ids", params.builder_ids)) if not val]
    if missing:
        yield Outcome(
            img.subject,
            "not configured",
            error=" and ".join(f"set checks.image.provenance.params.{n}" for n in missing)
            + " (an empty allow-list cannot pass)",
        )
        return
    keys, problems = v.keys_of(params.keys, img.keys)
    judged = [(a, *judge_attestation(a, keys, img.digest or "", params, target)) for a in img.attestations]
    good = [(a, why) for a, ok, why in judged if ok]
    evidence = tuple(f"{a.source} layer {a.layer_digest[:19]}: {why}" for a, _, why in judged) + img.notes
    if good:
        yield Outcome(img.subject, good[0][1], evidence=evidence + tuple(problems))
    elif problems:
        yield Outcome(
            img.subject,
            "cannot verify attestations",
            evidence=evidence,
            error="the policy's keys cannot be used: " + "; ".join(problems),
        )
    elif not judged:
        yield Outcome(
            img.subject,
            f"no attestation for {img.digest}",
            evidence=evidence,
            violations=(Violation(f"no provenance attestation found for {img.digest} (.att tag and OCI referrers)"),),
        )
    else:
        yield Outcome(
            img.subject,
            f"none of {len(judged)} attestations is acceptable provenance",
            tuple(Violation(f"{a.source} layer {a.layer_digest[:19]}: {why}") for a, _, why in judged),
            evidence,
        )


def verified_statement(a: Attestation, keys: list[v.Key], digest: str) -> tuple[slsa.Statement | None, str]:
    """(statement, signing key id) for a DSSE envelope that verifies and whose subject is `digest`;
    (None, why not) otherwise."""
    if a.error:
        return None, f"could not be read: {a.error}"
    if a.payload_type != slsa.IN_TOTO:
        return None, f"payloadType {a.payload_type!r} is not {slsa.IN_TOTO}"
    body = v.b64(a.payload)
    if body is None:
        return None, "the payload is not base64"
    message = v.pae(a.payload_type, body)
    key = next((k for s in a.signatures if (sig := v.b64(s.sig)) for k in keys if v.verifies(k, sig, message)), None)
    if key is None:
        extra = " (keyless: certificate identities are not verified yet)" if a.certificate else ""
        return None, f"no signature verifies with the {len(keys)} policy key(s){extra}"
    statement = slsa.parse(body)
    if isinstance(statement, str):
        return None, f"signed by {key.id}, but {statement}"
    if digest not in statement.subjects:
        return None, f"signed by {key.id}, but its subject is {', '.join(statement.subjects) or 'empty'}, not {digest}"
    return statement, key.id


def judge_attestation(
    a: Attestation, keys: list[v.Key], digest: str, params: ProvenanceParams, target: Target
) -> tuple[bool, str]:
    """(acceptable provenance, why)."""
    statement, key_id = verified_statement(a, keys, digest)
    if statement is None:
        return False, key_id
    if statement.predicate_type not in params.predicate_types:
        return False, f"signed by {key_id}, predicate {statement.predicate_type!r} is not SLSA provenance"
    builder = statement.builder_id
    if not builder or not any(fnmatch.fnmatchcase(builder, p) for p in params.builder_ids):
        return False, f"builder {builder or '(none)'} is not in builder_ids"
    repo, commit = target.repository or "", target.commit or ""
    host = slsa.platform_host(target.platform, target.api_url)
    ours = [(u, c) for u, c in statement.sources if slsa.same_repo(u, repo, host)]
    if not ours:
        named = ", ".join(u for u, _ in statement.sources) or "none"
        return False, f"built from {named}, not {repo}"
    if not any(slsa.same_commit(c, commit) for _, c in ours):
        return False, f"built from commit {', '.join(c or '(none)' for _, c in ours)}, not {commit}"
    return True, f"verified SLSA provenance signed by {key_id}: built by {builder} from {repo}@{commit[:12]}"
