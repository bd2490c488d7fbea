"""Write each example's facts.json, the offline demo: the example's files as the gate reads them,
plus the platform facts GitHub or GitLab would report for it. No platform is reachable offline,
so those are written here by hand, in the gate's host-neutral fact types.

    python examples/make_facts.py          # rewrite both (a test checks they are current)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mlops_gate import policy
from mlops_gate.engine import collect
from mlops_gate.facts import (
    FACT_KINDS,
    BranchProtection,
    BranchProtections,
    BypassActor,
    CommitRuns,
    Environment,
    Environments,
    FactRecord,
    RequiredCheck,
    Run,
)
from mlops_gate.facts import saved as facts_file
from mlops_gate.facts.mlflow_registry import (
    ComparedVersion,
    MlflowModel,
    MlmodelSummary,
    ModelVersionFacts,
    RegisteredModelFacts,
    RunFacts,
)
from mlops_gate.providers import RunInputs
from mlops_gate.target import Target

HERE = Path(__file__).resolve().parent
CHURN_SHA = "4f2c9e1b7a3d5f60812e9c4b7a1d3f5e6c8b0a92"
FRAUD_SHA = "9b1e3c5a7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d"

CHURN = Target(platform="github", repository="acme/churn-model", branch="main", commit=CHURN_SHA,
               model="churn@champion")
FRAUD = Target(platform="gitlab", repository="acme/fraud-model", branch="main", commit=FRAUD_SHA, model="fraud/7")
MLFLOW = "https://mlflow.example.com"

PLATFORM = {
    "churn-model": {
        "branch_protection": BranchProtections("github", "acme/churn-model", "main", (
            BranchProtection(
                "main", True, required_approvals=2, code_owner_review=True, dismiss_stale=True,
                last_push_approval=False, author_can_approve=False,
                required_checks=(RequiredCheck("test", "15368"),), strict=True,  # the GitHub Actions app
                force_push_allowed=False, deletion_allowed=False, signed_commits=False, bypass_actors=(),
                sources=("classic", "ruleset:4021 main-protection"),
                url="https://api.github.com/repos/acme/churn-model/rules/branches/main",
            ),
        ), requested=("@default",)),
        "commit_runs": CommitRuns("github", "acme/churn-model", CHURN_SHA, (
            Run("test", "completed", "failure", "check-run", "github-actions",
                "https://github.com/acme/churn-model/actions/runs/1001/job/1", "2026-11-27T09:00:00Z", "1", "15368"),
            Run("test", "completed", "success", "check-run", "github-actions",
                "https://github.com/acme/churn-model/actions/runs/1001/job/2", "2026-11-27T09:20:00Z", "2", "15368"),
        )),
        "mlflow_model": MlflowModel(
            MLFLOW, "churn@champion",
            version=ModelVersionFacts("churn", "12", aliases=("champion",), status="READY",
                                      description="Gradient-boosted churn classifier, Nov 2026 retrain",
                                      tags={"validation_status": "approved"}, run_id="5f0c2a", source="runs:/5f0c2a/model",
                                      url=f"{MLFLOW}/#/models/churn/versions/12"),
            registered_model=RegisteredModelFacts("churn", "Predicts 90-day churn", {"owner": "ml-platform"},
                                                  {"champion": "12"}),
            run=RunFacts("5f0c2a", "3", "FINISHED", "active",
                         tags={"mlflow.source.git.commit": CHURN_SHA,
                               "mlflow.source.git.repoURL": "https://github.com/acme/churn-model"},
                         params={"learning_rate": "0.05", "n_estimators": "400"},
                         metrics={"val_auc": 0.864, "latency_p95_ms": 31.0}),
            run_id="5f0c2a",
            mlmodel=MlmodelSummary("runs:/5f0c2a/model/MLmodel", ("python_function", "sklearn"), True, True),
            compared={"champion": ComparedVersion("champion", "12", "5f0c2a", {"val_auc": 0.864})},
        ),
        "environments": Environments("github", "acme/churn-model", (
            Environment("production", True, reviewers=("team:ml-platform",), min_approvals=1,
                        self_review_allowed=False, branch_policy="protected", other_rules=("wait_timer: 5 min",),
                        url="https://api.github.com/repos/acme/churn-model/environments/production"),
        )),
    },
    "fraud-model": {
        "branch_protection": BranchProtections("gitlab", "acme/fraud-model", "main", (
            BranchProtection(
                "main", True, required_approvals=None, code_owner_review=None, dismiss_stale=None,
                last_push_approval=None, author_can_approve=None, required_checks=(), strict=None,
                force_push_allowed=True, deletion_allowed=False, signed_commits=None,
                bypass_actors=(BypassActor("role", "Maintainers"),), sources=("gitlab:protected_branch",),
                notes=("merge request approval rules need GitLab Premium; this instance is Free",),
                url="https://gitlab.example.com/api/v4/projects/acme%2Ffraud-model/protected_branches/main",
            ),
        ), requested=("@default",)),
        "commit_runs": CommitRuns("gitlab", "acme/fraud-model", FRAUD_SHA, (
            Run("pipeline", "completed", "success", "pipeline", None,
                "https://gitlab.example.com/acme/fraud-model/-/pipelines/77", "2026-11-26T14:00:00Z", "77"),
            Run("pipeline", "completed", "failure", "pipeline", None,
                "https://gitlab.example.com/acme/fraud-model/-/pipelines/78", "2026-11-26T15:00:00Z", "78"),
        )),
        "environments": Environments("gitlab", "acme/fraud-model", (Environment("production", False),)),
        "mlflow_model": MlflowModel(
            MLFLOW, "fraud/7",
            version=ModelVersionFacts("fraud", "7", status="READY", description="", tags={},
                                      run_id="a71e09", source="runs:/a71e09/model"),
            registered_model=RegisteredModelFacts("fraud", "Card-not-present fraud scorer", {"owner": "fraud-ml"},
                                                  {"champion": "6"}),
            run=RunFacts("a71e09", "8", "FINISHED", "active",
                         tags={"mlflow.source.git.commit": "0c4d2f6e8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d"},
                         metrics={"val_recall": 0.87}),
            run_id="a71e09",
            mlmodel=MlmodelSummary("runs:/a71e09/model/MLmodel", ("python_function",), False, False),
            compared={"champion": ComparedVersion("champion", "6", "77bd10", {"val_recall": 0.91})},
        ),
    },
}
TARGETS = {"churn-model": CHURN, "fraud-model": FRAUD}


def build(name: str) -> dict[str, object]:
    # the files as read, plus the (empty: no target image) OCI facts; platform facts are written below
    kinds = {k: frozenset() for k, kind in FACT_KINDS.items() if kind.area == "files" or k == "oci_image"}
    out = Path("examples") / name / "facts.json"  # this run's output: the files provider leaves it out, by path
    # relative paths: the same on every machine
    # promtool/amtool verdicts depend on the machine: the demo records the gate's own reading only
    no_tools = {"MLOPS_GATE_PROMTOOL": "off", "MLOPS_GATE_AMTOOL": "off"}
    records = collect(kinds, Path("examples") / name, TARGETS[name], no_tools, inputs=RunInputs(own_outputs=(str(out),)))
    for kind, value in PLATFORM[name].items():
        records[kind] = FactRecord(kind, value, sources=("hand-written demo facts (examples/make_facts.py)",))
    records = {k: FactRecord(r.kind, r.value, r.error, r.requests, 0.0, r.sources) for k, r in records.items()}
    rel = f"examples/{name}/.mlops-gate.yml"
    return facts_file.dump(records, TARGETS[name], (rel, policy.load(rel).digest))


def main() -> int:
    os.chdir(HERE.parent)
    for name in PLATFORM:
        (HERE / name / "facts.json").write_text(json.dumps(build(name), indent=1) + "\n", encoding="utf-8")
    print("rewrote examples/*/facts.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
