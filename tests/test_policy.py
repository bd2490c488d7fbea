"""Policy loading: every error path with its exact message, extends resolution and the profiles."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_gate import policies, policy, typed
from mlops_gate.catalogue import catalogue
from mlops_gate.cli import main
from mlops_gate.errors import PolicyError
from mlops_gate.model import Severity

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "policy.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def error_of(path: Path) -> str:
    with pytest.raises(PolicyError) as exc:
        policy.load(path)
    return exc.value.diagnostics()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nfail_on: urgent\n",
            "policy.yml:2: fail_on: expected one of info, low, medium, high, critical or null, got str 'urgent'",
        ),
        ("version: 2\n", "policy.yml:1: version: expected one of 1, got int 2"),
        ("version: true\n", "policy.yml:1: version: expected one of 1, got bool True"),
        ("version: 1.0\n", "policy.yml:1: version: expected one of 1, got float 1.0"),
        (
            "fail_on: high\n",
            "policy.yml: version: required key is missing\n  hint: start the file with `version: 1`",
        ),
        (
            "version: 1\nchecks:\n  ci.pr-pipelin: {}\n",
            "policy.yml:3: checks.ci.pr-pipelin: unknown check id 'ci.pr-pipelin' (did you mean ci.pr-pipeline?)",
        ),
        (
            "version: 1\nchecks:\n  zzz.qqq: {}\n",
            "policy.yml:3: checks.zzz.qqq: unknown check id 'zzz.qqq' (`mlops-gate checks` lists them)",
        ),
        (
            "version: 1\nchecks:\n  ci.pr-pipeline:\n    severity: severe\n",
            "policy.yml:4: checks.ci.pr-pipeline.severity: expected one of info, low, medium, high, critical or null, "
            "got str 'severe'",
        ),
        (
            "version: 1\nchecks:\n  ci.pr-pipeline:\n    params:\n      no_such_param: 1\n",
            "policy.yml:5: checks.ci.pr-pipeline.params.no_such_param: unknown param",
        ),
        (
            "version: 1\nchecks:\n  ci.pr-pipeline:\n    enabled: maybe\n",
            "policy.yml:4: checks.ci.pr-pipeline.enabled: expected true or false or null, got str 'maybe'",
        ),
        (
            "version: 1\nwaivers:\n  - check: ci.pr-pipeline\n    owner: me\n    reason: r\n",
            "policy.yml:3: waivers[0].expires: required key is missing",
        ),
        (
            "version: 1\nwaivers:\n  - check: ci.pr-pipeline\n    owner: me\n    reason: r\n    expires: soon\n",
            "policy.yml:6: waivers[0].expires: 'soon' is not a date (YYYY-MM-DD)",
        ),
        (
            "version: 1\nwaivers:\n  - check: ci.pr-pipeline\n    owner: ''\n    reason: r\n    expires: 2027-01-01\n",
            "policy.yml:4: waivers[0].owner: must not be empty",
        ),
        (
            "version: 1\nwaivers:\n  - check: ci.pr-pipe\n    owner: o\n    reason: r\n    expires: 2027-01-01\n",
            "policy.yml:3: waivers[0].check: unknown check id 'ci.pr-pipe' (did you mean ci.pr-pipeline?)",
        ),
        (
            "version: 1\nfailon: high\n",
            "policy.yml:2: failon: unknown key (did you mean fail_on? known keys: checks, exclude, extends, fail_on, target, "
            "version, waivers)",
        ),
        (
            "version: 1\ntarget:\n  platform: bitbucket\n",
            "policy.yml:3: target.platform: expected one of 'github', 'gitlab', 'azure' or null, got str 'bitbucket'",
        ),
        ("version: 1\nchecks: [a]\n", "policy.yml:2: checks: expected a mapping, got list ['a']"),
        ("- 1\n", "policy.yml: a policy is one YAML mapping (with at least `version: 1`)"),
        ("version: 1\nchecks: {\n", "policy.yml:3: invalid YAML: "),
        (
            "version: 1\nextends: nowhere.yml\n",
            "policy.yml: extends: no policy file or built-in profile named "
            "'nowhere.yml'\n  hint: give a path to a YAML file, or one of the built-in profiles: default, strict",
        ),
    ],
)
def test_policy_errors(tmp_path: Path, text: str, message: str) -> None:
    got = error_of(write(tmp_path, text))
    assert got.replace(str(tmp_path) + "/", "").startswith(message), got


def test_extends_cycle_rejected(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nextends: b.yml\n", "a.yml")
    write(tmp_path, "version: 1\nextends: a.yml\n", "b.yml")
    assert "extends forms a cycle: a.yml -> b.yml -> a.yml" in error_of(tmp_path / "a.yml")


def test_extends_resolves_recursively_and_nearer_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        version: 1
        extends: strict
        fail_on: low
        checks:
          ci.pr-pipeline:
            severity: critical
        """,
        "base.yml",
    )
    path = write(
        tmp_path,
        """
        version: 1
        extends: base.yml
        checks:
          ci.pr-pipeline:
            enabled: false
        waivers:
          - check: ci.pr-pipeline
            subject: "repo:*"
            owner: "@ml-platform"
            reason: PLAT-42
            expires: 2027-03-31
        """,
    )
    pol = policy.load(path)
    assert pol.chain == (str(path), str(tmp_path / "base.yml"), "builtin:strict", "builtin:default")
    assert pol.fail_on is Severity.LOW
    cfg = pol.checks["ci.pr-pipeline"]
    assert (cfg.enabled, cfg.severity) == (False, Severity.CRITICAL)
    assert pol.waivers[0].expires == "2027-03-31"


@pytest.mark.parametrize("name", ["default", "strict"])
def test_builtin_profiles_load_and_validate(name: str) -> None:
    pol = policy.load(name)
    assert pol.source == f"builtin:{name}"
    assert any(c.enabled for c in pol.checks.values())
    assert main(["policy", "validate", str(policies.PROFILES_DIR / f"{name}.yaml")]) == 0


@pytest.mark.parametrize("name", ["default", "strict"])
def test_checks_left_at_their_defaults_are_applied_as_their_params_say(name: str) -> None:
    """A check the policy gives no params keeps its module unimported (policy.DefaultParams); the policy as
    applied, and so its digest, is what the params' own defaults make it."""
    pol = policy.load(name)
    deferred = [cid for cid, c in pol.checks.items() if isinstance(c, policy.DefaultParams)]
    assert deferred  # the built-in profiles give no params
    data = policy.applied(pol)["checks"]
    for cid in deferred:
        config = pol.checks[cid]
        built = policy.CheckConfig(config.enabled, config.severity, config.params)  # imports the check
        assert type(built.params) is catalogue().checks[cid].loaded().params
        assert data[cid] == typed.to_data(built)


def test_committed_schema_is_current_and_validates_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    committed = json.loads((ROOT / "policies" / "policy.schema.json").read_text())
    assert printed == committed, "run: mlops-gate policy schema > policies/policy.schema.json"
    from mlops_gate import yamlio

    for path in sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "examples").glob("*/.mlops-gate.yml")):
        jsonschema.validate(yamlio.load(path.read_text()).documents[0], committed)


def test_validate_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "version: 1\nextends: default\n")
    assert main(["policy", "validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = write(tmp_path, "version: 1\nfail_on: nope\n", "bad.yml")
    assert main(["policy", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "fail_on: expected one of" in err and "Traceback" not in err
    assert main(["policy", "validate", str(tmp_path / "missing.yml")]) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_fuzz_any_text_is_valid_or_exit_2(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yml"
    path.write_text(text, encoding="utf-8")
    try:
        policy.load(path)
    except PolicyError as exc:
        assert exc.exit_code == 2 and exc.message


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(["version", "extends", "fail_on", "target", "checks", "waivers", "x"]),
        yaml_values,
        max_size=5,
    )
)
def test_fuzz_structured_policies_never_crash(tmp_path: Path, doc: dict[str, object]) -> None:
    import yaml

    path = tmp_path / "fuzz.yml"
    path.write_text(yaml.safe_dump({"version": 1, **doc}))
    try:
        policy.load(path)
    except PolicyError as exc:
        assert exc.message


def test_every_problem_of_every_file_in_the_chain_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        version: 1
        fail_on: urgent
        checks:
          image.base-pined: {}
          vcs.reviews-required:
            enabled: maybe
            params: {min_approvals: two, min_aprovals: 2}
        """,
        "base.yml",
    )
    write(
        tmp_path,
        """
        version: 1
        extend: base.yml
        extends: base.yml
        target: {platfrom: github}
        waivers:
          - {check: vcs.no-bypas, owner: "", reason: r, expires: 2027-13-01}
        """,
    )
    got = error_of(tmp_path / "policy.yml").replace(str(tmp_path) + "/", "")
    assert got.splitlines() == [
        "the policy has 10 problems:",
        "  policy.yml:2: extend: unknown key (did you mean extends? known keys: checks, exclude, extends, fail_on, target, "
        "version, waivers)",
        "  policy.yml:4: target.platfrom: unknown key (did you mean platform? known keys: alertmanager_url, api_url, "
        "branch, commit, image, model, platform, prometheus_url, repository)",
        "  policy.yml:6: waivers[0].check: unknown check id 'vcs.no-bypas' (did you mean vcs.no-bypass?)",
        "  policy.yml:6: waivers[0].expires: '2027-13-01' is not a date (YYYY-MM-DD): no such day",
        "  policy.yml:6: waivers[0].owner: must not be empty",
        "  base.yml:2: fail_on: expected one of info, low, medium, high, critical or null, got str 'urgent'",
        "  base.yml:4: checks.image.base-pined: unknown check id 'image.base-pined' (did you mean image.base-pinned?)",
        "  base.yml:6: checks.vcs.reviews-required.enabled: expected true or false or null, got str 'maybe'",
        "  base.yml:7: checks.vcs.reviews-required.params.min_approvals: expected an integer, got str 'two'",
        "  base.yml:7: checks.vcs.reviews-required.params.min_aprovals: unknown param (did you mean min_approvals? "
        "known: branches, min_approvals, require_code_owner_review, dismiss_stale_reviews, "
        "require_last_push_approval, block_author_approval)",
        "  hint: `mlops-gate explain vcs.reviews-required` lists its params",
    ]


def test_validate_without_a_file_finds_the_repository_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "validate", "--repo", str(tmp_path)], env={}) == 2
    assert "no policy file in" in capsys.readouterr().err
    write(tmp_path, "version: 1\nextends: strict\n", ".mlops-gate.yml")
    assert main(["policy", "validate", "--repo", str(tmp_path)], env={}) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path}/.mlops-gate.yml: valid (extends builtin:strict -> builtin:default")
    assert "checks enabled" in out


def test_the_schema_describes_every_key_and_param_with_an_example_that_validates() -> None:
    from mlops_gate import policy_schema, typed
    from mlops_gate.catalogue import catalogue

    schema = policy_schema.schema()
    props = schema["properties"]
    for key in ("version", "extends", "fail_on", "target", "checks", "waivers"):
        assert props[key].get("description"), key
    assert "flags" in props["target"]["description"] or props["target"]["anyOf"]
    for cid, spec in catalogue().checks.items():
        if not spec.origin.startswith("mlops_gate."):
            continue
        params = props["checks"]["properties"][cid]["properties"]["params"]["properties"]
        for name, prop in params.items():
            assert prop.get("description"), f"{cid}.{name} has no description"
            for example in prop.get("examples", []):
                typed.from_data(typed.hints(spec.params)[name], example, name)  # an example is a valid value
            if typed.hints(spec.params)[name] is not bool:
                assert prop.get("examples"), f"{cid}.{name} has no example"
    doc = {"version": 1, "checks": {"vcs.reviews-required": {"params": {"min_approvals": 2}}}}
    jsonschema.validate(doc, schema)
