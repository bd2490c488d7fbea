"""argparse wiring only: `main(argv) -> int` parses, builds one typed request (mlops_gate.request) for the
command, hands it on, and is the one place that prints errors and picks exit codes. Nothing imports it back."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_gate import __version__
from mlops_gate.errors import GateError, UsageError
from mlops_gate.reporters import FORMATS

if TYPE_CHECKING:
    from mlops_gate.request import CheckRequest, Output

EPILOG = """exit codes: 0 passed · 1 blocked (a check failed at or above fail_on) · 2 usage error or invalid
policy (nothing fetched) · 3 could not evaluate (a check ended in error and none failed)"""
FORMAT_NAMES = tuple(FORMATS)
SEVERITIES = ("critical", "high", "medium", "low", "info")


AUDIT_DESCRIPTION = """pre-release audit of a tag: the tag is resolved to its commit (git, in --repo), the gate runs
on that commit, and --evidence writes a bundle that `verify-evidence` checks and `--facts-in` replays.

Stricter default: with no --policy and no policy file in --repo, the `strict` profile applies. A policy
file (given or discovered) is used as it is, with its own fail_on: it says otherwise (extend `strict` in
it to keep the stricter defaults)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlops-gate",
        description="A definition-of-done gate for ML projects: verifies the MLOps toolbelt is in place "
        "(protected branches, CI on every PR, traced models, signed images, monitoring) and blocks when not.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"mlops-gate {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in (
        ("check", "run the gate on a repository and its release target"),
        ("audit", "pre-release audit of a tag (stricter defaults: the strict profile)"),
    ):
        c = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "audit":
            c.description = AUDIT_DESCRIPTION
            c.add_argument(
                "--release",
                required=True,
                metavar="TAG",
                help="the release tag being audited; resolved to its commit with git in --repo",
            )
            c.add_argument(
                "--evidence", metavar="FILE", help="write the evidence bundle: facts, policy as applied, report, sha256"
            )
            c.add_argument(
                "--sign-key",
                metavar="PEM",
                help="sign the decision (in-toto statement in a DSSE "
                "envelope) with this ECDSA P-256, Ed25519 or RSA private key; passphrase in "
                "MLOPS_GATE_SIGN_KEY_PASSWORD",
            )
        _check_options(c)
    v = sub.add_parser(
        "verify-evidence",
        help="check an evidence bundle is intact, and signed by a key",
        description="exit 0 intact (and, with --key, signed by that key) · 1 tampered, inconsistent "
        "or the signature does not verify · 2 usage error: not a bundle, unreadable, a bad --key",
    )
    v.add_argument("file", metavar="FILE")
    v.add_argument(
        "--key",
        metavar="PEM",
        help="public key (PEM) the bundle must be signed with; without it "
        "everything but the signer is checked (sha256, policy digest, the signed statement against "
        "the bundle) and the answer says UNAUTHENTICATED",
    )
    sub.add_parser("checks", help="list every check: id, default severity, title").add_argument(
        "--format", choices=("text", "json"), default="text"
    )
    e = sub.add_parser("explain", help="show a check's documentation and params")
    e.add_argument("id", metavar="ID")
    pol = sub.add_parser("policy", help="validate a policy file, or print the policy JSON Schema")
    psub = pol.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    psub.add_parser("validate", help="validate a policy file (exit 0 valid, 2 invalid)").add_argument("file")
    psub.add_parser("schema", help="print the JSON Schema of the policy format")
    return p


def _check_options(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--policy",
        metavar="FILE",
        help="policy file or built-in profile (default: .mlops-gate.yml "
        "in --repo, else the `default` profile; `strict` for audit)",
    )
    c.add_argument("--repo", metavar="DIR", default=".", help="repository to inspect (default: .)")
    c.add_argument(
        "--policy-ref",
        metavar="REF",
        help="read the policy file (--policy PATH relative to the "
        "repository, else the discovered name) from this git ref, e.g. origin/main, not the working "
        "tree: a pull request cannot weaken its own gate",
    )
    t = c.add_argument_group("target (flags win over the policy's target:, which wins over CI detection)")
    t.add_argument("--platform", choices=("github", "gitlab", "azure"))
    t.add_argument("--repository", metavar="SLUG", help="owner/name, group/project or org/project/repo")
    t.add_argument("--branch", metavar="NAME")
    t.add_argument("--commit", metavar="SHA")
    t.add_argument("--base-branch", metavar="NAME", help="judge as a pull/merge request into NAME (detected in CI)")
    t.add_argument("--model", metavar="NAME@ALIAS|NAME/VERSION")
    t.add_argument("--image", metavar="REF")
    t.add_argument("--prometheus-url", metavar="URL")
    t.add_argument("--alertmanager-url", metavar="URL", help="live Alertmanager (optional, for monitoring.live)")
    t.add_argument("--api-url", metavar="URL", help="platform API endpoint (GitHub Enterprise, self-managed GitLab)")
    o = c.add_argument_group("output")
    o.add_argument("--format", choices=FORMAT_NAMES, default="console", help="report on stdout (default: console)")
    o.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="FMT=PATH",
        help="also write FMT to PATH (repeatable; PATH - is stdout)",
    )
    o.add_argument("--fail-on", choices=SEVERITIES, help="lowest severity that blocks (default: the policy's)")
    o.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="IDS",
        help="run only these checks (ids or globs, e.g. vcs.*), even ones the policy disables",
    )
    o.add_argument(
        "--skip", action="append", default=[], metavar="IDS", help="skip these checks (ids or globs, comma-separated)"
    )
    o.add_argument("--facts-out", metavar="FILE", help="write the collected facts (with their sources) as JSON")
    o.add_argument(
        "--facts-in",
        metavar="FILE",
        help="judge a saved facts file or evidence bundle (a bundle "
        "brings the policy it applied, unless --policy is given); nothing is fetched or read; a target "
        "from flags or CI detection that contradicts the recorded one is refused (exit 2)",
    )
    o.add_argument("-q", "--quiet", action="store_true", help="no report on stdout (files from --output still written)")
    o.add_argument("-v", "--verbose", action="store_true", help="progress and tracebacks on stderr")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else dict(env)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    if args.command is None or (args.command == "policy" and args.policy_command is None):
        parser.print_help(sys.stderr)
        return 2
    from mlops_gate.secrets import guard_stderr

    with guard_stderr(env):  # diagnostics, -v tracebacks and library logs: no form of a credential
        try:
            return _dispatch(args, env)
        except GateError as exc:
            _err(exc.diagnostics(), env)
            return exc.exit_code
        except KeyboardInterrupt:
            _err("interrupted", env)
            return 130
        except Exception as exc:  # a bug: never a traceback unless -v, and never a pass
            if getattr(args, "verbose", False):
                import traceback

                traceback.print_exc()
            _err(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)", env)
            return 3


def entry() -> None:
    sys.exit(main())


def _err(message: str, env: Mapping[str, str]) -> None:
    from mlops_gate.secrets import redact

    print(f"mlops-gate: error: {redact(message, env)}", file=sys.stderr)


def _dispatch(args: argparse.Namespace, env: dict[str, str]) -> int:
    if args.command in ("check", "audit"):
        from mlops_gate.providers.netpolicy import limits
        from mlops_gate.run import run_check

        limits(env)  # a bad MLOPS_GATE_HTTP_* value is a usage error before anything is read
        return run_check(check_request(args), env)
    if args.command == "verify-evidence":
        from mlops_gate.evidence_verify import verify

        valid, message = verify(args.file, args.key)
        print(printable_text(redact_text(message, env)))  # the bundle's text, never a CI command
        return 0 if valid else 1
    if args.command == "checks":
        return _list_checks(args.format)
    if args.command == "explain":
        return _explain(args.id)
    if args.policy_command == "schema":
        from mlops_gate.policy import schema

        print(json.dumps(schema(), indent=2))
        return 0
    return _validate(args.file)


def _list_checks(fmt: str) -> int:
    from mlops_gate.catalogue import catalogue

    cat = catalogue()
    rows = [
        {
            "id": s.id,
            "severity": s.severity.value,
            "title": s.title,
            "needs": list(s.needs),
            "origin": s.origin,
        }
        for s in cat.checks.values()
    ]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    else:
        width = max((len(r["id"]) for r in rows), default=10)
        for r in rows:
            print(f"{r['id']:<{width}}  {r['severity']:<8}  {r['title']}")
    for problem in cat.plugin_errors:
        print(f"mlops-gate: warning: {problem}", file=sys.stderr)
    return 3 if cat.plugin_errors else 0


def _explain(check_id: str) -> int:
    import dataclasses

    from mlops_gate import typed
    from mlops_gate.catalogue import catalogue

    checks = catalogue().checks
    spec = checks.get(check_id)
    if spec is None:
        close = difflib.get_close_matches(check_id, checks, n=1, cutoff=0.6)
        raise UsageError(
            f"unknown check id {check_id!r}" + (f" (did you mean {close[0]}?)" if close else ""),
            "`mlops-gate checks` lists them",
        )
    print(f"{spec.id} — {spec.title}\n")
    print(
        f"default severity: {spec.severity.value}    needs: {', '.join(spec.needs) or 'nothing'}"
        + (f"    target: {', '.join(spec.requires_target)}" if spec.requires_target else "")
    )
    print(f"docs: {spec.docs_url}\n")
    print(spec.doc)
    fields = dataclasses.fields(spec.params)
    if fields:
        print("\nparams (defaults):")
        defaults = typed.to_data(spec.params())
        for f in fields:
            print(f"  {f.name}: {json.dumps(defaults[f.name])}")
    return 0


def _validate(file: str) -> int:
    from mlops_gate.policy import load

    policy = load(Path(file), origin="policy validate")
    enabled = sum(1 for c in policy.checks.values() if c.enabled)
    print(
        printable_text(
            f"{file}: valid (extends {' -> '.join(policy.chain[1:]) or 'nothing'}; "
            f"fail_on {policy.fail_on.value}; "
            f"{enabled} checks enabled; {len(policy.waivers)} waivers)"
        )
    )
    return 0


def printable_text(text: str) -> str:
    """What the CLI prints on stdout outside a report, as reports and stderr are made printable."""
    from mlops_gate import printable

    return printable.text(text)


def redact_text(text: str, env: Mapping[str, str]) -> str:
    from mlops_gate.secrets import redact

    return redact(text, env)


def check_request(args: argparse.Namespace) -> CheckRequest:
    """The request `check` or `audit` makes: every flag, typed, once."""
    from mlops_gate.request import CheckRequest
    from mlops_gate.target import Target

    return CheckRequest(
        command=args.command,
        repo=args.repo,
        policy=args.policy,
        policy_ref=args.policy_ref,
        flags=Target(
            platform=args.platform,
            repository=args.repository,
            branch=args.branch,
            commit=args.commit,
            model=args.model,
            image=args.image,
            prometheus_url=args.prometheus_url,
            alertmanager_url=args.alertmanager_url,
            api_url=args.api_url,
            base_branch=args.base_branch,
        ),
        release=getattr(args, "release", None),
        evidence=getattr(args, "evidence", None),
        sign_key=getattr(args, "sign_key", None),
        format=args.format,
        outputs=parse_outputs(args.output),
        fail_on=args.fail_on,
        only=split_ids(args.only),
        skip=split_ids(args.skip),
        facts_out=args.facts_out,
        facts_in=args.facts_in,
        quiet=args.quiet,
        verbose=args.verbose,
    )


def parse_outputs(specs: Sequence[str]) -> tuple[Output, ...]:
    from mlops_gate.request import Output

    out = []
    for spec in specs:
        fmt, sep, path = spec.partition("=")
        if not sep or not path:
            raise UsageError(f"--output {spec!r}: expected FMT=PATH, e.g. sarif=gate.sarif")
        if fmt not in FORMAT_NAMES:
            close = difflib.get_close_matches(fmt, FORMAT_NAMES, n=1)
            raise UsageError(
                f"--output {spec!r}: unknown format {fmt!r}"
                + (f" (did you mean {close[0]}?)" if close else f"; one of {', '.join(FORMAT_NAMES)}")
            )
        out.append(Output(fmt, path))
    return tuple(out)


def split_ids(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(i.strip() for v in values for i in v.split(",") if i.strip())


__all__: list[Any] = ["entry", "main"]
