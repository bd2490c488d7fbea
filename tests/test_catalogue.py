"""The catalogue lists every module of checks/ that declares a check, each check id in the module its area
names, and the names third-party checks were promised stay importable."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlops_gate.checks
from mlops_gate import catalogue, checkspec, registry
from mlops_gate.errors import PluginError

ROOT = Path(__file__).resolve().parents[1]


def _declaring_modules() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(mlops_gate.checks.__path__):
        module = importlib.import_module(f"mlops_gate.checks.{info.name}")
        if any(isinstance(getattr(v, "spec", None), checkspec.CheckSpec) for v in vars(module).values()):
            found.add(module.__name__)
    return found


def test_every_module_declaring_checks_is_in_the_catalogue() -> None:
    assert set(catalogue.BUILTIN) == _declaring_modules()


def test_the_index_is_what_the_check_modules_declare() -> None:
    """checks/index.json (what a run knows of the checks it does not import) is current, and each indexed
    check is, once loaded, exactly the check its module declares."""
    assert catalogue.INDEX.read_text(encoding="utf-8") == catalogue.index_text(), "run: python -m mlops_gate.docsgen"
    declared = {s.id: s for s in catalogue.builtin_specs()}
    indexed = {cid: s for cid, s in catalogue.catalogue().checks.items() if isinstance(s, catalogue.IndexedSpec)}
    assert set(indexed) == set(declared)
    for cid, spec in indexed.items():
        assert spec.loaded() is declared[cid]
        assert (spec.func, spec.params, spec.doc, spec.scope) == (
            declared[cid].func,
            declared[cid].params,
            declared[cid].doc,
            declared[cid].scope,
        )


def test_a_stale_index_entry_is_an_error_not_another_check() -> None:
    entry = json.loads(catalogue.INDEX.read_text(encoding="utf-8"))[0]
    stale = catalogue.IndexedSpec({**entry, "title": "what the module no longer says"})
    with pytest.raises(PluginError, match=f"{entry['module']} does not declare it as index.json says") as raised:
        stale.loaded()
    assert raised.value.hint == "the check index is stale: run python -m mlops_gate.docsgen"
    gone = catalogue.IndexedSpec({**entry, "id": f"{entry['id']}-removed"})
    with pytest.raises(PluginError, match=f"check {entry['id']}-removed: {entry['module']} does not declare it"):
        gone.params  # noqa: B018  (the attribute that imports the module)


def test_a_check_id_lives_in_the_module_its_area_names() -> None:
    """`area.name` is defined in checks/area.py or checks/area_*.py."""
    for spec in catalogue.catalogue().checks.values():
        if not spec.origin.startswith("mlops_gate."):
            continue
        module = spec.origin.rsplit(".", 1)[1]
        assert module == spec.area or module.startswith(f"{spec.area}_"), (spec.id, spec.origin)


def test_the_plugin_names_stay_importable_from_registry() -> None:
    assert registry.check is checkspec.check
    assert registry.CheckSpec is checkspec.CheckSpec
    assert registry.NoParams is checkspec.NoParams
    assert registry.catalogue is catalogue.catalogue


def test_an_installed_plugin_distribution_is_found(tmp_path: Path) -> None:
    """The plugin contract end to end: a distribution declaring the `mlops_gate.checks` entry point (here a
    dist-info folder on PYTHONPATH, as pip lays one out) is seen by the cheap look at entry_points.txt, loaded by
    the full metadata scan, and its check is listed."""
    (tmp_path / "acme_checks.py").write_text(
        "from mlops_gate.registry import check\n"
        "from mlops_gate.model import Outcome, Severity\n\n\n"
        "@check('acme.has-ci', title='CI is configured (acme)', severity=Severity.LOW, needs=('ci_config',))\n"
        "def has_ci(facts, params, target):\n"
        "    yield Outcome('repo:x', 'ok')\n",
        encoding="utf-8",
    )
    info = tmp_path / "acme_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[mlops_gate.checks]\nacme = acme_checks\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    listed = subprocess.run(
        [sys.executable, "-m", "mlops_gate", "checks", "--format", "json"], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["acme.has-ci"]["origin"] == "plugin acme (acme_checks)"
    (info / "entry_points.txt").write_text("[console_scripts]\nacme = acme_checks:main\n", encoding="utf-8")
    listed = subprocess.run(
        [sys.executable, "-m", "mlops_gate", "checks", "--format", "json"], env=env, capture_output=True, text=True
    )
    assert "acme.has-ci" not in {r["id"] for r in json.loads(listed.stdout)}


def test_the_metadata_scan_runs_only_when_a_distribution_names_the_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "other-2.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[console_scripts]\nother = other:main\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "missing")])
    assert not catalogue._group_mentioned()  # whatever path finders the suite has added (importlib_metadata's)
    (info / "entry_points.txt").write_text("[mlops_gate.checks]\nother = other\n", encoding="utf-8")
    assert catalogue._group_mentioned()
    (info / "entry_points.txt").unlink()
    assert not catalogue._group_mentioned()
    (tmp_path / "bundle.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # metadata could be inside: scan it all
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "bundle.zip")])
    assert catalogue._group_mentioned()
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert not catalogue._group_mentioned()

    class Finder:  # a meta-path finder with distributions of its own (as some import hooks have)
        def find_distributions(self, *args: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert catalogue._group_mentioned()
