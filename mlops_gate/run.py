"""`check` and `audit`, carried out: load the policy, resolve the target and the policy the change cannot
edit, run the engine, then hand everything to mlops_gate.output. Takes the CLI's CheckRequest, never argparse.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_gate import (
    display,
    engine,
    output,
    policies,
    policy,
    policy_sources,
    preflight,
    progress,
    run_view,
    secrets,
    target,
    trust,
)
from mlops_gate.catalogue import catalogue
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import UsageError, closest
from mlops_gate.model import Severity
from mlops_gate.providers import RunInputs, git, policy_in_use
from mlops_gate.request import CheckRequest
from mlops_gate.secrets import redact

if TYPE_CHECKING:  # mlops_gate.replay is imported by a run judging saved facts (--facts-in) only
    from mlops_gate.replay import Replay, Saved


def run_check(req: CheckRequest, env: Mapping[str, str]) -> int:
    output.check_outputs(req)
    sign_key = _sign_key(req, env)
    repo = Path(req.repo)
    if req.facts_in is None and not repo.is_dir():
        raise UsageError(f"--repo {req.repo}: no such directory")
    cat = catalogue()
    only, skip = list(req.only), list(req.skip)
    for flag, ids in (("--only", only), ("--skip", skip)):
        _known_ids(flag, ids, cat.checks)
    saved = _read_saved(Path(req.facts_in)) if req.facts_in else None
    facts_in, replay = (saved.records, saved.replay) if saved is not None else (None, None)
    with display.showing(env, req.verbose):
        progress.step("reading the policy")
        given = req.given  # the flags, and the MLOPS_GATE_* variables below them
        base_branch = given.base_branch
        flags = replace(
            given,
            commit=_release_commit(req, repo, saved) if req.release else given.commit,
            release=req.release,
            event="pull_request" if base_branch else None,
        )
        detected = target.detect(env)
        # --base-branch overriding the platform's target: it cannot name the request's own branch (a fork's pull
        # request between same-named branches, as the platform reports it, is not the request's own branch)
        context = target.merge(detected, flags)  # what CI and the flags say: the policy is not read for this
        base_from_ci = not base_branch or base_branch == detected.base_branch
        head_branch = None if base_from_ci else context.branch
        # decided before anything is fetched, replayed facts included: on a pull/merge request, the target
        # branch's policy judges, and the request's own is read only to compare (never outside the repository)
        progress.step("deciding which policy judges this run")
        trusted, mine = trust.resolve(
            lambda confine: _load_policy(req, repo, replay, env, confine),
            context,
            repo,
            env,
            policy_arg=req.policy,
            policy_ref=req.policy_ref,
            head_branch=head_branch,
            fallback="strict" if req.audit else "default",
            base_from_ci=base_from_ci,
        )
        pol = trusted.policy
        if trusted.ref is not None:
            _untrusted(mine, pol, trusted.ref, env)
        if saved is not None and replay is None and saved.policy_digest and saved.policy_digest != pol.digest:
            _say(
                f"warning: {req.facts_in} was collected under another policy than {pol.source}; "
                "the verdict may differ from the original run (pass the same --policy to reproduce it)",
                env,
            )
        if trusted.ref is not None:  # a replay on a pull/merge request: judged as a live run would be, today
            replay = None
        if replay is not None:  # reproduce the recorded run unless told otherwise
            only, skip = only or list(replay.only), skip or list(replay.skip)
        tgt, sources, notes = run_view.target(req, repo, env, pol, detected, flags, facts_in is None)
        tgt, dropped = target.without_credentials(tgt)
        for field in dropped:
            _say(f"warning: credentials in the {field} URL are ignored; pass them through the environment", env)
        if saved is not None:  # the recorded target, which the one this run judges must not contradict
            from mlops_gate.replay import judged_target

            judged = judged_target(saved, tgt)
            sources = {f: ("facts file" if getattr(saved.target, f) else sources.get(f, "")) for f in target.FIELDS}
            tgt = judged
        if req.verbose:
            _say(f"policy {' -> '.join(pol.chain)}", env)
            for name in target.FIELDS:
                if getattr(tgt, name):
                    _say(f"target {name} {getattr(tgt, name)} ({sources.get(name, '')})", env)
            for note in notes:
                _say(f"checkout: {note}", env)
        own, project_files = output.own_paths(req, repo) if facts_in is None else ((), ())
        for path in project_files:
            _say(
                f"warning: {path} is a file of the repository: it is judged, then overwritten by this run's output", env
            )
        in_use = [Path(c) for c in mine.chain if not c.startswith("builtin:")] if not req.policy_ref else []
        candidates = _policy_candidates(req.policy, req.policy_ref, repo)
        inputs = RunInputs(
            policy=policy_in_use(
                in_use, mine.source, req.policy_ref, candidates, head_branch, base_from_ci=base_from_ci
            ),
            anchors=trust.anchors(trusted),
            own_outputs=own,  # the files provider leaves this run's outputs out, by path (unless committed)
            exclude=pol.exclude,
        )
        fail_on = req.fail_on or (replay.fail_on.value if replay is not None and replay.fail_on else None)
        if facts_in is None:  # said once, before any request: a token or endpoint the planned checks will miss
            planned = engine.plan(pol, cat.checks, tgt, only, skip)
            needed_by: dict[str, list[str]] = {}
            for p in planned:
                for kind in p.spec.needs if not p.missing_target else ():
                    needed_by.setdefault(kind, []).append(p.spec.id)
            for note in preflight.notes(engine.needed(planned, tgt), needed_by, tgt, env):
                _say(f"note: {note}", env)
        progress.step("reading facts")
        report, facts = engine.run(
            pol,
            cat.checks,
            tgt,
            repo,
            env=env,
            only=only,
            skip=skip,
            facts_in=facts_in,
            fail_on=Severity(fail_on) if fail_on else None,
            today=replay.today if replay is not None else None,
            errors=cat.plugin_errors,
            debug=req.verbose,
            inputs=inputs,
        )
    if req.verbose:
        for rec in facts.values():
            _say(
                f"facts {rec.kind}: {len(rec.sources)} sources, {rec.requests} requests, {rec.duration_s:.3f}s"
                + (f" — {rec.error}" if rec.error else ""),
                env,
            )
    for problem in (*cat.plugin_errors, *report.errors):
        _say(f"error: {problem}", env)
    report = replace(
        report,
        target_sources={k: v for k, v in sources.items() if getattr(tgt, k)},
        not_run=run_view.not_run(pol, cat.checks, only, skip),
        policy=" -> ".join(run_view.shown_path(c) for c in pol.chain),
    )
    redactor = secrets.redactor(env)  # every output below holds no form of a credential
    report = redactor.data(replace(output.relocate(report, repo, env), facts_file=req.facts_in))
    dumped: dict[str, Any] = {}  # the facts file, built only when it is written (it walks every fact)
    if req.facts_out or req.evidence:
        from mlops_gate.facts import saved as facts_file  # the facts file format: only when one is written

        dumped = redactor.data(facts_file.dump(facts, tgt, (pol.source, pol.digest), req.facts_in))
    if req.facts_out:
        output.write_facts(req.facts_out, dumped, env)
    if req.evidence:
        run = {"command": req.command, "fail_on": fail_on, "only": only, "skip": skip}
        output.evidence_bundle(req.evidence, sign_key, report, pol, tgt, dumped, run, repo, env, req.facts_in)
    output.reports(report, cat.checks, req, env)
    return report.verdict.exit_code


def _read_saved(path: Path) -> Saved:
    from mlops_gate.replay import read

    return read(path)


def _sign_key(req: CheckRequest, env: Mapping[str, str]) -> Any:
    if not req.sign_key:
        return None
    if not req.evidence:
        raise UsageError("--sign-key signs the evidence bundle: give --evidence FILE too")
    from mlops_gate import evidence

    return evidence.load_private_key(req.sign_key, env)


def _load_policy(
    req: CheckRequest, repo: Path, replay: Replay | None, env: Mapping[str, str], confine: policy.Confine | None
) -> policy.Policy:
    """--policy-ref: the policy file at a git ref; a replayed evidence bundle: the policy it applied (unless
    --policy is given); else --policy, the discovered file, or the default profile (`strict` for audit).
    `confine`: a pull/merge request's own policy, read only there (mlops_gate.trust)."""
    if req.policy_ref:
        if replay is not None or req.facts_in:
            raise UsageError("--policy-ref reads git; it cannot be combined with --facts-in")
        outside = None if confine is None else confine.allowed
        return policy_sources.load_from_git(repo, req.policy_ref, req.policy, outside=outside)
    if replay is not None and not req.policy:
        if req.verbose:
            _say(f"policy: as applied in {req.facts_in}", env)
        return replay.policy
    return policy.load(_policy_path(req, repo), confine=confine)


def _policy_path(req: CheckRequest, repo: Path) -> str | Path:
    if req.policy:
        return str(req.policy)
    found = policies.discover(repo)
    if found is not None:
        return found
    return policies.PROFILES_DIR / ("strict.yaml" if req.audit else "default.yaml")  # never a file here


def _policy_candidates(policy_arg: str | None, policy_ref: str | None, repo: Path) -> list[Path]:
    """Where the policy would be read from in the working tree: --policy PATH, else the discovered names
    (none for --policy-ref or a built-in profile named with --policy)."""
    if policy_ref:
        return []
    if policy_arg:
        builtin = policies.profile_path(policy_arg) is not None and not Path(policy_arg).is_file()
        return [] if builtin else [Path(policy_arg)]
    return [repo / name for name in policies.DISCOVERED_NAMES]


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


def _release_commit(req: CheckRequest, repo: Path, saved: Saved | None) -> str | None:
    """audit --release TAG: the commit the tag points to, resolved with git in --repo — also when judging
    saved facts, which must record that tag and that commit: a decision is never signed for a tag that
    does not exist."""
    tag = str(req.release)
    if saved is not None and saved.target.release and saved.target.release != tag:
        raise UsageError(f"--release {tag}: {req.facts_in} records the release {saved.target.release}")
    sha = git.resolve_tag(repo, tag)
    if req.flags.commit and not (len(req.flags.commit) >= 7 and sha.startswith(req.flags.commit.lower())):
        raise UsageError(
            f"--commit {req.flags.commit} is not the commit of --release {tag} ({sha})",
            "drop --commit: audit takes the commit from the tag",
        )
    recorded = saved.target.commit if saved is not None else None
    from mlops_gate.replay import same

    if recorded and not same("commit", sha, recorded):
        raise UsageError(
            f"--release {tag} is the commit {sha} in {repo}, but {req.facts_in} records the commit {recorded}",
            "replay the facts recorded for this release, or audit it live",
        )
    return sha


def _known_ids(flag: str, ids: list[str], checks: Mapping[str, CheckSpec]) -> None:
    for cid in ids:
        if not any(fnmatch.fnmatchcase(known, cid) for known in checks):
            close = closest(cid, checks)
            raise UsageError(
                f"{flag}: unknown check id {cid!r}" + (f" (did you mean {close}?)" if close else ""),
                "`mlops-gate checks` lists them",
            )


def _say(message: str, env: Mapping[str, str]) -> None:
    print(redact(f"mlops-gate: {message}", env), file=sys.stderr)
