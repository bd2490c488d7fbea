"""What a registry (or the GitHub attestations API) serves about an image, as fact types: labels, the manifests
of a multi-arch index, cosign signatures, DSSE attestations and Sigstore bundles, kept as served (the checks
verify them). Part of the `oci_image` kind (mlops_gate.facts.oci, which re-exports them): in a module of its
own so that a run without a target image does not create these types.
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
    """One signature of a DSSE envelope: base64 over PAE(payloadType, payload), with a key id hint."""

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
