"""providers/readers.py: every fact kind has exactly one reader, typed as the kind's values, and reading a
file kind imports no SDK (the readers import their provider only when called)."""

from __future__ import annotations

import subprocess
import sys
import typing

from mlops_gate import facts
from mlops_gate.facts import FACT_KINDS
from mlops_gate.providers.readers import READERS


def test_every_kind_has_a_reader_returning_its_type() -> None:
    assert set(READERS) == set(FACT_KINDS)
    lazy = {name: getattr(facts, name) for name in facts.LAZY}  # imported by readers.py for type checking only
    for kind, reader in READERS.items():
        assert typing.get_type_hints(reader, localns=lazy)["return"] is FACT_KINDS[kind].type, kind


def test_importing_the_readers_imports_no_provider() -> None:
    code = (
        "import sys\n"
        "import mlops_gate.providers.readers\n"
        "print(sorted(m for m in sys.modules if m.startswith(('mlops_gate.providers.', 'github', 'gitlab', 'mlflow',"
        " 'requests'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['mlops_gate.providers.readers']"
