"""Fact types read from an OCI registry (filled in by the OCI provider, mlops_gate.providers.oci).

Plain data only: signatures, DSSE envelopes and Sigstore bundles are kept as the registry (or the GitHub
attestations API) served them, and are verified by the checks with the policy's keys or keyless signers and
trusted roots — verification is judgement, not a fact.
Every manifest and blob behind these values had its digest verified when it was read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """One label or annotation, and where it was found (labels and annotations are merged)."""

    key: str
    value: str
    source: str  # "index annotation" | "manifest annotation" | "config label", + " (linux/amd64)" on an index


@dataclass(frozen=True)
class PlatformManifest:
    """One image manifest of a multi-arch index."""

    digest: str
    media_type: str
    platform: str  # os/arch[/variant]; "unknown/unknown" for buildx attestation manifests
    config_digest: str | None = None  # None: not read


@dataclass(frozen=True)
class Signature:
    """One cosign signature: a layer of a signature manifest (classic `sha256-<hex>.sig` tag, or a
    referrer). `payload` is the exact signed bytes (the simple-signing JSON), base64-encoded."""

    source: str  # "tag sha256-<hex>.sig" | "referrer sha256:..."
    manifest_digest: str  # the signature manifest
    layer_digest: str
    payload: str  # base64 of the payload blob
    signature: str  # base64 signature, as the `dev.cosignproject.cosign/signature` annotation holds it
    certificate: str | None = None  # PEM (keyless signing: `dev.sigstore.cosign/certificate`)
    chain: str | None = None  # informative only: intermediates come from the trusted root
    bundle: str | None = None  # the Rekor bundle annotation (`dev.sigstore.cosign/bundle`), verbatim
    error: str | None = None  # why this layer could not be read (its other fields are then empty)


@dataclass(frozen=True)
class DsseSignature:
    sig: str  # base64
    keyid: str = ""  # a hint only; verification tries every policy key


@dataclass(frozen=True)
class Attestation:
    """One DSSE envelope attached to the image (in-toto statement inside, base64 in `payload`)."""

    source: str  # "tag sha256-<hex>.att" | "referrer sha256:..." | "bundle (referrer sha256:...)"
    manifest_digest: str
    layer_digest: str
    payload_type: str
    payload: str  # base64 of the statement bytes, exactly as signed
    signatures: tuple[DsseSignature, ...] = ()
    predicate_type: str | None = None  # the manifest's annotation, informative (the statement decides)
    certificate: str | None = None  # PEM (keyless: the `dev.sigstore.cosign/certificate` annotation)
    error: str | None = None
    chain: str | None = None  # informative only
    rekor_bundle: str | None = None  # the Rekor bundle annotation (`dev.sigstore.cosign/bundle`), verbatim


@dataclass(frozen=True)
class SigstoreBundle:
    """One Sigstore bundle (v0.1-v0.3), verbatim: a cosign v3 signature or attestation stored as an OCI referrer,
    or a GitHub artifact attestation from the attestations API. What it is (a signature, provenance) is
    decided after verification, by what it signs."""

    source: str  # "referrer sha256:..." | "GitHub attestations API (owner/name)"
    json: str  # the bundle as served ("" when it could not be read)
    digest: str = ""  # sha256 of the bundle's bytes as stored (a registry blob digest is verified on read)
    error: str | None = None


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
