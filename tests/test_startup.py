"""Start-up stays light: --version and a files-only check never import the platform or MLflow SDKs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.file_checks import FILES_ONLY

HEAVY = ("github", "gitlab", "azure.devops", "mlflow", "requests", "urllib3", "rich")
SIGSTORE = ("sigstore", "sigstore_models", "rekor_types", "rfc3161_client", "tuf", "pydantic")  # the `sigstore` extra
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _modules_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    code = (
        "import sys, json\n"
        "from mlops_gate.cli import main\n"
        f"rc = main({args!r})\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('\\nRC=' + str(rc) + 'MODULES=' + json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
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


NOT_READ_BY_FILES = (
    "platform",
    "mlflow_registry",
    "prometheus",
    "policy_file",
)  # fact modules of kinds those checks do not read


def test_files_only_run_imports_only_what_its_checks_need() -> None:
    """The files-only example: no SDK, no HTTP stack, no signature libraries, no console renderer for JSON,
    no metadata scan (no plugin distribution is installed), no fact module of a kind it does not read, and no
    check module but those of the checks it runs and of the checks whose params the policy sets (validated
    before anything is read)."""
    import yaml

    from mlops_gate.catalogue import catalogue

    example = EXAMPLES / "churn-model"
    mods = _modules_after(["check", "--repo", str(example), "--format", "json", "-q", "--only", ",".join(FILES_ONLY)])
    assert "mlops_gate.engine" in mods and "mlops_gate.providers.files" in mods  # the files were read and judged
    assert _heavy(mods) == []  # not even rich: the report is JSON
    assert _sigstore(mods) == []
    assert not [m for m in mods if m.split(".")[0] in ("cryptography", "jsonschema", "urllib3", "http")]
    assert "importlib.metadata" not in mods  # no distribution on the path declares mlops_gate.checks
    assert "concurrent.futures" not in mods and "logging" not in mods  # threads without concurrent.futures
    assert "mlops_gate.replay" not in mods  # judging saved facts (--facts-in) only
    assert "mlops_gate.facts.saved" not in mods  # writing or reading a facts file (--facts-out, --facts-in) only
    assert not [m for m in mods if m.startswith(tuple(f"mlops_gate.facts.{k}" for k in NOT_READ_BY_FILES))]
    # no target image: the image facts say so, without the registry artifact types or the reference parser
    assert "mlops_gate.facts.oci_artifacts" not in mods and "mlops_gate.providers._oci_ref" not in mods
    policy = yaml.safe_load((example / ".mlops-gate.yml").read_text(encoding="utf-8"))
    configured = {cid for cid, c in policy["checks"].items() if (c or {}).get("params")}
    checks = catalogue().checks
    wanted = {checks[cid].origin for cid in (*FILES_ONLY, *configured)}
    imported = {m for m in mods if m.startswith("mlops_gate.checks.") and not m.startswith("mlops_gate.checks._")}
    assert imported <= wanted, imported - wanted
    assert {checks[cid].origin for cid in FILES_ONLY} <= imported
    assert "mlops_gate.checks.vcs" not in imported and "mlops_gate.checks.image_signature" not in imported
    # what only a wrong name, a RUN --mount or policy.unchanged needs
    assert not {"difflib", "csv", "mlops_gate.providers.policy_file"} & mods


def test_a_check_the_policy_gives_no_params_is_not_imported_to_validate_it() -> None:
    """The default profile names every check and gives none params: a run of one check imports one check module."""
    one = ["--only", "ci.pr-pipeline"]
    mods = _modules_after(["check", "--repo", str(EXAMPLES / "churn-model"), "--policy", "default", "-q", *one])
    assert "mlops_gate.engine" in mods
    assert {m for m in mods if m.startswith("mlops_gate.checks.") and not m.startswith("mlops_gate.checks._")} == {
        "mlops_gate.checks.ci"
    }
    assert not [m for m in mods if m.startswith(("mlops_gate.facts.oci", "mlops_gate.providers.oci"))]


def test_the_installed_package_runs_from_byte_code(tmp_path: Path) -> None:
    """`pip install` compiles every module of the wheel (PYTHONDONTWRITEBYTECODE or not: pip writes the byte
    code itself), index.json included in the package; a run of the installed package then finds every module's
    byte code current: with writing allowed, it writes no .pyc (Python rewrites one it finds stale or missing)."""
    from tests.support.wheel import wheel

    target = tmp_path / "site"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target)]
    subprocess.run([*install, str(wheel(tmp_path / "dist"))], check=True, env=env, capture_output=True, timeout=300)
    sources = sorted((target / "mlops_gate").rglob("*.py"))
    assert len(sources) > 100 and (target / "mlops_gate" / "checks" / "index.json").is_file()
    assert [p for p in sources if not Path(importlib.util.cache_from_source(str(p))).is_file()] == []

    def compiled() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in (target / "mlops_gate").rglob("*.pyc")}

    before = compiled()
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(target)}
    where = [sys.executable, "-c", "import mlops_gate; print(mlops_gate.__file__)"]
    shown = subprocess.run(where, cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert Path(shown.strip()).is_relative_to(target)  # the installed copy, not the checkout
    run = [sys.executable, "-m", "mlops_gate", "check", "--repo", str(EXAMPLES / "churn-model")]
    proc = subprocess.run(
        [*run, "--format", "json", "--only", ",".join(FILES_ONLY)],
        cwd=tmp_path,  # not the checkout: `-m` puts the current folder first on sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["results"]  # it judged the example
    assert compiled() == before


# patterns compiled when first needed (functools.cache'd accessors) that the files-only example never needs
LAZY_PATTERNS = (
    "mlops_gate.providers._drift:_drift_json",
    "mlops_gate.lang.gotemplate_lex:_number_re",
    "mlops_gate.lang.gotemplate_lex:_good_number_re",
    "mlops_gate.lang.gitlab_rules:_token",
    "mlops_gate.lang.azure_expressions:_param",
    "mlops_gate.lang.azure_expressions:_each",
    "mlops_gate.lang.azure_expressions:_loop",
    "mlops_gate.lang.azure_expressions:_token",
    "mlops_gate.lang.manifests:_image_line",
    "mlops_gate.lang.manifests:_reference_line",
    "mlops_gate.lang.alertmanager_types:_go_duration",
)


def test_files_only_run_compiles_no_pattern_its_files_do_not_need() -> None:
    code = (
        "import importlib, json, sys\n"
        "from mlops_gate.cli import main\n"
        f"rc = main({['check', '--repo', str(EXAMPLES / 'churn-model'), '--format', 'json', '-q', '--only', ','.join(FILES_ONLY)]!r})\n"
        "sys.stdout.flush()\n"
        "sizes = {}\n"
        f"for item in {LAZY_PATTERNS!r}:\n"
        "    module, name = item.split(':')\n"
        "    sizes[item] = getattr(importlib.import_module(module), name).cache_info().currsize\n"
        "sys.stderr.write('\\nRC=' + str(rc) + 'SIZES=' + json.dumps(sizes))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rc, sizes = proc.stderr.rsplit("RC=", 1)[-1].split("SIZES=")
    assert rc == "0", proc.stderr
    assert json.loads(sizes) == dict.fromkeys(LAZY_PATTERNS, 0)


def test_a_run_with_no_secret_to_hide_does_not_import_html() -> None:
    """The redactor escapes secrets as HTML would; with none in the environment, html (and its large table of
    entities) is never imported."""
    no_secret = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    args = ["check", "--repo", str(EXAMPLES / "churn-model"), "--format", "json", "-q", "--only", ",".join(FILES_ONLY)]
    mods = _modules_after(args, env=no_secret)
    assert "mlops_gate.engine" in mods and "mlops_gate.secrets" in mods
    assert not [m for m in mods if m == "html" or m.startswith("html.")]


def test_every_dataclass_has_a_docstring() -> None:
    """On Python 3.11 a dataclass without a docstring gets one made from inspect.signature at import (~0.3 ms
    each, ~9 ms of the files-only run before they all had one)."""
    import ast

    package = Path(__file__).resolve().parents[1] / "mlops_gate"
    missing = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or ast.get_docstring(node) is not None:
                continue
            decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
            names = {d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", "") for d in decorators}
            if "dataclass" in names:
                missing.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name}")
    assert missing == []
