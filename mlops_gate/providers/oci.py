"""The target image, read from its OCI registry: digest, manifests, labels, signatures, attestations.

What to read comes from the checks' scope: `labels`, `signatures`, `attestations`, and `key:<path>` for
each public-key file a check's `keys` names (read relative to the repository root, so the checks
stay pure; on a pull/merge request from the target branch, never from the change: mlops_gate.trust).
No target image (`--image` unset) is not an error: the facts say so, with no request, so
`image.digest-pinned` can still judge the repository's manifests.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mlops_gate.facts.oci import Attestation, ImageFacts, PublicKey, Signature
from mlops_gate.providers import Context
from mlops_gate.providers._oci_ref import parse

if TYPE_CHECKING:
    from mlops_gate.providers._oci_client import Client

LABELS, SIGNATURES, ATTESTATIONS, KEY = "labels", "signatures", "attestations", "key:"
MAX_KEY_BYTES = 64 << 10


def oci_image(ctx: Context) -> ImageFacts:
    read = [read_key(ctx, item[len(KEY) :]) for item in sorted(ctx.scope) if item.startswith(KEY)]
    keys, key_notes = tuple(k for k, _ in read), tuple(n for _, n in read if n)
    if not ctx.target.image:
        return ImageFacts(ref="", keys=keys, notes=("no target image (--image or target.image)", *key_notes))
    from mlops_gate.providers import http, netpolicy
    from mlops_gate.providers._oci_client import MAX_BLOB, Client  # HTTP stack: only when there is an image to read

    ref = parse(ctx.target.image)
    limit = min(netpolicy.limits(ctx.env).max_bytes, MAX_BLOB)
    client = Client(ref, ctx.env, ctx.meter, http.adapter(ctx, max_bytes=limit))
    try:
        facts = _read(client, ctx, ctx.target.image, keys)
    finally:
        client.close()
    return replace(facts, notes=facts.notes + key_notes) if key_notes else facts


def _read(client: Client, ctx: Context, given: str, keys: tuple[PublicKey, ...]) -> ImageFacts:
    from mlops_gate.providers._oci_artifacts import (
        classic_attestations,
        classic_signatures,
        doc,
        labels,
        platforms,
        referrers,
    )
    from mlops_gate.providers._oci_client import INDEX_TYPES

    ref = client.ref
    top = client.manifest(ref.digest or ref.tag or "latest", f"image {given}")
    assert top is not None
    ctx.meter.read(top.url)
    manifest = doc(top, f"image {given}")
    plats = platforms(manifest) if top.media_type in INDEX_TYPES else []
    notes = list(client.notes)
    if not ref.digest and not ref.tag:
        notes.append("no tag or digest given: resolved the `latest` tag")
    found_labels = None
    if LABELS in ctx.scope:
        got, plats, label_notes = labels(client, top, manifest, plats)
        found_labels, notes = tuple(got), notes + label_notes
    sigs: list[Signature] | None = None
    atts: list[Attestation] | None = None
    api = None
    if SIGNATURES in ctx.scope:
        sigs = classic_signatures(client, top.digest)
    if ATTESTATIONS in ctx.scope:
        atts = classic_attestations(client, top.digest)
    if SIGNATURES in ctx.scope or ATTESTATIONS in ctx.scope:
        api, ref_sigs, ref_atts, ref_notes = referrers(client, top.digest)
        notes += ref_notes
        if sigs is not None:
            sigs += ref_sigs
        if atts is not None:
            atts += ref_atts
    return ImageFacts(
        ref=given,
        registry=ref.registry,
        repository=ref.repository,
        tag=ref.tag,
        pinned=ref.digest is not None,
        digest=top.digest,
        media_type=top.media_type,
        platforms=tuple(plats),
        labels=found_labels,
        signatures=None if sigs is None else tuple(sigs),
        attestations=None if atts is None else tuple(atts),
        keys=keys,
        referrers_api=api,
        notes=tuple(notes),
        url=top.url,
    )


def read_key(ctx: Context, name: str) -> tuple[PublicKey, str | None]:
    """A key file the policy names, read where the gate trusts it (providers/anchors.py), and a note saying
    where when that is not the working tree."""
    from mlops_gate.providers import anchors

    try:
        anchor = anchors.read_anchor(ctx.root, ctx.target, ctx.inputs.anchors, name, MAX_KEY_BYTES)
    except anchors.AnchorError as exc:
        return PublicKey(name, error=exc.diagnostics()), None
    ctx.meter.read(anchor.source)
    note = anchor.note or (
        f"key {name} read from {anchor.source.removeprefix('git ')}" if anchor.source.startswith("git ") else None
    )
    data = anchor.data
    if len(data) > MAX_KEY_BYTES or b"-----BEGIN" not in data:
        return PublicKey(name, error=f"{name} is not a PEM public key"), note
    try:
        return PublicKey(name, pem=data.decode("ascii")), note
    except UnicodeDecodeError:
        return PublicKey(name, error=f"{name} is not a PEM public key"), note
