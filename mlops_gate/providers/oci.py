"""The target image, read from its OCI registry: digest, manifests, labels, signatures, attestations.

What to read comes from the checks' scope: `labels`, `signatures`, `attestations` (either reads the Sigstore
bundles stored as referrers), `github-attestations` (the GitHub attestations API, through the GitHub provider),
`key:<path>` for each public-key file a check's `keys` names and `root:<path>` for each Sigstore trusted root
its `trusted_roots` names (`root:public-good`: the one shipped with sigstore-python). Key and root files are
read relative to the repository root, so the checks stay pure; on a pull/merge request from the target branch,
never from the change (providers/anchors.py, mlops_gate.trust).
No target image (`--image` unset) is not an error: the facts say so, with no request, so
`image.digest-pinned` can still judge the repository's manifests.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mlops_gate.facts.oci import ImageFacts, PublicKey, TrustedRootFile
from mlops_gate.providers import Context

if TYPE_CHECKING:
    from mlops_gate.facts.oci_artifacts import Attestation, Signature, SigstoreBundle
    from mlops_gate.providers._oci_client import Client

LABELS, SIGNATURES, ATTESTATIONS, KEY = "labels", "signatures", "attestations", "key:"
GITHUB, ROOT = "github-attestations", "root:"
MAX_KEY_BYTES = 64 << 10
MAX_ROOT_BYTES = 1 << 20  # GitHub's root with its six CA and TSA generations is ~32 KiB


def oci_image(ctx: Context) -> ImageFacts:
    read = [read_key(ctx, item[len(KEY) :]) for item in sorted(ctx.scope) if item.startswith(KEY)]
    roots_read = [read_root(ctx, item[len(ROOT) :]) for item in sorted(ctx.scope) if item.startswith(ROOT)]
    keys, roots = tuple(k for k, _ in read), tuple(r for r, _ in roots_read)
    key_notes = tuple(n for _, n in [*read, *roots_read] if n)
    if not ctx.target.image:
        return ImageFacts(
            ref="", keys=keys, trusted_roots=roots, notes=("no target image (--image or target.image)", *key_notes)
        )
    from mlops_gate.providers import http, netpolicy
    from mlops_gate.providers._oci_client import MAX_BLOB, Client  # HTTP stack: only when there is an image to read
    from mlops_gate.providers._oci_ref import parse

    ref = parse(ctx.target.image)
    limit = min(netpolicy.limits(ctx.env).max_bytes, MAX_BLOB)
    client = Client(ref, ctx.env, ctx.meter, http.adapter(ctx, max_bytes=limit))
    try:
        facts = _read(client, ctx, ctx.target.image, keys)
    finally:
        client.close()
    return replace(facts, trusted_roots=roots, notes=facts.notes + key_notes)


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
    bundles: list[SigstoreBundle] | None = None
    api = None
    if SIGNATURES in ctx.scope:
        sigs = classic_signatures(client, top.digest)
    if ATTESTATIONS in ctx.scope:
        atts = classic_attestations(client, top.digest)
    if SIGNATURES in ctx.scope or ATTESTATIONS in ctx.scope:
        api, ref_sigs, ref_atts, bundles, ref_notes = referrers(client, top.digest)
        notes += ref_notes
        if sigs is not None:
            sigs += ref_sigs
        if atts is not None:
            atts += ref_atts
    if GITHUB in ctx.scope:
        bundles = (bundles or []) + github_bundles(ctx, top.digest, notes)
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
        bundles=None if bundles is None else tuple(bundles),
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
        anchor = anchors.read_named(ctx, name, MAX_KEY_BYTES)
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


def github_bundles(ctx: Context, digest: str, notes: list[str]) -> list[SigstoreBundle]:
    """The GitHub attestations of `digest`; a failure to read them is one unreadable bundle (the checks end in
    error when nothing else verifies), not the end of the image's facts."""
    from mlops_gate.errors import FactError
    from mlops_gate.facts.oci_artifacts import SigstoreBundle
    from mlops_gate.providers import _github_attestations

    try:
        found, more = _github_attestations.bundles(ctx, digest)
    except FactError as exc:
        return [SigstoreBundle("GitHub attestations API", "", error=exc.diagnostics())]
    notes += more
    return found


def read_root(ctx: Context, name: str) -> tuple[TrustedRootFile, str | None]:
    """A Sigstore trusted root the policy names, read where trust anchors are read (or the public-good root
    shipped with sigstore-python), and a note saying where when that is not the working tree."""
    from mlops_gate.providers import anchors

    try:
        if name == anchors.PUBLIC_GOOD:
            anchor = anchors.public_good_root(MAX_ROOT_BYTES)
        else:
            anchor = anchors.read_named(ctx, name, MAX_ROOT_BYTES, "trusted root")
    except anchors.AnchorError as exc:
        return TrustedRootFile(name, error=exc.diagnostics()), None
    ctx.meter.read(anchor.source)
    note = anchor.note or (
        f"trusted root {name} read from {anchor.source.removeprefix('git ')}"
        if anchor.source.startswith("git ")
        else None
    )
    if len(anchor.data) > MAX_ROOT_BYTES:
        return TrustedRootFile(name, source=anchor.source, error=f"{name} is larger than {MAX_ROOT_BYTES} bytes"), note
    try:
        return TrustedRootFile(name, anchor.data.decode("utf-8"), anchor.source), note
    except UnicodeDecodeError:
        return TrustedRootFile(name, source=anchor.source, error=f"{name} is not UTF-8 text"), note
