"""The catalogue lists every module of checks/ that declares a check, each check id in the module its area
names, and the names third-party checks were promised stay importable."""

from __future__ import annotations

import importlib
import pkgutil

import mlops_gate.checks
from mlops_gate import catalogue, checkspec, registry


def _declaring_modules() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(mlops_gate.checks.__path__):
        module = importlib.import_module(f"mlops_gate.checks.{info.name}")
        if any(isinstance(getattr(v, "spec", None), checkspec.CheckSpec) for v in vars(module).values()):
            found.add(module.__name__)
    return found


def test_every_module_declaring_checks_is_in_the_catalogue() -> None:
    assert {m.__name__ for m in catalogue.BUILTIN} == _declaring_modules()


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
