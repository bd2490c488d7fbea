"""No text from the change under review or from a server becomes a CI command in the log (docs/security.md).

GitHub Actions runs `::command::` at the start of a line — after trimming any Unicode white space — and Azure
Pipelines runs `##vso[...]` anywhere on a line (`task.prependpath`, `task.uploadfile`, `task.setvariable`).
A pull request's policy (waiver owners, key names), file names and a server's error messages reach stderr;
a bundle's fields reach `verify-evidence`'s stdout. Every such line goes through the same escaping as the
reports (mlops_gate.printable): real runs through the CLI, a loopback server, real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate import evidence, printable
from mlops_gate.cli import main
from mlops_gate.policy import PROFILES_DIR, applied, load
from tests.support.git_repos import PR_ENV, commit_all, git
from tests.support.replay import ReplayServer

# Every form a runner would read as a command: `::` after a line break, after white space a .NET
# String.TrimStart() removes (tab, NBSP, ideographic space, ...), an Azure logging command and format line.
INJECTED = (
    "@team\n::stop-commands::e0f1\n##vso[task.prependpath]/home/vsts/evil-bin\n"
    "\u00a0::error title=mlops-gate::all checks passed\n\u3000::add-mask::x\n\t::notice::y\n"
    "##[error]fake\nok ##vso[task.setvariable variable=GATE_OK]true"
)


TRIMMED = "".join(chr(c) for c in range(0x3100) if chr(c).isspace()) + "\ufeff\u200b"  # every space is below U+3100


def commands_in(text: str) -> list[str]:
    """The lines a GitHub or Azure runner would take for a command (or a log format directive)."""
    found = []
    for line in text.splitlines():
        trimmed = line.lstrip(TRIMMED)
        if trimmed.startswith("::") or "##vso[" in line or "##[" in line:
            found.append(line)
    return found


def pr_repo(tmp_path: Path, policy_text: str) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / ".mlops-gate.yml").write_text("version: 1\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / ".mlops-gate.yml").write_text(policy_text)
    commit_all(repo)
    return repo


def test_the_printable_rule_breaks_commands_after_any_white_space() -> None:
    for lead in ("", " ", "\t", "\u00a0", "\u2003", "\u3000", "\u202f", "\u205f", "\u1680", "\ufeff", "\u200b"):
        for make in (printable.text, printable.name):
            assert commands_in(make(f"x\n{lead}::stop-commands::e0f1")) == [], (lead, make)
            assert commands_in(make(f"{lead}::error::x")) == [], (lead, make)
    assert printable.text("x\n\u00a0::stop-commands::t") == "x\n\u00a0:\\:stop-commands::t"
    assert printable.text("a ##vso[task.setvariable variable=X]1") == "a ##vso\\[task.setvariable variable=X]1"
    assert printable.text("a :: b") == "a :: b"  # not at a line start: nothing to break


def test_a_waiver_owner_of_the_request_never_reaches_the_log_as_a_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = json.dumps(INJECTED)
    policy = (
        "version: 1\nwaivers:\n  - check: policy.unchanged\n"
        f"    owner: {owner}\n    reason: r\n    expires: 2099-01-01\n"
    )
    repo = pr_repo(tmp_path, policy)
    code = main(["check", "--repo", str(repo), "--only", "policy.unchanged", "--format", "github"], env=PR_ENV)
    out, err = capsys.readouterr()
    assert code == 1  # only main's policy can waive policy.unchanged: the request's waiver is ignored
    assert "the waiver of policy.unchanged for '*' (owner @team" in err
    assert commands_in(err) == [], err
    gate_annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(gate_annotations) == 1 and commands_in(out) == gate_annotations, out


def test_a_key_of_the_requests_policy_in_an_error_is_no_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = pr_repo(tmp_path, f"version: 1\n{json.dumps(INJECTED)}: 1\n")
    code = main(["check", "--repo", str(repo), "--only", "policy.unchanged", "--format", "github"], env=PR_ENV)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "unknown key" in err or "unknown field" in err, err
    assert commands_in(err) == [], err


def test_a_servers_error_message_in_verbose_diagnostics_is_no_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ReplayServer().start()
    try:
        server.add("GET", "/repos/acme/x", 403, {"message": INJECTED})
        (tmp_path / "r").mkdir()
        code = main(
            [
                *("check", "--repo", str(tmp_path / "r"), "--only", "vcs.branch-protected", "-v", "--format", "json"),
                *("--platform", "github", "--repository", "acme/x", "--api-url", server.url),
            ],
            env={"GITHUB_TOKEN": "ghp_" + "a" * 36, "HOME": str(tmp_path)},
        )
        out, err = capsys.readouterr()
    finally:
        server.stop()
    assert code == 3, err
    assert "stop-commands" in err  # the server's text is shown, escaped
    assert commands_in(err) == [], err
    assert commands_in(out) == []


def test_verify_evidence_prints_a_bundles_fields_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A resealed (self-consistent, unsigned) bundle whose tag carries an Azure logging command."""
    pol = load(PROFILES_DIR / "default.yaml")
    bundle = evidence.build(
        release={"tag": "v1##vso[task.setvariable variable=EVIDENCE_VERIFIED]true\n::warning::x", "commit": "a" * 40},
        target={},
        env={},
        policy={"source": pol.source, "digest": pol.digest, "chain": list(pol.chain), "applied": applied(pol)},
        facts={"schema_version": 1, "facts": {}},
        run={"command": "audit"},
        report={"verdict": "pass", "fail_on": "high", "results": [], "summary": {}},
    )
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    code = main(["verify-evidence", str(path)], env={})
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "UNAUTHENTICATED" in out and "EVIDENCE_VERIFIED" in out
    assert commands_in(out + err) == [], out
