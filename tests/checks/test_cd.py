"""cd.deploy-via-pipeline over small fixture trees read by the real files provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_gate.checks import cd
from mlops_gate.model import Location, Outcome, Violation
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree

GH = ".github/workflows/deploy.yml"
GL = ".gitlab-ci.yml"
AZ = "azure-pipelines.yml"


def run(tmp_path: Path, files: dict[str, str], target: Target | None = None, **params: Any) -> Outcome:
    write_tree(tmp_path, files)
    facts = read_facts(tmp_path, "ci_config")
    spec = cd.deploy_via_pipeline.spec  # type: ignore[attr-defined]
    outcomes = list(spec.func(facts, cd.Params(**params), target or Target(base_branch="main")))
    assert len(outcomes) == 1
    assert outcomes[0].error is None
    return outcomes[0]


def gh_job(env: str, on: str = "on:\n  push:\n    branches: [main]\n", extra: str = "") -> dict[str, str]:
    return {
        GH: on + f"jobs:\n  deploy:\n    runs-on: ubuntu-latest\n{env}{extra}    steps:\n      - run: ./deploy.sh\n"
    }


# --- nothing to judge -----------------------------------------------------------------------------


def test_no_ci_files_fails_closed(tmp_path: Path) -> None:
    o = run(tmp_path, {"README.md": "x\n"})
    assert o.message == "no deploy job found matching deploy*, release*"
    assert o.violations[0].message.startswith("no deploy job found matching deploy*, release* (no CI configuration")


def test_no_deploy_job_fails_closed(tmp_path: Path) -> None:
    o = run(tmp_path, {GH: "on: push\njobs:\n  test:\n    runs-on: x\n    steps: [{run: pytest}]\n"})
    assert o.violations == (Violation("no deploy job found matching deploy*, release* in 1 CI files"),)


def test_unparsable_file(tmp_path: Path) -> None:
    o = run(tmp_path, {GL: "deploy:\n  script: [x\n"} | gh_job("    environment: production\n"))
    assert o.message == "1 of 1 deploy jobs target production"
    (v,) = o.violations
    assert v.message.startswith("invalid YAML") and v.location == Location(GL, 3)


# --- GitHub ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["    environment: production\n", "    environment:\n      name: Production\n"])
def test_github_production_passes(tmp_path: Path, env: str) -> None:
    o = run(tmp_path, gh_job(env))
    assert not o.violations
    assert o.message == "1 of 1 deploy jobs target production"
    assert o.evidence == (f"{GH}:5: deploy job deploy",)


@pytest.mark.parametrize(
    ("env", "message", "line"),
    [
        ("", "job deploy deploys without an environment, so no approvals apply", 5),
        ("    environment: staging\n", "job deploy deploys to environment staging, not production", 7),
        (
            "    environment: {name: '${{ inputs.env }}'}\n",
            "job deploy deploys to ${{ inputs.env }}, decided at run time: cannot verify it",
            7,
        ),
    ],
)
def test_github_wrong_environment(tmp_path: Path, env: str, message: str, line: int) -> None:
    o = run(tmp_path, gh_job(env))
    assert o.violations == (Violation(message, Location(GH, line)),)
    assert o.message == "0 of 1 deploy jobs target production"


def test_github_other_environments(tmp_path: Path) -> None:
    files = gh_job("    environment: production\n")
    files[GH] += "  deploy-staging:\n    runs-on: x\n    environment: staging\n    steps: [{run: x}]\n"
    assert not run(tmp_path, files, other_environments=("stag*",)).violations
    o = run(tmp_path, files, deploy_jobs=("deploy-staging",), other_environments=("staging",))
    assert o.violations == (Violation("no deploy job targets production"),)


def test_github_job_name_matches(tmp_path: Path) -> None:
    files = {GH: "on: push\njobs:\n  ship:\n    name: Release to prod\n    runs-on: x\n    steps: [{run: x}]\n"}
    o = run(tmp_path, files)
    assert o.violations[0].message == "job ship deploys without an environment, so no approvals apply"


def test_github_deploy_on_pull_request(tmp_path: Path) -> None:
    files = gh_job("    environment: production\n", on="on: [push, pull_request]\n")
    o = run(tmp_path, files)
    assert o.violations == (
        Violation(
            "job deploy deploys to production on pull requests (add a condition that keeps it off them)",
            Location(GH, 5),
        ),
    )
    assert not run(tmp_path, files, allow_pr_deploys=True).violations
    guarded = gh_job(
        "    environment: production\n", "on: [push, pull_request]\n", "    if: github.event_name == 'push'\n"
    )
    assert not run(tmp_path, guarded).violations


def test_github_reusable_workflows(tmp_path: Path) -> None:
    files = {
        GH: "on: push\njobs:\n  deploy:\n    uses: ./.github/workflows/reusable-deploy.yml\n",
        ".github/workflows/reusable-deploy.yml": "on: workflow_call\njobs:\n  deploy-app:\n"
        "    runs-on: x\n    environment: production\n    steps: [{run: x}]\n",
    }
    o = run(tmp_path, files)
    assert not o.violations
    assert o.message == "1 of 1 deploy jobs target production"
    files[GH] = "on: push\njobs:\n  deploy:\n    uses: acme/ops/.github/workflows/deploy.yml@v1\n"
    o = run(tmp_path, files)
    assert o.violations == (
        Violation(
            "job deploy calls acme/ops/.github/workflows/deploy.yml@v1: its environment cannot be verified",
            Location(GH, 3),
        ),
    )


# --- GitLab ---------------------------------------------------------------------------------------


def test_gitlab_production_with_extends(tmp_path: Path) -> None:
    text = (
        ".deploy:\n  environment:\n    name: production\n"
        "  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n"
        "deploy-prod:\n  extends: .deploy\n  script: [./deploy]\n"
        "stop-prod:\n  extends: .deploy\n  environment: {name: production, action: stop}\n"
    )
    o = run(tmp_path, {GL: text}, deploy_jobs=("deploy*", "stop*"))
    assert not o.violations
    assert o.message == "1 of 1 deploy jobs target production"


@pytest.mark.parametrize(
    ("job", "message", "line"),
    [
        ("deploy:\n  script: [x]\n", "deploys without an environment, so no approvals apply", 1),
        (
            "deploy:\n  environment: {name: staging}\n  script: [x]\n",
            "deploys to environment staging, not production",
            2,
        ),
        (
            "deploy:\n  environment: review/$CI_COMMIT_REF_SLUG\n",
            "deploys to review/$CI_COMMIT_REF_SLUG, decided at run time: cannot verify it",
            2,
        ),
        (
            "deploy:\n  environment: production\n  only: [merge_requests]\n",
            "deploys to production on merge requests (add a condition that keeps it off them)",
            2,
        ),
        (
            "deploy:\n  environment: production\n  rules:\n    - if: $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == 'main'\n",
            "deploys to production on merge requests (add a condition that keeps it off them)",
            2,
        ),
    ],
)
def test_gitlab_violations(tmp_path: Path, job: str, message: str, line: int) -> None:
    o = run(tmp_path, {GL: job})
    assert o.violations == (Violation(f"job deploy {message}", Location(GL, line)),)


def test_gitlab_plain_deploy_job_is_not_in_merge_request_pipelines(tmp_path: Path) -> None:
    assert not run(tmp_path, {GL: "release:\n  environment: production\n  script: [x]\n"}).violations


def test_gitlab_deploy_job_in_an_included_file(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: /ci/*.yml\n",
        "ci/templates.yml": ".prod:\n  environment: {name: production}\n",
        "ci/deploy.yml": "stages: [deploy]\ndeploy:\n  extends: .prod\n  script: [./deploy]\n"
        "release:\n  environment: staging\n",
    }
    o = run(tmp_path, files)
    assert o.message == "1 of 2 deploy jobs target production"
    assert o.evidence == ("ci/deploy.yml:2: deploy job deploy", "ci/deploy.yml:5: deploy job release")
    assert o.violations == (
        Violation("job release deploys to environment staging, not production", Location("ci/deploy.yml", 6)),
    )


def test_gitlab_main_file_overrides_an_included_deploy_job(tmp_path: Path) -> None:
    files = {
        GL: "include: ci/deploy.yml\ndeploy:\n  environment: staging\n",
        "ci/deploy.yml": "deploy:\n  environment: production\n  script: [./deploy]\n",
    }
    o = run(tmp_path, files)
    assert o.violations == (Violation("job deploy deploys to environment staging, not production", Location(GL, 3)),)
    files[GL] = "include: ci/deploy.yml\ndeploy:\n  only: [merge_requests]\n"  # the environment stays where written
    o = run(tmp_path, files)
    assert o.violations == (
        Violation(
            "job deploy deploys to production on merge requests (add a condition that keeps it off them)",
            Location("ci/deploy.yml", 2),
        ),
    )


def test_gitlab_include_matching_no_file_fails(tmp_path: Path) -> None:
    files = {GL: "include: [ci/deploy.yml, ci/nope.yml]\n", "ci/deploy.yml": "deploy:\n  environment: production\n"}
    o = run(tmp_path, files)
    assert o.violations == (Violation("include 'ci/nope.yml' matches no YAML file in the repository", Location(GL, 1)),)


def test_gitlab_unreadable_includes_are_named_when_no_deploy_job_is_found(tmp_path: Path) -> None:
    text = "include:\n  - template: Jobs/Deploy.gitlab-ci.yml\n  - remote: https://x.test/deploy.yml\nbuild:\n  script: [make]\n"
    o = run(tmp_path, {GL: text})
    note = (
        "; 2 includes could not be read offline (template Jobs/Deploy.gitlab-ci.yml, remote https://x.test/deploy.yml)"
    )
    assert o.message == "no deploy job found matching deploy*, release*" + note
    assert o.violations == (Violation("no deploy job found matching deploy*, release* in 1 CI files" + note),)
    o = run(tmp_path, {GL: text + "deploy:\n  environment: production\n"})
    assert o.message == "1 of 1 deploy jobs target production" and not o.violations


def test_gitlab_include_no_pipeline_applies_is_left_out(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: ci/deploy.yml\n    rules:\n      - if: $CI_PIPELINE_SOURCE == 'never'\n",
        "ci/deploy.yml": "deploy-prod:\n  environment: production\n  script: [./deploy]\n",
    }
    o = run(tmp_path, files)
    note = "; 1 include left out by its rules (local ci/deploy.yml)"
    assert o.message == "no deploy job found matching deploy*, release*" + note
    assert o.evidence == (
        ".gitlab-ci.yml:2: include local ci/deploy.yml left out of any pipeline: its rules do not apply",
    )


@pytest.mark.parametrize(
    "rule",
    [
        "$CI_COMMIT_TAG",
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "$DEPLOY == 'true'",
        "$CI_PIPELINE_SOURCE == 'schedule'",
    ],
)
def test_gitlab_include_some_pipeline_could_include_is_judged(tmp_path: Path, rule: str) -> None:
    files = {
        GL: f"include:\n  - local: ci/deploy.yml\n    rules:\n      - if: {rule}\n",
        "ci/deploy.yml": "deploy:\n  environment: staging\n  script: [./deploy]\n",
    }
    o = run(tmp_path, files)
    assert o.violations == (
        Violation("job deploy deploys to environment staging, not production", Location("ci/deploy.yml", 2)),
    )
    kept = ".gitlab-ci.yml:2: include local ci/deploy.yml kept for any pipeline: its rules may apply"
    assert (kept in o.evidence) == ("schedule" not in rule)  # scheduled pipelines include it: nothing undecided


def test_gitlab_merge_requests_are_judged_with_the_includes_they_could_have(tmp_path: Path) -> None:
    deploy = "deploy:\n  environment: production\n  rules:\n    - when: on_success\n"  # in every pipeline it is in
    files = {
        GL: "include:\n  - local: ci/deploy.yml\n    rules:\n      - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n",
        "ci/deploy.yml": deploy,
    }
    o = run(tmp_path, files)
    assert o.message == "1 of 1 deploy jobs target production" and not o.violations  # never in a merge request pipeline
    for rule in ("$CI_MERGE_REQUEST_IID", "$DEPLOY_ON_MR"):  # in them, or maybe
        files[GL] = f"include:\n  - local: ci/deploy.yml\n    rules:\n      - if: {rule}\n"
        o = run(tmp_path, files)
        assert o.violations == (
            Violation(
                "job deploy deploys to production on merge requests (add a condition that keeps it off them)",
                Location("ci/deploy.yml", 2),
            ),
        )


def test_gitlab_deploy_job_after_a_spec_header(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: ci/deploy.yml\n    inputs: {env: production}\n",
        "ci/deploy.yml": "spec:\n  inputs:\n    env:\n---\ndeploy:\n  environment: $[[ inputs.env ]]\n",
    }
    o = run(tmp_path, files)
    assert o.violations == (
        Violation(
            "job deploy deploys to $[[ inputs.env ]], decided at run time: cannot verify it",
            Location("ci/deploy.yml", 6),
        ),
    )
    assert (
        "ci/deploy.yml: jobs read from the document after its spec: header; $[[ inputs.* ]] are not interpolated"
        in o.evidence
    )


def test_gitlab_unreadable_includes_are_listed_on_a_pass(tmp_path: Path) -> None:
    text = "include:\n  - remote: https://x.test/deploy.yml\ndeploy:\n  environment: production\n"
    o = run(tmp_path, {GL: text})
    assert not o.violations
    assert o.evidence == (
        ".gitlab-ci.yml:3: deploy job deploy",
        ".gitlab-ci.yml:2: include remote https://x.test/deploy.yml not read offline: it can add workflow:rules or override jobs",
    )


# --- Azure Pipelines ------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["production", "production.web-vm", "{name: production, resourceType: VirtualMachine}"])
def test_azure_deployment_job(tmp_path: Path, env: str) -> None:
    text = (
        "trigger: [main]\npr: none\nstages:\n  - stage: Release\n    jobs:\n      - deployment: DeployWeb\n"
        f"        environment: {env}\n        strategy:\n          runOnce:\n            deploy:\n"
        "              steps: [{script: ./deploy.sh}]\n"
    )
    o = run(tmp_path, {AZ: text})
    assert not o.violations
    assert o.evidence == (f"{AZ}:6: deploy job DeployWeb",)


@pytest.mark.parametrize(
    ("jobs", "message", "line"),
    [
        (
            "  - job: Deploy\n    steps: [{script: x}]\n",
            "is a plain job, not a deployment job: it targets no environment",
            3,
        ),
        (
            "  - deployment: Deploy\n    environment: staging\n",
            "deploys to environment staging, not production",
            4,
        ),
        ("  - deployment: Deploy\n", "deploys without an environment, so no approvals apply", 3),
    ],
)
def test_azure_violations(tmp_path: Path, jobs: str, message: str, line: int) -> None:
    o = run(tmp_path, {AZ: "pr: none\njobs:\n" + jobs})
    assert o.violations == (Violation(f"job Deploy {message}", Location(AZ, line)),)


def test_azure_deploy_on_pull_requests(tmp_path: Path) -> None:
    jobs = "jobs:\n  - deployment: Deploy\n    environment: production\n"
    o = run(tmp_path, {AZ: "pr: [main]\n" + jobs})
    assert o.violations[0].message.endswith(
        "deploys to production on pull requests (add a condition that keeps it off them)"
    )
    guarded = jobs + "    condition: eq(variables['Build.SourceBranch'], 'refs/heads/main')\n"
    assert not run(tmp_path, {AZ: "pr: [main]\n" + guarded}).violations
