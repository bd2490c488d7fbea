"""What the checkout says about the target, for a run with no flags: HEAD's commit, the current branch, and the
platform and repository of its remote (mlops_gate.remotes) — the lowest layer of the target, below CI detection,
the policy's `target:`, MLOPS_GATE_* variables and flags; and `layered`, which merges the layers and remembers
where each value came from (the report header shows it).

Read with providers/git.py's runner, from `.git` (never from the tree a change under review edits). The remote
is the current branch's upstream remote, else `origin`, else the only remote; `url.*.insteadOf` applies as git
would. A value the checkout cannot give (detached HEAD, no remote, an unknown host) is left unset, with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_gate import remotes
from mlops_gate.target import FIELDS, Target, merge

# the environment variable that names each platform's API: the environment wins over the checkout
API_VARIABLES = {
    "github": ("GITHUB_API_URL",),
    "gitlab": ("CI_API_V4_URL", "CI_SERVER_URL"),
    "azure": ("SYSTEM_COLLECTIONURI",),
}


@dataclass(frozen=True)
class Inferred:
    """The target as the checkout gives it, the remote it was read from, and notes on what it could not give."""

    target: Target = dataclasses.field(default_factory=Target)
    remote: str = ""  # the remote's name (`origin`)
    host: str = ""  # its host
    notes: tuple[str, ...] = ()  # what could not be inferred, and how to say it instead


def infer(repo: Path, stated: Target, env: Mapping[str, str]) -> Inferred:
    """The target as the checkout at `repo` describes it. `stated`: what the trusted layers already say (its
    platform decides how an unknown host is read; its api_url, how a GitLab path is read)."""
    from mlops_gate.providers import git

    try:
        top, sha, ref = git.git(repo, "rev-parse", "--show-toplevel", "HEAD", "--symbolic-full-name", "HEAD").split()
    except (git.GitError, ValueError):
        return Inferred()  # not a repository, or no commit yet: nothing to say
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    name, url = _remote(Path(top), branch)
    found = Target(commit=sha, branch=branch)
    if url is None:
        note = "the checkout has no remote to read the platform and repository from"
        return Inferred(found, notes=(note,) if not stated.repository else ())
    parsed = remotes.parse(url)
    if parsed is None:
        return Inferred(found, name, notes=(f"the remote {name} is not a URL the gate can read a repository from",))
    seen = remotes.identify(parsed, stated.platform, stated.api_url)
    api = seen.api_url
    if api and any(env.get(v) for v in API_VARIABLES.get(seen.platform or "", ())):
        api = None  # the environment names the API: it wins over the checkout
    found = dataclasses.replace(found, platform=seen.platform, repository=seen.repository, api_url=api)
    return Inferred(found, name, parsed.host, (seen.note,) if seen.note else ())


def _remote(top: Path, branch: str | None) -> tuple[str, str | None]:
    from mlops_gate.providers import git

    try:
        config = git.git(top, "config", "--get-regexp", r"^(remote\..*\.url|branch\..*\.remote)$")
    except git.GitError:
        return "", None  # no remote at all
    urls: list[str] = []
    upstream = None
    for line in config.splitlines():
        key, _, value = line.partition(" ")
        if key.startswith("remote.") and key.endswith(".url"):
            urls.append(key[len("remote.") : -len(".url")])
        elif branch and key == f"branch.{branch}.remote":
            upstream = value.strip()
    names = list(dict.fromkeys(urls))
    name = next((n for n in (upstream, "origin") if n in names), names[0] if len(names) == 1 else None)
    if name is None:
        return "", None
    try:
        return name, git.git(top, "remote", "get-url", "--", name).strip() or None
    except git.GitError:
        return name, None


def layered(*layers: tuple[str, Target]) -> tuple[Target, dict[str, str]]:
    """Merge (later layers win, field by field) and say which layer gave each value."""
    sources: dict[str, str] = {}
    for label, layer in layers:
        for name in FIELDS:
            if getattr(layer, name):
                sources[name] = label
    return merge(*(layer for _, layer in layers)), sources
