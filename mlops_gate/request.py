"""What `check` and `audit` are asked to do: the one typed value the CLI builds from its arguments and the run
(mlops_gate.run) carries out. The run never sees argparse; the flags are parsed here once, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mlops_gate.target import Target


@dataclass(frozen=True)
class Output:
    """One report to write: `format` (a name in mlops_gate.reporters.FORMATS) to `path` (`-`: stdout)."""

    format: str
    path: str


@dataclass(frozen=True)
class CheckRequest:
    """One `check` or `audit` command as given: repository, policy, target flags, reports to write, run options."""

    command: Literal["check", "audit"]
    repo: str  # --repo, as given (messages quote it)
    policy: str | None = None  # --policy: a file, or a built-in profile's name
    policy_ref: str | None = None  # --policy-ref: read the policy at this git ref
    flags: Target = field(default_factory=Target)  # the target flags as given (--platform ... --base-branch)
    env_flags: Target = field(default_factory=Target)  # the same, from MLOPS_GATE_* variables (flags win)
    release: str | None = None  # audit --release TAG
    evidence: str | None = None  # audit --evidence FILE
    sign_key: str | None = None  # audit --sign-key PEM
    format: str = "console"  # the report on stdout
    outputs: tuple[Output, ...] = ()  # --output FMT=PATH, in order
    fail_on: str | None = None  # --fail-on SEVERITY
    only: tuple[str, ...] = ()  # --only / --skip: ids or globs, commas split
    skip: tuple[str, ...] = ()
    facts_out: str | None = None
    facts_in: str | None = None
    quiet: bool = False
    verbose: bool = False
    color: Literal["auto", "always", "never"] = "auto"  # --color (the console report on stdout)

    @property
    def given(self) -> Target:
        """The target the command line and the MLOPS_GATE_* variables give (flags win)."""
        from mlops_gate.target import merge

        return merge(self.env_flags, self.flags)

    @property
    def audit(self) -> bool:
        return self.command == "audit"
