"""The files provider: discovery, classification and parsing of repository files."""

from __future__ import annotations

from pathlib import Path

from mlops_gate.facts.files import SourceFile
from tests.support.trees import read_facts, write_tree


def _paths(files: tuple[SourceFile, ...]) -> list[str]:
    return [f.path for f in files]


def test_each_kind_finds_its_files_and_skips_vendored_dirs(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".github/workflows/ci.yml": "on: push\njobs: {}\n",
            ".github/workflows/nested/not-a-workflow.yml": "on: push\n",
            ".gitlab-ci.yml": "test:\n  script: [pytest]\n",
            "azure-pipelines.yml": "pr: [main]\n",
            "Dockerfile": "FROM scratch\n",
            "docker/serve.Dockerfile": "FROM scratch\n",
            "node_modules/pkg/Dockerfile": "FROM scratch\n",
            ".venv/lib/Dockerfile": "FROM scratch\n",
            "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
            "docker-compose.yml": "services: {}\n",
            "monitoring/rules.yml": "groups: []\n",
            "monitoring/alertmanager.yml": "route: {receiver: x}\nreceivers: [{name: x}]\n",
            "dags/train.py": "from airflow import DAG\nwith DAG('train'):\n    pass\n",
            "src/util.py": "print('no dag here')\n",
            "sfn/train.asl.json": '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}',
            ".mlops-gate.yml": "version: 1\n# drift\nchecks: {monitoring.drift-monitor: {}}\n",
            "monitoring/evidently.yml": "metrics: [data_drift]\n",
        },
    )
    kinds = (
        "ci_config",
        "dockerfiles",
        "deploy_manifests",
        "rule_files",
        "alertmanager_config",
        "workflow_files",
        "drift_config",
    )
    facts = read_facts(tmp_path, *kinds)
    assert _paths(facts["ci_config"].files) == [".github/workflows/ci.yml", ".gitlab-ci.yml", "azure-pipelines.yml"]
    assert _paths(facts["dockerfiles"].files) == ["Dockerfile", "docker/serve.Dockerfile"]
    assert _paths(facts["deploy_manifests"].files) == ["docker-compose.yml", "k8s/deploy.yaml"]
    assert _paths(facts["rule_files"].files) == ["monitoring/rules.yml"]
    assert _paths(facts["alertmanager_config"].files) == ["monitoring/alertmanager.yml"]
    assert _paths(facts["workflow_files"].files) == ["dags/train.py", "sfn/train.asl.json"]
    assert _paths(facts["drift_config"].files) == ["monitoring/evidently.yml"]


def test_unparsable_yaml_is_kept_and_reported_wherever_it_is(tmp_path: Path) -> None:
    # any YAML file could be a manifest: one that does not parse is reported whatever its name (this test
    # used to assert that random/broken.yaml was dropped, which let an unparsable manifest pass unjudged)
    write_tree(
        tmp_path,
        {
            "monitoring/alerts.yml": "groups:\n  - name: [\n",
            "monitoring/app.rules": "groups: {not: a list}\n",
            "k8s/broken.yaml": "kind: [\n",
            "random/broken.yaml": "x: [\n",
        },
    )
    facts = read_facts(tmp_path, "rule_files", "deploy_manifests")
    rules = {f.path: f for f in facts["rule_files"].files}
    assert rules["monitoring/alerts.yml"].error and rules["monitoring/alerts.yml"].error_line == 3
    assert "monitoring/app.rules" in rules  # misshapen but named as rules: reported, not dropped
    assert _paths(facts["deploy_manifests"].files) == ["k8s/broken.yaml", "monitoring/alerts.yml", "random/broken.yaml"]


def test_duplicate_keys_are_a_parse_error_with_the_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yml": "groups:\n  - name: a\n    name: b\n    rules: []\n"})
    (f,) = read_facts(tmp_path, "rule_files")["rule_files"].files
    assert f.error == "invalid YAML: duplicate key 'name'"
    assert f.error_line == 3


def test_prometheus_operator_rule_manifest_is_read_as_a_rule_file(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "deploy/prometheus-rule.yaml": """
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: churn
            spec:
              groups:
                - name: churn
                  rules:
                    - alert: ChurnDown
                      expr: up == 0
            """
        },
    )
    (f,) = read_facts(tmp_path, "rule_files")["rule_files"].files
    assert f.documents[0]["groups"][0]["rules"][0]["alert"] == "ChurnDown"
    assert f.lines["0/groups/0/rules/0/alert"] == 9


def test_on_key_and_dates_are_read_as_written(tmp_path: Path) -> None:
    write_tree(tmp_path, {".github/workflows/ci.yml": "on:\n  pull_request: {}\nenv:\n  D: 2024-01-01\n  Y: yes\n"})
    (f,) = read_facts(tmp_path, "ci_config")["ci_config"].files
    assert f.documents[0] == {"on": {"pull_request": {}}, "env": {"D": "2024-01-01", "Y": "yes"}}


def test_unreadable_and_oversized_files_are_reported_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"\xff\xfe\x00FROM")
    (tmp_path / "big.rules").write_text("#" * (1 << 21))
    facts = read_facts(tmp_path, "dockerfiles", "rule_files")
    assert facts["dockerfiles"].files[0].error == "not read: not UTF-8 text (byte 0xff at offset 0); save it as UTF-8"
    assert (facts["rule_files"].files[0].error or "").startswith(
        "not read: larger than 1048576 bytes (2097152 bytes); the gate reads files up to 1 MiB"
    )


def test_missing_repository_is_a_fact_error(tmp_path: Path) -> None:
    from mlops_gate.engine import collect
    from mlops_gate.target import Target

    records = collect({"dockerfiles": frozenset()}, tmp_path / "nope", Target(), {})
    assert records["dockerfiles"].error is not None
    assert "does not exist" in records["dockerfiles"].error


def test_helm_templates_are_read_as_text_and_broken_manifests_anywhere_are_reported(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "charts/app/Chart.yaml": "apiVersion: v2\nname: app\n",
            "charts/app/values.yaml": "image:\n  repository: acme/app\n  tag: '1.0'\n",
            "charts/app/templates/deployment.yaml": "{{- if .Values.enabled }}\napiVersion: apps/v1\nkind: x\n",
            "infra/app.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nmetadata: {name: b}\n",
        },
    )
    files = read_facts(tmp_path, "deploy_manifests")["deploy_manifests"].files
    by_path = {f.path: f for f in files}
    template = by_path["charts/app/templates/deployment.yaml"]  # Go template actions: judged line by line
    assert (template.format, template.error) == ("helm-template", None)
    assert template.text == "{{- if .Values.enabled }}\napiVersion: apps/v1\nkind: x\n"
    assert "charts/app/values.yaml" in by_path
    assert by_path["infra/app.yaml"].error == "invalid YAML: duplicate key 'metadata'"


def test_fifos_and_links_out_of_the_repository_are_reported_not_read(tmp_path: Path) -> None:
    # they used to be dropped silently, so a Dockerfile linked out of the checkout was "not found" and passed
    import os

    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "outside").write_text("FROM secret-base\n")
    os.symlink(tmp_path / "outside", repo / "Dockerfile")
    os.mkfifo(repo / "Containerfile")
    (repo / "inner").write_text("FROM python\n")
    os.symlink(repo / "inner", repo / "app.Dockerfile")
    files = read_facts(repo, "dockerfiles")["dockerfiles"].files
    assert [(f.path, f.error, f.text) for f in files] == [
        ("Containerfile", "not read: not a regular file (a FIFO, socket or device); remove it from the checkout", None),
        ("Dockerfile", "not read: a symbolic link out of the repository, not followed; commit the file itself", None),
        ("app.Dockerfile", None, "FROM python\n"),  # a link within the repository is read as its target
    ]


def test_gitlab_local_includes_are_collected_recursively_with_globs(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitlab-ci.yml": """
            include:
              - ci/base.yml
              - local: /ci/jobs/*.yml
              - {local: 'ci/deep/**.yaml'}
              - project: group/shared
                file: [/a.yml, /b.yml]
              - template: Python.gitlab-ci.yml
              - local: ci/missing.yml
            """,
            "ci/base.yml": "include: {local: ci/nested.yml}\n.base: {image: python}\n",
            "ci/nested.yml": "include: ci/base.yml\n.nested: {}\n",  # a cycle: read once
            "ci/jobs/test.yml": "test:\n  script: [pytest]\n",
            "ci/jobs/sub/not-direct.yml": "x: {script: [x]}\n",
            "ci/jobs/notes.txt": "not YAML\n",
            "ci/deep/a/b/lint.yaml": "lint: {script: [ruff]}\n",
            "ci/unrelated.yml": "y: {script: [y]}\n",
        },
    )
    files = read_facts(tmp_path, "ci_config")["ci_config"].files
    assert _paths(files) == [
        ".gitlab-ci.yml",
        "ci/nested.yml",
        "ci/base.yml",
        "ci/jobs/test.yml",
        "ci/deep/a/b/lint.yaml",
    ]


def test_gitlab_includes_are_not_followed_from_a_broken_main_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitlab-ci.yml": "include: ci/test.yml\ntest: [\n", "ci/test.yml": "test: {}\n"})
    files = read_facts(tmp_path, "ci_config")["ci_config"].files
    assert _paths(files) == [".gitlab-ci.yml"]
    assert files[0].error


def test_gitlab_include_globs_expand_as_gitlab_does() -> None:
    from mlops_gate.lang.gitlab_includes import expand

    paths = ["a.yml", "ci/a.yml", "ci/b.yaml", "ci/c.txt", "ci/x/d.yml", "ci/x/y/e.yml", "other/ci/f.yml"]
    assert expand("/ci/*.yml", paths) == ["ci/a.yml"]
    assert expand("ci/*", paths) == ["ci/a.yml", "ci/b.yaml"]
    assert expand("ci/**.yml", paths) == ["ci/a.yml", "ci/x/d.yml", "ci/x/y/e.yml"]
    assert expand("ci/**/*.yml", paths) == ["ci/x/d.yml", "ci/x/y/e.yml"]
    assert expand("/a.yml", paths) == ["a.yml"]
    assert expand("ci/c.txt", paths) == []
    assert expand("ci/[ab].yml", paths) == []  # only `*` is a wildcard
