"""`check` and `audit`: load the policy, resolve the target, run the engine, write every report."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from mlops_gate import engine, policy, target
from mlops_gate.errors import UsageError
from mlops_gate.model import Report, Severity
from mlops_gate.registry import CheckSpec, catalogue
from mlops_gate.secrets import redact


def run_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from mlops_gate.cli import parse_outputs, split_ids

    outputs = parse_outputs(args.output)
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
    flags = target.Target(
        platform=args.platform,
        repository=args.repository,
        branch=args.branch,
        commit=args.commit,
        model=args.model,
        image=args.image,
        prometheus_url=args.prometheus_url,
        api_url=args.api_url,
        release=getattr(args, "release", None),
    )
    tgt = target.merge(target.detect(env) if facts_in is None else saved_target, pol.target, flags)
    if args.verbose:
        print(f"mlops-gate: policy {' -> '.join(pol.chain)}; target {tgt}", file=sys.stderr)
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
            print(
                f"mlops-gate: facts {rec.kind}: {len(rec.sources)} sources, {rec.requests} requests, "
                f"{rec.duration_s:.3f}s" + (f" — {rec.error}" if rec.error else ""),
                file=sys.stderr,
            )
    for problem in cat.plugin_errors:
        print(f"mlops-gate: error: {problem}", file=sys.stderr)
    if args.facts_out:
        from mlops_gate import factsfile

        _write(args.facts_out, json.dumps(factsfile.dump(facts, tgt), indent=1) + "\n", env)
    _emit(report, cat.checks, args, outputs, env)
    return report.verdict.exit_code


def _policy_ref(args: argparse.Namespace, repo: Path) -> str | Path:
    if args.policy:
        return str(args.policy)
    found = policy.discover(repo)
    if found is not None:
        return found
    return "strict" if args.command == "audit" else "default"


def _known_ids(flag: str, ids: list[str], checks: Mapping[str, CheckSpec]) -> None:
    for cid in ids:
        if cid not in checks:
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

    if not args.quiet:
        color = args.format == "console" and sys.stdout.isatty() and "NO_COLOR" not in env
        _write("-", render(args.format, report, checks, color=color), env)
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
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
