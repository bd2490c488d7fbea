"""The policy's `exclude:` and git's ignore rules leave files out of every file check, and say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate.cli import main
from mlops_gate.engine import collect
from mlops_gate.facts.files import RepoFiles
from mlops_gate.providers import RunInputs
from mlops_gate.providers._exclude import glob_regex
from mlops_gate.target import Target
from tests.support.git_repos import commit_all, git
from tests.support.trees import write_tree

BROKEN_RULES = "groups: [\n"
WORKFLOW = "on: pull_request\njobs:\n  test:\n    runs-on: x\n    steps:\n      - run: pytest\n"


def rule_files(root: Path, exclude: tuple[str, ...] = ()) -> RepoFiles:
    records = collect({"rule_files": frozenset()}, root, Target(), {}, inputs=RunInputs(exclude=exclude))
    value = records["rule_files"].value
    assert isinstance(value, RepoFiles)
    return value


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("vendor/", "vendor/lib/alerts.yml", True),
        ("vendor", "vendor/alerts.yml", True),
        ("vendor", "src/vendor/alerts.yml", False),
        ("**/testdata/**", "pkg/a/testdata/rules.yml", True),
        ("**/testdata/**", "testdata/rules.yml", True),
        ("examples/*.yml", "examples/a.yml", True),
        ("examples/*.yml", "examples/deep/a.yml", False),
        ("./docs/**", "docs/x/y.yml", True),
    ],
)
def test_exclude_globs(pattern: str, path: str, hit: bool) -> None:
    assert (glob_regex(pattern).fullmatch(path) is not None) is hit


def test_policy_exclude_leaves_files_out_and_lists_them(tmp_path: Path) -> None:
    write_tree(tmp_path, {"vendor/prom/alerts.yml": BROKEN_RULES, "monitoring/alerts.yml": BROKEN_RULES})
    assert [f.path for f in rule_files(tmp_path).files] == ["monitoring/alerts.yml", "vendor/prom/alerts.yml"]
    found = rule_files(tmp_path, ("vendor/",))
    assert [f.path for f in found.files] == ["monitoring/alerts.yml"]
    assert found.skipped == ("vendor/prom/alerts.yml: excluded by the policy (vendor/)",)


def test_git_ignored_files_are_left_out_but_tracked_ones_never(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "build/\n*.generated.yml\n", "kept.generated.yml": BROKEN_RULES})
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-f", "kept.generated.yml")  # tracked although ignored: a change commits it
    commit_all(tmp_path)
    write_tree(tmp_path, {"build/rules.yml": BROKEN_RULES, "local.generated.yml": BROKEN_RULES})
    found = rule_files(tmp_path)
    assert [f.path for f in found.files] == ["kept.generated.yml"]
    assert found.skipped == (
        "build/rules.yml: ignored by git (.gitignore), so never committed",
        "local.generated.yml: ignored by git (.gitignore), so never committed",
    )


def test_report_lists_the_excluded_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(
        tmp_path,
        {
            ".github/workflows/ci.yml": WORKFLOW,
            "third_party/ci/azure-pipelines.yml": "pr: [main]\nsteps:\n- script: echo\n",
            "policy.yml": "version: 1\nexclude: [third_party/]\n",
        },
    )
    code = main(
        [
            "check",
            "--policy",
            str(tmp_path / "policy.yml"),
            "--repo",
            str(tmp_path),
            "--only",
            "ci.pr-pipeline",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    (result,) = report["results"]
    assert (code, result["status"]) == (0, "passed")
    assert "skipped third_party/ci/azure-pipelines.yml: excluded by the policy (third_party/)" in result["evidence"]


def test_policy_schema_and_validation_know_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["exclude"]["type"] == "array"
    (tmp_path / "p.yml").write_text("version: 1\nexclude: vendor/\n")
    assert main(["policy", "validate", str(tmp_path / "p.yml")]) == 2
    assert "exclude" in capsys.readouterr().err
