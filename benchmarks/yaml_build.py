"""yamlio's one-walk build against PyYAML's constructor, on every YAML file under the given folders.

    python benchmarks/yaml_build.py /path/to/repos /tmp/mlops-gate-large-trees/kserve

For each file, `yamlio.load` as shipped (documents without anchors built by `yamlnodes.build`) and with the
build switched off (every document through PyYAML's constructor and the alias-aware walks): the documents
(by repr), lines, units and errors must be identical. Prints how many are, and the CPU each way.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from mlops_gate import yamlio, yamlnodes


def _slow(*args: Any, **kwargs: Any) -> Any:
    raise yamlnodes.Slow


def _result(text: str) -> tuple[object, ...]:
    try:
        got = yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        return ("error", str(exc), exc.line, exc.bounded)
    return ("loaded", repr(got.documents), got.lines, got.units)


def main() -> None:
    build = yamlnodes.build
    files = same = 0
    cpu = {"build": 0.0, "constructor": 0.0}
    differ = []
    for top in sys.argv[1:]:
        for folder, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in names:
                if not name.endswith((".yaml", ".yml")):
                    continue
                path = os.path.join(folder, name)
                try:
                    with open(path, encoding="utf-8") as fh:
                        text = fh.read(4 << 20)
                except (OSError, UnicodeDecodeError):
                    continue
                got = {}
                for way, fn in (("build", build), ("constructor", _slow)):
                    yamlnodes.build = fn  # type: ignore[assignment]
                    start = time.process_time()
                    got[way] = _result(text)
                    cpu[way] += time.process_time() - start
                yamlnodes.build = build
                files += 1
                if got["build"] == got["constructor"]:
                    same += 1
                else:
                    differ.append(path)
    print(f"{files} files, {same} identical; CPU: build {cpu['build']:.2f} s, constructor {cpu['constructor']:.2f} s")
    for path in differ[:20]:
        print("differs:", path)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
