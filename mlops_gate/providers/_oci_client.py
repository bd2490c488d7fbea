"""A small OCI Distribution v2 client: only the reads the gate needs (manifests, blobs, referrers).

Auth follows the registry's `WWW-Authenticate` challenge: anonymous first, then Basic, or a Bearer
token fetched from the challenge's realm for the challenge's scope (Docker's token flow). Credentials are
bound to a registry: MLOPS_GATE_REGISTRY_USERNAME/PASSWORD go only to the registry named in
MLOPS_GATE_REGISTRY_HOST, Docker's config.json `auths` entries only to the registry they are keyed by;
never to whichever registry an image names. They are sent to that registry, and to the token realm it
names, only over HTTPS (loopback, or a host listed in MLOPS_GATE_INSECURE_HOSTS, aside). Every manifest
and blob is checked against the digest it was asked by (or, for a tag, against Docker-Content-Digest).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mlops_gate.errors import FactError
from mlops_gate.providers import Meter, netpolicy
from mlops_gate.providers import http as h
from mlops_gate.providers._oci_auth import credentials, parse_challenge
from mlops_gate.providers._oci_ref import Reference, scheme
from mlops_gate.secrets import redact

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
MAX_MANIFEST = 4 << 20  # the Distribution spec's recommended manifest size limit
MAX_BLOB = 16 << 20  # configs, signature payloads and attestations are small; refuse anything huge

HINT_401 = (
    "set MLOPS_GATE_REGISTRY_HOST={host} with MLOPS_GATE_REGISTRY_USERNAME/MLOPS_GATE_REGISTRY_PASSWORD, "
    "or `docker login {host}` (credentials are read from $DOCKER_CONFIG/config.json or ~/.docker/config.json)"
)


@dataclass(frozen=True)
class Fetched:
    """A manifest or referrers index as the registry served it: its bytes, digest, media type and URL."""

    body: bytes
    digest: str
    media_type: str
    url: str


def digest_of(body: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


@dataclass
class Client:
    """An OCI Distribution client for one image's repository, with only the credentials bound to its registry."""

    ref: Reference
    env: Mapping[str, str]
    meter: Meter
    adapter: Any = None  # the run's bounded transport (http.adapter); a plain one when None
    session: Any = None
    auth: tuple[str, str] | None = None
    notes: list[str] = field(default_factory=list)
    _header: str | None = None  # the Authorization header that worked

    def __post_init__(self) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.session = requests.Session()
        self.session.headers["User-Agent"] = "mlops-gate"
        self.session.auth = h.no_netrc  # only the credentials bound to this registry, not ~/.netrc's
        adapter = self.adapter or HTTPAdapter(max_retries=h.retry())
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        h.count_requests(self.session, self.meter)
        self.auth, note = credentials(self.ref.registry, self.env)
        if note:
            self.notes.append(note)
        self.base = f"{scheme(self.ref.api_host, self.env)}://{self.ref.api_host}/v2/{self.ref.repository}"

    def close(self) -> None:
        self.session.close()

    # --- HTTP with the challenge flow ------------------------------------------------------------
    def get(self, path: str, accept: str, what: str, limit: int, ok_404: bool = False) -> Any:
        url = f"{self.base}/{path}"
        response = self._send(url, accept, what)
        if response is not None and response.status_code == 401:
            self._authenticate(response, what, url)
            response = self._send(url, accept, what)
        if response is None:
            raise h.http_failure(None, what, url, "", "")
        if response.status_code == 404 and ok_404:
            response.close()
            return None
        if response.status_code != 200:
            status = response.status_code
            response.close()
            host = self.ref.registry
            raise h.http_failure(
                status,
                what,
                url,
                HINT_401.format(host=host),
                f"the credentials for {host} cannot pull {self.ref.repository}",
                f"check the image reference: {self.ref.repository} or that tag/digest does not exist in {host}",
            )
        body = _read(response, limit, what, url)
        return response, body

    def _send(self, url: str, accept: str, what: str) -> Any:
        import requests

        headers = {"Accept": accept}
        if self._header:
            headers["Authorization"] = self._header
        try:
            return self.session.get(url, headers=headers, timeout=h.timeout(self.env), stream=True)
        except FactError as exc:  # the transport: a deadline, a size cap, a refused redirect
            raise FactError(f"{what}: {exc.message}", exc.hint) from None
        except requests.exceptions.SSLError as exc:
            raise FactError(
                f"TLS error talking to {self.ref.api_host}: {exc}",
                "fix the registry's certificate, or list the host in MLOPS_GATE_INSECURE_REGISTRIES "
                "if it really serves plain HTTP",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise FactError(
                f"cannot reach the registry at {url}: {type(exc).__name__}",
                "check the image reference, the network, and that the registry is up",
            ) from None

    def _authenticate(self, response: Any, what: str, url: str) -> None:
        header = response.headers.get("WWW-Authenticate", "")
        response.close()
        kind, params = parse_challenge(header)
        hint = HINT_401.format(host=self.ref.registry)
        if kind == "basic":
            if self.auth is None:
                raise FactError(f"{what}: {url} answered 401 Unauthorized (Basic auth, no credentials)", hint)
            if not self._may_send_secret(url):
                raise FactError(
                    f"{what}: refusing to send credentials over plain HTTP to {url}", "serve the registry over HTTPS"
                )
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            self._header = f"Basic {token}"
            return
        if kind != "bearer" or not params.get("realm"):
            shown = redact(header, self.env)[:80]  # redacted whole: a cut could leave part of a secret
            raise FactError(f"{what}: {url} answered 401 with an unsupported challenge {shown!r}", hint)
        self._header = f"Bearer {self._token(params, what)}"

    def _token(self, params: dict[str, str], what: str) -> str:
        import requests

        realm = params["realm"]
        query = {k: v for k, v in (("service", params.get("service")),) if v}
        query["scope"] = params.get("scope") or f"repository:{self.ref.repository}:pull"
        auth = None
        if self.auth is not None:
            if not self._may_send_secret(realm):
                raise FactError(
                    f"{what}: refusing to send credentials over plain HTTP to the token realm {realm}",
                    "the registry's token service must use HTTPS",
                )
            auth = self.auth
        try:
            response = self.session.get(realm, params=query, auth=auth, timeout=h.timeout(self.env))
        except FactError as exc:
            raise FactError(f"{what}: token service {netpolicy.shown(realm)}: {exc.message}", exc.hint) from None
        except requests.exceptions.RequestException as exc:
            raise FactError(
                f"{what}: cannot reach the token service {realm}: {type(exc).__name__}",
                "check the network and the registry's token realm",
            ) from None
        if response.status_code != 200:
            raise h.http_failure(
                response.status_code,
                f"{what}: token for {query['scope']}",
                realm,
                HINT_401.format(host=self.ref.registry),
                f"the credentials for {self.ref.registry} may not pull {self.ref.repository}",
            )
        try:
            data = response.json()
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not token:
            raise FactError(f"{what}: the token service {realm} returned no token")
        return token

    def _may_send_secret(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "https" or (
            parts.scheme == "http" and netpolicy.cleartext_allowed(parts.netloc, self.env)
        )

    # --- the Distribution API --------------------------------------------------------------------
    def manifest(self, reference: str, what: str, ok_404: bool = False) -> Fetched | None:
        got = self.get(f"manifests/{reference}", MANIFEST_ACCEPT, what, MAX_MANIFEST, ok_404)
        if got is None:
            return None
        response, body = got
        header = response.headers.get("Docker-Content-Digest")
        expected = reference if ":" in reference else header
        algorithm = (expected or "sha256").split(":", 1)[0]
        if algorithm not in ("sha256", "sha512"):
            raise FactError(f"{what}: unsupported digest algorithm {algorithm}")
        actual = digest_of(body, algorithm)
        if expected and actual != expected:
            raise FactError(
                f"{what}: the manifest served for {reference} has digest {actual}, not {expected}",
                "the registry (or a proxy) served different bytes: do not trust this image",
            )
        media_type = _media_type(body, response.headers.get("Content-Type", ""))
        return Fetched(body, actual, media_type, response.url)

    def blob(self, digest: str, what: str) -> bytes:
        got = self.get(f"blobs/{digest}", "*/*", what, MAX_BLOB)
        assert got is not None
        _, body = got
        actual = digest_of(body, digest.split(":", 1)[0])
        if actual != digest:
            raise FactError(
                f"{what}: blob {digest} arrived with digest {actual}",
                "the registry (or a proxy) served different bytes: do not trust this image",
            )
        return bytes(body)

    def referrers(self, digest: str, what: str) -> Fetched | None:
        """The OCI 1.1 referrers index, or None when the registry does not offer the API (404)."""
        got = self.get(f"referrers/{digest}", OCI_INDEX, what, MAX_MANIFEST, ok_404=True)
        if got is None:
            return None
        response, body = got
        return Fetched(body, digest_of(body), OCI_INDEX, response.url)


def _media_type(body: bytes, header: str) -> str:
    try:
        declared = json.loads(body).get("mediaType")
    except (ValueError, AttributeError, RecursionError):
        declared = None
    return str(declared or header.split(";")[0].strip())


def _read(response: Any, limit: int, what: str, url: str) -> bytes:
    size = response.headers.get("Content-Length")
    if size and size.isdigit() and int(size) > limit:
        response.close()
        raise FactError(f"{what}: {url} is {size} bytes, more than the {limit} the gate reads")
    chunks, total = [], 0
    for chunk in response.iter_content(65536):
        total += len(chunk)
        if total > limit:
            response.close()
            raise FactError(f"{what}: {url} is more than the {limit} bytes the gate reads")
        chunks.append(chunk)
    return b"".join(chunks)
