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
    subjects = tuple(f"{alg}:{value}" for s in data.get("subject") or () if isinstance(s, dict)
                     for alg, value in (s.get("digest") or {}).items())
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
        if isinstance(repo, str) and not any(same_repo(uri, repo_path(repo)) for uri, _ in out):
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


def repo_path(uri: str) -> str:
    """`git+https://github.com/Acme/Churn.git@refs/heads/main` -> `acme/churn` (host and ref dropped)."""
    text = uri.strip()
    text = text[4:] if text.startswith("git+") else text
    if "://" in text:
        text = text.split("://", 1)[1]
        text = text.split("/", 1)[1] if "/" in text else ""
    elif re.match(r"^[\w.-]+@[\w.-]+:", text):  # git@host:owner/name.git
        text = text.split(":", 1)[1]
    elif "." in text.split("/", 1)[0] and "/" in text:  # github.com/owner/name
        text = text.split("/", 1)[1]
    text = text.split("@", 1)[0].split("#", 1)[0].split("?", 1)[0]
    text = text.strip("/").replace("/_git/", "/")  # Azure Repos: org/project/_git/repo
    return (text[:-4] if text.endswith(".git") else text).lower()


def same_repo(uri: str, repository: str) -> bool:
    path = repo_path(uri)
    want = repository.strip("/").lower()
    return bool(path) and path == want


def same_commit(a: str, b: str) -> bool:
    return bool(a) and a.lower() == b.lower()
