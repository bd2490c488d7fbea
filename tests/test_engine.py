"""The engine over hand-made checks and facts: planning, fail-closed errors, waivers, verdicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import engine
from mlops_gate.checkspec import CheckSpec, NoParams
from mlops_gate.facts.files import RepoFiles
from mlops_gate.model import Outcome, Severity, Status, Verdict, Violation, Waiver
from mlops_gate.policy import CheckConfig, Policy
from mlops_gate.target import Target

TODAY = dt.date(2026, 11, 28)


@dataclass(frozen=True)
class P:
    fail: bool = False


def _func(facts: Mapping[str, Any], params: P, target: Target) -> Iterator[Outcome]:
    files = facts["ci_config"]
    if params.fail:
        yield Outcome("repo:x", "bad", violations=(Violation("no test job"),))
    else:
        yield Outcome("repo:x", f"{len(files.files)} files")


def spec(cid: str = "ci.demo", **kw: Any) -> CheckSpec:
    base = CheckSpec(cid, "Demo", Severity.HIGH, ("ci_config",), P, _func, "doc")
    return replace(base, **kw)


def policy(
    checks: dict[str, CheckSpec],
    params: dict[str, Any] | None = None,
    waivers: tuple[Waiver, ...] = (),
    fail_on: Severity = Severity.HIGH,
    enabled: bool = True,
) -> Policy:
    return Policy(
        "test",
        ("test",),
        fail_on,
        Target(),
        {cid: CheckConfig(enabled, s.severity, (params or {}).get(cid, s.params())) for cid, s in checks.items()},
        waivers,
    )


def facts(**values: Any) -> dict[str, engine.FactRecord]:
    return {k: engine.FactRecord(k, v) for k, v in values.items()}


def run(
    checks: dict[str, CheckSpec],
    pol: Policy,
    fin: dict[str, engine.FactRecord] | None = None,
    target: Target | None = None,
) -> Any:
    report, _ = engine.run(
        pol,
        checks,
        target or Target(),
        Path("."),
        env={},
        facts_in=fin if fin is not None else facts(ci_config=RepoFiles("/r")),
        today=TODAY,
    )
    return report


def test_pass_fail_and_severity_threshold() -> None:
    checks = {"ci.demo": spec()}
    assert run(checks, policy(checks)).verdict is Verdict.PASS
    failing = policy(checks, {"ci.demo": P(fail=True)})
    assert run(checks, failing).verdict is Verdict.FAIL
    below = replace(failing, fail_on=Severity.CRITICAL)
    report = run(checks, below)
    assert report.results[0].status is Status.FAILED
    assert report.verdict is Verdict.PASS and report.verdict.exit_code == 0


def test_missing_fact_and_fact_error_end_in_error_never_pass() -> None:
    checks = {"ci.demo": spec()}
    report = run(checks, policy(checks), fin={})
    assert report.results[0].status is Status.ERROR
    assert "not in the facts given" in report.results[0].message
    report = run(
        checks,
        policy(checks),
        fin={"ci_config": engine.FactRecord("ci_config", None, "HTTP 403: need repo scope")},
    )
    assert report.results[0].status is Status.ERROR and "need repo scope" in report.results[0].message
    assert report.verdict is Verdict.ERROR and report.verdict.exit_code == 3


def test_missing_target_names_the_flag() -> None:
    checks = {"ci.demo": spec(requires_target=("model",))}
    report = run(checks, policy(checks))
    assert report.results[0].status is Status.ERROR
    assert "--model or target.model" in report.results[0].message


def test_crashing_or_silent_check_is_an_error() -> None:
    def boom(facts: Any, params: Any, target: Any) -> Iterator[Outcome]:
        raise KeyError("x")
        yield  # pragma: no cover

    def silent(facts: Any, params: Any, target: Any) -> Iterator[Outcome]:
        return iter(())

    checks = {
        "ci.a": spec("ci.a", func=boom, params=NoParams),
        "ci.b": spec("ci.b", func=silent, params=NoParams),
    }
    report = run(checks, policy(checks))
    assert [r.status for r in report.results] == [Status.ERROR, Status.ERROR]
    assert "internal error in the check: KeyError" in report.results[0].message
    assert "produced no result" in report.results[1].message


def test_failed_plus_error_is_fail_and_error_alone_is_three() -> None:
    checks = {"ci.a": spec("ci.a"), "ci.b": spec("ci.b", requires_target=("image",))}
    pol = policy(checks, {"ci.a": P(fail=True)})
    assert run(checks, pol).verdict is Verdict.FAIL
    assert run(checks, policy(checks)).verdict is Verdict.ERROR


def test_only_skip_and_disabled() -> None:
    checks = {"ci.a": spec("ci.a"), "ci.b": spec("ci.b")}
    pol = policy(checks, enabled=False)
    assert engine.plan(pol, checks, Target()) == []
    assert [p.spec.id for p in engine.plan(pol, checks, Target(), only=["ci.b"])] == ["ci.b"]
    assert [p.spec.id for p in engine.plan(policy(checks), checks, Target(), skip=["ci.a"])] == ["ci.b"]


def _waiver(subject: str = "repo:*", expires: str = "2027-01-01", check: str = "ci.demo") -> Waiver:
    return Waiver(check, subject, "@ml-platform", "PLAT-42", expires)


def test_waivers_applied_expired_unused() -> None:
    checks = {"ci.demo": spec()}
    applied, expired, unused = _waiver(), _waiver(expires="2026-11-27"), _waiver(subject="github:*")
    report = run(checks, policy(checks, {"ci.demo": P(fail=True)}, waivers=(applied, expired, unused)))
    assert report.results[0].status is Status.WAIVED and report.results[0].waiver == applied
    assert report.verdict is Verdict.PASS
    assert report.waivers_applied == (applied,)
    assert report.waivers_expired == (expired,)
    assert report.waivers_unused == (unused,)


def test_expired_waiver_no_longer_applies() -> None:
    checks = {"ci.demo": spec()}
    report = run(checks, policy(checks, {"ci.demo": P(fail=True)}, waivers=(_waiver(expires="2026-01-01"),)))
    assert report.results[0].status is Status.FAILED and report.verdict is Verdict.FAIL


def test_waiver_on_today_still_applies_and_never_waives_errors() -> None:
    checks = {"ci.demo": spec(requires_target=("model",))}
    report = run(checks, policy(checks, waivers=(_waiver(subject="*", expires="2026-11-28"),)))
    assert report.results[0].status is Status.ERROR
    assert report.waivers_unused and report.verdict is Verdict.ERROR


def test_facts_collected_concurrently_only_for_needed_kinds(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("test:\n  script: [pytest]\n")
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    checks = {"ci.demo": spec()}
    report, collected = engine.run(policy(checks), checks, Target(), tmp_path, env={}, today=TODAY)
    assert set(collected) == {"ci_config"}
    assert collected["ci_config"].sources == (".gitlab-ci.yml",)
    assert report.results[0].message == "1 files"


def test_provider_failure_is_an_error_result(tmp_path: Path) -> None:
    checks = {"ci.demo": spec()}
    report, collected = engine.run(policy(checks), checks, Target(), tmp_path / "missing", env={}, today=TODAY)
    assert "does not exist" in (collected["ci_config"].error or "")
    assert report.results[0].status is Status.ERROR


@pytest.mark.parametrize("sev", list(Severity))
def test_severity_ranks_are_ordered(sev: Severity) -> None:
    assert (sev.rank >= Severity.HIGH.rank) == (sev in (Severity.HIGH, Severity.CRITICAL))


def test_internal_errors_carry_the_traceback_only_when_asked() -> None:
    def boom(facts: Any, params: Any, target: Any) -> Iterator[Outcome]:
        raise ValueError("bad payload")
        yield  # pragma: no cover

    checks = {"ci.a": spec("ci.a", func=boom, params=NoParams)}
    planned = engine.plan(policy(checks), checks, Target())[0]
    quiet = engine.judge(planned, facts(ci_config=RepoFiles("/r")), Target())[0]
    assert quiet.message == "internal error in the check: ValueError: bad payload (-v shows the traceback)"
    loud = engine.judge(planned, facts(ci_config=RepoFiles("/r")), Target(), debug=True)[0]
    assert "Traceback (most recent call last)" in loud.message and "bad payload" in loud.message
