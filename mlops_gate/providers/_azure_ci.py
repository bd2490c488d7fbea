"""Azure pipelines wherever they live, and the local templates they use.

Azure DevOps runs whatever YAML file a pipeline is registered with, so the CI files are not only
`azure-pipelines.yml` and `.azure-pipelines/`: any YAML file of Azure's shape is one
(lang/azure_templates.is_pipeline: `.pipelines/`, Microsoft's MLOps templates' `mlops/devops-pipelines/`),
and so is every file the policy names (ci.pr-pipeline's `azure_pipelines`, passed as `azure:GLOB` items).
Files their `template:` references name are read too (recursively), as GitLab includes are.

A file found by its shape that does not parse is kept to be reported only when its bytes open a line with
an Azure top-level key and it is not a Helm template (which is no YAML until rendered).
"""

from __future__ import annotations

import fnmatch
import re

from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang.azure_templates import collect, is_pipeline
from mlops_gate.providers import Context
from mlops_gate.providers._helm import helm_template
from mlops_gate.providers._repo import YAML_EXT, read, select, top_mapping, walk
from mlops_gate.providers._scan import Content, scan_budget

AZURE = "azure:"
_AZURE_KEY = re.compile(rb"(?m)^[\"']?(?:trigger|pr|stages|jobs|steps|extends)[\"']?[ \t]*:")
_GITHUB_KEY = re.compile(rb"(?m)^[\"']?on[\"']?[ \t]*:")  # a GitHub workflow outside .github/workflows runs nowhere


def named(ctx: Context) -> list[str]:
    return sorted(s.removeprefix(AZURE) for s in ctx.scope if s.startswith(AZURE))


def with_azure(ctx: Context, found: RepoFiles) -> RepoFiles:
    """`found` (the CI files by name) and the Azure pipelines and templates found elsewhere."""
    globs = named(ctx)
    have = {f.path for f in found.files}

    def wanted(rel: str) -> bool:
        return (
            rel not in have
            and rel.endswith(YAML_EXT)
            and not rel.startswith(".github/")
            and (any(fnmatch.fnmatch(rel, g) for g in globs) or not helm_template(ctx, rel))
        )

    def keep(f: SourceFile) -> bool:
        return any(fnmatch.fnmatch(f.path, g) for g in globs) or is_pipeline(top_mapping(f))

    def could_hold(c: Content) -> bool:
        return any(fnmatch.fnmatch(c.path, g) for g in globs) or c.has(_AZURE_KEY)

    more = select(ctx, wanted, keep, could_hold)
    kept = [f for f in more.files if not f.error or not _runs_nowhere(ctx, f.path, globs)]
    files = [*found.files, *kept]
    paths = set(walk(ctx))
    seen = {f.path for f in files}
    for f in list(files):
        if f.error or f.path.startswith(".github/") or f.path.endswith(".gitlab-ci.yml"):
            continue
        for t in collect(f, lambda rel: read(ctx, rel) if rel in paths else None):
            if t.path not in seen:
                seen.add(t.path)
                files.append(t)
                ctx.meter.read(t.path)
    return RepoFiles(found.root, tuple(files), tuple(dict.fromkeys(found.skipped + more.skipped)))


def _runs_nowhere(ctx: Context, rel: str, globs: list[str]) -> bool:
    """A file found by its bytes that does not parse, and is a GitHub workflow outside .github/workflows
    (which GitHub never runs), unless the policy names it."""
    if any(fnmatch.fnmatch(rel, g) for g in globs):
        return False
    return Content(ctx.root, rel, "yaml", scan_budget(ctx)).has(_GITHUB_KEY)
