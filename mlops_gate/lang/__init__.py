"""Readers of the languages other tools define, as those tools read them: CI pipelines and their triggers
(GitHub Actions, GitLab CI `rules:` and `include:`, Azure Pipelines, branch filters), orchestration formats
(Databricks bundles, Airflow DAG files, Step Functions), Dockerfiles and their shell words, PromQL, Go
templates, Prometheus rule files, Alertmanager configurations, SLSA statements, drift monitor configs, and
RE2 regular expressions.

Pure functions over parsed files: a `SourceFile` (or a YAML document) in, host-neutral answers out — which
jobs run tests on a pull request into a branch, which images a Dockerfile builds from, which receivers an
alert reaches — with the line of each finding. Checks judge those answers against the policy; providers use
some of them to know what to read (`.gitlab-ci.yml`'s local includes).

The rule: `lang/` imports only fact types (`mlops_gate.facts`), the model (`mlops_gate.model`), the YAML
loader (`mlops_gate.yamlio`) and other `lang/` modules — never `checks/`, `providers/`, the engine, the run
or the CLI (tests/test_imports.py enforces it).
"""
