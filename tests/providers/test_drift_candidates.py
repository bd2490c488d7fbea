"""JSON may spell a drift word with `\\u` escapes: such a file is still a drift monitor candidate (the escaped
form is searched for only in a JSON file that has an escape, with a pattern compiled when first needed)."""

from __future__ import annotations

from pathlib import Path

from mlops_gate.engine import collect
from mlops_gate.providers import _drift
from mlops_gate.target import Target
from tests.support.trees import write_tree


def test_a_drift_word_written_with_json_escapes_is_found(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "conf/escaped.json": '{"monitor": {"\\u0065vid\\u0065ntly": true}}',  # no drift word as written
            "conf/escaped-other.json": '{"\\u0061pp": "web"}',
            "conf/plain.json": '{"app": "web"}',
        },
    )
    records = collect({"drift_config": frozenset()}, tmp_path, Target(), {})
    assert [f.path for f in records["drift_config"].value.files] == ["conf/escaped.json"]  # type: ignore[attr-defined]
    assert _drift._drift_json.cache_info().currsize == 1  # the escaped form was searched for
