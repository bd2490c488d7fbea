"""`check` and `audit`: load the policy, resolve the target, run the engine, write every report."""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mlops_gate import engine, policy, target
from mlops_gate.errors import GateError, UsageError
from mlops_gate.model import Report, Severity, Violation
from mlops_gate.registry import CheckSpec, catalogue
from mlops_gate.secrets import redact


def run_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from mlops_gate.cli import parse_outputs, split_ids

    outputs = parse_outputs(args.output)
    check_outputs(outputs, args.facts_out)
    repo = Path(args.repo)
    if args.facts_in is None and not repo.is_dir():
        raise UsageError(f"--repo {args.repo}: no such directory")
    cat = catalogue()
    only, skip = split_ids(args.only), split_ids(args.skip)
    for flag, ids in (("--only", only), ("--skip", skip)):
        _known_ids(flag, ids, cat.checks)
    pol = policy.load(_policy_ref(args, repo))
    saved_target, facts_in = target.Target(), None
    if args.facts_in:
        from mlops_gate import factsfile

        saved_target, facts_in = factsfile.load(Path(args.facts_in))
        saved_digest = factsfile.policy_digest(Path(args.facts_in))
        if saved_digest and saved_digest != pol.digest:
            _say(f"warning: {args.facts_in} was collected under another policy than {pol.source}; "
                 "the verdict may differ from the original run (pass the same --policy to reproduce it)", env)
    flags = target.Target(
        platform=args.platform,
        repository=args.repository,
        branch=args.branch,
        commit=args.commit,
        model=args.model,
        image=args.image,
        prometheus_url=args.prometheus_url,
        alertmanager_url=args.alertmanager_url,
        api_url=args.api_url,
        release=getattr(args, "release", None),
    )
    tgt, dropped = target.without_credentials(
        target.merge(target.detect(env) if facts_in is None else saved_target, pol.target, flags))
    for field in dropped:
        _say(f"warning: credentials in the {field} URL are ignored; pass them through the environment", env)
    if args.verbose:
        _say(f"policy {' -> '.join(pol.chain)}; target {tgt}", env)
    report, facts = engine.run(
        pol,
        cat.checks,
        tgt,
        repo,
        env=env,
        only=only,
        skip=skip,
        facts_in=facts_in,
        fail_on=Severity(args.fail_on) if args.fail_on else None,
        errors=cat.plugin_errors,
    )
    if args.verbose:
        for rec in facts.values():
            _say(f"facts {rec.kind}: {len(rec.sources)} sources, {rec.requests} requests, {rec.duration_s:.3f}s"
                 + (f" — {rec.error}" if rec.error else ""), env)
    for problem in (*cat.plugin_errors, *report.errors):
        _say(f"error: {problem}", env)
    report = relocate(report, repo, env)
    if args.facts_out:
        from mlops_gate import factsfile

        dumped = factsfile.dump(facts, tgt, (pol.source, pol.digest))
        _write(args.facts_out, json.dumps(dumped, indent=1) + "\n", env)
    _emit(report, cat.checks, args, outputs, env)
    return report.verdict.exit_code


def _say(message: str, env: Mapping[str, str]) -> None:
    print(redact(f"mlops-gate: {message}", env), file=sys.stderr)


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


def _policy_ref(args: argparse.Namespace, repo: Path) -> str | Path:
    if args.policy:
        return str(args.policy)
    found = policy.discover(repo)
    if found is not None:
        return found
    return "strict" if args.command == "audit" else "default"


def _known_ids(flag: str, ids: list[str], checks: Mapping[str, CheckSpec]) -> None:
    for cid in ids:
        if not any(fnmatch.fnmatchcase(known, cid) for known in checks):
            close = difflib.get_close_matches(cid, checks, n=1, cutoff=0.6)
            raise UsageError(
                f"{flag}: unknown check id {cid!r}" + (f" (did you mean {close[0]}?)" if close else ""),
                "`mlops-gate checks` lists them",
            )


def _emit(
    report: Report,
    checks: Mapping[str, CheckSpec],
    args: argparse.Namespace,
    outputs: list[tuple[str, str]],
    env: Mapping[str, str],
) -> None:
    from mlops_gate.reporters import render

    if not args.quiet and all(path != "-" for _, path in outputs):  # stdout holds one report
        tty = sys.stdout.isatty()
        color = args.format == "console" and tty and not env.get("NO_COLOR")
        wide = tty and args.format == "console"
        extra = {"width": max(80, shutil.get_terminal_size((120, 24)).columns)} if wide else {}
        _write("-", render(args.format, report, checks, color=color, **extra), env)
    for fmt, path in outputs:
        _write(path, render(fmt, report, checks, color=False), env)


def _write(path: str, text: str, env: Mapping[str, str]) -> None:
    text = redact(text, env)
    if not text.endswith("\n"):
        text += "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:  # after judging: never exit 0 with a report missing
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


class OutputError(GateError):
    exit_code = 3


def check_outputs(outputs: list[tuple[str, str]], facts_out: str | None) -> None:
    """Refuse, before anything is read, outputs that cannot be written (exit 2, nothing fetched)."""
    paths = [p for _, p in outputs] + ([facts_out] if facts_out else [])
    if sum(1 for p in paths if p == "-") > 1:
        raise UsageError("only one report can go to stdout (-)")
    for p in paths:
        if p != "-" and Path(p).is_dir():
            raise UsageError(f"cannot write {p}: it is a directory")
