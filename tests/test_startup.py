"""Start-up stays light: --version and a files-only check never import the platform or MLflow SDKs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("github", "gitlab", "azure.devops", "mlflow", "requests", "urllib3", "rich")
SIGSTORE = ("sigstore", "sigstore_models", "rekor_types", "rfc3161_client", "tuf", "pydantic")  # the `sigstore` extra
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import sys, json\n"
        "from mlops_gate.cli import main\n"
        f"rc = main({args!r})\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('\\nRC=' + str(rc) + 'MODULES=' + json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    marker = proc.stderr.rsplit("MODULES=", 1)
    assert len(marker) == 2, proc.stderr
    rc = int(marker[0].rsplit("RC=", 1)[1])
    assert rc in (0, 1), proc.stderr  # the run judged something (2 = usage error, 3 = could not evaluate)
    return set(json.loads(marker[1]))


def _heavy(mods: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        m
        for m in mods
        if m.split(".")[0] in {h.split(".")[0] for h in HEAVY if h not in allowed}
        and any(m == h or m.startswith(h + ".") for h in HEAVY if h not in allowed)
    )


def _sigstore(mods: set[str]) -> list[str]:
    return sorted(m for m in mods if m.split(".")[0] in SIGSTORE or m.startswith("mlops_gate.checks._sigstore"))


def test_version_imports_nothing_heavy() -> None:
    mods = _modules_after(["--version"])
    assert _heavy(mods) == []
    assert "yaml" not in mods  # not even the YAML parser
    assert _sigstore(mods) == []
    assert "argcomplete" not in mods  # imported only while a shell asks for completions


def test_files_only_check_imports_no_sdk() -> None:
    mods = _modules_after(
        [
            "check",
            "--repo",
            str(EXAMPLES / "churn-model"),
            "--format",
            "json",
            "-q",
            "--skip",
            "vcs.*,ci.required-runs,cd.production-environment,registry.*",
        ]
    )
    assert "mlops_gate.engine" in mods  # the run really happened
    assert _heavy(mods, allowed=("rich",)) == []
    assert _sigstore(mods) == []  # keyless verification is paid for only by a policy with `signers`


def test_judging_saved_platform_facts_imports_no_sdk() -> None:
    mods = _modules_after(
        [
            "check",
            "--repo",
            str(EXAMPLES / "churn-model"),
            "--format",
            "json",
            "-q",
            "--facts-in",
            str(EXAMPLES / "churn-model" / "facts.json"),
        ]
    )
    assert _heavy(mods, allowed=("rich",)) == []  # judging saved platform facts needs no SDK at all


def test_fleet_is_imported_only_for_fleet_and_merge() -> None:
    skip = "vcs.*,ci.required-runs,cd.production-environment,registry.*"
    check = _modules_after(["check", "--repo", str(EXAMPLES / "churn-model"), "--format", "json", "-q", "--skip", skip])
    for mods in (_modules_after(["--version"]), check):
        assert not [m for m in mods if m.startswith("mlops_gate.fleet")]
