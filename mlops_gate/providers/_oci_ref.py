"""Image references (`registry/repo[:tag][@digest]`, as Docker normalises them) and which registries may
be reached over plain HTTP."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mlops_gate.errors import FactError
from mlops_gate.providers import netpolicy

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DIGEST_RE = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    """An image reference as Docker normalises it: registry, repository, and tag and/or digest."""

    registry: str  # host[:port] as written (docker.io for Docker Hub)
    repository: str
    tag: str | None
    digest: str | None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse(ref: str) -> Reference:
    """Docker's normalisation: no registry part means Docker Hub, one path segment means library/."""
    text = ref.strip()
    for prefix in ("docker://", "oci://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    name, _, digest = text.partition("@")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    bad = _problem(path, tag, digest or None)
    if bad:
        raise FactError(
            f"image reference {ref!r}: {bad}",
            "write it as registry/repository:tag or registry/repository@sha256:<64 hex>",
        )
    return Reference(registry.lower(), path, tag, digest or None)


def _problem(path: str, tag: str | None, digest: str | None) -> str | None:
    if not _REPO_RE.match(path):
        return f"{path!r} is not a valid repository name (lowercase, [a-z0-9._-/])"
    if tag is not None and not _TAG_RE.match(tag):
        return f"{tag!r} is not a valid tag"
    if digest is not None and not DIGEST_RE.match(digest):
        return f"{digest!r} is not a sha256/sha512 digest"
    return None


def is_loopback(host: str) -> bool:
    return netpolicy.is_loopback(host)


def scheme(host: str, env: Mapping[str, str]) -> str:
    """HTTPS, except loopback registries (as Docker allows) and hosts the user lists as insecure
    (MLOPS_GATE_INSECURE_HOSTS, or its older name MLOPS_GATE_INSECURE_REGISTRIES)."""
    return "http" if netpolicy.cleartext_allowed(host, env, default_port=443) else "https"
