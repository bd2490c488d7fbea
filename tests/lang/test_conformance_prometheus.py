"""Conformance: Prometheus's own rule-file tests (prometheus/prometheus d15adb9a, 3.14: model/rulefmt with
rulefmt_test.go, cmd/promtool/testdata with main_test.go and rules_test.go, in ../shared/corpus/upstream; see
../shared/corpus/SOURCES.md). Read where they are, never copied.

Every row comes from reading one Go test: the rule file it parses (a testdata file or a raw-string literal
of the test), how (UTF-8 or legacy name validation, feature flags) and what it expects — `load` (no error)
or `fail` with the error it checks (`upstream`). The gate, judging as Prometheus 3.14, must agree: no
problem where the file loads, a problem containing `match` (default: `upstream`) where it must fail.

Not cases: TestError, TestWrappedError, TestErrorUnwrap (error formatting); the promtool tests of
configs, service discovery, metrics, queries, TSDB and documentation. Not settled (no test in the corpus
says what they expect; unittest_test.go is not there): the unit-test inputs in cmd/promtool/testdata
(`*-test.yml`, `unittest.yml`, ...) and the rule files only they load (at-modifier.yml, negative-offset.yml,
bad-rules-error.yml, bad-rules-syntax.yml, rules_run*.yml, rules_extrafields.yml) — listed by
test_unsettled_files_are_the_ones_without_a_test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import yamlio
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.versions import parse
from tests.support import gosource

UPSTREAM = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "upstream" / "prometheus"
pytestmark = pytest.mark.skipif(
    not UPSTREAM.is_dir(), reason=f"Prometheus's upstream test data is not here ({UPSTREAM}): see ../shared/corpus"
)
RULEFMT = UPSTREAM / "model" / "rulefmt"
PROMTOOL = UPSTREAM / "cmd" / "promtool"
FEATURES = ("promql-experimental-functions", "promql-extended-range-selectors", "promql-binop-fill-modifiers")


@dataclass(frozen=True)
class Case:
    test: str
    source: str  # rulefmt:FILE | promtool:FILE | literal:GOFILE:FUNC:N
    expect: str  # load | fail
    upstream: str = ""
    match: str = ""
    legacy: bool = False  # model.LegacyValidation
    features: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.test}[{self.source.split(':', 1)[-1]}]"


def ok(test: str, source: str, **kw: Any) -> Case:
    return Case(test, source, "load", **kw)


def fail(test: str, source: str, upstream: str, match: str = "", **kw: Any) -> Case:
    return Case(test, source, "fail", upstream, match, **kw)


CASES = [
    ok("TestParseFileSuccess", "rulefmt:test.yaml"),
    ok("TestParseFileSuccess", "rulefmt:utf-8_lname.good.yaml"),
    ok("TestParseFileSuccess", "rulefmt:utf-8_annotation.good.yaml"),
    ok("TestParseFileSuccess (LegacyValidation)", "rulefmt:legacy_validation_annotation.good.yaml", legacy=True),
    ok("TestParseFileSuccessWithAliases", "rulefmt:test_aliases.yaml"),
    fail(
        "TestParseFileFailure/duplicate_grp.bad.yaml",
        "rulefmt:duplicate_grp.bad.yaml",
        'groupname: "yolo" is repeated in the same file',
    ),
    fail("TestParseFileFailure/bad_expr.bad.yaml", "rulefmt:bad_expr.bad.yaml", "parse error"),
    fail(
        "TestParseFileFailure/record_and_alert.bad.yaml",
        "rulefmt:record_and_alert.bad.yaml",
        "only one of 'record' and 'alert' must be set",
    ),
    fail(
        "TestParseFileFailure/no_rec_alert.bad.yaml",
        "rulefmt:no_rec_alert.bad.yaml",
        "one of 'record' or 'alert' must be set",
    ),
    fail("TestParseFileFailure/noexpr.bad.yaml", "rulefmt:noexpr.bad.yaml", "field 'expr' must be set in rule"),
    fail(
        "TestParseFileFailure/invalid_record_name.bad.yaml",
        "rulefmt:invalid_record_name.bad.yaml",
        'braces present in the recording rule name; should it be in expr?: strawberry{flavor="sweet"}',
    ),
    fail("TestParseFileFailure/bad_field.bad.yaml", "rulefmt:bad_field.bad.yaml", "field annotation not found"),
    fail(
        "TestParseFileFailure/invalid_label_name.bad.yaml", "rulefmt:invalid_label_name.bad.yaml", "invalid label name"
    ),
    fail(
        "TestParseFileFailure/record_and_for.bad.yaml",
        "rulefmt:record_and_for.bad.yaml",
        "invalid field 'for' in recording rule",
    ),
    fail(
        "TestParseFileFailure/record_and_keep_firing_for.bad.yaml",
        "rulefmt:record_and_keep_firing_for.bad.yaml",
        "invalid field 'keep_firing_for' in recording rule",
    ),
    fail(
        "TestParseFileFailure/legacy_validation_annotation.bad.yaml (LegacyValidation)",
        "rulefmt:legacy_validation_annotation.bad.yaml",
        "invalid annotation name: ins-tance",
        legacy=True,
    ),
    ok("TestTemplateParsing ($labels)", "literal:rulefmt:TestTemplateParsing:0"),
    ok("TestTemplateParsing (group labels)", "literal:rulefmt:TestTemplateParsing:1"),
    fail(
        "TestTemplateParsing ($label)",
        "literal:rulefmt:TestTemplateParsing:2",
        "(an error)",
        'undefined variable "$label"',
    ),
    fail(
        "TestTemplateParsing ($this_is_wrong)",
        "literal:rulefmt:TestTemplateParsing:3",
        "(an error)",
        'undefined variable "$this_is_wrong"',
    ),
    fail(
        "TestTemplateParsing ($labels.quantile * 100)",
        "literal:rulefmt:TestTemplateParsing:4",
        "(an error)",
        "template:",
    ),
    fail(
        "TestUniqueErrorNodes (two errors)",
        "literal:rulefmt:TestUniqueErrorNodes:0",
        "two errors",
        "could not parse expression",
    ),
    ok("TestMultiDocParse (valid)", "literal:rulefmt:TestMultiDocParse:0"),
    ok("TestMultiDocParse (multi: the first document)", "literal:rulefmt:TestMultiDocParse:1"),
    ok("TestMultiDocParse (multiEmpty)", "literal:rulefmt:TestMultiDocParse:2"),
    ok(
        "TestCheckDuplicates/no duplicates, TestCheckRules/rules-good, TestCheckRulesWithRuleFiles",
        "promtool:rules.yml",
    ),
    ok("TestCheckDuplicates/duplicate in other group (duplicates are a lint)", "promtool:rules_duplicates.yml"),
    ok("BenchmarkCheckDuplicates", "promtool:rules_large.yml"),
    fail(
        "TestCheckRules/rules-bad, TestCheckRulesWithRuleFiles/rules-bad",
        "promtool:rules-bad.yml",
        "failureExitCode",
        'undefined variable "$label"',
    ),
    ok(
        "TestCheckRules/rules-lint-fatal (lint exit 3, not a load error)",
        "promtool:prometheus-rules.lint.yml",
    ),
    ok("TestCheckRulesWithFeatureFlag", "promtool:features.yml", features=FEATURES),
    ok("TestCheckScrapeConfigs (the rule file its config names)", "promtool:prometheus-config.rules.good.yml"),
    ok("TestBackfillRuleIntegration (createSingleRuleTestFiles)", "literal:rules:createSingleRuleTestFiles:0"),
    ok("TestBackfillRuleIntegration (createMultiRuleTestFiles)", "literal:rules:createMultiRuleTestFiles:0"),
    ok("TestBackfillLabels", "literal:rules:TestBackfillLabels:0"),
]


def problems(case: Case) -> list[str]:
    kind, _, rest = case.source.partition(":")
    if kind == "rulefmt":
        text = (RULEFMT / "testdata" / rest).read_text(encoding="utf-8")
    elif kind == "promtool":
        text = (PROMTOOL / "testdata" / rest).read_text(encoding="utf-8")
    else:
        where, func, index = rest.split(":")
        go = RULEFMT / "rulefmt_test.go" if where == "rulefmt" else PROMTOOL / "rules_test.go"
        text = gosource.literal(go, func, int(index))
    docs = yamlio.load(text).documents
    fmt = pr.RuleFormat(parse("3.14"), frozenset(case.features), legacy_names=case.legacy)
    return [p.message for p in pr.validate(docs[0] if docs else None, fmt) if not p.runtime]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_gate_agrees_with_prometheus(case: Case) -> None:
    found = problems(case)
    if case.expect == "load":
        assert found == [], f"{case.test}: Prometheus loads it; the gate says: {found}"
        return
    want = case.match or case.upstream
    assert any(want in m for m in found), (
        f"{case.test}: Prometheus refuses it ({case.upstream}); the gate says: {found}"
    )
    if case.upstream == "two errors":
        assert len(found) == 2


def test_features_are_what_makes_features_yml_load() -> None:
    """Without the flags TestCheckRulesWithFeatureFlag passes, promtool 3.14 refuses three of its rules."""
    plain = Case("TestCheckRulesWithFeatureFlag (without the flags)", "promtool:features.yml", "fail")
    assert len(problems(plain)) == 3


def test_every_rulefmt_testdata_file_has_a_row() -> None:
    named = {c.source.removeprefix("rulefmt:") for c in CASES if c.source.startswith("rulefmt:")}
    assert {p.name for p in (RULEFMT / "testdata").iterdir()} - named == set()


UNSETTLED_RULE_FILES = {
    "at-modifier.yml",
    "negative-offset.yml",
    "bad-rules-error.yml",
    "bad-rules-syntax.yml",
    "rules_extrafields.yml",
}


def test_unsettled_files_are_the_ones_without_a_test() -> None:
    """The promtool testdata rule files (YAML with `groups`) no test in the corpus names: not settled."""
    named = {c.source.removeprefix("promtool:") for c in CASES if c.source.startswith("promtool:")}
    groups = set()
    for path in (PROMTOOL / "testdata").iterdir():
        if path.suffix in (".yml", ".yaml") and re.search(r"^groups:", path.read_text(encoding="utf-8"), re.M):
            groups.add(path.name)
    assert groups - named == UNSETTLED_RULE_FILES
