"""The registry checks over hand-built MLflow facts: no server, no mlflow import."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import typed
from mlops_gate.checks import registry as reg
from mlops_gate.checks import registry_metrics as reg_metrics
from mlops_gate.errors import PolicyError
from mlops_gate.facts import Facts
from mlops_gate.facts.mlflow_registry import (
    ComparedVersion,
    DatasetInputFacts,
    LoggedModelFacts,
    MlflowModel,
    MlmodelSummary,
    ModelVersionFacts,
    RegisteredModelFacts,
    RunFacts,
)
from mlops_gate.model import Outcome
from mlops_gate.policy import load
from mlops_gate.providers._mlflow_entities import summarize
from mlops_gate.providers._mlflow_reader import without_userinfo
from mlops_gate.providers.mlflow_registry import parse_model
from mlops_gate.target import Target

SHA = "0123456789abcdef0123456789abcdef01234567"
TARGET = Target(model="churn@candidate", commit=SHA, repository="acme/churn")


def facts(**changes: Any) -> MlflowModel:
    run = RunFacts(
        "r1",
        "1",
        "FINISHED",
        "active",
        {reg.COMMIT_TAG: SHA, reg.REPO_TAG: "git@github.com:acme/churn.git"},
        {"learning_rate": "0.1"},
        {"val_auc": 0.85, "latency_p95_ms": 40.0},
        (DatasetInputFacts("train", "abc", "code", "training"),),
        "http://mlflow/#/experiments/1/runs/r1",
    )
    base = MlflowModel(
        "http://mlflow",
        "churn@candidate",
        ModelVersionFacts(
            "churn",
            "2",
            ("candidate",),
            "READY",
            "",
            "None",
            "v2",
            {"validation_status": "approved"},
            "r1",
            "models:/m-1",
            "m-1",
            1,
            "http://mlflow/#/models/churn/versions/2",
        ),
        RegisteredModelFacts("churn", "Churn", {"owner": "ml"}, {"champion": "1", "candidate": "2"}),
        run,
        "r1",
        LoggedModelFacts("m-1", "model", "r1", "READY", "mlflow-artifacts:/1/m-1", {"val_auc": 0.86}),
        MlmodelSummary("mlflow-artifacts:/1/m-1/MLmodel", ("python_function",), True, True),
        None,
        {"champion": ComparedVersion("champion", "1", "r0", {"val_auc": 0.87, "latency_p95_ms": 35.0})},
    )
    return dataclasses.replace(base, **changes)


def judge(func: Any, model: MlflowModel, target: Target = TARGET, **params: Any) -> Outcome:
    spec = func.spec
    outcomes = list(func(Facts({"mlflow_model": model}), typed.from_data(spec.params, params), target))
    assert len(outcomes) == 1
    return outcomes[0]


def messages(o: Outcome) -> list[str]:
    return [v.message for v in o.violations]


def test_ready_version_passes() -> None:
    o = judge(reg.model_version, facts(), required_alias="candidate")
    assert (o.subject, o.violations, o.error) == ("mlflow:churn@candidate", (), None)
    assert o.message == "churn version 2 is READY (aliases: candidate)"


@pytest.mark.parametrize("status", ["PENDING_REGISTRATION", "FAILED_REGISTRATION"])
def test_version_not_ready_fails(status: str) -> None:
    mv = dataclasses.replace(facts().version, status=status, status_message="upload failed")  # type: ignore[type-var]
    o = judge(reg.model_version, facts(version=mv))
    assert messages(o) == [f"version 2 is {status}, not READY (upload failed)"]


def test_archived_and_missing_alias_fail() -> None:
    mv = dataclasses.replace(facts().version, current_stage="Archived")  # type: ignore[type-var]
    o = judge(reg.model_version, facts(version=mv), required_alias="champion")
    assert messages(o) == ["version 2 is archived", "version 2 does not hold alias 'champion' (version 1 does)"]
    assert judge(reg.model_version, facts(version=mv), allow_archived=True).violations == ()


def test_lineage_passes_on_the_exact_commit() -> None:
    o = judge(reg.lineage, facts(), require_dataset_inputs=True)
    assert o.violations == () and "at commit 0123456789ab" in o.message


def test_lineage_fails_on_another_commit_a_prefix_or_no_tag() -> None:
    run = facts().run
    assert run is not None
    assert messages(judge(reg.lineage, facts(), dataclasses.replace(TARGET, commit="feed" * 10))) == [
        f"run r1 was trained from commit {SHA}, the release is commit {'feed' * 10}"
    ]
    assert messages(judge(reg.lineage, facts(), dataclasses.replace(TARGET, commit=SHA[:12]))) != []
    no_tag = dataclasses.replace(run, tags={})
    assert messages(judge(reg.lineage, facts(run=no_tag))) == ["run r1 has no mlflow.source.git.commit tag"]


def test_lineage_fails_on_unfinished_run_other_repo_and_missing_datasets() -> None:
    run = facts().run
    assert run is not None
    bad = dataclasses.replace(
        run,
        status="RUNNING",
        dataset_inputs=(),
        tags={reg.COMMIT_TAG: SHA, reg.REPO_TAG: "https://github.com/evil/churn"},
    )
    o = judge(reg.lineage, facts(run=bad), require_dataset_inputs=True)
    assert messages(o) == [
        "run r1 is RUNNING, not FINISHED",
        "run r1 came from https://github.com/evil/churn, not acme/churn",
        "run r1 logged no dataset inputs",
    ]


def test_lineage_without_a_run_fails() -> None:
    assert messages(judge(reg.lineage, facts(run=None, run_id=""))) == [
        "the version names no run: the version cannot be traced to code"
    ]
    assert messages(judge(reg.lineage, facts(run=None, run_id="gone"))) == [
        "run gone not found: the version cannot be traced to code"
    ]


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://github.com/acme/churn.git", True),
        ("git@github.com:acme/churn.git", True),
        ("https://gitlab.example.com/group/acme/churn", True),
        ("https://github.com/acme/churn-v2", False),
    ],
)
def test_same_repo(url: str, ok: bool) -> None:
    assert reg._same_repo(url, "acme/churn") is ok


def test_metadata_passes_with_tags_from_version_and_model() -> None:
    o = judge(
        reg.metadata,
        facts(),
        required_tags={"owner": None, "validation_status": ["approved"]},
        required_params=["learning_rate"],
    )
    assert o.violations == ()


def test_metadata_reports_every_gap() -> None:
    mv = dataclasses.replace(facts().version, description="", tags={"validation_status": "pending"})  # type: ignore[type-var]
    ml = MlmodelSummary("x/MLmodel", ("sklearn",), has_signature=False, has_input_example=False)
    o = judge(
        reg.metadata,
        facts(version=mv, mlmodel=ml),
        required_tags={"owner": None, "validation_status": ["approved"], "team": None},
        required_params=["learning_rate", "max_depth"],
    )
    assert messages(o) == [
        "version 2 has no description",
        "tag team is not set on version 2 nor on churn".replace("tag team", "tag 'team'"),
        "tag validation_status='pending', policy allows approved",
        "the MLmodel has no signature (log the model with signature=...)",
        "the MLmodel has no input example (log it with input_example=...)",
        "parameter(s) not logged: max_depth",
    ]


def test_metadata_malformed_or_unread_mlmodel() -> None:
    bad = summarize("s/MLmodel", "flavors: [x\n  y: {")
    assert bad.error == "MLmodel is not valid YAML (line 2)"
    assert messages(judge(reg.metadata, facts(mlmodel=bad))) == ["MLmodel is not valid YAML (line 2) (s/MLmodel)"]
    o = judge(reg.metadata, facts(mlmodel=None, mlmodel_error="cannot reach MLflow"))
    assert o.error == "could not read the MLmodel file: cannot reach MLflow"


def test_summarize_reads_signature_and_example() -> None:
    s = summarize(
        "m",
        "flavors: {python_function: {}, sklearn: {}}\nsignature: {inputs: '[...]'}\n"
        "saved_input_example_info: {artifact_path: input_example.json}\n",
    )
    assert (s.flavors, s.has_signature, s.has_input_example, s.error) == (
        ("python_function", "sklearn"),
        True,
        True,
        None,
    )
    assert summarize("m", "- a list").error == "MLmodel is not an MLmodel file: no `flavors` mapping"


def test_metrics_thresholds_use_the_logged_model_value() -> None:
    o = judge(reg_metrics.metrics, facts(), thresholds={"val_auc": ">= 0.86", "latency_p95_ms": "<= 50"})
    assert o.violations == () and "val_auc = 0.86" in o.evidence
    o = judge(reg_metrics.metrics, facts(), thresholds={"val_auc": "> 0.9", "f1": ">= 0.5"})
    assert messages(o) == ["f1 was not logged (policy wants >= 0.5)", "val_auc = 0.86, policy wants > 0.9"]


def test_metrics_regression_against_champion() -> None:
    o = judge(
        reg_metrics.metrics,
        facts(),
        compare_to="champion",
        max_regression={"val_auc": 0.005, "latency_p95_ms": 2},
        thresholds={"latency_p95_ms": "<= 50"},
    )
    assert messages(o) == [
        "latency_p95_ms regressed from 35 (version 1) to 40: worse by 5, policy allows 2",
        "val_auc regressed from 0.87 (version 1) to 0.86: worse by 0.01, policy allows 0.005",
    ]
    assert judge(reg_metrics.metrics, facts(), compare_to="champion", max_regression={"val_auc": 0.02}).violations == ()


def test_metrics_comparison_skipped_for_the_champion_itself_or_no_champion() -> None:
    same = facts(compared={"champion": ComparedVersion("champion", "2", notes=("the candidate is version 2",))})
    o = judge(
        reg_metrics.metrics,
        same,
        compare_to="champion",
        max_regression={"val_auc": 0},
        thresholds={"val_auc": ">= 0.5"},
    )
    assert o.violations == () and o.error is None
    assert (
        "comparison with champion skipped: version 2 is the champion itself; the candidate is version 2" in o.evidence
    )
    none = facts(compared={"champion": ComparedVersion("champion", None, notes=("no version holds it",))})
    o = judge(reg_metrics.metrics, none, compare_to="champion", max_regression={"val_auc": 0})
    assert o.error == (
        "no version holds 'champion' and no thresholds are set: set checks.registry.metrics.params.thresholds"
    )  # nothing checked: never a pass
    assert judge(reg_metrics.metrics, facts(compared={}), compare_to="champion").error is not None


def test_metrics_without_any_bar_is_an_error() -> None:
    assert "not configured" in (judge(reg_metrics.metrics, facts()).error or "")


@pytest.mark.parametrize("bound", [">= abc", "0.8", "=> 0.8", ">= 0.8 ms", ""])
def test_bad_threshold_is_a_policy_error(tmp_path: Path, bound: str) -> None:
    p = tmp_path / "policy.yml"
    p.write_text(f'version: 1\nchecks:\n  registry.metrics:\n    params:\n      thresholds: {{val_auc: "{bound}"}}\n')
    with pytest.raises(PolicyError, match=r"checks\.registry\.metrics\.params\.thresholds\.val_auc: .* is not a bound"):
        load(p)


def test_max_regression_needs_compare_to(tmp_path: Path) -> None:
    p = tmp_path / "policy.yml"
    p.write_text("version: 1\nchecks:\n  registry.metrics:\n    params:\n      max_regression: {val_auc: 0.01}\n")
    with pytest.raises(PolicyError, match="max_regression: needs compare_to"):
        load(p)


@pytest.mark.parametrize(
    "text, bound",
    [
        (">= 0.80", (">=", 0.8)),
        ("<=50", ("<=", 50.0)),
        ("> 0", (">", 0.0)),
        ("== 1", ("==", 1.0)),
        (" < -1e-3 ", ("<", -0.001)),
    ],
)
def test_parse_bound(text: str, bound: tuple[str, float]) -> None:
    assert reg_metrics.parse_bound(text) == bound


def test_metrics_scope_asks_for_the_compare_to_alias() -> None:
    params = typed.from_data(reg_metrics.MetricsParams, {"compare_to": "champion", "thresholds": {"a": "> 0"}})
    assert reg_metrics.metrics.spec.scope(params, TARGET) == {"mlflow_model": ("alias:champion",)}  # type: ignore[attr-defined]
    assert reg_metrics.metrics.spec.scope(reg_metrics.MetricsParams(), TARGET) == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "ref, parsed",
    [
        ("churn@champion", ("churn", "champion", None)),
        ("churn/3", ("churn", None, "3")),
        ("models:/cat.schema.churn@prod", ("cat.schema.churn", "prod", None)),
    ],
)
def test_parse_model(ref: str, parsed: tuple[str, str | None, str | None]) -> None:
    assert parse_model(ref) == parsed


def test_parse_model_rejects_other_shapes() -> None:
    with pytest.raises(Exception, match="neither NAME@ALIAS nor NAME/VERSION"):
        parse_model("churn")


def test_credentials_never_shown_in_the_uri() -> None:
    assert without_userinfo("https://u:secret@mlflow.example.com/x") == "https://mlflow.example.com/x"


def test_facts_round_trip_through_json() -> None:
    f = facts()
    assert typed.from_data(MlflowModel, typed.to_data(f)) == f


def test_metrics_with_nothing_actually_compared_is_an_error() -> None:
    champ = facts(compared={"champion": ComparedVersion("champion", "1", "r0", {"other": 1.0})})
    o = judge(reg_metrics.metrics, champ, compare_to="champion")
    assert o.error is not None and o.error.startswith("no threshold is set and no max_regression metric")
    o = judge(reg_metrics.metrics, champ, compare_to="champion", max_regression={"val_auc": 0.01})
    assert o.error is not None  # the baseline never logged val_auc: nothing was compared
