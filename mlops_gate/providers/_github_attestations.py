"""GitHub artifact attestations of an image digest: `GET /repos/{owner}/{repo}/attestations/sha256:{hex}`
through the GitHub provider's client (its token, its API URL, its pagination and bounds).

Each item carries the Sigstore bundle inline (`bundle`), or only a `bundle_url`: a pre-signed URL on a blob
store, another host. That URL is fetched with a session of its own that sends no credentials (never the
GitHub token), over HTTPS (loopback aside), without following redirects, bounded in size and time, and the
body decoded as GitHub serves it: raw Snappy (cli/cli pkg/cmd/attestation/api), or plain JSON. A 404 means
no attestation. Public repositories need no token; private ones `Attestations: read` (or repo scope).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.facts.oci import SigstoreBundle
from mlops_gate.providers import Context, http, netpolicy
from mlops_gate.providers._github_api import NotFound, api
from mlops_gate.providers._snappy import SnappyError, decompress

MAX_ATTESTATIONS = 32  # as many as the registry's referrers: bound the requests one image may cost
MAX_BUNDLE = 1 << 20
HINT_403 = "the token needs Attestations: read (fine-grained) or repo scope (public repositories need no token)"


def bundles(ctx: Context, digest: str) -> tuple[list[SigstoreBundle], list[str]]:
    """(bundles, notes) of the attestations GitHub stores for `digest` in the target repository."""
    client = api(ctx)
    path = f"/repos/{client.slug}/attestations/{urllib.parse.quote(digest, safe=':')}"
    source = f"GitHub attestations API ({client.slug})"
    try:
        items = client.paginate(
            ctx.meter, path, key="attestations", what=f"GitHub attestations of {digest}", hint_403=HINT_403
        )
    except NotFound:
        return [], [f"GitHub has no attestation of {digest} in {client.slug}"]
    ctx.meter.read(client.url(path))
    notes = []
    if len(items) > MAX_ATTESTATIONS:
        notes.append(f"{len(items)} GitHub attestations; only the first {MAX_ATTESTATIONS} read")
    session = None
    out = []
    try:
        for item in items[:MAX_ATTESTATIONS]:
            if not isinstance(item, dict):
                out.append(SigstoreBundle(source, "", error="an attestation that is not a JSON object"))
                continue
            inline = item.get("bundle")
            if isinstance(inline, dict):
                out.append(SigstoreBundle(source, json.dumps(inline)))
                continue
            url = item.get("bundle_url")
            if not isinstance(url, str) or not url:
                out.append(SigstoreBundle(source, "", error="an attestation with neither a bundle nor a bundle_url"))
                continue
            if session is None:
                session = http.session(ctx, max_bytes=MAX_BUNDLE)
                session.auth = http.no_netrc  # nothing but what is set here: no token, no ~/.netrc
            out.append(_fetch(ctx, session, url, source))
    finally:
        if session is not None:
            session.close()
    return out, notes


def _fetch(ctx: Context, session: Any, url: str, source: str) -> SigstoreBundle:
    import requests

    shown = netpolicy.shown(url)
    where = f"{source}, bundle_url {shown}"
    try:
        netpolicy.require_secure(url, ctx.env, "attestation bundle_url", "the attestations API's bundle_url")
        resp = session.get(url, timeout=http.timeout(ctx.env), allow_redirects=False)
        ctx.meter.read(shown, requests=1)
        if resp.status_code != 200:
            raise http.http_failure(resp.status_code, "attestation bundle", shown, "", "")
        body = resp.content
    except FactError as exc:
        return SigstoreBundle(where, "", error=exc.message)
    except requests.RequestException as exc:
        return SigstoreBundle(where, "", error=f"cannot fetch {shown} ({type(exc).__name__})")
    text = _decode(body)
    if text is None:
        return SigstoreBundle(where, "", error="the bundle_url body is neither raw Snappy nor JSON")
    return SigstoreBundle(where, text)


def _decode(body: bytes) -> str | None:
    for attempt in ("snappy", "plain"):
        try:
            text = (decompress(body, MAX_BUNDLE) if attempt == "snappy" else body).decode("utf-8")
            if isinstance(json.loads(text), dict):
                return text
        except (SnappyError, UnicodeDecodeError, ValueError, RecursionError):
            continue
    return None
