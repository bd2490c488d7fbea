"""Providers read facts: one function per fact kind, taking a Context, returning the fact value
(`readers.py` says which function reads which kind).

They raise FactError (with the fix in its hint) when the facts cannot be read; they never judge. What the
run decided before reading anything — the policy it loaded, where trust anchors are read, its own output
files — reaches them as typed fields of the Context (`Context.inputs`), never through the environment.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlops_gate.target import Target


@dataclass
class Meter:
    """What one fact cost and where it was read: reported with the fact for evidence. Thread-safe:
    a provider may fetch in parallel."""

    requests: int = 0
    sources: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def read(self, source: str, requests: int = 0) -> None:
        with self.lock:
            self.sources.append(source)
            self.requests += requests

    def count(self, requests: int = 1) -> None:
        with self.lock:
            self.requests += requests


@dataclass
class Shared:
    """State providers share within one run (a single walk of the repository; `kinds`: every fact kind the run
    reads, so the file kinds are read in one pass over it)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, object] = field(default_factory=dict)
    kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PolicyInUse:
    """The policy the run loaded, as the `policy_file` reader (policy.unchanged) needs it."""

    source: str = ""  # as loaded: a path, `builtin:NAME`, or `REF:PATH` (--policy-ref)
    files: tuple[Path, ...] = ()  # its repository files (the policy and what it extends): absolute, never resolved
    ref: str | None = None  # --policy-ref
    # where the working tree's policy would be read (--policy PATH, else the discovered names): one the target
    # branch has but the pull request's tree does not is a deleted policy
    candidates: tuple[Path, ...] = ()
    head_branch: str | None = None  # the pull/merge request's own branch, which cannot be its target branch
    base_from_ci: bool = False  # the target branch is the one CI names (not --base-branch): it may be checked out


def policy_in_use(
    files: list[Path],
    source: str,
    ref: str | None,
    candidates: list[Path] | None = None,
    head_branch: str | None = None,
    base_from_ci: bool = False,
) -> PolicyInUse:
    """What run.py tells the policy_file provider about the policy it loaded (`Context.inputs.policy`).
    `candidates`: the working-tree paths the policy would have been read from (the discovered names, or
    --policy PATH): one the target branch has but the pull request's tree does not is a deleted policy. Paths
    are made absolute but never resolved: a symbolic link must not turn the policy file into the (identical)
    copy of another file. `head_branch`: the pull request's own branch, which cannot be the target branch;
    `base_from_ci`: the target branch is the one CI names."""
    from mlops_gate.providers.git_paths import absolute

    return PolicyInUse(
        source,
        tuple(absolute(f) for f in files),
        ref or None,
        tuple(absolute(c) for c in candidates or ()),
        head_branch or None,
        base_from_ci,
    )


@dataclass(frozen=True)
class AnchorSource:
    """Where trust anchors (key files the policy names) are read on a pull/merge request: the commit the
    target branch points to, in the repository at `top` (mlops_gate.trust decides it)."""

    top: Path
    ref: str  # as found in the clone, e.g. origin/main
    commit: str


class Exchange(Protocol):
    """Told of every HTTP request the providers send, on the bounded transport (mlops_gate.fleet: conditional
    requests from an on-disk cache, rate limits per host, a request budget). `before` may add headers to the
    request, or raise a FactError to stop it unsent; `after` sees the answer, already read, and may replace a
    `304 Not Modified` with the body it has for it."""

    def before(self, request: Any) -> None: ...
    def after(self, request: Any, response: Any) -> None: ...


@dataclass(frozen=True)
class RunInputs:
    """What the run tells every provider besides the target."""

    policy: PolicyInUse = field(default_factory=PolicyInUse)
    anchors: AnchorSource | None = None  # None: trust anchors are read from the working tree
    own_outputs: tuple[str, ...] = ()  # this run's output files: left out of the repository's files, by path
    exclude: tuple[str, ...] = ()  # the policy's `exclude:` globs: files the file checks leave out (listed)
    exchange: Exchange | None = field(default=None, compare=False)  # sees every HTTP request (fleet runs)


@dataclass(frozen=True)
class Context:
    """What a provider reads one fact kind with: the checkout, the target, the environment, the run's inputs, the
    items the checks asked for, and the meter it counts its cost on."""

    root: Path
    target: Target
    env: Mapping[str, str]
    inputs: RunInputs = field(default_factory=RunInputs)
    kind: str = ""
    scope: frozenset[str] = frozenset()  # items of this kind the checks asked for (branches, ...)
    meter: Meter = field(default_factory=Meter)
    shared: Shared = field(default_factory=Shared)
