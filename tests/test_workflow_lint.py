"""Every workflow and the action pass zizmor (offline) and actionlint with no findings; every action they,
the README and the templates use is pinned by a full commit SHA; and the project passes its own gate on
the files its release workflow audits (.github/workflows/release.yml runs the same policy before publishing)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*([^\s#]+)", re.M)


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (the test extra installs it; see .ci/run)")
    return found


def test_zizmor_finds_nothing() -> None:
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_actionlint_finds_nothing() -> None:
    proc = subprocess.run(
        [tool("actionlint"), "-no-color", *(str(w.relative_to(ROOT)) for w in WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_action_is_pinned_by_a_full_commit_sha() -> None:
    files = [*WORKFLOWS, ROOT / "action.yml", ROOT / "README.md"]
    seen = 0
    for path in files:
        for ref in USES.findall(path.read_text(encoding="utf-8")):
            if ref.startswith(("./", "$/", "docker://")):
                continue
            seen += 1
            if "OWNER/mlops-gate" in ref:  # the README's placeholder for this action
                assert re.search(r"@<[^>]+>$|@[0-9a-f]{40}$", ref), f"{path.name}: {ref}"
                continue
            assert re.search(r"@[0-9a-f]{40}$", ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
    assert seen >= 8


def test_the_release_workflow_audits_before_it_publishes() -> None:
    import yaml

    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))
    jobs = wf["jobs"]
    gate = [s for s in jobs["gate"]["steps"] if s.get("uses") == "./"]
    assert gate and gate[0]["with"]["command"] == "audit" and gate[0]["with"]["policy"] == ".mlops-gate.yml"
    assert jobs["image"]["needs"] == "gate"
    uses = [s.get("uses", "").split("@")[0] for s in jobs["image"]["steps"]]
    assert {"docker/build-push-action", "sigstore/cosign-installer", "actions/attest-build-provenance"} <= set(uses)
    assert any("cosign sign --yes" in s.get("run", "") for s in jobs["image"]["steps"])
    assert jobs["image"]["permissions"]["id-token"] == "write"


def test_the_project_passes_its_own_gate(tmp_path: Path) -> None:
    """The checks that read the repository's files, with the project's policy (.mlops-gate.yml), as the release
    workflow runs them (the platform checks need the hosted repository, and run there)."""
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-m",
            "mlops_gate",
            "check",
            "--repo",
            str(ROOT),
            "--skip",
            "vcs.*,ci.required-runs",
            "--output",
            f"json={report}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_GATE_", "CI", "GITLAB_"))},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(report.read_text(encoding="utf-8"))["results"]
    by_subject = {(r["check"], r["subject"]): r["status"] for r in results}
    assert by_subject[("image.base-pinned", "file:Dockerfile")] == "passed"
    assert any(check == "ci.pr-pipeline" and status == "passed" for (check, _), status in by_subject.items())
    waived = {s for (c, s), status in by_subject.items() if status == "waived"}
    assert all(s.startswith(("file:examples/fraud-model/", "file:mlops_gate/lang/dockerfile")) for s in waived), waived
