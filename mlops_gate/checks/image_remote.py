"""image checks read from the registry: OCI labels (signatures: image_signature; SLSA provenance: image_provenance).

Pure over the `oci_image` facts: the provider fetched every byte (digests verified); this check judges the
labels and annotations the registry serves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mlops_gate.checks import _oci_verify as v
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.lang import slsa
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

SOURCE, REVISION = "org.opencontainers.image.source", "org.opencontainers.image.revision"


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
