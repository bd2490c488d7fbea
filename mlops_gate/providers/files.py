"""Repository files: discovered in one walk, parsed once, sorted into fact kinds.

Discovery is broad and param-free (every YAML file with top-level `groups` is a rule-file
candidate); checks narrow it with their own params (`rule_files`, `paths`, ...).

Each kind's candidates are the paths its first test selects; a candidate that could not be read or
parsed is kept and reported (see providers/_repo.py): every YAML file for manifests, rule files and
Alertmanager configs (YAML can spell any key in escapes, so no search over its bytes can rule it out),
and for workflows and drift monitors the files whose bytes could hold one.
"""

from __future__ import annotations

import re

from mlops_gate.facts.files import NOT_READ, RepoFiles, SourceFile
from mlops_gate.lang import manifests
from mlops_gate.lang.databricks import include_matches
from mlops_gate.lang.gitlab_includes import GITLAB_CI
from mlops_gate.lang.gitlab_includes import resolve as resolve_includes
from mlops_gate.providers import Context, _azure_ci, _exclude
from mlops_gate.providers._drift import (
    DRIFT_WORDS,
    could_be_drift,
    could_mention_drift,
    drift_candidate,
    mentions_drift,
)
from mlops_gate.providers._helm import helm_skipped, helm_template
from mlops_gate.providers._pass import Selector, selected
from mlops_gate.providers._repo import YAML_EXT, is_dockerfile, name_of, read, top_mapping, walk
from mlops_gate.providers._scan import Content, has_word, json_word

__all__ = ["YAML_EXT", "read", "walk"]  # the repository helpers other providers use come from here too

# --- fact kinds -----------------------------------------------------------------------------------


def _is_ci(rel: str) -> bool:
    return (
        (rel.startswith(".github/workflows/") and rel.count("/") == 2 and rel.endswith(YAML_EXT))
        or rel == ".gitlab-ci.yml"
        or rel in ("azure-pipelines.yml", "azure-pipelines.yaml")
        or (rel.startswith((".azure-pipelines/", ".azuredevops/")) and rel.endswith(YAML_EXT))
    )


def ci_config(ctx: Context) -> RepoFiles:
    """The CI files, and the local files `.gitlab-ci.yml` includes (recursively, globs expanded)."""
    found = _azure_ci.with_azure(ctx, _select(ctx, "ci_config"), SELECTORS)
    main = next((f for f in found.files if f.path == GITLAB_CI and not f.error), None)
    if main is None:
        return found
    have = {f.path for f in found.files}
    included = tuple(
        f for f in resolve_includes(main, lambda rel: read(ctx, rel), walk(ctx)).files if f.path not in have
    )
    for f in included:
        ctx.meter.read(f.path)
    return RepoFiles(found.root, found.files + included, found.skipped)


def dockerfiles(ctx: Context) -> RepoFiles:
    return _select(ctx, "dockerfiles")


def _is_compose(rel: str) -> bool:
    name = name_of(rel)
    return name.endswith((*YAML_EXT, ".json")) and (name.startswith("docker-compose") or name.startswith("compose."))


def _is_manifest(f: SourceFile) -> bool:
    if _is_compose(f.path):
        return True
    if f.path.rsplit("/", 1)[-1].startswith("values") and f.documents:
        return True  # Helm values
    if name_of(f.path) in manifests.KUSTOMIZATION_NAMES or any(manifests.is_patch_file(d) for d in f.documents):
        return True  # kustomize: `images:` and patches set the images of the resources it names
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in f.documents)


_API_VERSION, _KIND = json_word("apiVersion"), json_word("kind")
_NOT_UTF8_JSON = re.compile(rb"\A(?:version https://git-lfs\.github\.com/spec/)|\x00")  # an LFS pointer; UTF-16/32


def _could_be_manifest(c: Content) -> bool:
    """Every YAML file could be one; a JSON file only with `apiVersion` and `kind` in it, or a values/compose
    name (kubectl, Helm and Compose all read JSON too), or whose bytes the search cannot rule out: UTF-16 or
    UTF-32 (NUL bytes: kubectl decodes it by its byte order mark) or a Git LFS pointer (a deploy job that
    pulls LFS gets the real file). Those are read, and reported as files the gate cannot judge."""
    if c.format != "json" or name_of(c.path).startswith(("values", "compose.", "docker-compose")):
        return True
    return (has_word(c, _API_VERSION) and has_word(c, _KIND)) or c.has(_NOT_UTF8_JSON)


def deploy_manifests(ctx: Context) -> RepoFiles:
    found = _select(ctx, "deploy_manifests")
    return RepoFiles(found.root, tuple(_as_template(ctx, f) for f in found.files), found.skipped)


def _as_template(ctx: Context, f: SourceFile) -> SourceFile:
    """A Helm template that is not YAML (Go template actions) is judged as text, line by line (a literal
    `image:` is rendered as written); one that parses is judged as any manifest."""
    if f.error is None or f.error.startswith(NOT_READ) or f.text is None or not helm_template(ctx, f.path):
        return f
    return SourceFile(f.path, manifests.TEMPLATE, text=f.text)


def _workflow_candidate(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1].lower()
    return name.endswith((".py", ".json", ".asl.yaml", ".asl.yml")) or name in (
        "databricks.yml",
        "databricks.yaml",
    )


def _is_workflow(f: SourceFile) -> bool:
    name = f.path.rsplit("/", 1)[-1].lower()
    if name in ("databricks.yml", "databricks.yaml"):
        return True
    if f.format == "python":
        text = f.text or ""
        return "airflow" in text and ("DAG(" in text or "@dag" in text)
    top = top_mapping(f)
    return "StartAt" in top and "States" in top


_AIRFLOW, _DAG = re.compile(rb"airflow"), re.compile(rb"DAG\(|@dag")
_START_AT, _STATES = json_word("StartAt"), json_word("States")


def _could_be_workflow(c: Content) -> bool:
    """What _is_workflow needs, over the bytes (a JSON key may be written with \\u escapes)."""
    name = name_of(c.path)
    if name.startswith("databricks.") or ".asl." in name:
        return True
    if c.format == "python":
        return c.has(_AIRFLOW) and c.has(_DAG)
    return has_word(c, _START_AT) and has_word(c, _STATES)


def workflow_files(ctx: Context) -> RepoFiles:
    found = _select(ctx, "workflow_files")
    extra = _bundle_includes(ctx, found)
    return RepoFiles(found.root, found.files + extra, found.skipped)


def _bundle_includes(ctx: Context, found: RepoFiles) -> tuple[SourceFile, ...]:
    """Databricks bundles split jobs into files named by `include:` globs."""
    out = []
    have = {f.path for f in found.files}
    all_files = walk(ctx)
    for bundle in found.files:
        if bundle.path.rsplit("/", 1)[-1].startswith("databricks."):
            for rel in include_matches(bundle.path, top_mapping(bundle).get("include"), all_files, True)[0]:
                if rel not in have:
                    have.add(rel)
                    out.append(read(ctx, rel))
                    ctx.meter.read(rel)
    return tuple(out)


def is_rule_test(f: SourceFile) -> bool:
    """A promtool unit-test file (top-level `rule_files` and `tests`), not a rule file."""
    top = top_mapping(f)
    return "rule_files" in top and "tests" in top


def _is_rules(f: SourceFile) -> bool:
    if is_rule_test(f):
        return False
    top = top_mapping(f)
    if isinstance(top.get("groups"), list) and "route" not in top:
        return True
    # a file named like rules is reported even when misshapen, unless it is something else
    return _named_rules(f.path) and not _is_alertmanager(f) and not _prometheus_rule_crd(f)


def _named_rules(rel: str) -> bool:
    name = name_of(rel)
    return name.endswith(".rules") or ("alertmanager" not in name and any(w in name for w in ("rules", "alerts")))


def _prometheus_rule_crd(f: SourceFile) -> bool:
    return any(isinstance(d, dict) and d.get("kind") == "PrometheusRule" for d in f.documents)


def _crd_rules(f: SourceFile) -> SourceFile:
    """A Prometheus Operator PrometheusRule manifest holds a rule file under `spec`: judge that,
    with lines kept (key paths rewritten from "<doc>/spec/groups/..." to "0/groups/...")."""
    for i, doc in enumerate(f.documents):
        if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
            pre = f"{i}/spec"
            keep = [k for k in f.lines if k.startswith(pre + "/") or k == pre]
            lines = {"0" + k[len(pre) :]: f.lines[k] for k in keep}
            spec = doc.get("spec")
            body = spec if isinstance(spec, dict) else {}
            return SourceFile(f.path, f.format, documents=(body,), lines=lines)
    return f


def rule_files(ctx: Context) -> RepoFiles:
    found = _select(ctx, "rule_files", helm=True)
    files = tuple(_crd_rules(f) if _prometheus_rule_crd(f) else f for f in found.files)
    return RepoFiles(found.root, files, found.skipped + helm_skipped(ctx, rb"\bgroups:", rb"\b(?:alert|record):"))


def _is_alertmanager(f: SourceFile) -> bool:
    top = top_mapping(f)
    return "route" in top and "receivers" in top


def alertmanager_config(ctx: Context) -> RepoFiles:
    found = _select(ctx, "alertmanager_config", helm=True)
    return RepoFiles(found.root, found.files, found.skipped + helm_skipped(ctx, rb"\broute:", rb"\breceivers:"))


_DRIFT_ANY = rb"(?i)" + b"|".join(re.escape(w.encode()) for w in (*DRIFT_WORDS, "drift"))


def drift_config(ctx: Context) -> RepoFiles:
    found = _select(ctx, "drift_config", helm=True)  # a Helm template that could hold one is listed, not dropped
    return RepoFiles(found.root, found.files, found.skipped + helm_skipped(ctx, _DRIFT_ANY))


def _is_yaml(rel: str) -> bool:
    return name_of(rel).endswith(YAML_EXT)


# what each file kind takes, in one pass over the repository for every file kind of the run (_pass)
SELECTORS = {
    "ci_config": Selector(_is_ci),
    _azure_ci.KIND: Selector(
        lambda rel: _azure_ci.shaped_wanted(rel) and not _is_ci(rel), _azure_ci.shaped, _azure_ci.shaped_bytes
    ),
    "dockerfiles": Selector(lambda rel: is_dockerfile(name_of(rel))),
    "deploy_manifests": Selector(
        lambda rel: name_of(rel).endswith((*YAML_EXT, ".json")) and not _is_ci(rel), _is_manifest, _could_be_manifest
    ),
    "workflow_files": Selector(_workflow_candidate, _is_workflow, _could_be_workflow),
    "rule_files": Selector(
        lambda rel: name_of(rel).endswith((*YAML_EXT, ".rules")) and not _is_ci(rel),
        lambda f: _is_rules(f) or _prometheus_rule_crd(f),
    ),
    "alertmanager_config": Selector(lambda rel: _is_yaml(rel) and not _is_ci(rel), _is_alertmanager),
    "drift_config": Selector(
        lambda rel: drift_candidate(rel) and not _is_ci(rel),
        mentions_drift,
        could_be_drift,
        keep_bytes=could_mention_drift,
    ),
    "rule_tests": Selector(_is_yaml, is_rule_test, errors=False),  # read by providers/promtool.py
}


def _select(ctx: Context, kind: str, helm: bool = False) -> RepoFiles:
    """The files of `kind` from the run's one pass, with what `exclude:` and .gitignore left out of it; `helm`:
    less the Helm chart templates (Go templates, judged only once rendered: no rule file, Alertmanager config or
    drift monitor as written)."""
    files = selected(ctx, kind, SELECTORS)
    if helm:
        files = tuple(f for f in files if not helm_template(ctx, f.path))
    return RepoFiles(str(ctx.root), files, _exclude.skipped(ctx, SELECTORS[kind].wanted))


def rule_test_files(ctx: Context) -> tuple[SourceFile, ...]:
    """The promtool unit-test files (that parse), in walk order."""
    return selected(ctx, "rule_tests", SELECTORS)
