"""What hangs off an image: labels (config and annotations), cosign signatures and DSSE attestations,
from cosign's classic tag layout (`sha256-<hex>.sig` / `.att`), the OCI 1.1 referrers API (or its
tag-schema fallback `sha256-<hex>`), and Sigstore bundles stored as referrers (cosign v3, actions/attest with
`push-to-registry`), kept verbatim for the checks to verify and classify."""

from __future__ import annotations

import base64
import json
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.facts.oci import Attestation, DsseSignature, Label, PlatformManifest, Signature, SigstoreBundle
from mlops_gate.providers._oci_client import INDEX_TYPES, Client, Fetched

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
BUNDLE_TYPES = ("application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.dev.sigstore.bundle+json;version=0.3")
A_SIGNATURE = "dev.cosignproject.cosign/signature"
A_CERT, A_CHAIN, A_BUNDLE = "dev.sigstore.cosign/certificate", "dev.sigstore.cosign/chain", "dev.sigstore.cosign/bundle"
MAX_BUNDLE = 1 << 20  # a Sigstore bundle is a few KiB; a MiB is plenty
MAX_REFERRERS = 32  # bound the requests one image may cost


def doc(fetched: Fetched, what: str) -> dict[str, Any]:
    try:
        data = json.loads(fetched.body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise FactError(f"{what}: {fetched.url} is not a JSON manifest")
    return data


def platform_of(desc: dict[str, Any]) -> str:
    p = desc.get("platform") or {}
    parts = [str(p.get("os") or "unknown"), str(p.get("architecture") or "unknown")]
    return "/".join(parts + ([str(p["variant"])] if p.get("variant") else []))


def platforms(index: dict[str, Any]) -> list[PlatformManifest]:
    return [
        PlatformManifest(str(d.get("digest")), str(d.get("mediaType") or ""), platform_of(d))
        for d in index.get("manifests") or ()
        if isinstance(d, dict) and d.get("digest")
    ]


def labels(
    client: Client, top: Fetched, manifest: dict[str, Any], plats: list[PlatformManifest]
) -> tuple[list[Label], list[PlatformManifest], list[str]]:
    """Annotations of the index and of each manifest, and each image config's labels, with their source.
    buildx attestation manifests (platform unknown/unknown) carry no image and are skipped."""
    out: list[Label] = []
    notes: list[str] = []
    if top.media_type in INDEX_TYPES:
        out += _annotations(manifest, "index annotation")
        read = []
        for p in plats:
            if p.platform == "unknown/unknown":
                read.append(p)
                continue
            sub = client.manifest(p.digest, f"manifest {p.digest} ({p.platform})")
            assert sub is not None
            body = doc(sub, "platform manifest")
            config_digest, found = _image_labels(client, body, f" ({p.platform})")
            out += found
            read.append(PlatformManifest(p.digest, p.media_type, p.platform, config_digest))
        return out, read, notes
    config_digest, found = _image_labels(client, manifest, "")
    if config_digest is None:
        notes.append(f"{top.media_type or 'the manifest'} has no image config: no labels read")
    return found, plats, notes


def _image_labels(client: Client, manifest: dict[str, Any], where: str) -> tuple[str | None, list[Label]]:
    found = _annotations(manifest, f"manifest annotation{where}")
    config = manifest.get("config") if isinstance(manifest.get("config"), dict) else None
    if not config or not config.get("digest"):
        return None, found
    digest = str(config["digest"])
    try:
        data = json.loads(client.blob(digest, f"image config {digest}"))
    except (ValueError, RecursionError):
        data = {}
    cfg = (data.get("config") or data.get("container_config") or {}) if isinstance(data, dict) else {}
    labels = cfg.get("Labels") if isinstance(cfg, dict) else None
    for key, value in sorted((labels or {}).items()):
        found.append(Label(str(key), str(value), f"config label{where}"))
    return digest, found


def _annotations(manifest: dict[str, Any], source: str) -> list[Label]:
    ann = manifest.get("annotations")
    return [Label(str(k), str(v), source) for k, v in sorted(ann.items())] if isinstance(ann, dict) else []


def tag_of(digest: str, suffix: str) -> str:
    return digest.replace(":", "-", 1) + suffix


# --- cosign classic layout --------------------------------------------------------------------------


def classic_signatures(client: Client, digest: str) -> list[Signature]:
    tag = tag_of(digest, ".sig")
    fetched = client.manifest(tag, f"signature manifest {tag}", ok_404=True)
    return [] if fetched is None else signatures_in(client, fetched, f"tag {tag}")


def signatures_in(client: Client, fetched: Fetched, source: str) -> list[Signature]:
    manifest = doc(fetched, source)
    out = []
    for layer in manifest.get("layers") or ():
        if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLESIGNING:
            continue
        ann = layer.get("annotations") or {}
        ldigest = str(layer.get("digest"))
        try:
            payload = base64.b64encode(client.blob(ldigest, f"signature payload {ldigest}")).decode()
            error = None
        except FactError as exc:
            payload, error = "", exc.message
        out.append(
            Signature(
                source,
                fetched.digest,
                ldigest,
                payload,
                str(ann.get(A_SIGNATURE) or ""),
                ann.get(A_CERT),
                ann.get(A_CHAIN),
                ann.get(A_BUNDLE),
                error,
            )
        )
    return out


def classic_attestations(client: Client, digest: str) -> list[Attestation]:
    tag = tag_of(digest, ".att")
    fetched = client.manifest(tag, f"attestation manifest {tag}", ok_404=True)
    return [] if fetched is None else attestations_in(client, fetched, f"tag {tag}")


def attestations_in(client: Client, fetched: Fetched, source: str) -> list[Attestation]:
    manifest = doc(fetched, source)
    out = []
    for layer in manifest.get("layers") or ():
        if not isinstance(layer, dict) or layer.get("mediaType") != DSSE:
            continue
        ldigest = str(layer.get("digest"))
        found = layer.get("annotations")
        ann: dict[str, Any] = found if isinstance(found, dict) else {}
        try:
            data = json.loads(client.blob(ldigest, f"attestation {ldigest}"))
        except (FactError, ValueError, RecursionError) as exc:
            why = exc.message if isinstance(exc, FactError) else "not JSON (or nested too deeply)"
            out.append(Attestation(source, fetched.digest, ldigest, "", "", error=why))
            continue
        out.append(_envelope(data, source, fetched.digest, ldigest, ann))
    return out


def _envelope(data: Any, source: str, mdigest: str, ldigest: str, ann: dict[str, Any]) -> Attestation:
    if not isinstance(data, dict) or not isinstance(data.get("payload"), str):
        return Attestation(source, mdigest, ldigest, "", "", error="not a DSSE envelope (no payload)")
    sigs = tuple(
        DsseSignature(str(s.get("sig") or ""), str(s.get("keyid") or ""))
        for s in data.get("signatures") or ()
        if isinstance(s, dict)
    )

    def text(key: str) -> str | None:
        value = ann.get(key)
        return str(value) if value else None

    return Attestation(
        source,
        mdigest,
        ldigest,
        str(data.get("payloadType") or ""),
        data["payload"],
        sigs,
        text("predicateType"),
        text(A_CERT),
        None,
        text(A_CHAIN),
        text(A_BUNDLE),
    )


def bundles_in(client: Client, fetched: Fetched, source: str) -> list[SigstoreBundle]:
    """Every Sigstore bundle layer of a referrer manifest, verbatim."""
    out = []
    for layer in doc(fetched, source).get("layers") or ():
        if not isinstance(layer, dict) or layer.get("mediaType") not in BUNDLE_TYPES:
            continue
        ldigest = str(layer.get("digest"))
        try:
            data = client.blob(ldigest, f"sigstore bundle {ldigest}")
            if len(data) > MAX_BUNDLE:
                raise FactError(f"sigstore bundle {ldigest} is larger than {MAX_BUNDLE} bytes")
            out.append(SigstoreBundle(source, data.decode("utf-8"), ldigest))
        except FactError as exc:
            out.append(SigstoreBundle(source, "", ldigest, exc.message))
        except UnicodeDecodeError:
            out.append(SigstoreBundle(source, "", ldigest, "not UTF-8 text"))
    return out


# --- OCI 1.1 referrers ------------------------------------------------------------------------------


def referrers(
    client: Client, digest: str
) -> tuple[bool, list[Signature], list[Attestation], list[SigstoreBundle], list[str]]:
    """(whether the referrers API answered, signatures, attestations, bundles, notes)."""
    index = client.referrers(digest, f"referrers of {digest}")
    api = index is not None
    if index is None:
        tag = tag_of(digest, "")
        index = client.manifest(tag, f"referrers tag {tag}", ok_404=True)
        if index is None:
            return False, [], [], [], []
    descs = [d for d in doc(index, "referrers index").get("manifests") or () if isinstance(d, dict)]
    notes = [f"{len(descs)} referrers; only the first {MAX_REFERRERS} read"] if len(descs) > MAX_REFERRERS else []
    sigs: list[Signature] = []
    atts: list[Attestation] = []
    bundles: list[SigstoreBundle] = []
    for desc in descs[:MAX_REFERRERS]:
        rdigest = str(desc.get("digest"))
        kind = str(desc.get("artifactType") or "")
        fetched = client.manifest(rdigest, f"referrer {rdigest}")
        assert fetched is not None
        body = doc(fetched, f"referrer {rdigest}")
        kind = kind or str(body.get("artifactType") or (body.get("config") or {}).get("mediaType") or "")
        subject = (body.get("subject") or {}).get("digest")
        if subject != digest:
            notes.append(f"referrer {rdigest} names subject {subject}, not {digest}: ignored")
            continue
        if kind in (COSIGN_SIG_ARTIFACT, SIMPLESIGNING):
            sigs += signatures_in(client, fetched, f"referrer {rdigest}")
        elif kind in BUNDLE_TYPES:
            bundles += bundles_in(client, fetched, f"referrer {rdigest}")
        elif kind == DSSE or "in-toto" in kind:
            atts += attestations_in(client, fetched, f"referrer {rdigest}")
    return api, sigs, atts, bundles, notes
