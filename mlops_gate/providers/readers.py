"""Which provider reads each fact kind (the kinds and their types are declared in mlops_gate.facts).

Each reader imports its provider when its kind is first needed, so a files-only run never imports the
platform SDKs, MLflow or the HTTP stack. Adding a kind: declare it on `facts.Facts`, write the provider
function, and add its reader here (tests/providers/test_readers.py checks the table is complete).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlops_gate.facts.files import RepoFiles
from mlops_gate.facts.promtool import RuleTests, ToolVerdicts
from mlops_gate.providers import Context

if TYPE_CHECKING:  # types of kinds a files-only run does not read (mlops_gate.facts.LAZY)
    from mlops_gate.facts import (
        AlertmanagerState,
        BranchProtections,
        CommitRuns,
        Environments,
        ImageFacts,
        MlflowModel,
        PrometheusState,
    )
    from mlops_gate.facts.policy_file import PolicyFiles

Reader = Callable[[Context], object]


def ci_config(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.ci_config(ctx)


def dockerfiles(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.dockerfiles(ctx)


def deploy_manifests(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.deploy_manifests(ctx)


def workflow_files(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.workflow_files(ctx)


def rule_files(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.rule_files(ctx)


def alertmanager_config(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.alertmanager_config(ctx)


def drift_config(ctx: Context) -> RepoFiles:
    from mlops_gate.providers import files

    return files.drift_config(ctx)


def rule_tests(ctx: Context) -> RuleTests:
    from mlops_gate.providers import promtool

    return promtool.rule_tests(ctx)


def promtool_check(ctx: Context) -> ToolVerdicts:
    from mlops_gate.providers import promtool

    return promtool.promtool_check(ctx)


def amtool_check(ctx: Context) -> ToolVerdicts:
    from mlops_gate.providers import amtool

    return amtool.amtool_check(ctx)


def branch_protection(ctx: Context) -> BranchProtections:
    from mlops_gate.providers import platform

    return platform.branch_protection(ctx)


def commit_runs(ctx: Context) -> CommitRuns:
    from mlops_gate.providers import platform

    return platform.commit_runs(ctx)


def environments(ctx: Context) -> Environments:
    from mlops_gate.providers import platform

    return platform.environments(ctx)


def mlflow_model(ctx: Context) -> MlflowModel:
    from mlops_gate.providers import mlflow_registry

    return mlflow_registry.mlflow_model(ctx)


def oci_image(ctx: Context) -> ImageFacts:
    from mlops_gate.providers import oci

    return oci.oci_image(ctx)


def prometheus_state(ctx: Context) -> PrometheusState:
    from mlops_gate.providers import prometheus

    return prometheus.prometheus_state(ctx)


def alertmanager_state(ctx: Context) -> AlertmanagerState:
    from mlops_gate.providers import prometheus

    return prometheus.alertmanager_state(ctx)


def policy_file(ctx: Context) -> PolicyFiles:
    from mlops_gate.providers import policy_file as provider

    return provider.policy_file(ctx)


READERS: dict[str, Reader] = {
    "ci_config": ci_config,
    "dockerfiles": dockerfiles,
    "deploy_manifests": deploy_manifests,
    "workflow_files": workflow_files,
    "rule_files": rule_files,
    "alertmanager_config": alertmanager_config,
    "drift_config": drift_config,
    "rule_tests": rule_tests,
    "promtool_check": promtool_check,
    "amtool_check": amtool_check,
    "branch_protection": branch_protection,
    "commit_runs": commit_runs,
    "environments": environments,
    "mlflow_model": mlflow_model,
    "oci_image": oci_image,
    "prometheus_state": prometheus_state,
    "alertmanager_state": alertmanager_state,
    "policy_file": policy_file,
}
