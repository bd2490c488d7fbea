"""The package's import graph, read from its source with `ast` (nothing is imported): no circle, and the layers
read one way — `lang/` and `facts/` never reach up into checks, providers, the engine, the run, the CLI or
the reporters.

Function-local imports exist on purpose (a files-only run must not pay for the platform SDKs, MLflow or the
HTTP stack; `--version` for anything): they are edges like any other here, so a lazy import can never hide a
circle. Imports under `if TYPE_CHECKING:` never run; they are left out of the circle check but not of the
layer rules (a type from a higher layer is still an arrow up). Imports by string (importlib) are not seen:
the package keeps them to the reporters' format table (`reporters.FORMATS`), the Azure SDK's client
classes, the check modules the catalogue imports when a run asks for them (`catalogue.BUILTIN`) and the fact
types a files-only run does not read (`facts.LAZY`), all at the edge of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mlops_gate"

# what each lower layer may import: module names, or (ending in ".") every module of a package
ALLOWED = {
    "mlops_gate.lang": (
        "mlops_gate.lang.",
        "mlops_gate.facts",
        "mlops_gate.facts.",
        "mlops_gate.model",
        "mlops_gate.yamlio",
    ),
    "mlops_gate.facts": (
        "mlops_gate.facts",
        "mlops_gate.facts.",
        "mlops_gate",  # the package itself: __version__
        "mlops_gate.errors",
        "mlops_gate.target",
        "mlops_gate.typed",
    ),
}
UPPER = (
    "mlops_gate.checks",
    "mlops_gate.providers",
    "mlops_gate.engine",
    "mlops_gate.run",
    "mlops_gate.cli",
    "mlops_gate.reporters",
    "mlops_gate.output",
    "mlops_gate.catalogue",
)


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in PACKAGE.rglob("*.py")}


def _target(name: str) -> str:
    """The package module an imported name lives in (`a.b.c` -> `a.b` when `c` is not a module)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, under `if TYPE_CHECKING:`) for every import of the package in the file."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            guarded = typing_only or (
                isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING"
            )
            if isinstance(child, ast.Import):
                found.extend((_target(a.name), guarded) for a in child.names if a.name.startswith("mlops_gate"))
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}: relative import"
                if child.module and child.module.startswith("mlops_gate"):
                    for a in child.names:
                        full = f"{child.module}.{a.name}"
                        found.append((full if full in MODULES else _target(child.module), guarded))
            visit(child, guarded)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def test_the_graph_is_read() -> None:
    assert len(MODULES) > 100
    assert ("mlops_gate.providers.readers", False) in GRAPH["mlops_gate.engine"]  # `from a.b import c` -> a.b.c
    assert ("mlops_gate.model", False) in GRAPH["mlops_gate.engine"]  # `from a.b import name` -> a.b
    assert ("mlops_gate.providers.github", False) in GRAPH["mlops_gate.providers.platform"]  # lazy: counted


def test_no_import_circle() -> None:
    edges = {m: sorted({t for t, typing_only in imports if not typing_only and t != m}) for m, imports in GRAPH.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for nxt in edges[module]:
            if state.get(nxt) == 1:
                circle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if nxt not in state:
                walk(nxt)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            walk(module)


def test_lang_and_facts_import_only_what_lies_below_them() -> None:
    wrong = []
    for layer, allowed in ALLOWED.items():
        for module, imports in GRAPH.items():
            if module != layer and not module.startswith(layer + "."):
                continue
            for target, _ in imports:
                ok = any(target == a or (a.endswith(".") and target.startswith(a)) for a in allowed)
                if not ok or target.startswith(UPPER):
                    wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_cli_is_imported_by_nothing_in_the_package() -> None:
    assert [m for m, imports in GRAPH.items() if any(t == "mlops_gate.cli" for t, _ in imports)] == [
        "mlops_gate.__main__"
    ]


# --- the tests' own layout ------------------------------------------------------------------------------

TESTS = Path(__file__).resolve().parent


def _test_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
    return [n for n in names if n == "tests" or n.startswith("tests.")]


def test_tests_import_only_the_support_package() -> None:
    """No test imports another test module: what tests share lives in tests/support/."""
    wrong = [
        f"{p.relative_to(TESTS.parent)} imports {name}"
        for p in sorted(TESTS.rglob("*.py"))
        for name in _test_imports(p)
        if not name.startswith("tests.support")
    ]
    assert wrong == []


def test_benchmarks_import_only_the_support_package() -> None:
    benchmarks = sorted((TESTS.parent / "benchmarks").glob("*.py"))
    assert benchmarks
    wrong = [f"{p.name} imports {n}" for p in benchmarks for n in _test_imports(p) if not n.startswith("tests.support")]
    assert wrong == []


def test_test_folders_mirror_the_package() -> None:
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - {"support"}
    assert folders and all((PACKAGE / name).is_dir() for name in folders), folders
