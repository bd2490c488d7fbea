"""Host-neutral fact types and the catalogue of fact kinds.

A fact kind is a name checks ask for (`needs=("ci_config",)`), the frozen type its value has,
and the provider function that reads it ("module:function", imported only when needed).
Facts are plain data: they round-trip through JSON for `--facts-out` / `--facts-in`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_gate.facts_git import PolicyFiles
from mlops_gate.facts_mlflow import MlflowModel  # each remote area keeps its types in its own module
from mlops_gate.facts_oci import ImageFacts
from mlops_gate.facts_prometheus import AlertmanagerState, PrometheusState

NOT_READ = "not read: "  # how SourceFile.error starts when the file was not read at all (size, encoding, link, ...)


@dataclass(frozen=True)
class SourceFile:
    """One repository file as read: parsed documents (YAML/JSON) or text, with lines for findings."""

    path: str  # relative to the repository root, '/'-separated
    format: str  # yaml | json | python | dockerfile | text
    documents: tuple[Any, ...] = ()
    lines: dict[str, int] = field(default_factory=dict)  # key path "0/jobs/test" -> line
    text: str | None = None  # kept for formats judged line by line (Dockerfile, Python)
    error: str | None = None  # why it could not be parsed
    error_line: int | None = None


@dataclass(frozen=True)
class RepoFiles:
    """The files of one category found in the repository (`root` is where they were read)."""

    root: str
    files: tuple[SourceFile, ...] = ()


# --- source-control platforms (GitHub, GitLab, Azure DevOps): one shape for all three -----------
# A field that is None was not read (no permission, not offered by the platform or tier); a check
# that needs it ends in `error` with the note that says why — None is never "off".


@dataclass(frozen=True)
class RequiredCheck:
    name: str
    app: str | None = None  # the app (GitHub App slug or id) that must report it, where pinned


@dataclass(frozen=True)
class BypassActor:
    kind: str  # admins | role | team | user | app | deploy-key | org-admin | maintainers | group
    name: str
    mode: str = "always"  # always | pull_request (may bypass only through a pull request)


@dataclass(frozen=True)
class BranchProtection:
    """The protection actually in force on one branch, merged from every source that applies."""

    branch: str
    protected: bool | None  # None: whether any protection applies could not be read
    required_approvals: int | None = None
    code_owner_review: bool | None = None
    dismiss_stale: bool | None = None
    last_push_approval: bool | None = None
    author_can_approve: bool | None = None
    required_checks: tuple[RequiredCheck, ...] | None = None  # () = none required
    strict: bool | None = None  # the branch must be up to date before merging
    force_push_allowed: bool | None = None
    deletion_allowed: bool | None = None
    signed_commits: bool | None = None
    bypass_actors: tuple[BypassActor, ...] | None = None
    sources: tuple[str, ...] = ()  # classic | ruleset:<id> <name> | gitlab:protected_branch | azure:policy:<id>
    notes: tuple[str, ...] = ()  # what could not be read and how to fix it
    url: str | None = None


@dataclass(frozen=True)
class BranchProtections:
    platform: str
    repository: str
    default_branch: str | None
    branches: tuple[BranchProtection, ...] = ()
    requested: tuple[str, ...] = ()  # the names/globs asked for; a glob matching nothing is a finding
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """One CI result reported on a commit: a check run, a commit status, a pipeline or job, a build."""

    name: str
    status: str  # queued | in_progress | completed
    conclusion: str | None  # success | failure | neutral | skipped | cancelled | timed_out ...; None: pending
    source: str  # check-run | status | pipeline | job | build
    app: str | None = None
    url: str | None = None
    started_at: str | None = None  # ISO 8601; the latest attempt of a name decides
    id: str = ""


@dataclass(frozen=True)
class CommitRuns:
    platform: str
    repository: str
    sha: str
    runs: tuple[Run, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Environment:
    name: str
    exists: bool
    reviewers: tuple[str, ...] = ()
    min_approvals: int | None = None
    self_review_allowed: bool | None = None
    branch_policy: str | None = None  # protected | patterns | any
    branch_patterns: tuple[str, ...] = ()
    other_rules: tuple[str, ...] = ()  # custom protection rules, Azure checks, wait timers
    notes: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Environments:
    platform: str
    repository: str
    environments: tuple[Environment, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleTestFile:
    """A `promtool test rules` unit-test file and, when it was run, its outcome."""

    path: str
    alerts: tuple[str, ...] = ()  # the alertnames its alert_rule_test cases exercise
    passed: bool | None = None  # None: not run (see note)
    output: str = ""  # promtool's output, trimmed
    note: str = ""


@dataclass(frozen=True)
class RuleTests:
    root: str
    files: tuple[RuleTestFile, ...] = ()


@dataclass(frozen=True)
class FactKind:
    name: str
    type: type
    provider: str  # "module:function"; the function takes a providers.Context
    area: str  # what it reads: files, platform, mlflow, oci, prometheus
    doc: str


_FILES = "mlops_gate.providers.files"
_PLATFORM = "mlops_gate.providers.platform"

_MLFLOW = "mlops_gate.providers.mlflow_registry"
_PROMETHEUS = "mlops_gate.providers.prometheus"
_OCI = "mlops_gate.providers.oci"

_KINDS = (  # name, type, provider module, area, what it is
    ("ci_config", RepoFiles, _FILES, "files", "CI config: .github/workflows/*, .gitlab-ci.yml, azure-pipelines.yml"),
    ("dockerfiles", RepoFiles, _FILES, "files", "Dockerfiles and Containerfiles"),
    ("deploy_manifests", RepoFiles, _FILES, "files", "Kubernetes/KServe manifests, Helm values, docker-compose files"),
    ("workflow_files", RepoFiles, _FILES, "files", "Databricks bundles, Airflow DAG files, Step Functions definitions"),
    ("rule_files", RepoFiles, _FILES, "files", "Prometheus rule files"),
    (
        "rule_tests",
        RuleTests,
        "mlops_gate.providers.promtool",
        "files",
        "promtool rule unit-test files, run with `promtool test rules` when a check asks",
    ),
    ("alertmanager_config", RepoFiles, _FILES, "files", "Alertmanager configuration"),
    ("drift_config", RepoFiles, _FILES, "files", "drift monitors: Azure ML, Databricks quality monitors, Evidently"),
    (
        "branch_protection",
        BranchProtections,
        _PLATFORM,
        "platform",
        "branch protection in force (classic rules and rulesets, protected branches, branch policies)",
    ),
    ("commit_runs", CommitRuns, _PLATFORM, "platform", "CI results on the exact commit (checks, pipelines, builds)"),
    ("environments", Environments, _PLATFORM, "platform", "deployment environments and their protection rules"),
    ("mlflow_model", MlflowModel, _MLFLOW, "mlflow", "the released model version, its run, logged model and MLmodel"),
    ("oci_image", ImageFacts, _OCI, "oci", "the target image: digest, manifest, labels, signatures, attestations"),
    ("prometheus_state", PrometheusState, _PROMETHEUS, "prometheus", "live rules, targets, samples and alerts"),
    ("alertmanager_state", AlertmanagerState, _PROMETHEUS, "prometheus", "live Alertmanager config and silences"),
    (
        "policy_file",
        PolicyFiles,
        "mlops_gate.providers.git",
        "git",
        "the policy file in use, compared with the target branch's copy (git)",
    ),
)

FACT_KINDS: dict[str, FactKind] = {
    name: FactKind(name, tp, f"{module}:{name}", area, doc) for name, tp, module, area, doc in _KINDS
}
