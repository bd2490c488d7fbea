"""Everything `check` and `audit` write once the gate has judged: the reports (stdout and every --output),
the facts file and the evidence bundle; each redacted, and a file that cannot be written ends the run in
exit 3 (a report is never missing from a run that exits 0). Paths are checked before anything is read.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlops_gate import policy
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import GateError, UsageError
from mlops_gate.model import Report, Violation
from mlops_gate.request import CheckRequest
from mlops_gate.secrets import redact
from mlops_gate.target import Target


class OutputError(GateError):
    """A report, facts file or evidence bundle could not be written, after judging."""

    exit_code = 3


def check_outputs(req: CheckRequest) -> None:
    """Refuse, before anything is read, outputs that cannot be written (exit 2, nothing fetched)."""
    if req.evidence == "-":
        raise UsageError("--evidence needs a file, not stdout")
    paths = [o.path for o in req.outputs] + [p for p in (req.facts_out, req.evidence) if p]
    if sum(1 for p in paths if p == "-") > 1:
        raise UsageError("only one report can go to stdout (-)")
    for p in paths:
        if p != "-" and Path(p).is_dir():
            raise UsageError(f"cannot write {p}: it is a directory")


def own_paths(req: CheckRequest, repo: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The files this run writes, decided before anything is read: (those the files provider leaves out of the
    repository, by path — they do not exist yet, or git does not track them: a report an earlier run left;
    those that are files of the change — committed, or existing where git cannot say — which are judged like
    any other file, and then overwritten). A pull request cannot hide a manifest under an output's name."""
    from mlops_gate.providers import git

    written = [o.path for o in req.outputs if o.path != "-"] + [p for p in (req.facts_out, req.evidence) if p]
    left_out, judged = [], []
    for path in written:
        if Path(path).exists() and git.tracked(repo, Path(path)) is not False:
            judged.append(path)
        else:
            left_out.append(path)
    return tuple(left_out), tuple(judged)


def write_facts(path: str, dumped: dict[str, Any], env: Mapping[str, str]) -> None:
    write(path, json.dumps(dumped, indent=1) + "\n", env)


def write(path: str, text: str, env: Mapping[str, str]) -> None:
    """`text`, redacted, to `path` (`-`: stdout); OutputError (exit 3) when it cannot be written."""
    text = redact(text, env)
    if not text.endswith("\n"):
        text += "\n"
    if path == "-":
        stdout(text)
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:  # after judging: never exit 0 with a report missing
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def reports(report: Report, checks: Mapping[str, CheckSpec], req: CheckRequest, env: Mapping[str, str]) -> None:
    """The report on stdout (unless -q, or an --output holds stdout) and every --output file."""
    from mlops_gate.reporters import render

    if not req.quiet and all(o.path != "-" for o in req.outputs):  # stdout holds one report
        console = req.format == "console"
        color = console and use_color(req.color, env, _isatty(sys.stdout))
        extra = {"width": width(env, sys.stdout)} if console else {}
        write("-", render(req.format, report, checks, color=color, **extra), env)
    for o in req.outputs:
        write(o.path, render(o.format, report, checks, color=False), env)


def use_color(choice: str, env: Mapping[str, str], tty: bool) -> bool:
    """--color always/never decide; auto: not with NO_COLOR (any value), yes with FORCE_COLOR (any value but
    empty or 0: a CI log that renders ANSI), else only on a terminal."""
    if choice in ("always", "never"):
        return choice == "always"
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return tty


def width(env: Mapping[str, str], stream: Any) -> int:
    """Columns for the console report: COLUMNS when set (as a shell exports it), else the terminal's, else 120."""
    raw = env.get("COLUMNS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return max(40, int(raw))
    if _isatty(stream):
        try:
            return max(40, os.get_terminal_size(stream.fileno()).columns)
        except (OSError, ValueError):
            pass
    return 120


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def stdout(text: str) -> None:
    """Write to stdout; a reader that went away (`| head -1`) ends the output quietly: the run goes on and
    exits with its own code, with nothing more written there."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_closed()


def stdout_closed() -> None:
    """stdout's reader is gone: point stdout at /dev/null, so nothing (not even the interpreter's last flush)
    complains about it again."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 (it replaces stdout for the rest of the process)
    try:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # not a real file (a test's capture): replace the object
        sys.stdout = devnull


def relocate(report: Report, repo: Path, env: Mapping[str, str]) -> Report:
    """Findings name files relative to --repo; CI annotations need them relative to the checkout
    (GITHUB_WORKSPACE, CI_PROJECT_DIR, BUILD_SOURCESDIRECTORY, else the working directory)."""
    base = env.get("GITHUB_WORKSPACE") or env.get("CI_PROJECT_DIR") or env.get("BUILD_SOURCESDIRECTORY") or "."
    if not repo.is_dir():
        return report
    prefix = os.path.relpath(repo.resolve(), Path(base).resolve())
    if prefix == "." or prefix.startswith(".."):
        return report

    def move(v: Violation) -> Violation:
        loc = v.location
        if loc is None or "://" in loc.path:
            return v
        return replace(v, location=replace(loc, path=f"{Path(prefix).as_posix()}/{loc.path}"))

    results = tuple(replace(r, violations=tuple(move(v) for v in r.violations)) for r in report.results)
    return replace(report, results=results)


def evidence_bundle(
    path: str,
    key: Any,
    report: Report,
    pol: policy.Policy,
    tgt: Target,
    facts: dict[str, Any],
    run: dict[str, Any],
    repo: Path,
    env: Mapping[str, str],
    facts_file: str | None,
) -> None:
    from mlops_gate import evidence
    from mlops_gate.reporters.json_report import to_data

    bundle = evidence.build(
        release={
            "tag": tgt.release or "",
            "commit": tgt.commit or "",
            "repository": tgt.repository or repo.resolve().name,
        },
        target=report.target,
        policy={"source": pol.source, "digest": pol.digest, "chain": list(pol.chain), "applied": policy.applied(pol)},
        facts=facts,
        report=to_data(report),
        run=run,
        env=env,
        facts_file=facts_file,
    )
    if key is not None:
        bundle = evidence.sign(bundle, key)
    write(path, json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", env)
