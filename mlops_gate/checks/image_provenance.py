"""image.provenance: the image has a signed SLSA provenance attestation from an allowed builder, for the gated
repository and commit (signed with the policy's keys or by a keyless signer, then its in-toto statement judged)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _keyless
from mlops_gate.checks import _oci_verify as v
from mlops_gate.checks._fulcio import Claims, Signer
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.oci import Attestation, ImageFacts
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class ProvenanceParams:
    """The params of image.provenance.

    keys: the public keys that sign the attestations: PEM files relative to the policy file's folder (else the
        repository root), or inline PEM.
        e.g. [cosign.pub]
    builder_ids: the builders allowed to have built the image (globs over the provenance's builder id).
        e.g. ["https://github.com/slsa-framework/slsa-github-generator/*"]
    predicate_types: the provenance formats accepted.
        e.g. ["https://slsa.dev/provenance/v1"]
    signers: keyless signers accepted (any one): the OIDC issuer exactly, globs over the certificate's workflow SAN,
        an optional source ref glob and the runner kind; the gated repository and commit are always required.
        e.g. [{issuer: "https://token.actions.githubusercontent.com", workflows: ["https://github.com/acme/app/.github/workflows/release.yml@*"]}]
    trusted_roots: Sigstore trusted root files (JSON, relative to the policy file's folder, else the repository
        root) keyless signatures must chain to; empty means the public-good instance's root shipped with
        sigstore-python.
        e.g. [sigstore/trusted_root.json]
    """

    keys: tuple[str, ...] = ()  # PEM public keys that sign the attestations
    builder_ids: tuple[str, ...] = ()  # allowed builder ids (globs)
    predicate_types: tuple[str, ...] = (slsa.SLSA_V1, slsa.SLSA_V02)
    signers: tuple[Signer, ...] = ()  # keyless signers (any of them), as image.signature's
    trusted_roots: tuple[str, ...] = ()  # Sigstore trusted root files; empty: the public-good root


def _prov_scope(params: ProvenanceParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    items = v.key_scope(params.keys, "attestations")["oci_image"]
    return {"oci_image": (*items, *_keyless.scope(params.signers, params.trusted_roots, target))}


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
    `sha256-<hex>` tag fallback), Sigstore bundles stored as referrers (cosign v3, `actions/attest` with
    `push-to-registry`) and, on GitHub, the attestations API (`actions/attest-build-provenance`). One must:
    be signed with one of `keys`, or by one of the keyless `signers` (verified offline against
    `trusted_roots`, as image.signature says: the certificate's source repository and commit must be the
    gated ones); carry an in-toto statement (payloadType `application/vnd.in-toto+json`) whose subject
    digest is the image digest (a multi-arch image: the index digest); have a `predicateType` in
    `predicate_types` (SLSA v1 and v0.2 — a cosign v3 signature, predicate
    `https://sigstore.dev/cosign/sign/v1`, is never provenance); name a builder (`runDetails.builder.id`,
    or v0.2 `builder.id`) matching `builder_ids`; and name the target repository and commit as its source
    (v1: `resolvedDependencies` / `externalParameters`; v0.2: `invocation.configSource` / `materials`).
    Empty `builder_ids`, or neither `keys` nor `signers`, is an error, never a pass.

    Builder ids: `actions/attest-build-provenance` names the runner
    (`https://github.com/actions/runner/github-hosted`); the SLSA GitHub generator names its workflow
    (`https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0`).

    Fix: `actions/attest-build-provenance` with `subject-digest` (and `push-to-registry: true`), the SLSA
    GitHub container generator, or `cosign attest --type slsaprovenance1 --predicate provenance.json
    IMAGE@DIGEST`; list the builder id and the signing workflow.
    """
    img = facts.oci_image
    if img.attestations is None:
        yield v.unread(img, "attestations")
        return
    missing = [
        n
        for n, val in (("keys (or signers)", params.keys or params.signers), ("builder_ids", params.builder_ids))
        if not val
    ]
    if missing:
        yield Outcome(
            img.subject,
            "not configured",
            error=" and ".join(f"set checks.image.provenance.params.{n}" for n in missing)
            + " (an empty allow-list cannot pass)",
        )
        return
    keys, problems = v.keys_of(params.keys, img.keys)
    keyless = _keyless.setup("image.provenance", params.signers, params.trusted_roots, img, target)
    if keyless is not None and keyless.problems:
        yield Outcome(
            img.subject, "cannot verify keyless attestations", evidence=img.notes, error="; ".join(keyless.problems)
        )
        return
    judged = [(f.where, *judge(f, params, target)) for f in verified_statements(img, keys, keyless)]
    good = [why for _, ok, why in judged if ok]
    evidence = tuple(f"{where}: {why}" for where, _, why in judged) + img.notes
    unreadable = [f"{where}: {why}" for where, ok, why in judged if not ok and why.startswith("could not be read")]
    if good:
        yield Outcome(img.subject, good[0], evidence=evidence + tuple(problems))
    elif problems:
        yield Outcome(
            img.subject,
            "cannot verify attestations",
            evidence=evidence,
            error="the policy's keys cannot be used: " + "; ".join(problems),
        )
    elif unreadable:
        yield Outcome(img.subject, "attestations could not be read", evidence=evidence, error="; ".join(unreadable))
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
            tuple(Violation(f"{where}: {why}") for where, _, why in judged),
            evidence,
        )


@dataclass(frozen=True)
class Found:
    """One attestation: its verified in-toto statement about the image and who signed it, or why not."""

    where: str
    statement: slsa.Statement | None
    by: str  # "signed by cosign.pub" / "keyless ..." when verified; why not otherwise
    claims: Claims | None = None  # keyless: the certificate's source repository and commit


def verified_statements(img: ImageFacts, keys: list[v.Key], keyless: _keyless.Keyless | None) -> list[Found]:
    """Every attestation and bundle of the image, verified (keys first, then keyless) and its statement read."""
    digest = img.digest or ""
    found = []
    for a in img.attestations or ():
        where = f"{a.source} layer {a.layer_digest[:19]}"
        statement, by = verified_statement(a, keys, digest)
        if statement is None and keyless is not None and a.certificate and not a.error:
            got = _keyless.attestation(a, keyless)
            found.append(_from_keyless(where, got, digest))
        else:
            found.append(Found(where, statement, by))
    for b in img.bundles or ():
        envelope = v.bundle_envelope(b)
        statement, by = verified_statement(envelope, keys, digest) if envelope else (None, "")
        if statement is None and keyless is not None and not b.error:
            found.append(_from_keyless(b.source, _keyless.bundle(b, keyless, digest), digest))
        elif statement is None:
            found.append(Found(b.source, None, f"could not be read: {b.error}" if b.error else by or "not verified"))
        else:
            found.append(Found(b.source, statement, by))
    return found


def _from_keyless(where: str, got: _keyless.Signed | str, digest: str) -> Found:
    if isinstance(got, str):
        return Found(where, None, got)
    if got.payload_type != slsa.IN_TOTO:
        return Found(where, None, f"{got.by}, but it is not an in-toto statement (payloadType {got.payload_type!r})")
    statement = slsa.parse(got.payload)
    if isinstance(statement, str):
        return Found(where, None, f"{got.by}, but {statement}")
    if digest not in statement.subjects:
        return Found(
            where, None, f"{got.by}, but its subject is {', '.join(statement.subjects) or 'empty'}, not {digest}"
        )
    return Found(where, statement, got.by, got.claims)


def verified_statement(a: Attestation, keys: list[v.Key], digest: str) -> tuple[slsa.Statement | None, str]:
    """(statement, "signed by <key>") for a DSSE envelope that verifies with a key and whose subject is
    `digest`; (None, why not) otherwise."""
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
        extra = " (keyless: configure `signers` to verify its certificate)" if a.certificate else ""
        return None, f"no signature verifies with the {len(keys)} policy key(s){extra}"
    statement = slsa.parse(body)
    if isinstance(statement, str):
        return None, f"signed by {key.id}, but {statement}"
    if digest not in statement.subjects:
        return None, f"signed by {key.id}, but its subject is {', '.join(statement.subjects) or 'empty'}, not {digest}"
    return statement, f"signed by {key.id}"


def judge(f: Found, params: ProvenanceParams, target: Target) -> tuple[bool, str]:
    """(acceptable provenance, why)."""
    statement = f.statement
    if statement is None:
        return False, f.by
    if statement.predicate_type not in params.predicate_types:
        return False, f"{f.by}, predicate {statement.predicate_type!r} is not SLSA provenance"
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
    return True, f"verified SLSA provenance {f.by}: built by {builder} from {repo}@{commit[:12]}"
