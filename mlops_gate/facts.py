"""Host-neutral fact types and the catalogue of fact kinds.

A fact kind is a name checks ask for (`needs=("ci_config",)`), the frozen type its value has,
and the provider function that reads it ("module:function", imported only when needed).
Facts are plain data: they round-trip through JSON for `--facts-out` / `--facts-in`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class FactKind:
    name: str
    type: type
    provider: str  # "module:function"; the function takes a providers.Context
    area: str  # what it reads: files, platform, mlflow, oci, prometheus
    doc: str


_FILES = "mlops_gate.providers.files"

FACT_KINDS: dict[str, FactKind] = {
    k.name: k
    for k in (
        FactKind(
            "ci_config",
            RepoFiles,
            f"{_FILES}:ci_config",
            "files",
            "CI configuration: .github/workflows/*, .gitlab-ci.yml, azure-pipelines.yml",
        ),
        FactKind(
            "dockerfiles", RepoFiles, f"{_FILES}:dockerfiles", "files", "Dockerfiles and Containerfiles"
        ),
        FactKind(
            "deploy_manifests",
            RepoFiles,
            f"{_FILES}:deploy_manifests",
            "files",
            "Kubernetes/KServe manifests, Helm values, docker-compose files",
        ),
        FactKind(
            "workflow_files",
            RepoFiles,
            f"{_FILES}:workflow_files",
            "files",
            "Databricks bundles, Airflow DAG files, Step Functions definitions",
        ),
        FactKind("rule_files", RepoFiles, f"{_FILES}:rule_files", "files", "Prometheus rule files"),
        FactKind(
            "alertmanager_config",
            RepoFiles,
            f"{_FILES}:alertmanager_config",
            "files",
            "Alertmanager configuration",
        ),
        FactKind(
            "drift_config",
            RepoFiles,
            f"{_FILES}:drift_config",
            "files",
            "drift monitors: Azure ML monitors, Databricks quality monitors, Evidently/NannyML configs",
        ),
    )
}
