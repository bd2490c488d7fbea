"""promtool and amtool run by the gate: found only outside the repository, bounded in time, memory and
output, with one time budget per run (review finding 10); their verdicts per file (real Debian tools when
installed: promtool 2.42, amtool 0.25)."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from mlops_gate.providers import Context, Shared, _tools
from mlops_gate.providers.amtool import amtool_check
from mlops_gate.providers.promtool import promtool_check, rule_tests
from mlops_gate.target import Target
from mlops_gate.threads import map_threads
from tests.support.trees import write_tree

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian: prometheus)")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool not installed (Debian: prometheus-alertmanager)")

GOOD = "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum(up)\n"
BAD = (
    "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations: {s: '{{ $label.x }}'}\n"
)
CRD = (
    "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\n"
    "spec:\n  groups:\n    - name: g\n      rules:\n        - alert: B\n          expr: up ==\n"
)


def ctx(root: Path, env: dict[str, str] | None = None, scope: tuple[str, ...] = ()) -> Context:
    return Context(
        root=root, target=Target(), env=env or {"PATH": os.environ["PATH"]}, scope=frozenset(scope), shared=Shared()
    )


def fake_tool(folder: Path, name: str, body: str) -> Path:
    """An executable Python script answering `--version` like the real tool, else running `body`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        "#!/usr/bin/env python3\nimport sys, time\n"
        "if sys.argv[1:] == ['--version']:\n    print('promtool, version 2.42.0 (branch: x)')\n    sys.exit(0)\n"
        + body,
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@needs_promtool
def test_promtool_judges_each_rule_file_and_a_manifests_spec(tmp_path: Path) -> None:
    dup = GOOD + "      - record: job:up:sum\n        expr: sum(up)\n"  # a lint finding, not a load error
    tree = {"good.rules.yml": GOOD, "bad.rules.yml": BAD, "k8s/rules.yaml": CRD, "dup.rules.yml": dup}
    root = write_tree(tmp_path / "repo", tree)
    verdicts = promtool_check(ctx(root))
    assert verdicts.tool == "promtool" and verdicts.version and verdicts.version.startswith("2.")
    got = {f.path: (f.ok, f.output) for f in verdicts.files}
    assert got["good.rules.yml"] == got["dup.rules.yml"] == (True, "")
    assert got["bad.rules.yml"][0] is False and 'undefined variable "$label"' in got["bad.rules.yml"][1]
    assert not any("r0000" in out for _, out in got.values())  # no trace of the temporary copies
    assert got["k8s/rules.yaml"][0] is False and "parse error" in got["k8s/rules.yaml"][1]


@needs_amtool
def test_amtool_judges_each_configuration(tmp_path: Path) -> None:
    good = "route: {receiver: a}\nreceivers: [{name: a}]\n"
    bad = "route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: x}]}]\n"
    root = write_tree(tmp_path / "repo", {"am/alertmanager.yml": good, "am2/alertmanager.yml": bad})
    verdicts = amtool_check(ctx(root))
    got = {f.path: (f.ok, f.output) for f in verdicts.files}
    assert got["am/alertmanager.yml"][0] is True
    assert got["am2/alertmanager.yml"][0] is False and "Slack API URL" in got["am2/alertmanager.yml"][1]


def test_a_tool_inside_the_repository_never_runs(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    marker = tmp_path / "ran"
    fake_tool(root / "bin", "promtool", f"open({str(marker)!r}, 'w').write('x')\n")
    write_tree(root, {"good.rules.yml": GOOD})
    found = _tools.find(ctx(root, {"PATH": f"{root / 'bin'}{os.pathsep}bin"}), "promtool")
    assert found.path is None and "not on PATH" in found.note
    configured = _tools.find(ctx(root, {"MLOPS_GATE_PROMTOOL": str(root / "bin" / "promtool")}), "promtool")
    assert configured.path is None and "outside the repository" in configured.note
    assert not marker.exists()


def test_the_tool_can_be_named_or_turned_off(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "tools", "promtool", "print('Checking x')\n")
    root = write_tree(tmp_path / "repo", {"good.rules.yml": GOOD})
    named = _tools.find(ctx(root, {"MLOPS_GATE_PROMTOOL": str(tool)}), "promtool")
    assert (named.path, named.version) == (str(tool), "2.42.0")
    off = promtool_check(ctx(root, {"MLOPS_GATE_PROMTOOL": "off"}))
    assert (off.version, off.files) == (None, ()) and "not used" in off.note
    relative = _tools.find(ctx(root, {"MLOPS_GATE_PROMTOOL": "tools/promtool"}), "promtool")
    assert relative.path is None and "absolute path" in relative.note


def test_a_run_over_its_time_is_killed_and_the_budget_is_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tools, "RUN_TIMEOUT_S", 1.0)
    monkeypatch.setattr(_tools, "RUN_BUDGET_S", 2.5)
    tool = fake_tool(tmp_path / "tools", "promtool", "time.sleep(3600)\n")
    root = write_tree(tmp_path / "repo", {"a.rules.yml": GOOD})
    c = ctx(root, {"MLOPS_GATE_PROMTOOL": str(tool)})
    first = promtool_check(c)
    assert [(f.ok, f.note) for f in first.files] == [(None, "promtool did not finish within 1 s: stopped")]
    second = _tools.run(c, [str(tool), "check"], root)
    third = _tools.run(c, [str(tool), "check"], root)
    assert second.code is None and "within" in second.note
    assert third.code is None and "budget for promtool/amtool is spent" in third.note


def test_a_run_is_bounded_in_memory_and_output(tmp_path: Path) -> None:
    hog = fake_tool(tmp_path / "tools", "promtool", "x = bytearray(3 << 30)\nprint(len(x))\n")
    chatty = fake_tool(tmp_path / "tools2", "promtool", "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n")
    root = write_tree(tmp_path / "repo", {"a.rules.yml": GOOD})
    c = ctx(root)
    hogged = _tools.run(c, [str(hog), "check"], root)
    assert hogged.code != 0 and "MemoryError" in hogged.output  # RLIMIT_AS: 3 GiB cannot be had
    flooded = _tools.run(c, [str(chatty), "check"], root)
    assert flooded.code != 0 and len(flooded.out) <= _tools.MAX_OUTPUT  # RLIMIT_FSIZE: writes past 1 MiB fail


def test_the_tool_gets_no_credentials(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "tools", "promtool", "import os\nprint(sorted(os.environ))\n")
    root = write_tree(tmp_path / "repo", {"a.rules.yml": GOOD})
    c = ctx(root, {"PATH": os.environ["PATH"], "GITHUB_TOKEN": "s3cret"})
    ran = _tools.run(c, [str(tool), "check"], root)
    assert ran.code == 0 and "GITHUB_TOKEN" not in ran.out and "s3cret" not in ran.out
    assert all(repr(name) in ran.out for name in _tools.GO_ENV)  # a Go tool's GC settings, nothing of ours


@needs_promtool
def test_rule_tests_reading_outside_the_repository_are_not_run(tmp_path: Path) -> None:
    (tmp_path / "secret.yml").write_text(GOOD, encoding="utf-8")
    test = "rule_files: [../secret.yml]\ntests: []\n"
    root = write_tree(tmp_path / "repo", {"alerts_test.yml": test, "alerts.yml": GOOD})
    out = rule_tests(ctx(root, scope=("run",)))
    assert [(f.path, f.passed, f.note) for f in out.files] == [
        ("alerts_test.yml", None, "not run: its rule_files name ../secret.yml, outside the repository")
    ]


@needs_amtool
def test_a_configuration_whose_templates_reach_outside_the_repository_is_not_handed_to_amtool(tmp_path: Path) -> None:
    config = "route: {receiver: a}\nreceivers: [{name: a}]\ntemplates: ['/etc/*', '../x/*.tmpl']\n"
    root = write_tree(tmp_path / "repo", {"alertmanager.yml": config})
    verdicts = amtool_check(ctx(root))
    assert [(f.path, f.ok, f.note) for f in verdicts.files] == [
        ("alertmanager.yml", None, "not checked: its templates name /etc/*, outside the repository")
    ]


def test_the_version_is_asked_once_however_many_kinds_look_the_tool_up_at_once(tmp_path: Path) -> None:
    asked = tmp_path / "asked"
    tool = tmp_path / "tools" / "promtool"
    tool.parent.mkdir()
    tool.write_text(
        "#!/usr/bin/env python3\nimport time\n"
        f"open({str(asked)!r}, 'a').write('version\\n')\n"
        "time.sleep(0.5)\n"  # the other lookups arrive while this one runs
        "print('promtool, version 2.42.0 (branch: x)')\n",
        encoding="utf-8",
    )
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    c = ctx(write_tree(tmp_path / "repo", {"a.rules.yml": GOOD}), {"MLOPS_GATE_PROMTOOL": str(tool)})
    start = threading.Barrier(3)

    def look() -> _tools.Tool:
        start.wait()
        return _tools.find(c, "promtool")

    found = map_threads(lambda _: look(), range(3), 3)
    assert {(t.path, t.version) for t in found} == {(str(tool), "2.42.0")}
    assert asked.read_text() == "version\n"


def test_a_tool_that_dies_while_checking_gives_no_verdict_on_what_it_had_not_finished(tmp_path: Path) -> None:
    """promtool out of memory or panicking halfway (a Go runtime fatal error: exit 2) has said SUCCESS for the
    files before and nothing for the one it died in: that one, and those after it, get no verdict (the gate's
    own reading stands), never an acceptance (review finding: a crash read as `loads`)."""
    crash = (
        "import sys\nprint('Checking r00000.yml\\n  SUCCESS: 1 rules found\\n\\nChecking r00001.yml')\n"
        "sys.stderr.write('fatal error: out of memory\\n')\nsys.exit(2)\n"
    )
    tool = fake_tool(tmp_path / "tools", "promtool", crash)
    root = write_tree(tmp_path / "repo", {"a.rules.yml": GOOD, "b.rules.yml": BAD, "c.rules.yml": GOOD})
    verdicts = promtool_check(ctx(root, {"MLOPS_GATE_PROMTOOL": str(tool)}))
    got = {f.path: f.ok for f in verdicts.files}
    assert got == {"a.rules.yml": True, "b.rules.yml": None, "c.rules.yml": None}
    died = next(f for f in verdicts.files if f.path == "b.rules.yml")
    assert "exit 2" in died.note and "out of memory" in died.note


def test_a_file_promtool_panics_on_is_refused_with_the_panic_not_the_goroutine_dump(tmp_path: Path) -> None:
    panic = (
        "import sys\nprint('Checking r00000.yml')\n"
        "sys.stderr.write('panic: runtime error: index out of range [3] with length 3\\n\\n'"
        " + 'goroutine 1 [running]:\\nmain.main()\\n' * 50)\nsys.exit(2)\n"
    )
    tool = fake_tool(tmp_path / "tools", "promtool", panic)
    root = write_tree(tmp_path / "repo", {"a.rules.yml": GOOD})
    (check,) = promtool_check(ctx(root, {"MLOPS_GATE_PROMTOOL": str(tool)})).files
    assert check.ok is False
    assert check.output == "promtool crashed on it: panic: runtime error: index out of range [3] with length 3"


def test_promtool_ending_with_0_accepts_every_file_it_named_no_error_for(tmp_path: Path) -> None:
    quiet = "print('Checking r00000.yml')\nprint('Checking r00001.yml')\n"  # a release that prints no SUCCESS
    tool = fake_tool(tmp_path / "tools", "promtool", quiet)
    root = write_tree(tmp_path / "repo", {"a.rules.yml": GOOD, "b.rules.yml": GOOD})
    verdicts = promtool_check(ctx(root, {"MLOPS_GATE_PROMTOOL": str(tool)}))
    assert [(f.path, f.ok) for f in verdicts.files] == [("a.rules.yml", True), ("b.rules.yml", True)]


def test_amtool_out_of_memory_gives_no_verdict_a_panic_or_exit_1_refuses(tmp_path: Path) -> None:
    good = "route: {receiver: a}\nreceivers: [{name: a}]\n"
    root = write_tree(tmp_path / "repo", {"alertmanager.yml": good})
    for i, (body, expected, said) in enumerate(
        (
            ("import sys\nsys.stderr.write('fatal error: runtime: out of memory\\n')\nsys.exit(2)\n", None, ""),
            ("import sys\nsys.stderr.write('panic: nil map\\ngoroutine 1\\n')\nsys.exit(2)\n", False, "panic: nil map"),
            ("import sys\nprint(\"Checking 'alertmanager.yml'  FAILED: nope\")\nsys.exit(1)\n", False, "FAILED: nope"),
        )
    ):
        tool = fake_tool(tmp_path / f"tools{i}", "amtool", body)
        (check,) = amtool_check(ctx(root, {"MLOPS_GATE_AMTOOL": str(tool)})).files
        assert check.ok is expected, check
        assert said in check.output
        assert expected is not None or check.note == "amtool ended (exit 2): fatal error: runtime: out of memory"
