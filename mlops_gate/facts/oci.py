"""Fact types read from an OCI registry (filled in by the OCI provider, mlops_gate.providers.oci).

Plain data only: signatures, DSSE envelopes and Sigstore bundles are kept as the registry (or the GitHub
attestations API) served them, and are verified by the checks with the policy's keys or keyless signers and
trusted roots — verification is judgement, not a fact.
Every manifest and blob behind these values had its digest verified when it was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # re-exported; imported when first asked for (a run without a target image never needs them)
    from mlops_gate.facts.oci_artifacts import Attestation as Attestation
    from mlops_gate.facts.oci_artifacts import DsseSignature as DsseSignature
    from mlops_gate.facts.oci_artifacts import Label as Label
    from mlops_gate.facts.oci_artifacts import PlatformManifest as PlatformManifest
    from mlops_gate.facts.oci_artifacts import Signature as Signature
    from mlops_gate.facts.oci_artifacts import SigstoreBundle as SigstoreBundle

ARTIFACTS = ("Attestation", "DsseSignature", "Label", "PlatformManifest", "Signature", "SigstoreBundle")


def __getattr__(name: str) -> Any:
    if name in ARTIFACTS:
        from mlops_gate.facts import oci_artifacts

        return getattr(oci_artifacts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class TrustedRootFile:
    """A Sigstore trusted root file a check's `trusted_roots` names (JSON, or JSON lines: one root a line), read
    where trust anchors are read; `path` "(public-good)" is the root shipped with sigstore-python."""

    path: str
    text: str | None = None
    source: str = ""  # where it was read: a path, `git origin/main:roots.jsonl`, the sigstore package
    error: str | None = None


@dataclass(frozen=True)
class PublicKey:
    """A key file named by a check's `keys` param, read from the repository (keys are policy, but the
    checks are pure: the provider reads the files so the checks need no I/O)."""

    path: str  # as written in the policy
    pem: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ImageFacts:
    """The target image as the registry serves it. `ref == ""`: no target image was given (the static
    checks still run); `signatures`/`attestations` None: not read (no check asked for them)."""

    ref: str  # as given
    registry: str = ""
    repository: str = ""
    tag: str | None = None
    pinned: bool = False  # the reference named a digest
    digest: str | None = None  # the manifest (or index) digest the reference resolves to
    media_type: str = ""
    platforms: tuple[PlatformManifest, ...] = ()  # a multi-arch index's manifests
    labels: tuple[Label, ...] | None = None  # None: not read
    signatures: tuple[Signature, ...] | None = None
    attestations: tuple[Attestation, ...] | None = None
    bundles: tuple[SigstoreBundle, ...] | None = None  # None: not read
    keys: tuple[PublicKey, ...] = ()
    trusted_roots: tuple[TrustedRootFile, ...] = ()
    referrers_api: bool | None = None  # the registry answered the OCI 1.1 referrers API (None: not asked)
    notes: tuple[str, ...] = ()
    url: str = ""  # the manifest URL

    @property
    def subject(self) -> str:
        where = f"{self.registry}/{self.repository}" if self.registry else self.ref
        return f"oci:{where}@{self.digest}" if self.digest else f"oci:{self.ref}"
