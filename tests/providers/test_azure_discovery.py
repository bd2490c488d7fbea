"""Azure pipelines found by their shape come from the run's one pass; the files the policy names (`azure:GLOB`)
are added in walk order: a link to a folder the glob names is reported, this run's own outputs are left out,
and the files are recorded as read in the order they are listed."""

from __future__ import annotations

import os
from pathlib import Path

from mlops_gate.engine import collect
from mlops_gate.providers import RunInputs
from mlops_gate.target import Target
from tests.support.trees import write_tree

PIPELINE = "trigger: [main]\nsteps:\n  - script: pytest\n"


def _ci(root: Path, *globs: str, own: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str | None], tuple[str, ...]]:
    scope = frozenset(f"azure:{g}" for g in globs)
    record = collect({"ci_config": scope}, root, Target(), {}, inputs=RunInputs(own_outputs=own))["ci_config"]
    assert record.error is None, record.error
    files = record.value.files  # type: ignore[union-attr]
    return [f.path for f in files], {f.path: f.error for f in files}, record.sources


def test_named_files_by_shape_and_by_glob_are_listed_and_recorded_in_walk_order(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a/shaped.yml": PIPELINE,  # found by its shape
            "b/plain.yml": "name: only the glob names me\n",  # found by the glob alone
            "c/shaped.yml": PIPELINE,
        },
    )
    paths, _, sources = _ci(tmp_path, "b/*")
    assert paths == ["a/shaped.yml", "b/plain.yml", "c/shaped.yml"]
    assert sources == ("a/shaped.yml", "b/plain.yml", "c/shaped.yml")


def test_a_link_to_a_folder_out_of_the_repository_that_the_glob_names_is_reported(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"p.yml": PIPELINE})
    root = tmp_path / "repo"
    write_tree(root, {"pipelines/ok.yml": PIPELINE})
    os.symlink(outside, root / "pipelines" / "elsewhere")
    for glob in ("pipelines/*", "pipelines/*.yml"):
        _, errors, _ = _ci(root, glob)
        assert "pipelines/elsewhere" in errors, glob
        assert "out of the repository" in (errors["pipelines/elsewhere"] or ""), glob


def test_this_runs_own_output_is_no_pipeline_even_when_the_glob_names_it(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pipelines/build.yml": PIPELINE, "pipelines/report.yml": "verdict: fail\n"})
    paths, _, _ = _ci(tmp_path, "pipelines/*", own=(str(tmp_path / "pipelines" / "report.yml"),))
    assert paths == ["pipelines/build.yml"]
