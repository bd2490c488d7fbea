"""The file kinds read in one pass: each file parsed at most once per run, whatever reads concurrently; a file
no kind keeps is released (its budget given back); a failed walk fails once; no file-count cliff."""

from __future__ import annotations

import collections
import gc
import os
from pathlib import Path

import pytest

from mlops_gate.engine import collect
from mlops_gate.facts.files import SourceFile
from mlops_gate.providers import Context, _parse, _repo, files
from mlops_gate.providers.files import SELECTORS
from mlops_gate.target import Target
from tests.support.trees import write_tree

FILE_KINDS = tuple(k for k in SELECTORS if "/" not in k)  # every kind the one pass serves (`kind/part`: read with kind)
TREE = {
    ".github/workflows/ci.yml": "on: pull_request\njobs:\n  test:\n    runs-on: x\n    steps: [{run: pytest}]\n",
    "Dockerfile": "FROM python:3.11\n",
    "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec: {image: python:3.11}\n",
    "monitoring/rules.yml": "groups:\n  - name: g\n    rules: [{alert: A, expr: up == 0}]\n",
    "monitoring/alertmanager.yml": "route: {receiver: x}\nreceivers: [{name: x}]\n",
    "monitoring/tests.yml": "rule_files: [rules.yml]\ntests: []\n",
    "monitoring/drift.yaml": "evidently: {data_drift: true}\n",
    "config/settings.yaml": "settings: {a: 1}\n",
    "broken.yaml": "a: [\n",
    "dags/train.py": "from airflow import DAG\nDAG('train')\n",
    "src/app.py": "print('hello')\n",
}


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    counter: collections.Counter[str] = collections.Counter()
    real = _parse.parse

    def counted(ctx: Context, rel: str, *, escaped: bool, known: bool, data: bytes | None = None) -> SourceFile:
        counter[rel] += 1
        return real(ctx, rel, escaped=escaped, known=known, data=data)

    monkeypatch.setattr(_parse, "parse", counted)
    return counter


def test_each_file_is_parsed_once_while_every_file_kind_reads_concurrently(
    tmp_path: Path, parses: collections.Counter[str]
) -> None:
    write_tree(tmp_path, TREE)
    records = collect({k: frozenset() for k in FILE_KINDS}, tmp_path, Target(), {})
    assert {k: r.error for k, r in records.items()} == {k: None for k in FILE_KINDS}
    assert parses and max(parses.values()) == 1, parses
    assert "src/app.py" not in parses  # its bytes show it is no DAG and no drift code: never parsed
    found = {k: [f.path for f in r.value.files] for k, r in records.items()}  # type: ignore[attr-defined]
    assert found["deploy_manifests"] == ["broken.yaml", "k8s/deploy.yaml"]
    assert found["rule_files"] == ["broken.yaml", "monitoring/rules.yml"]
    assert found["rule_tests"] == ["monitoring/tests.yml"]
    # a YAML file whose bytes cannot spell a drift word is no drift monitor, parsed or not (issue 12)
    assert found["drift_config"] == ["monitoring/drift.yaml"]
    assert found["workflow_files"] == ["dags/train.py"]
    assert records["rule_tests"].sources == ("monitoring/tests.yml",)  # each kind's meter names its own files
    assert gc.isenabled()  # paused during the pass only


def test_the_files_of_each_kind_are_the_same_read_alone_or_together(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    together = collect({k: frozenset() for k in FILE_KINDS}, tmp_path, Target(), {})
    for kind in FILE_KINDS:
        alone = collect({kind: frozenset()}, tmp_path, Target(), {})
        assert alone[kind].value == together[kind].value, kind


def test_a_file_no_kind_keeps_is_released_and_gives_its_budget_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's byte budget bounds what it holds, not what it reads: 40 configs of 2 KB pass through a
    budget of 10 KB, and the manifest after them is still read."""
    monkeypatch.setattr(_parse, "RUN_BYTES", 10_000)
    config = "settings:\n" + "".join(f"  key{i}: {'x' * 40}\n" for i in range(40))
    write_tree(tmp_path, {**{f"config/c{n:02}.yaml": config for n in range(40)}, "z/pod.yaml": TREE["k8s/deploy.yaml"]})
    ctx = Context(root=tmp_path, target=Target(), env={}, kind="deploy_manifests")
    found = files.deploy_manifests(ctx)
    assert [(f.path, f.error) for f in found.files] == [("z/pod.yaml", None)]
    assert [k for k in ctx.shared.cache if k.startswith("file:")] == ["file:z/pod.yaml"]


def test_a_failed_walk_is_walked_once_and_fails_every_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    walks = []
    real = _repo._walk

    def counted(root: Path) -> _repo.Walked:
        walks.append(root)
        return real(root)

    monkeypatch.setattr(_repo, "_walk", counted)
    records = collect({k: frozenset() for k in FILE_KINDS}, tmp_path / "missing", Target(), {})
    assert len(walks) == 1
    assert {r.error for r in records.values()} == {
        f"repository directory {tmp_path / 'missing'} does not exist\n  hint: pass --repo DIR"
    }


def test_more_than_fifty_thousand_files_are_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No file-count cliff: a folder that lists 100,000 files (named so no kind opens them) besides a manifest
    is walked and judged."""
    write_tree(tmp_path, {"pod.yaml": TREE["k8s/deploy.yaml"]})
    real_walk = os.walk

    def listing(root: Path, onerror: object = None) -> object:
        for dirpath, dirnames, filenames in real_walk(root):
            yield dirpath, dirnames, [*filenames, *(f"f{i}.txt" for i in range(100_000))]

    monkeypatch.setattr(_repo.os, "walk", listing)
    records = collect({"deploy_manifests": frozenset(), "dockerfiles": frozenset()}, tmp_path, Target(), {})
    assert records["deploy_manifests"].error is None
    assert [f.path for f in records["deploy_manifests"].value.files] == ["pod.yaml"]  # type: ignore[attr-defined]


def test_a_kind_read_on_its_own_after_another_keeps_the_others_files(
    tmp_path: Path, parses: collections.Counter[str]
) -> None:
    """Without the engine (no `Shared.kinds`), each kind makes its own pass: a file an earlier kind kept stays
    parsed (not released by a later pass that does not keep it)."""
    write_tree(tmp_path, TREE)
    ctx = Context(root=tmp_path, target=Target(), env={})
    manifests = files.deploy_manifests(ctx)
    assert files.rule_files(ctx).files and "file:k8s/deploy.yaml" in ctx.shared.cache
    assert files.deploy_manifests(ctx) == manifests and parses["k8s/deploy.yaml"] == 1


def test_drift_words_are_found_in_escaped_or_binary_yaml_strings_and_a_broken_file_is_still_reported(
    tmp_path: Path,
) -> None:
    """The byte search lets drift_config skip a YAML file only when its bytes cannot spell a drift word: escaped
    and binary strings are walked; a file that does not parse stays a candidate when its bytes could spell one
    (it is reported), and is none when they cannot (issue 12: a Go-templated patch file is no drift monitor)."""
    write_tree(
        tmp_path,
        {
            "a/escaped.yaml": 'monitor: "\\x65vidently"\n',
            "a/binary.yaml": "monitor: !!binary ZXZpZGVudGx5\n",
            "a/plain.yaml": "settings: {a: 1}\n",
            "a/upper.yaml": "Monitors: [WhyLogs]\n",
            "a/broken.yaml": "evidently: [\n",
            "a/broken-plain.yaml": "a: [{{ .Values.x }}\n",
        },
    )
    records = collect({"drift_config": frozenset()}, tmp_path, Target(), {})
    found = [(f.path, f.error is not None) for f in records["drift_config"].value.files]  # type: ignore[attr-defined]
    assert found == [
        ("a/binary.yaml", False),
        ("a/broken.yaml", True),
        ("a/escaped.yaml", False),
        ("a/upper.yaml", False),
    ]


def test_the_coarse_drift_search_rules_out_no_file_the_exact_one_would_take(tmp_path: Path) -> None:
    """The drift search looks for six short needles first: every drift word must hold one, so a file that
    spells any drift word (in any case) is still a candidate."""
    from mlops_gate.providers import _drift
    from mlops_gate.providers._scan import Content, ScanBudget

    assert all(any(c in w for c in _drift._COARSE) for w in _drift._WORDS)
    for i, w in enumerate(_drift.DRIFT_WORDS):
        for fmt, name in (("python", f"m{i}.py"), ("yaml", f"c{i}.yaml"), ("json", f"j{i}.json")):
            (tmp_path / name).write_text(f"x = '{w.upper()}'\n" if fmt == "python" else f"k: {w.title()}\n")
            assert _drift.could_be_drift(Content(tmp_path, name, fmt, ScanBudget())), (w, fmt)
    (tmp_path / "escaped.json").write_text('{"\\u0045vidently": {"\\u0044ata_drift": true}}\n')  # upper-case escapes
    assert _drift.could_be_drift(Content(tmp_path, "escaped.json", "json", ScanBudget()))
    (tmp_path / "plain.py").write_text("print('monitoring the model')\n")
    assert not _drift.could_be_drift(Content(tmp_path, "plain.py", "python", ScanBudget()))
