"""in-toto statements and SLSA provenance (v1 and v0.2): subject digests, builder, source repo + commit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
COMMIT_KEYS = ("gitCommit", "sha1", "sha256")  # digest keys a git source may carry


@dataclass(frozen=True)
class Statement:
    """What the gate reads from an in-toto statement: subject digests, predicate type, builder and sources."""

    subjects: tuple[str, ...]  # "sha256:<hex>" for each subject digest
    predicate_type: str
    builder_id: str | None
    sources: tuple[tuple[str, str], ...]  # (repository URI, commit); commit "" when none is stated


def parse(body: bytes) -> Statement | str:
    """The statement, or why it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "the payload is not JSON"
    if not isinstance(data, dict) or data.get("_type") not in STATEMENT_TYPES:
        return "the payload is not an in-toto statement"
    subjects = tuple(
        f"{alg}:{value}"
        for s in data.get("subject") or ()
        if isinstance(s, dict)
        for alg, value in (s.get("digest") or {}).items()
    )
    predicate: dict[str, Any] = data["predicate"] if isinstance(data.get("predicate"), dict) else {}
    ptype = str(data.get("predicateType") or "")
    if ptype == SLSA_V1:
        builder = _get(predicate, "runDetails", "builder", "id")
        sources = _v1_sources(predicate)
    else:
        builder = _get(predicate, "builder", "id")
        sources = _v02_sources(predicate)
    return Statement(subjects, ptype, builder if isinstance(builder, str) else None, tuple(sources))


def _get(node: Any, *path: str) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _commit(digest: Any) -> str:
    if isinstance(digest, dict):
        for key in COMMIT_KEYS:
            if isinstance(digest.get(key), str):
                return str(digest[key])
    return ""


def _v1_sources(predicate: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for dep in _get(predicate, "buildDefinition", "resolvedDependencies") or ():
        if isinstance(dep, dict) and isinstance(dep.get("uri"), str) and _commit(dep.get("digest")):
            out.append((dep["uri"], _commit(dep.get("digest"))))
    external = _get(predicate, "buildDefinition", "externalParameters") or {}
    for repo in (_get(external, "workflow", "repository"), _get(external, "source"), _get(external, "repository")):
        if isinstance(repo, str) and not any(same_repo(uri, repo_path(repo), repo_host(repo)) for uri, _ in out):
            out.append((repo, ""))
    return out


def _v02_sources(predicate: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    config = _get(predicate, "invocation", "configSource") or {}
    if isinstance(config.get("uri"), str):
        out.append((config["uri"], _commit(config.get("digest"))))
    for material in predicate.get("materials") or ():
        uri = material.get("uri") if isinstance(material, dict) else None
        if isinstance(uri, str) and ("://" in uri or uri.startswith("git+")) and _commit(material.get("digest")):
            out.append((uri, _commit(material.get("digest"))))
    return out


def _split(uri: str) -> tuple[str, str]:
    """(host or "", the rest) of a repository URI: URL, `git@host:path`, `host.tld/path` or a bare path."""
    text = uri.strip()
    text = text[4:] if text.startswith("git+") else text
    if "://" in text:
        host, _, rest = text.split("://", 1)[1].partition("/")
        return host.rpartition("@")[2], rest
    if re.match(r"^[\w.-]+@[\w.-]+:", text):  # git@host:owner/name.git
        host, _, rest = text.partition(":")
        return host.rpartition("@")[2], rest
    if "." in text.split("/", 1)[0] and "/" in text:  # github.com/owner/name
        host, _, rest = text.partition("/")
        return host, rest
    return "", text


def repo_path(uri: str) -> str:
    """`git+https://github.com/Acme/Churn.git@refs/heads/main` -> `acme/churn` (host and ref dropped)."""
    text = _split(uri)[1]
    text = text.split("@", 1)[0].split("#", 1)[0].split("?", 1)[0]
    text = text.strip("/").replace("/_git/", "/")  # Azure Repos: org/project/_git/repo
    return (text[:-4] if text.endswith(".git") else text).lower()


def repo_host(uri: str) -> str:
    """The host a repository URI names ("" when none), as `_host` normalises it."""
    return _host(_split(uri)[0])


def _host(host: str) -> str:
    """Lower case, no port; Azure DevOps' aliases (`ssh.dev.azure.com`, `<org>.visualstudio.com`) are
    `dev.azure.com`."""
    host = host.strip().lower()
    host = host if host.endswith("]") else host.rsplit(":", 1)[0]
    if host == "ssh.dev.azure.com" or host.endswith(".visualstudio.com"):
        return "dev.azure.com"
    return host


def platform_host(platform: str | None, api_url: str | None) -> str:
    """The host that serves the gated repository ("" when unknown): github -> github.com (or the host of
    `api_url` for Enterprise, `api.` dropped), gitlab -> the host of `api_url` or gitlab.com, azure ->
    dev.azure.com or the host of the collection URL in `api_url`."""
    default = {"github": "github.com", "gitlab": "gitlab.com", "azure": "dev.azure.com"}.get(platform or "")
    if default is None:
        return ""
    url = api_url or ""
    host = repo_host(url if not url or "://" in url else f"https://{url}")
    if platform == "github":
        host = host.removeprefix("api.")  # api.github.com, api.<subdomain>.ghe.com; GHES serves /api/v3
    return host or default


def same_repo(uri: str, repository: str, host: str = "") -> bool:
    """`uri` names `repository` (owner/name, group/project, org/project/repo); when `host` is given (see
    `platform_host`) and the URI names a host too, the hosts must match."""
    path = repo_path(uri)
    if not path or path != repository.strip("/").lower():
        return False
    named = repo_host(uri)
    return not (host and named) or named == _host(host)


def same_commit(a: str, b: str) -> bool:
    return bool(a) and a.lower() == b.lower()
