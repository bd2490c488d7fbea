"""Files built to blind the gate: too large, not UTF-8, linked out of the checkout, dressed up as the gate's
own output, alias bombs, deep nesting, hostile file names. Each must end in a finding or an error that names
the file — never a silent skip, never a pass, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import yamlio
from mlops_gate.cli import main
from tests.support.trees import read_facts, write_tree

D = "sha256:" + "a" * 64
MIB = 1 << 20
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
    "        - name: app\n          image: python:latest\n"
)


def gate(
    capsys: pytest.CaptureFixture[str], repo: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--repo", str(repo), "--format", "json", *args], env=env or {})
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out), err


def result(report: dict[str, Any], check: str, subject: str) -> dict[str, Any]:
    found = [r for r in report["results"] if r["check"] == check and r["subject"] == subject]
    assert len(found) == 1, [(r["check"], r["subject"], r["status"]) for r in report["results"]]
    return found[0]


# --- files the gate cannot read are findings ------------------------------------------------------------


def test_oversized_manifest_anywhere_fails_instead_of_being_dropped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    padded = DEPLOYMENT + "#" * (MIB + 10) + "\n"
    write_tree(tmp_path, {"random/app.yaml": padded})
    code, report, _ = gate(capsys, tmp_path, "--only", "image.digest-pinned")
    r = result(report, "image.digest-pinned", "file:random/app.yaml")
    assert (code, r["status"], r["message"]) == (1, "failed", "cannot read random/app.yaml")
    assert r["violations"][0]["message"] == (
        f"not read: larger than 1048576 bytes ({len(padded)} bytes); the gate reads files up to 1 MiB: split it, "
        "or move it out of the repository"
    )


def test_non_utf8_manifest_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_bytes(b"# caf\xe9\n" + DEPLOYMENT.encode())
    code, report, _ = gate(capsys, tmp_path, "--only", "image.digest-pinned")
    r = result(report, "image.digest-pinned", "file:deploy.yaml")
    assert (code, r["status"]) == (1, "failed")
    assert r["violations"][0]["message"] == "not read: not UTF-8 text (byte 0xe9 at offset 5); save it as UTF-8"


def test_oversized_rule_file_with_any_name_fails_alert_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = "groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: up == 0\n" + "#" * MIB + "\n"
    write_tree(tmp_path, {"ops/thing.yaml": rules})
    code, report, _ = gate(capsys, tmp_path, "--only", "monitoring.alert-rules")
    r = result(report, "monitoring.alert-rules", "file:ops/thing.yaml")
    assert (code, r["status"], r["message"]) == (1, "failed", "cannot read ops/thing.yaml")


def test_a_project_file_carrying_the_gate_s_tool_key_is_judged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_tree(tmp_path, {"charts/app/values.yaml": "tool: {name: mlops-gate}\nimage: python:latest\n"})
    code, report, _ = gate(capsys, tmp_path, "--only", "image.digest-pinned")
    r = result(report, "image.digest-pinned", "file:charts/app/values.yaml")
    assert (code, r["status"]) == (1, "failed")
    assert r["violations"][0]["message"] == "image python:latest is not pinned by digest; deploy name@sha256:<digest>"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (
            lambda repo, out: os.symlink(out, repo / "Dockerfile"),
            "a symbolic link out of the repository, not followed; commit the file itself",
        ),
        (
            lambda repo, out: os.symlink(repo / "missing", repo / "Dockerfile"),
            "a symbolic link to nothing (or a loop); replace it with the file",
        ),
        (
            lambda repo, out: os.mkfifo(repo / "Dockerfile"),
            "not a regular file (a FIFO, socket or device); remove it from the checkout",
        ),
    ],
)
def test_a_dockerfile_that_cannot_be_read_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: Any, why: str
) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "Dockerfile.real"
    repo.mkdir()
    outside.write_text("FROM python:latest\n")
    make(repo, outside)
    code, report, _ = gate(capsys, repo, "--only", "image.base-pinned")
    r = result(report, "image.base-pinned", "file:Dockerfile")
    assert (code, r["status"], r["message"]) == (3, "error", f"Dockerfile: not read: {why}")


def test_links_to_folders_the_walk_does_not_reach_are_reported(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM python:latest\n")
    write_tree(repo, {"node_modules/x/app.yaml": DEPLOYMENT, "real/values.yaml": "image: python:3\n"})
    os.symlink(outside, repo / "docker")  # out of the repository
    os.symlink(repo / "node_modules" / "x", repo / "deploy")  # into a folder the walk skips
    os.symlink(repo / "real", repo / "same")  # a walked folder: judged there, not reported twice
    facts = read_facts(repo, "dockerfiles", "deploy_manifests")
    links = [
        (
            "deploy",
            "not read: a symbolic link to a folder the gate does not walk; its files are not judged: commit them",
        ),
        ("docker", "not read: a symbolic link out of the repository, not followed; commit the file itself"),
    ]
    assert [(f.path, f.error) for f in facts["dockerfiles"].files] == links  # either could hold a Dockerfile
    assert [(f.path, f.error) for f in facts["deploy_manifests"].files] == [*links, ("real/values.yaml", None)]


def test_only_files_whose_bytes_could_hold_a_workflow_are_kept(tmp_path: Path) -> None:
    big = "#" * (MIB + 1)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/vocab.json").write_text('{"tokens": ["' + "a" * MIB + '"]}')
    (tmp_path / "sfn.json").write_text('{"\\u0053tartAt": "A", "States": {}, "pad": "' + "a" * MIB + '"}')
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags/big.py").write_text("from airflow import DAG\nwith DAG('x'):\n    pass\n" + big)
    (tmp_path / "src.py").write_text("print('no dag')\n" + big)
    (tmp_path / "latin.py").write_bytes(b"# caf\xe9\nimport airflow\n@dag\ndef f(): pass\n")
    files = read_facts(tmp_path, "workflow_files")["workflow_files"].files
    assert [(f.path, (f.error or "")[:20]) for f in files] == [
        ("dags/big.py", "not read: larger tha"),
        ("latin.py", "not read: not UTF-8 "),
        ("sfn.json", "not read: larger tha"),
    ]


def test_unreadable_workflow_and_drift_files_fail_their_checks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags/train.py").write_bytes(b"from airflow import DAG\nwith DAG('t'):\n    pass  # \xff\n")
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring/evidently-drift.yaml").write_bytes(b"drift: [\xff]\n")
    code, report, _ = gate(
        capsys, tmp_path, "--only", "orchestration.workflow-defined,monitoring.drift-monitor", "--fail-on", "medium"
    )
    wf = result(report, "orchestration.workflow-defined", "file:dags/train.py")
    drift = result(report, "monitoring.drift-monitor", "file:monitoring/evidently-drift.yaml")
    assert code == 1 and wf["status"] == drift["status"] == "failed"
    assert wf["violations"][0]["message"].startswith("not read: not UTF-8 text (byte 0xff")
    assert drift["message"] == "cannot read monitoring/evidently-drift.yaml"


def test_candidates_by_name_whatever_the_case_or_format(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "deploy/app.YAML": DEPLOYMENT,  # kubectl -f takes any extension, Helm and Compose JSON too
            "deploy/app.json": json.dumps(
                {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "python:latest"}]}}
            ),
            "deploy/escaped.json": '{"\\u0061piVersion": "v1", "kin\\u0064": "Pod"}',
            "data/rows.json": json.dumps([{"x": 1}]),  # no apiVersion: never parsed as a manifest
            "Dockerfile-gpu": "FROM python:latest\n",
            "docker/Containerfile_dev": "FROM python:latest\n",
            "Dockerfile.dockerignore": "*.pyc\n",  # BuildKit's ignore file for that Dockerfile, not a Dockerfile
            "tools/dockerfile_parse.py": "FROM = 'python:latest'\n",  # a module named like one: source, not one
            "docs/Dockerfile.md": "FROM python:latest\n",
            "docker/Dockerfile.prod": "FROM python:latest\n",
            "app.dockerfile": "FROM python:latest\n",
        },
    )
    facts = read_facts(tmp_path, "deploy_manifests", "dockerfiles")
    assert [f.path for f in facts["deploy_manifests"].files] == [
        "deploy/app.YAML",
        "deploy/app.json",
        "deploy/escaped.json",
    ]
    assert [f.path for f in facts["dockerfiles"].files] == [
        "Dockerfile-gpu",
        "app.dockerfile",
        "docker/Containerfile_dev",
        "docker/Dockerfile.prod",
    ]


# --- the gate's own outputs are recognised by path ------------------------------------------------------

STALE_REPORT = json.dumps(
    {"schema_version": 1, "tool": {"name": "mlops-gate"}, "note": "an evidently drift config was looked for"}
)


def test_own_outputs_are_left_out_by_path_not_by_content(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_tree(tmp_path, {"out/report.json": STALE_REPORT, "mlops-gate-report.json": STALE_REPORT})
    # judged like any project file when it is not this run's output, whatever its name or keys: its words
    # make a drift "config" (a pull request could give a manifest a report's name)
    code, report, _ = gate(capsys, tmp_path, "--only", "monitoring.drift-monitor", "--fail-on", "medium")
    message = report["results"][0]["message"]
    assert code == 0 and "out/report.json" in message and "mlops-gate-report.json" in message
    # the same files as this run's outputs, which git does not track (an earlier run's): left out, so nothing
    # is found (a file git tracks, or where git cannot say, is judged: tests/test_own_outputs.py)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    code, report, _ = gate(
        capsys,
        tmp_path,
        "--only",
        "monitoring.drift-monitor",
        "--fail-on",
        "medium",
        "--output",
        f"json={tmp_path / 'out/report.json'}",
        "--facts-out",
        str(tmp_path / "mlops-gate-report.json"),
    )
    assert (code, report["results"][0]["message"]) == (1, "no drift monitor found")


def test_own_outputs_name_files_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"evidently-drift.yml": "drift: evidently\n", "other-drift.yml": "drift: evidently\n"})
    monkeypatch.chdir(tmp_path)
    from mlops_gate.engine import collect
    from mlops_gate.providers import RunInputs
    from mlops_gate.target import Target

    inputs = RunInputs(own_outputs=("other-drift.yml",))  # as the run lists them: paths as given
    records = collect({"drift_config": frozenset()}, tmp_path, Target(), {}, inputs=inputs)
    assert [f.path for f in records["drift_config"].value.files] == ["evidently-drift.yml"]


# --- bounds: alias bombs, many of them, deep nesting, a second policy document ---------------------------


def bombs(size: int) -> str:
    """Many small alias bombs, one per document (each under any per-document limit)."""
    doc = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcd", "bcde", strict=True)
    )
    return "---\n".join([doc] * (size // (len(doc) + 4) + 1))


@pytest.mark.parametrize("size", [16_500, 165_000])
def test_many_small_alias_bombs_are_refused_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, size: int
) -> None:
    write_tree(tmp_path, {"deploy/values.yaml": bombs(size)})
    code, report, _ = gate(capsys, tmp_path, "--only", "image.digest-pinned")
    r = result(report, "image.digest-pinned", "file:deploy/values.yaml")
    assert (code, r["status"], r["message"]) == (1, "failed", "cannot parse deploy/values.yaml")
    assert r["violations"][0]["message"] == (
        "cannot parse: invalid YAML: expands to more than 1,000,000 nodes "
        "(aliases count each time they are used; an alias bomb?)"
    )


def test_merge_keys_count_as_expansion(tmp_path: Path) -> None:
    doc = "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n" + "".join(
        f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}]}}\n" for i in range(1, 9)
    )
    with pytest.raises(yamlio.YamlSyntaxError, match="expands to more than"):
        yamlio.load(doc)


def test_binary_keys_and_values_read_as_kubectl_reads_them(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
            "    - ? !!binary aW1hZ2U=\n      : python:latest\n"
            "    - image: !!binary cHl0aG9uOjM=\n"
        },
    )
    code, report, _ = gate(capsys, tmp_path, "--only", "image.digest-pinned")
    r = result(report, "image.digest-pinned", "file:pod.yaml")
    assert code == 1 and [v["message"].split(" is ")[0] for v in r["violations"]] == [
        "image python:latest",
        "image python:3",
    ]


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(yamlio.YamlSyntaxError, match="an alias refers to a node that contains it"):
        yamlio.load("a: &a [x, *a]\n")


def test_the_run_has_one_budget_for_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "FILE_UNITS", 1000)
    monkeypatch.setattr(yamlio, "RUN_UNITS", 3000)
    doc = "apiVersion: v1\nkind: List\na: &a [" + ", ".join(["x"] * 30) + "]\nb: [" + ", ".join(["*a"] * 25) + "]\n"
    write_tree(tmp_path, {f"k8s/{n}.yaml": doc for n in range(5)})
    files = read_facts(tmp_path, "deploy_manifests")["deploy_manifests"].files
    assert [f.error for f in files][:3] == [None, None, None]
    assert [(f.path, f.error) for f in files][3:] == [
        (
            f"k8s/{n}.yaml",
            "not parsed: this run's YAML budget (3,000 nodes for every file together) is spent; "
            "point --repo at the project, or move generated YAML out of it",
        )
        for n in (3, 4)
    ]


def test_deep_nesting_is_refused_in_yaml_and_json(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "deep.yaml": "a: " + "[" * 150 + "]" * 150 + "\n",
            "sfn/deep.asl.json": '{"StartAt": ' + "[" * 150 + "]" * 150 + "}",
            "sfn/deeper.asl.json": "[" * 100_000 + "]" * 100_000,
        },
    )
    facts = read_facts(tmp_path, "deploy_manifests", "workflow_files")
    (manifest,) = facts["deploy_manifests"].files
    assert (manifest.path, manifest.error) == ("deep.yaml", "invalid YAML: nested deeper than 100 levels")
    errors = {f.path: f.error for f in facts["workflow_files"].files}
    assert errors["sfn/deep.asl.json"] == "invalid YAML: nested deeper than 100 levels"
    assert (errors["sfn/deeper.asl.json"] or "").startswith("invalid JSON: ")


def test_json_with_a_lone_surrogate_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, {"sfn.asl.json": '{"StartAt": "\\udcff", "States": {}}'})
    (f,) = read_facts(tmp_path, "workflow_files")["workflow_files"].files
    assert (f.error or "").startswith("invalid JSON: a string holds a lone surrogate")


def test_a_policy_is_refused_at_its_second_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / ".mlops-gate.yml"
    policy.write_text("version: 1\n---\n" + bombs(165_000))
    code = main(["policy", "validate", str(policy)], env={})
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == f"mlops-gate: error: {policy}:3: document 2 starts here: only 1 is allowed"


# --- hostile file names reach every report escaped, and no CI log command -------------------------------

NAME = b"app\xff\x1b[2J\n::error::pwned\n##vso[task.setvariable variable=X]1\xe2\x80\xae.yaml"


@pytest.mark.skipif(os.name != "posix", reason="needs byte file names")
def test_hostile_file_names_in_every_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    with open(os.path.join(os.fsencode(repo), NAME), "w") as fh:
        fh.write(DEPLOYMENT)
    formats = ["json", "sarif", "junit", "markdown", "github", "gitlab-codequality", "azure", "console"]
    outs = [f"--output={fmt}={tmp_path / fmt}" for fmt in formats]
    code = main(["check", "--repo", str(repo), "--only", "image.digest-pinned", "-q", *outs], env={})
    capsys.readouterr()
    assert code == 1
    shown = "app\\xff\\x1b[2J\\x0a::error::pwned\\x0a##vso\\[task.setvariable variable=X]1\\u202e.yaml"
    report = json.loads((tmp_path / "json").read_text(encoding="utf-8"))
    (r,) = report["results"]
    assert (r["subject"], r["status"]) == (f"file:{shown}", "failed")
    assert r["violations"][0]["message"] == (
        "not read: its name holds control characters or bytes that are not UTF-8 (shown escaped); rename it"
    )
    for fmt in formats:
        text = (tmp_path / fmt).read_text(encoding="utf-8")  # every writer wrote valid UTF-8
        assert "\x1b" not in text and "\u202e" not in text and "\udcff" not in text, fmt
        for line in text.splitlines():
            assert "##vso[" not in line or (
                fmt == "azure" and line.startswith("##vso[task.logissue") and line.count("##vso[") == 1
            ), (fmt, line)
            assert not line.lstrip().startswith("::") or (fmt == "github" and line.startswith("::error ")), (fmt, line)
    json.loads((tmp_path / "sarif").read_text(encoding="utf-8"))
    json.loads((tmp_path / "gitlab-codequality").read_text(encoding="utf-8"))


# --- regular expressions and long lines written to stall the gate ----------------------------------------


def test_hostile_regexes_are_evaluated_in_linear_time(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Python's re would backtrack on (a|aa)+$ against this label value for hours; Alertmanager (RE2) does not
    write_tree(
        tmp_path,
        {
            "monitoring/rules.yml": "groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: up == 0\n"
            "        for: 5m\n        labels: {severity: " + "a" * 60 + "x}\n"
            "        annotations: {summary: s, runbook_url: https://r}\n",
            "monitoring/alertmanager.yml": "route:\n  receiver: nobody\n  routes:\n"
            "    - {receiver: pager, match_re: {severity: '(a|aa)+$'}}\n"
            "    - {receiver: pager, matchers: ['severity=~\"(a|aa)+$\"']}\n"
            "receivers:\n  - name: nobody\n  - name: pager\n"
            "    pagerduty_configs: [{routing_key: k}]\n",
        },
    )
    code, report, _ = gate(capsys, tmp_path, "--only", "monitoring.alert-routing")
    r = result(report, "monitoring.alert-routing", "file:monitoring/alertmanager.yml")
    assert (code, r["status"]) == (1, "failed")  # the alert matches neither route: it reaches `nobody`
    assert r["violations"][0]["message"].startswith("alert {alertname=Slow, severity=aaaa")


def test_alertmanager_regexes_use_alertmanager_s_syntax() -> None:
    from mlops_gate.lang import regexes
    from mlops_gate.lang.alertmanager import parse_matchers

    assert parse_matchers("a=b" + " " * 200_000 + "c") == [("a", "=", "b" + " " * 200_000 + "c")]  # linear

    assert regexes.fullmatch("crit.*", "critical") is True
    assert regexes.fullmatch("(?=crit)crit", "crit") is None  # a lookahead: Go's regexp refuses it, so does amtool
    assert regexes.search("^release/", "RELEASE/1", ignore_case=True) is True


def test_long_gitlab_rule_expression_is_linear() -> None:
    from mlops_gate.lang.gitlab_rules import gl_if

    assert gl_if('$CI_COMMIT_BRANCH == "main"' + " && $X == 'y'" * 50_000, {"CI_COMMIT_BRANCH": "main"}) is False
    assert gl_if("(" * 5000 + "$A" + ")" * 5000, {"A": "1"}) is False  # nesting past Python's stack: false
    assert gl_if("$A =~ /(a|aa)+$/", {"A": "a" * 60 + "x"}) is False


def test_a_routing_tree_too_large_to_walk_for_every_alert_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_tree(
        tmp_path,
        {
            "rules.yml": "groups:\n- name: g\n  rules:\n"
            + "".join(
                f"  - {{alert: A{n}, expr: up, for: 5m, labels: {{severity: page}}, annotations: {{summary: s, "
                f"runbook_url: https://r}}}}\n"
                for n in range(1000)
            ),
            "alertmanager.yml": "route:\n  receiver: r\n  routes:\n"
            + "    - {receiver: r, match: {severity: page}, continue: true}\n" * 1000
            + "receivers: [{name: r, webhook_configs: [{url: 'https://hook'}]}]\n",
        },
    )
    code, report, _ = gate(capsys, tmp_path, "--only", "monitoring.alert-routing")
    r = result(report, "monitoring.alert-routing", "file:alertmanager.yml")
    assert (code, r["status"], r["message"]) == (1, "failed", "1001 routes for 1000 alert label sets")
    assert r["violations"][0]["message"].startswith("routing 1000 alerts through 1001 routes is more than the gate")


def test_blank_lines_do_not_stall_the_drift_search(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # `^\s*import` over a megabyte of blank lines backtracked quadratically (minutes)
    write_tree(tmp_path, {"monitor.py": "import os  # evidently drift\n" + "\n" * 1_000_000 + "import evidently\n"})
    code, report, _ = gate(capsys, tmp_path, "--only", "monitoring.drift-monitor")
    assert (code, report["results"][0]["message"]) == (0, "1 drift monitor(s) found: evidently drift code (monitor.py)")
