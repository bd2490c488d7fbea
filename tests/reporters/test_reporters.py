"""Reporters: each format from hand-built reports, validated against the published schemas."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import links
from mlops_gate.checkspec import CheckSpec, NoParams
from mlops_gate.model import Location, Report, Result, Severity, Status, Violation, Waiver
from mlops_gate.reporters import FORMATS, codequality, console, json_report, junit, markdown, render, sarif

# not `from mlops_gate.reporters import annotations`: that name is the package's __future__ feature
annotations = importlib.import_module("mlops_gate.reporters.annotations")

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "schemas"
SARIF_SCHEMA = SHARED / "sarif" / "schema" / "sarif-schema-2.1.0.json"
JUNIT_XSD = SHARED / "junit" / "jenkins-xunit-plugin" / "junit-10.xsd"
REPORT_SCHEMA = ROOT / "mlops_gate" / "schemas" / "report-v1.json"
DOCS = links.docs("docs/checks.md") + "#"
NASTY = 'rate 50% | <b>&"x"</b>\r\nnext: a,b;c] ::error:: 模型 ✓ [bold]x[/bold]'

W_APPLIED = Waiver("cd.production-environment", "github:acme/*", "@ml-platform", "break-glass; PLAT-42", "2099-03-31")
W_EXPIRED = Waiver("vcs.no-bypass", "github:acme/*", "@sec", "old exception", "2020-01-01")
W_UNUSED = Waiver("image.labels", "oci:*", "@ops", "labels land in PLAT-7", "2099-01-01")


def res(
    check: str,
    status: Status,
    severity: Severity = Severity.HIGH,
    subject: str = "file:x",
    message: str = "msg",
    violations: tuple[Violation, ...] = (),
    **extra: Any,
) -> Result:
    return Result(
        check,
        check.title(),
        check.split(".")[0],
        severity,
        status,
        subject,
        message,
        violations,
        docs=DOCS + check.replace(".", ""),
        **extra,
    )


def make_report(**changes: Any) -> Report:
    results = (
        res(
            "ci.pr-pipeline",
            Status.PASSED,
            subject="file:.github/workflows/ci.yml",
            message="tests run on PRs",
            evidence=(".github/workflows/ci.yml",),
        ),
        res(
            "vcs.reviews-required",
            Status.FAILED,
            Severity.CRITICAL,
            "github:acme/churn@main",
            "requires 1 approval, policy wants 2",
            (Violation("requires 1 approval, policy wants 2"),),
        ),
        res(
            "monitoring.alert-rules",
            Status.FAILED,
            Severity.LOW,
            "file:monitoring/alerts.yml",
            NASTY,
            (
                Violation(NASTY, Location("monitoring/alerts,v1:x.yml", 7)),
                Violation("missing runbook_url", Location("monitoring/alerts.yml", 12)),
                Violation("missing runbook_url", Location("monitoring/alerts.yml", 30)),
            ),
        ),
        res(
            "image.base-pinned",
            Status.FAILED,
            Severity.HIGH,
            "file:Dockerfile",
            "2 FROM lines not pinned",
            (
                Violation("FROM python:3.12 is not pinned by digest", Location("Dockerfile", 1)),
                Violation("FROM scratch AS out is not pinned", Location("docker/Dockerfile.gpu")),
                Violation("see the registry", Location("https://registry.example.com/v2/ml/", None)),
            ),
        ),
        res(
            "cd.production-environment",
            Status.WAIVED,
            Severity.HIGH,
            "github:acme/churn",
            "self-review allowed",
            (Violation("self-review allowed", Location(".github/env.yml", 3)),),
            waiver=W_APPLIED,
        ),
        res(
            "orchestration.workflow-defined",
            Status.ERROR,
            Severity.MEDIUM,
            "check:orchestration.workflow-defined",
            "could not read facts: files: permission denied on databricks.yml",
        ),
        res("registry.model-version", Status.PASSED, Severity.HIGH, "mlflow:churn@champion", "READY, version 3"),
        res("acme.custom", Status.PASSED, Severity.INFO, "file:README.md", "ok"),
    )
    base = Report(
        tool_version="0.1.0",
        target={"repository": "acme/churn", "platform": "github", "commit": "a" * 40},
        fail_on=Severity.HIGH,
        results=results,
        waivers_applied=(W_APPLIED,),
        waivers_expired=(W_EXPIRED,),
        waivers_unused=(W_UNUSED,),
        duration_s=0.123,
    )
    return dataclasses.replace(base, **changes)


def make_checks() -> dict[str, CheckSpec]:
    specs = {}
    for r in make_report().results:
        if r.check == "acme.custom":  # unknown to the catalogue: reporters fall back on the result
            continue
        specs[r.check] = CheckSpec(
            r.check,
            r.title,
            r.severity,
            needs=(),
            params=NoParams,
            func=lambda facts, params, target: [],
            doc=f"{r.title}.\n\nWhy it matters, and how to fix it.",
        )
    return specs


REPORT, CHECKS = make_report(), make_checks()
PASSING = make_report(
    results=tuple(r for r in REPORT.results if r.status is Status.PASSED),
    waivers_applied=(),
    waivers_expired=(),
    waivers_unused=(),
)
ERRORED = make_report(
    results=tuple(r for r in REPORT.results if r.status is not Status.FAILED),
    errors=("plugin 'acme' (acme.checks) could not be loaded: ImportError: acme",),
)


# ---- every format ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(
    "report", [REPORT, PASSING, ERRORED, make_report(results=())], ids=["mixed", "passing", "errored", "empty"]
)
def test_every_format_renders_deterministically(fmt: str, report: Report) -> None:
    out = render(fmt, report, CHECKS)
    assert out == "" or out.endswith("\n")
    assert render(fmt, report, CHECKS) == out


def test_reporters_never_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_SECRETSECRETSECRET")
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-SECRETSECRET")
    for fmt in FORMATS:
        assert "SECRET" not in render(fmt, REPORT, CHECKS, color=True)


def test_importing_reporters_does_not_import_rich() -> None:
    code = (
        "import sys, mlops_gate.reporters.console, mlops_gate.reporters.markdown, "
        "mlops_gate.reporters.junit, mlops_gate.reporters.sarif; assert 'rich' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---- console -----------------------------------------------------------------------------------------


def test_console_plain_has_verdict_areas_waivers_and_no_ansi() -> None:
    out = console.render(REPORT, CHECKS, color=False, width=200)  # wide enough that nothing wraps
    assert "\x1b[" not in out
    narrow = console.render(REPORT, CHECKS).splitlines()
    table = [line for line in narrow if line[:1] in "┏┃┡│├└"]
    assert max(len(line) for line in table) == console.WIDTH
    # links and sentences are never broken: the terminal wraps them
    assert any(line.startswith("  vcs.reviews-required") and line.endswith("#vcsreviews-required") for line in narrow)
    assert out.rstrip().splitlines()[-1] == (
        "BLOCKED: 2 of 8 checks failed at or above high; 1 check could not be evaluated (exit 1)"
    )
    areas = re.findall(r"│ +│ +│ ([A-Z]+) +│", out)
    assert areas == ["VCS", "CI", "CD", "ORCHESTRATION", "REGISTRY", "IMAGE", "MONITORING", "ACME"]
    assert "Dockerfile:1: FROM python:3.12 is not pinned by digest" in out
    assert "docker/Dockerfile.gpu: FROM scratch" in out
    assert "waived by @ml-platform until 2099-03-31: break-glass; PLAT-42" in out
    assert "Expired waivers" in out and "@sec" in out and "Unused waivers" in out and "PLAT-7" in out
    assert "[bold]x[/bold]" in out  # data is never read as rich markup
    # blocking is said in words on each failed row, and once for the rule
    assert re.search(r"│ FAIL +│ low +│ monitoring.alert-rules +│.*\n│ not blocking +│", out)
    assert re.search(r"│ FAIL +│ critical +│ vcs.reviews-required +│.*\n│ blocking +│", out)
    assert "A failure blocks when its severity is high or above (fail_on)." in out
    assert "8 checks ran: 3 passed, 2 failed and block, 1 failed below high, 1 waived, 1 could not be evaluated" in out


def test_console_colour() -> None:
    assert "\x1b[" in console.render(REPORT, CHECKS, color=True)


@pytest.mark.parametrize(
    ("report", "line"),
    [
        (PASSING, "PASSED: 3 checks, none failed at or above high"),
        (
            make_report(
                results=(
                    res("ci.x", Status.FAILED, Severity.LOW, violations=(Violation("v"),)),
                    res("cd.y", Status.WAIVED, waiver=W_APPLIED),
                )
            ),
            "PASSED: 2 checks, none failed at or above high (1 failed below high, which does not block; 1 waived)",
        ),
        (
            make_report(results=(res("ci.x", Status.ERROR), res("ci.x", Status.ERROR, subject="file:y"))),
            "COULD NOT EVALUATE: 1 of 1 check could not be evaluated (ci.x); the gate fails closed (exit 3)",
        ),
        (
            ERRORED,
            "COULD NOT EVALUATE: 1 of 5 checks could not be evaluated (orchestration.workflow-defined); "
            "1 gate error; the gate fails closed (exit 3)",
        ),
        (make_report(results=(), errors=("boom",)), "COULD NOT EVALUATE: 1 gate error; the gate fails closed (exit 3)"),
        (
            make_report(results=(res("vcs.a", Status.FAILED), res("vcs.a", Status.FAILED, subject="file:b"))),
            "BLOCKED: 1 of 1 check failed at or above high (exit 1)",
        ),
    ],
)
def test_verdict_line(report: Report, line: str) -> None:
    assert console.verdict_line(report) == line
    assert console.render(report, CHECKS).rstrip().splitlines()[-1] == line


# ---- json --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("report", [REPORT, PASSING, ERRORED, make_report(results=())])
def test_json_is_valid_against_published_schema(report: Report) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(json_report.render(report, CHECKS))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(data)


def test_json_content_and_key_order() -> None:
    data = json.loads(json_report.render(REPORT, CHECKS))
    assert list(data) == [
        "schema_version",
        "tool",
        "target",
        "facts_source",
        "facts_file",
        "verdict",
        "fail_on",
        "summary",
        "results",
        "waivers",
        "errors",
        "duration_s",
    ]
    assert (data["facts_source"], data["facts_file"]) == ("live", None)
    assert data["tool"] == {"name": "mlops-gate", "version": "0.1.0"}
    assert list(data["target"]) == ["commit", "platform", "repository"]
    assert (data["verdict"], data["fail_on"]) == ("fail", "high")
    assert data["summary"] == {"total": 8, "passed": 3, "failed": 3, "waived": 1, "error": 1, "blocking": 2}
    by_check = {r["check"]: r for r in data["results"]}
    alerts = by_check["monitoring.alert-rules"]
    assert alerts["blocking"] is False and alerts["message"] == NASTY
    assert alerts["violations"][0] == {"message": NASTY, "location": {"path": "monitoring/alerts,v1:x.yml", "line": 7}}
    assert by_check["vcs.reviews-required"]["violations"][0]["location"] is None
    assert by_check["cd.production-environment"]["waiver"]["owner"] == "@ml-platform"
    assert [w["owner"] for w in data["waivers"]["expired"]] == ["@sec"]
    assert json.loads(json_report.render(ERRORED, CHECKS))["verdict"] == "error"


# ---- sarif -------------------------------------------------------------------------------------------


def _sarif_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    if not SARIF_SCHEMA.exists():
        pytest.skip(f"the official SARIF schema is not at {SARIF_SCHEMA} (../shared is absent)")
    return jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))


@pytest.mark.parametrize("report", [REPORT, PASSING, ERRORED, make_report(results=())])
def test_sarif_is_valid_against_official_schema(report: Report) -> None:
    _sarif_validator().validate(json.loads(sarif.render(report, CHECKS)))


def test_sarif_rules_results_suppressions_and_notifications() -> None:
    run = json.loads(sarif.render(REPORT, CHECKS))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(dict.fromkeys(r.check for r in REPORT.results))
    vcs = rules[1]
    assert vcs["name"] == "VcsReviewsRequired"
    assert vcs["shortDescription"]["text"] == "Vcs.Reviews-Required"
    assert vcs["fullDescription"]["text"] == "Vcs.Reviews-Required."
    assert vcs["helpUri"] == DOCS + "vcsreviews-required" and vcs["defaultConfiguration"]["level"] == "error"
    assert rules[-1]["id"] == "acme.custom"  # not in the catalogue: built from the result
    results = run["results"]
    # 1 (vcs) + 3 (monitoring) + 3 (image) + 1 (waived) + 1 (error); passed results are not written
    assert len(results) == 9
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    image = [r for r in results if r["ruleId"] == "image.base-pinned"]
    assert image[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},
    }
    assert "region" not in image[1]["locations"][0]["physicalLocation"]
    assert image[2]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "https://registry.example.com/v2/ml/"
    }
    assert image[0]["level"] == "error"
    monitoring = [r for r in results if r["ruleId"] == "monitoring.alert-rules"]
    assert {r["level"] for r in monitoring} == {"note"}  # low and below fail_on
    assert monitoring[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "monitoring/alerts%2Cv1%3Ax.yml"
    )
    vcs_result = next(r for r in results if r["ruleId"] == "vcs.reviews-required")
    assert "physicalLocation" not in vcs_result["locations"][0]
    assert vcs_result["message"]["text"].endswith("(github:acme/churn@main)")
    waived = next(r for r in results if r["ruleId"] == "cd.production-environment")
    assert waived["level"] == "error"
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "break-glass; PLAT-42 (owner @ml-platform, expires 2099-03-31)",
            "properties": {"owner": "@ml-platform", "expires": "2099-03-31", "subject": "github:acme/*"},
        }
    ]
    error = next(r for r in results if r["ruleId"] == "orchestration.workflow-defined")
    assert error["level"] == "error" and error["message"]["text"].startswith("could not evaluate: ")
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notification = invocation["toolExecutionNotifications"][0]
    assert notification["associatedRule"]["id"] == "orchestration.workflow-defined"
    fingerprints = [r["partialFingerprints"]["mlopsGate/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    assert run["properties"]["verdict"] == "fail"


def test_sarif_gate_errors_are_notifications() -> None:
    invocation = json.loads(sarif.render(ERRORED, CHECKS))["runs"][0]["invocations"][0]
    assert invocation["toolExecutionNotifications"][-1]["message"]["text"].startswith("plugin 'acme'")


# ---- junit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("report", [REPORT, PASSING, ERRORED, make_report(results=())])
def test_junit_is_valid_against_jenkins_xsd(report: Report) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    if not JUNIT_XSD.exists():
        pytest.skip(f"the Jenkins xunit schema is not at {JUNIT_XSD} (../shared is absent)")
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(junit.render(report, CHECKS))


def test_junit_cases_and_escaping() -> None:
    control = make_report(
        results=(res("ci.x", Status.FAILED, message="bell\x07 and\x00null", violations=(Violation("v"),)),)
    )
    failure = ET.fromstring(junit.render(control, CHECKS)).find(".//failure")
    assert failure is not None and failure.get("message") == "bell\ufffd and\ufffdnull"
    root = ET.fromstring(junit.render(REPORT, CHECKS))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "3", "1")
    assert [s.get("name") for s in root] == [
        "vcs",
        "ci",
        "cd",
        "orchestration",
        "registry",
        "image",
        "monitoring",
        "acme",
    ]
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    assert len(cases) == 8
    vcs = cases["vcs.reviews-required"]
    assert vcs.get("name") == "vcs.reviews-required github:acme/churn@main"
    failure = vcs.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    alerts = cases["monitoring.alert-rules"].find("failure")
    assert alerts is not None
    assert alerts.get("message") == NASTY + " (below fail_on: not blocking)"  # attribute newlines survive
    # XML parsers normalise line ends in text (not in attributes, which ElementTree writes as &#13;&#10;)
    assert "monitoring/alerts,v1:x.yml:7: " + NASTY.replace("\r\n", "\n") in (alerts.text or "")
    skipped = cases["cd.production-environment"].find("skipped")
    assert skipped is not None and "@ml-platform" in (skipped.get("message") or "")
    assert cases["orchestration.workflow-defined"].find("error") is not None
    assert cases["ci.pr-pipeline"].find("system-out") is not None
    gate = ET.fromstring(junit.render(ERRORED, CHECKS)).find("testsuite[@name='mlops-gate']")
    assert gate is not None and gate.get("errors") == "1"


# ---- markdown ----------------------------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_headline_table_and_details() -> None:
    out = markdown.render(REPORT, CHECKS)
    assert out.startswith("## ❌ mlops-gate: BLOCKED: 2 of 8 checks failed at or above high; 1 check could not be")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 8 and all(len(_cells(r)) == 5 for r in rows)
    assert "failed (blocking)" in rows[0] and "passed" in rows[-1]  # problems first
    nasty = next(r for r in rows if "monitoring.alert-rules" in r)
    assert "🟠 failed (not blocking)" in nasty
    assert '50% \\| \\<b\\>\\&"x"\\</b\\><br>next' in nasty and "\n" not in nasty
    assert "### Failures and errors" in out and "- Dockerfile:1: FROM python:3.12" in out
    assert "#### `orchestration.workflow-defined`" in out
    assert "Truncated" not in out
    assert "@sec" in out and "PLAT\\-7" not in out and "PLAT-7" in out


def test_markdown_stays_under_the_step_summary_limit() -> None:
    long = "x|y " * 400
    many = tuple(
        res(
            f"image.c{i % 50}",
            Status.FAILED if i % 3 else Status.PASSED,
            subject=f"file:f{i}|{i}",
            message=long,
            violations=tuple(Violation(long, Location(f"f{i}.yml", j)) for j in range(150)),
        )
        for i in range(3000)
    )
    out = markdown.render(make_report(results=many), CHECKS)
    assert len(out.encode("utf-8")) < markdown.LIMIT
    assert "more table rows not shown" in out and "more failed or errored results not shown" in out
    assert out.startswith("## ❌ mlops-gate: BLOCKED")
    assert "… and 50 more" in out  # violations per result are capped too


# ---- annotations -------------------------------------------------------------------------------------

ESCAPE_REPORT = make_report(
    results=(
        res(
            "image.base-pinned",
            Status.FAILED,
            subject="file:a",
            violations=(Violation("50%\r\ndone; [x]", Location("dir,1/a:b%.yml", 4)),),
        ),
        res("vcs.no-bypass", Status.FAILED, Severity.LOW, "github:acme/churn", "admins bypass"),
        res(
            "cd.production-environment",
            Status.WAIVED,
            subject="github:acme/churn",
            message="self-review",
            violations=(Violation("self-review", Location("env.yml", 2)),),
            waiver=W_APPLIED,
        ),
        res("ci.required-runs", Status.ERROR, subject="check:ci.required-runs", message="token lacks scope"),
    ),
    errors=("plugin x: boom",),
)


def test_github_annotations_exact() -> None:
    assert annotations.github(ESCAPE_REPORT, CHECKS).splitlines() == [
        "::error file=dir%2C1/a%3Ab%25.yml,line=4,title=image.base-pinned::"
        f"file:a: 50%25%0D%0Adone; [x] [high]%0A{DOCS}imagebase-pinned",
        f"::error title=ci.required-runs::could not evaluate check:ci.required-runs: token lacks scope%0A"
        f"{DOCS}cirequired-runs",
        f"::warning title=vcs.no-bypass::github:acme/churn: admins bypass [low]%0A{DOCS}vcsno-bypass",
        "::notice file=env.yml,line=2,title=cd.production-environment::github:acme/churn: self-review%0A"
        f"waived by @ml-platform until 2099-03-31: break-glass; PLAT-42%0A{DOCS}cdproduction-environment",
        "::error title=mlops-gate::plugin x: boom",
    ]


def test_github_annotation_for_url_location_has_no_file() -> None:
    lines = annotations.github(REPORT, CHECKS).splitlines()
    url = next(line for line in lines if "see the registry" in line)
    assert "file=" not in url.split("::")[1] and "at https://registry.example.com/v2/ml/" in url
    assert all("\n" not in line and "\r" not in line for line in lines)


def test_azure_logging_commands_exact() -> None:
    out = annotations.azure(ESCAPE_REPORT, CHECKS)
    assert out.splitlines() == [
        "##vso[task.logissue type=error;sourcepath=dir,1/a:b%AZP25.yml;linenumber=4;code=image.base-pinned]"
        f"file:a: 50%AZP25%0D%0Adone%3B [x%5D [high%5D%0A{DOCS}imagebase-pinned",
        "##vso[task.logissue type=error;code=ci.required-runs]could not evaluate check:ci.required-runs: "
        f"token lacks scope%0A{DOCS}cirequired-runs",
        f"##vso[task.logissue type=warning;code=vcs.no-bypass]github:acme/churn: admins bypass [low%5D%0A"
        f"{DOCS}vcsno-bypass",
        "##vso[task.logissue type=error;code=mlops-gate]plugin x: boom",
    ]
    assert "task.complete" not in out


def test_annotations_empty_when_all_passed() -> None:
    assert annotations.github(PASSING, CHECKS) == annotations.azure(PASSING, CHECKS) == ""


# ---- gitlab code quality -----------------------------------------------------------------------------


def test_codequality_issues() -> None:
    issues = json.loads(codequality.render(REPORT, CHECKS))
    example = SHARED / "code-quality" / "gitlab-docs" / "code_quality.example.json"
    keys = set(json.loads(example.read_text())[0]) if example.exists() else set()
    for issue in issues:
        assert keys <= set(issue)
        assert set(issue["location"]) == {"path", "lines"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and begin >= 1
    # 1 (vcs) + 3 (monitoring) + 3 (image) + 1 (error); waived and passed are not written
    assert len(issues) == 8
    assert {i["check_name"] for i in issues} == {
        "vcs.reviews-required",
        "monitoring.alert-rules",
        "image.base-pinned",
        "orchestration.workflow-defined",
    }
    vcs = next(i for i in issues if i["check_name"] == "vcs.reviews-required")
    assert vcs["severity"] == "blocker"
    assert vcs["location"] == {"path": ".mlops-gate.yml", "lines": {"begin": 1}}
    gpu = next(i for i in issues if "scratch" in i["description"])
    assert gpu["location"] == {"path": "docker/Dockerfile.gpu", "lines": {"begin": 1}}
    url = next(i for i in issues if "see the registry" in i["description"])
    assert url["location"]["path"] == "Dockerfile"  # the subject's file, not the URL
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # distinct, even for repeated messages
    gate = json.loads(codequality.render(ERRORED, CHECKS))
    assert gate[-1]["check_name"] == "mlops-gate" and gate[-1]["severity"] == "blocker"


def test_codequality_fingerprints_survive_line_changes() -> None:
    def fingerprints(line_shift: int) -> list[str]:
        shifted = tuple(
            dataclasses.replace(
                r,
                violations=tuple(
                    dataclasses.replace(
                        v,
                        location=dataclasses.replace(v.location, line=(v.location.line or 0) + line_shift)
                        if v.location
                        else None,
                    )
                    for v in r.violations
                ),
            )
            for r in REPORT.results
        )
        issues = json.loads(codequality.render(make_report(results=shifted), CHECKS))
        return [i["fingerprint"] for i in issues]

    assert fingerprints(0) == fingerprints(40)
    other = make_report(
        results=(
            res(
                "image.base-pinned",
                Status.FAILED,
                subject="file:Dockerfile",
                violations=(Violation("FROM python:3.13 is not pinned by digest", Location("Dockerfile", 1)),),
            ),
        )
    )
    assert json.loads(codequality.render(other, CHECKS))[0]["fingerprint"] not in fingerprints(0)
    assert json.loads(codequality.render(PASSING, CHECKS)) == []
