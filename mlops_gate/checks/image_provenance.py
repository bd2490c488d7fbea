"""image.provenance: the image has a signed SLSA provenance attestation from an allowed builder, for the gated
repository and commit (the DSSE envelope verified with the policy's keys, then its in-toto statement judged)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _oci_verify as v
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.oci import Attestation
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class ProvenanceParams:
    """The params of image.provenance.

    keys: the public keys that sign the attestations: PEM files relative to the repository root, or inline PEM.
        e.g. [cosign.pub]
    builder_ids: the builders allowed to have built the image (globs over the provenance's builder id).
        e.g. ["https://github.com/slsa-framework/slsa-github-generator/*"]
    predicate_types: the provenance formats accepted.
        e.g. ["https://slsa.dev/provenance/v1"]
    """

    keys: tuple[str, ...] = ()  # PEM public keys that sign the attestations
    builder_ids: tuple[str, ...] = ()  # allowed builder ids (globs)
    predicate_types: tuple[str, ...] = (slsa.SLSA_V1, slsa.SLSA_V02)


def _prov_scope(params: ProvenanceParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return v.key_scope(params.keys, "attestations")


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
        yield v.unread(img, "attestations")
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
