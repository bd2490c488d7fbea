"""Facts: host-neutral, frozen, JSON-ready data that providers read and checks judge.

One module per source, mirroring `providers/`: `files` (repository files), `platform` (GitHub, GitLab,
Azure DevOps), `policy_file` (the policy file against the target branch's copy, read with git),
`mlflow_registry`, `oci` (with `oci_artifacts`: what the registry serves, which `oci` re-exports), `prometheus`,
`promtool`; `saved` is the facts file (`--facts-out` / `--facts-in`).

A fact *kind* is a name checks ask for (`needs=("ci_config",)`) and the type of its value. `Facts` declares
every kind once, as a typed attribute: a built-in check reads `facts.ci_config` (mypy knows it is a
RepoFiles); a third-party check may read `facts["ci_config"]` (Facts is also a read-only mapping by kind
name, what checks were always given). Which provider reads each kind: `mlops_gate.providers.readers`.

The types of the kinds a files-only run does not read (platform, MLflow, OCI, Prometheus, policy file: `LAZY`) are
imported when first asked for (`Kind.type`, or the name from this module), so that such a run does not pay for them.

This package imports only other fact modules and base modules (`errors`, `target`, `typed`): never `lang/`,
`checks/`, `providers/`, the engine or the run (tests/test_imports.py enforces it).
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from mlops_gate.facts.files import NOT_READ, RepoFiles, SourceFile
from mlops_gate.facts.promtool import RuleTestFile, RuleTests, ToolCheck, ToolVerdicts

if TYPE_CHECKING:
    from mlops_gate.facts.mlflow_registry import MlflowModel
    from mlops_gate.facts.oci import ImageFacts
    from mlops_gate.facts.platform import (
        BranchProtection,
        BranchProtections,
        BypassActor,
        CommitRuns,
        Environment,
        Environments,
        RequiredCheck,
        Run,
    )
    from mlops_gate.facts.policy_file import PolicyFiles
    from mlops_gate.facts.prometheus import AlertmanagerState, PrometheusState

# the types of the kinds a files-only run does not read: imported when first asked for (a run reading the
# repository's files never imports the platform, MLflow, OCI, Prometheus or policy-file fact modules)
LAZY = {
    "MlflowModel": "mlflow_registry",
    "ImageFacts": "oci",
    "BranchProtection": "platform",
    "BranchProtections": "platform",
    "BypassActor": "platform",
    "CommitRuns": "platform",
    "Environment": "platform",
    "Environments": "platform",
    "RequiredCheck": "platform",
    "Run": "platform",
    "AlertmanagerState": "prometheus",
    "PrometheusState": "prometheus",
    "PolicyFiles": "policy_file",
}


def __getattr__(name: str) -> Any:
    if name in LAZY:
        return getattr(importlib.import_module(f"mlops_gate.facts.{LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


T = TypeVar("T")


class Kind(Generic[T]):
    """One fact kind, declared as an attribute of `Facts`: the attribute's name is the kind's name."""

    def __init__(self, type_: type[T] | str, area: str, doc: str) -> None:
        self._type: builtins.type[T] | str = type_  # or the name of a type in LAZY, imported when first used
        self.area = area  # what it reads: files, platform, git, mlflow, oci, prometheus
        self.doc = doc
        self.name = ""

    @property
    def type(self) -> builtins.type[T]:
        if isinstance(self._type, str):
            self._type = __getattr__(self._type)
        return self._type  # type: ignore[return-value]

    def __set_name__(self, owner: builtins.type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, facts: None, owner: builtins.type) -> Kind[T]: ...

    @overload
    def __get__(self, facts: Facts, owner: builtins.type) -> T: ...

    def __get__(self, facts: Facts | None, owner: builtins.type) -> Kind[T] | T:
        return self if facts is None else facts.value(self)


class Facts(Mapping[str, Any]):
    """The facts one check is given (the kinds in its `needs`), read-only.

    `facts.ci_config` is the typed way in; `facts["ci_config"]` the mapping one. Reading a kind the check
    was not given raises KeyError (the engine turns that into an error result: it never passes)."""

    ci_config = Kind(RepoFiles, "files", "CI config: .github/workflows/*, .gitlab-ci.yml, azure-pipelines.yml")
    dockerfiles = Kind(RepoFiles, "files", "Dockerfiles and Containerfiles")
    deploy_manifests = Kind(RepoFiles, "files", "Kubernetes/KServe manifests, Helm values, docker-compose files")
    workflow_files = Kind(RepoFiles, "files", "Databricks bundles, Airflow DAG files, Step Functions definitions")
    rule_files = Kind(RepoFiles, "files", "Prometheus rule files")
    rule_tests = Kind(
        RuleTests, "files", "promtool rule unit-test files, run with `promtool test rules` when a check asks"
    )
    alertmanager_config = Kind(RepoFiles, "files", "Alertmanager configuration")
    promtool_check = Kind(
        ToolVerdicts, "files", "`promtool check rules` on the rule files, when promtool is available (the authority)"
    )
    amtool_check = Kind(
        ToolVerdicts,
        "files",
        "`amtool check-config` on the Alertmanager files, when amtool is available (the authority)",
    )
    drift_config = Kind(RepoFiles, "files", "drift monitors: Azure ML, Databricks quality monitors, Evidently")
    branch_protection: Kind[BranchProtections] = Kind(
        "BranchProtections",
        "platform",
        "branch protection in force (classic rules and rulesets, protected branches, branch policies)",
    )
    commit_runs: Kind[CommitRuns] = Kind(
        "CommitRuns", "platform", "CI results on the exact commit (checks, pipelines, builds)"
    )
    environments: Kind[Environments] = Kind(
        "Environments", "platform", "deployment environments and their protection rules"
    )
    mlflow_model: Kind[MlflowModel] = Kind(
        "MlflowModel", "mlflow", "the released model version, its run, logged model and MLmodel"
    )
    oci_image: Kind[ImageFacts] = Kind(
        "ImageFacts", "oci", "the target image: digest, manifest, labels, signatures, attestations"
    )
    prometheus_state: Kind[PrometheusState] = Kind(
        "PrometheusState", "prometheus", "live rules, targets, samples and alerts"
    )
    alertmanager_state: Kind[AlertmanagerState] = Kind(
        "AlertmanagerState", "prometheus", "live Alertmanager config and silences"
    )
    policy_file: Kind[PolicyFiles] = Kind(
        "PolicyFiles", "git", "the policy file in use, compared with the target branch's copy (git)"
    )

    def __init__(self, values: Mapping[str, Any] | None = None, /, **kinds: Any) -> None:
        given = {**(values or {}), **kinds}
        unknown = sorted(set(given) - set(FACT_KINDS))
        if unknown:
            raise KeyError(f"unknown fact kinds: {', '.join(unknown)}")
        self._values = given

    def value(self, kind: Kind[T]) -> T:
        if kind.name not in self._values:
            raise KeyError(f"fact kind {kind.name} was not given to this check: add it to the check's needs")
        value = self._values[kind.name]
        if not isinstance(value, kind.type):
            raise TypeError(f"fact kind {kind.name} holds a {type(value).__name__}, not a {kind.type.__name__}")
        return value

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Facts({', '.join(self._values)})"


FACT_KINDS: dict[str, Kind[Any]] = {name: k for name, k in vars(Facts).items() if isinstance(k, Kind)}


@dataclass(frozen=True)
class FactRecord:
    """One collected fact kind: its value, or why it could not be read, and what reading it cost."""

    kind: str
    value: Any = None
    error: str | None = None
    requests: int = 0
    duration_s: float = 0.0
    sources: tuple[str, ...] = ()


__all__ = [
    "FACT_KINDS",
    "NOT_READ",
    "AlertmanagerState",
    "BranchProtection",
    "BranchProtections",
    "BypassActor",
    "CommitRuns",
    "Environment",
    "Environments",
    "FactRecord",
    "Facts",
    "ImageFacts",
    "Kind",
    "MlflowModel",
    "PolicyFiles",
    "PrometheusState",
    "RepoFiles",
    "RequiredCheck",
    "RuleTestFile",
    "RuleTests",
    "Run",
    "SourceFile",
    "ToolCheck",
    "ToolVerdicts",
]
