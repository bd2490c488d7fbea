"""Generated documentation: the README's check table, docs/checks.md and the policy's JSON Schema
(mlops_gate/policies/policy.schema.json, what `mlops-gate policy schema` prints), from the check catalogue;
and the catalogue's index of the built-in checks (mlops_gate/checks/index.json, read by every run instead of
importing every check module), from the check modules.

python -m mlops_gate.docsgen        # rewrite all four in place (tests keep them current)
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from mlops_gate import typed
from mlops_gate.catalogue import catalogue
from mlops_gate.checkspec import CheckSpec
from mlops_gate.describe import example_of
from mlops_gate.fielddoc import field_docs, type_name

START, END = "<!-- checks:start -->", "<!-- checks:end -->"


def builtin_checks() -> list[CheckSpec]:
    return [s for s in catalogue().checks.values() if s.origin.startswith("mlops_gate.")]


def table() -> str:
    rows = ["| id | default severity | needs | title |", "| --- | --- | --- | --- |"]
    for s in builtin_checks():
        rows.append(
            f"| [`{s.id}`](docs/checks.md#{s.id.replace('.', '')}) | {s.severity.value} | "
            f"{', '.join(s.needs)} | {s.title} |"
        )
    return "\n".join(rows)


def checks_md() -> str:
    out = [
        "# Checks",
        "",
        "Generated from the check catalogue by `python -m mlops_gate.docsgen`; "
        "`mlops-gate explain ID` prints the same text.",
        "",
    ]
    for s in builtin_checks():
        out += [
            f"## {s.id}",
            "",
            f"**{s.title}** — default severity `{s.severity.value}`, "
            f"needs `{', '.join(s.needs)}`"
            + (f", target `{', '.join(s.requires_target)}`" if s.requires_target else ""),
            "",
            s.doc,
            "",
        ]
        fields = dataclasses.fields(s.params)
        if fields:
            defaults = typed.to_data(s.params())
            docs = field_docs(s.params)
            out += ["| param | type | default | meaning | example |", "| --- | --- | --- | --- | --- |"]
            for f in fields:
                doc = docs.get(f.name)
                example = example_of(typed.hints(s.params)[f.name], defaults[f.name], doc)
                cells = [
                    f"`{f.name}`",
                    type_name(typed.hints(s.params)[f.name]),
                    f"`{json.dumps(defaults[f.name])}`",
                    (doc.text if doc else "").replace("|", "\\|"),
                    f"`{example}`" if example is not None else "",
                ]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out)


def readme(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    from mlops_gate import catalogue as checks_index

    checks_index.INDEX.write_text(checks_index.index_text(), encoding="utf-8")
    checks_index.reset_cache()  # the rest is written from the index just rewritten
    readme_path = root / "README.md"
    readme_path.write_text(readme(readme_path.read_text(encoding="utf-8")), encoding="utf-8")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "checks.md").write_text(checks_md(), encoding="utf-8")
    from mlops_gate.policies import PROFILES_DIR
    from mlops_gate.policy_schema import schema

    (PROFILES_DIR / "policy.schema.json").write_text(json.dumps(schema(), indent=2) + "\n", encoding="utf-8")
    print("rewrote the check index, README.md check table, docs/checks.md and the policy schema", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
