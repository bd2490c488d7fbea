"""The gate passes its own gate: the checks the project's policy (.mlops-gate.yml, which the release workflow
audits each tag with) enables that read files — its own CI runs the tests on pull requests, its Dockerfile's base
image is pinned by digest — judged on this checkout, as the release workflow's first job does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_project_passes_its_own_policy(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "--repo", str(ROOT), "--policy", str(ROOT / ".mlops-gate.yml"), "--branch", "main"]
    code = main([*argv, "--only", "ci.pr-pipeline,image.base-pinned", "--format", "json"], env={})
    report = json.loads(capsys.readouterr().out)
    got = {(r["check"], r["subject"]): r["status"] for r in report["results"]}
    assert code == 0, got
    assert got[("ci.pr-pipeline", f"repo:{ROOT.name}")] == "passed"  # no target repository: the folder's name
    assert got[("image.base-pinned", "file:Dockerfile")] == "passed"
    waived = [s for (c, s), status in got.items() if status == "waived"]
    assert waived and all(s.startswith("file:examples/fraud-model/") for s in waived)  # the deliberate demo only
