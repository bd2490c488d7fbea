"""The same tree judged with the fact kinds read concurrently and one after another: identical JSON reports
(the one pass over the repository and the parse cache change how files are read, never what is judged)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from mlops_gate import engine, policies, policy
from mlops_gate.catalogue import catalogue
from mlops_gate.reporters import json_report
from mlops_gate.target import Target
from tests.support.file_checks import FILES_ONLY
from tests.support.large_trees import kserve_like, small_files


def _report(root: Path, workers: int) -> dict[str, object]:
    cat = catalogue()
    pol = policy.load(policies.PROFILES_DIR / "default.yaml")
    report, facts = engine.run(
        pol, cat.checks, Target(), root, env={}, only=FILES_ONLY, today=dt.date(2026, 12, 7), workers=workers
    )
    assert all(r.error is None for r in facts.values()), [r.error for r in facts.values()]
    data = json.loads(json_report.render(report, cat.checks))
    data.pop("duration_s")
    return data


def test_threaded_and_serial_reads_judge_a_tree_alike(tmp_path: Path) -> None:
    kserve_like(tmp_path / "bundles", yaml_mb=1.0, python_files=40)
    small_files(tmp_path / "bundles" / "app", 300)
    threaded = _report(tmp_path / "bundles", workers=8)
    serial = _report(tmp_path / "bundles", workers=1)
    assert threaded == serial
    statuses = {r["status"] for r in threaded["results"]}  # type: ignore[attr-defined]
    assert statuses == {"passed", "failed"}  # a tree with something to find, and something that passes
    assert len(threaded["results"]) > 20  # type: ignore[arg-type]
