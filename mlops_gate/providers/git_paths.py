"""Where a path is in a git repository as written (symbolic links inside it never followed), with the links on
the way: what the trust boundary and the policy readers need to refuse a policy or key file reached through a
link. Pure path logic, no git command (mlops_gate.providers.git uses it)."""

from __future__ import annotations

from pathlib import Path


def absolute(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path  # not resolve(), not os.path.abspath(): see in_repo


def in_repo(top: Path, path: Path) -> tuple[str, tuple[str, ...]] | None:
    """`path` relative to the repository top as written — symbolic links inside the repository are never
    followed — with the symbolic links on the way (the file itself, or a folder above it, even one a later
    `..` leaves), relative to the top too. None when the path is not inside the repository."""
    parts = absolute(path).parts
    real_top = top.resolve()
    for start in range(1, len(parts) + 1):  # the shallowest folder that is the repository (reached maybe
        if Path(*parts[:start]).resolve() != real_top:  # through a link outside it, as /tmp on macOS)
            continue
        cur, rel, links = Path(*parts[:start]), list[str](), list[str]()
        for name in parts[start:]:
            cur = cur / name
            if name == "..":
                if not rel:
                    break  # leaves the repository here: maybe it enters it again deeper
                rel.pop()
                continue
            rel.append(name)
            if cur.is_symlink():
                links.append("/".join(rel))
        else:
            if rel:
                return "/".join(rel), tuple(links)
    return None
