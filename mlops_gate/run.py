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
from typing import Any

from mlops_gate import engine, policy, policy_sources, secrets, target, trust
from mlops_gate.catalogue import catalogue
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import GateError, UsageError
from mlops_gate.facts import saved as facts_file
from mlops_gate.model import Report, Severity, Violation
from mlops_gate.replay import Saved, judged_target, same
from mlops_gate.replay import read as read_facts_in
from mlops_gate.secrets import redact


def run_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from mlops_gate.cli import parse_outputs, split_ids

    outputs = parse_outputs(args.output)
    evidence_out = getattr(args, "evidence", None)
    check_outputs(outputs, args.facts_out, evidence_out)
    sign_key = _sign_key(args, env)
    repo = Path(args.repo)
    if args.facts_in is None and not repo.is_dir():
        raise UsageError(f"--repo {args.repo}: no such directory")
    cat = catalogue()
    only, skip = split_ids(args.only), split_ids(args.skip)
    for flag, ids in (("--only", only), ("--skip", skip)):
        _known_ids(flag, ids, cat.checks)
    saved = read_facts_in(Path(args.facts_in)) if args.facts_in else None
    facts_in, replay = (saved.records, saved.replay) if saved is not None else (None, None)
    pol = _load_policy(args, repo, replay, env)
    if saved is not None and replay is None and saved.policy_digest and saved.policy_digest != pol.digest:
        _say(
            f"warning: {args.facts_in} was collected under another policy than {pol.source}; "
            "the verdict may differ from the original run (pass the same --policy to reproduce it)",
            env,
        )
    if replay is not None:  # reproduce the recorded run unless told otherwise
        only, skip = only or list(replay.only), skip or list(replay.skip)
    release = getattr(args, "release", None)
    flags = target.Target(
        platform=args.platform,
        repository=args.repository,
        branch=args.branch,
        commit=_release_commit(args, repo, saved) if release else args.commit,
        model=args.model,
        image=args.image,
        prometheus_url=args.prometheus_url,
        alertmanager_url=args.alertmanager_url,
        api_url=args.api_url,
        release=release,
        base_branch=args.base_branch,
        event="pull_request" if args.base_branch else None,
    )
    detected = target.detect(env)
    # --base-branch overriding the platform's target: it cannot name the request's own branch (a fork's pull
    # request between same-named branches, as the platform reports it, is not the request's own branch)
    context = target.merge(detected, flags)  # what CI and the flags say: the policy is not read for this
    head_branch = context.branch if args.base_branch and args.base_branch != detected.base_branch else None
    mine, trusted = pol, trust.Trusted(pol)
    if facts_in is None:  # decided before anything is fetched: on a pull/merge request, the target branch's policy
        trusted = trust.resolve(
            pol,
            context,
            repo,
            env,
            policy_arg=args.policy,
            policy_ref=args.policy_ref,
            head_branch=head_branch,
            fallback="strict" if args.command == "audit" else "default",
        )
        pol = trusted.policy
        if trusted.ref is not None:
            _untrusted(mine, pol, trusted.ref, env)
    tgt, dropped = target.without_credentials(target.merge(detected, pol.target, flags))
    for field in dropped:
        _say(f"warning: credentials in the {field} URL are ignored; pass them through the environment", env)
    if saved is not None:  # the recorded target, which the one this run judges must not contradict
        tgt = judged_target(saved, tgt)
    if args.verbose:
        _say(f"policy {' -> '.join(pol.chain)}; target {tgt}", env)
    from mlops_gate.providers import git
    from mlops_gate.providers._repo import OUTPUTS_ENV

    in_use = [Path(c) for c in mine.chain if not c.startswith("builtin:")] if not args.policy_ref else []
    own = [p for _, p in outputs if p != "-"] + [p for p in (args.facts_out, evidence_out) if p]
    fail_on = args.fail_on or (replay.fail_on.value if replay is not None and replay.fail_on else None)
    report, facts = engine.run(
        pol,
        cat.checks,
        tgt,
        repo,
        env={
            **env,
            git.POLICY_ENV: git.policy_in_use(
                in_use,
                mine.source,
                args.policy_ref,
                _policy_candidates(args.policy, args.policy_ref, repo),
                head_branch,
            ),
            trust.ANCHORS_ENV: trust.anchors_env(trusted),
            OUTPUTS_ENV: "\n".join(own),
        },  # the files provider leaves this run's outputs out, by path
        only=only,
        skip=skip,
        facts_in=facts_in,
        fail_on=Severity(fail_on) if fail_on else None,
        today=replay.today if replay is not None else None,
        errors=cat.plugin_errors,
        debug=args.verbose,
    )
    if args.verbose:
        for rec in facts.values():
            _say(
                f"facts {rec.kind}: {len(rec.sources)} sources, {rec.requests} requests, {rec.duration_s:.3f}s"
                + (f" — {rec.error}" if rec.error else ""),
                env,
            )
    for problem in (*cat.plugin_errors, *report.errors):
        _say(f"error: {problem}", env)
    redactor = secrets.redactor(env)  # every output below holds no form of a credential
    report = redactor.data(replace(relocate(report, repo, env), facts_file=args.facts_in))
    dumped: dict[str, Any] = redactor.data(facts_file.dump(facts, tgt, (pol.source, pol.digest), args.facts_in))
    if args.facts_out:
        _write(args.facts_out, json.dumps(dumped, indent=1) + "\n", env)
    if evidence_out:
        run = {"command": args.command, "fail_on": fail_on, "only": only, "skip": skip}
        _write_evidence(evidence_out, sign_key, report, pol, tgt, dumped, run, repo, env, args.facts_in)
    _emit(report, cat.checks, args, outputs, env)
    return report.verdict.exit_code


def _sign_key(args: argparse.Namespace, env: Mapping[str, str]) -> Any:
    if not getattr(args, "sign_key", None):
        return None
    if not args.evidence:
        raise UsageError("--sign-key signs the evidence bundle: give --evidence FILE too")
    from mlops_gate import evidence

    return evidence.load_private_key(args.sign_key, env)


def _load_policy(args: argparse.Namespace, repo: Path, replay: Any, env: Mapping[str, str]) -> policy.Policy:
    """--policy-ref: the policy file at a git ref; a replayed evidence bundle: the policy it applied (unless
    --policy is given); else --policy, the discovered file, or the default profile (`strict` for audit)."""
    if args.policy_ref:
        if replay is not None or args.facts_in:
            raise UsageError("--policy-ref reads git; it cannot be combined with --facts-in")
        return policy_sources.load_from_git(repo, args.policy_ref, args.policy)
    if replay is not None and not args.policy:
        if args.verbose:
            _say(f"policy: as applied in {args.facts_in}", env)
        pol: policy.Policy = replay.policy
        return pol
    return policy.load(_policy_ref(args, repo))


def _policy_candidates(policy_arg: str | None, policy_ref: str | None, repo: Path) -> list[Path]:
    """Where the policy would be read from in the working tree: --policy PATH, else the discovered names
    (none for --policy-ref or a built-in profile named with --policy)."""
    if policy_ref:
        return []
    if policy_arg:
        builtin = policy.profile_path(policy_arg) is not None and not Path(policy_arg).is_file()
        return [] if builtin else [Path(policy_arg)]
    return [repo / name for name in policy.DISCOVERED_NAMES]


def _untrusted(mine: policy.Policy, trusted: policy.Policy, ref: str, env: Mapping[str, str]) -> None:
    """Say so when a pull/merge request's own policy is not the one judging it (its edits apply once merged)."""
    if mine.digest == trusted.digest:
        return
    for w in mine.waivers:
        if w.check == policy_sources.GUARD_CHECK and w not in trusted.waivers:
            _say(
                f"warning: the waiver of policy.unchanged for {w.subject!r} (owner {w.owner}) in {mine.source} is "
                f"ignored: only the policy on {ref} can waive it",
                env,
            )
    _say(
        f"warning: the policy in use ({mine.source}) differs from the target branch's: the pull/merge request is "
        f"judged by {trusted.source}; its own policy changes apply once merged",
        env,
    )


def _release_commit(args: argparse.Namespace, repo: Path, saved: Saved | None) -> str | None:
    """audit --release TAG: the commit the tag points to, resolved with git in --repo — also when judging
    saved facts, which must record that tag and that commit: a decision is never signed for a tag that
    does not exist."""
    tag = str(args.release)
    if saved is not None and saved.target.release and saved.target.release != tag:
        raise UsageError(f"--release {tag}: {args.facts_in} records the release {saved.target.release}")
    from mlops_gate.providers import git

    sha = git.resolve_tag(repo, tag)
    if args.commit and not (len(args.commit) >= 7 and sha.startswith(args.commit.lower())):
        raise UsageError(
            f"--commit {args.commit} is not the commit of --release {tag} ({sha})",
            "drop --commit: audit takes the commit from the tag",
        )
    recorded = saved.target.commit if saved is not None else None
    if recorded and not same("commit", sha, recorded):
        raise UsageError(
            f"--release {tag} is the commit {sha} in {repo}, but {args.facts_in} records the commit {recorded}",
            "replay the facts recorded for this release, or audit it live",
        )
    return sha


def _write_evidence(
    path: str,
    key: Any,
    report: Report,
    pol: policy.Policy,
    tgt: target.Target,
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
    _write(path, json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", env)


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
    return policy.PROFILES_DIR / ("strict.yaml" if args.command == "audit" else "default.yaml")  # never a file here


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


def check_outputs(outputs: list[tuple[str, str]], facts_out: str | None, evidence: str | None = None) -> None:
    """Refuse, before anything is read, outputs that cannot be written (exit 2, nothing fetched)."""
    if evidence == "-":
        raise UsageError("--evidence needs a file, not stdout")
    paths = [p for _, p in outputs] + [p for p in (facts_out, evidence) if p]
    if sum(1 for p in paths if p == "-") > 1:
        raise UsageError("only one report can go to stdout (-)")
    for p in paths:
        if p != "-" and Path(p).is_dir():
            raise UsageError(f"cannot write {p}: it is a directory")
