"""A git remote URL, read as a platform, a repository and (for a self-hosted server) its API URL. Pure: the
checkout is read by mlops_gate.checkout.

Forms understood: `https://host[:port]/path`, `ssh://[user@]host[:port]/path`, `git://host/path` and scp-like
`[user@]host:path`, with or without `.git`. Known hosts name their platform:

- github.com, ssh.github.com, SUB.ghe.com: github, owner/name;
- gitlab.com, altssh.gitlab.com: gitlab, group/subgroup/.../project;
- dev.azure.com (`ORG/PROJECT/_git/REPO`), ssh.dev.azure.com and vs-ssh.visualstudio.com (`v3/ORG/PROJECT/REPO`),
  ORG.visualstudio.com (`[DefaultCollection/]PROJECT/_git/REPO`): azure, ORG/PROJECT/REPO.

Any other host is a self-hosted server (GitHub Enterprise Server, self-managed GitLab, Azure DevOps Server)
whose platform the host name cannot prove: it is read only when the platform is stated (flag, MLOPS_GATE_PLATFORM,
the policy's target.platform, CI). Its API URL is then derived from the remote's host — always https:// (a
plain-http or SSH remote does not make the token travel in clear), with the remote's port only when the remote
itself is https — so the platform token goes to the host the code was cloned from, and nowhere else. A public
host's API URL is left to the provider's default (api.github.com, gitlab.com, dev.azure.com/ORG).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

PLATFORM_NAMES = {"github": "GitHub", "gitlab": "GitLab", "azure": "Azure DevOps"}
_SCP = re.compile(r"^(?:[^@/\s]+@)?(\[[^\]]+\]|[^:/\s]+):(?!//)(.*)$")
_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "ssh+git"})


@dataclass(frozen=True)
class Remote:
    """A git remote URL taken apart: scheme, host, port and repository path."""

    scheme: str  # https, http, ssh, git, scp (the `host:path` form)
    host: str  # lowercased, without user or port
    port: int | None  # as written in a URL form
    path: str  # percent-decoded, no surrounding slashes, no `.git`

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]


@dataclass(frozen=True)
class Identified:
    """What a remote says about the target; a field it cannot say is None, and `note` says why."""

    platform: str | None = None
    repository: str | None = None
    api_url: str | None = None
    note: str = ""


def parse(url: str) -> Remote | None:
    """The remote's parts; None for a local path, a bundle or anything not understood."""
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES or not parts.hostname:
            return None
        try:
            port = parts.port
        except ValueError:
            return None
        return Remote("ssh" if "ssh" in scheme else scheme, parts.hostname.lower(), port, _clean(parts.path))
    if url.startswith(("/", ".", "~")) or re.match(r"^[A-Za-z]:[\\/]", url):
        return None
    scp = _SCP.match(url)
    if scp is None:
        return None
    return Remote("scp", scp.group(1).strip("[]").lower(), None, _clean(scp.group(2)))


def _clean(path: str) -> str:
    path = unquote(path).strip("/")
    return path[: -len(".git")] if path.endswith(".git") else path


def known_platform(host: str) -> str | None:
    """The platform a public host belongs to, else None."""
    if host in ("github.com", "www.github.com", "ssh.github.com") or host.endswith(".ghe.com"):
        return "github"
    if host in ("gitlab.com", "www.gitlab.com", "altssh.gitlab.com"):
        return "gitlab"
    if host in ("dev.azure.com", "ssh.dev.azure.com") or host.endswith(".visualstudio.com"):
        return "azure"
    return None


def identify(remote: Remote, stated: str | None = None, api_url: str | None = None) -> Identified:
    """Platform, repository and (self-hosted) API URL from a remote. `stated`: the platform a trusted source
    names; `api_url`: the API URL one names (a GitLab under a relative URL root strips its path prefix)."""
    known = known_platform(remote.host)
    if known is not None and stated and stated != known:
        return Identified(
            note=f"the remote is on {remote.host} ({PLATFORM_NAMES[known]}) but the platform is "
            f"{PLATFORM_NAMES.get(stated, stated)}: its repository is not read from it"
        )
    platform = known or stated
    if platform is None:
        return Identified(
            note=f"{remote.host} is not a host the gate knows: say which platform it is with --platform, "
            "MLOPS_GATE_PLATFORM or target.platform (github, gitlab or azure)"
        )
    segs = remote.segments
    repository = {"github": _github, "gitlab": _gitlab, "azure": _azure}[platform](remote, segs, api_url, known)
    if repository is None:
        what = f"a {PLATFORM_NAMES[platform]} repository path"
        return Identified(platform, note=f"{remote.host}/{remote.path} is not {what}")
    public = known is not None and not remote.host.endswith(".ghe.com")
    return Identified(platform, repository, None if public else _api(remote, platform, segs))


def _github(remote: Remote, segs: list[str], api_url: str | None, known: str | None) -> str | None:
    return "/".join(segs) if len(segs) == 2 else None


def _gitlab(remote: Remote, segs: list[str], api_url: str | None, known: str | None) -> str | None:
    prefix = [s for s in urlsplit(api_url or "").path.split("/") if s]
    if prefix[-2:] == ["api", "v4"]:
        prefix = prefix[:-2]
    if prefix and segs[: len(prefix)] == prefix:  # a GitLab served under a relative URL root
        segs = segs[len(prefix) :]
    return "/".join(segs) if len(segs) >= 2 else None


def _azure(remote: Remote, segs: list[str], api_url: str | None, known: str | None) -> str | None:
    if segs[:1] == ["v3"] and len(segs) == 4:  # ssh.dev.azure.com:v3/ORG/PROJECT/REPO (and Server's SSH)
        return "/".join(segs[1:])
    if "_git" not in segs:
        return None
    i = segs.index("_git")
    if i + 1 >= len(segs) or i < 1:
        return None
    repo, project = segs[i + 1], segs[i - 1]
    if remote.host.endswith(".visualstudio.com") and remote.host != "vs-ssh.visualstudio.com":
        org = remote.host.split(".", 1)[0]  # ORG.visualstudio.com/[DefaultCollection/]PROJECT/_git/REPO
    elif i >= 2:
        org = segs[i - 2]  # dev.azure.com/ORG/PROJECT/_git/REPO, or Server's .../COLLECTION/PROJECT/_git/REPO
    else:
        return None
    return f"{org}/{project}/{repo}"


def _api(remote: Remote, platform: str, segs: list[str]) -> str | None:
    """A self-hosted server's API URL on the remote's own host, over HTTPS."""
    if remote.host.endswith(".ghe.com"):
        return f"https://api.{remote.host}"
    netloc = f"[{remote.host}]" if ":" in remote.host else remote.host
    if remote.scheme == "https" and remote.port not in (None, 443):
        netloc += f":{remote.port}"
    base = f"https://{netloc}"
    if platform == "github":
        return f"{base}/api/v3"
    if platform == "gitlab":
        return base
    if "_git" in segs and segs.index("_git") >= 2:  # Azure DevOps Server: https://HOST/[tfs/]COLLECTION
        return "/".join([base, *segs[: segs.index("_git") - 1]])
    return None
