"""argparse wiring only: `main(argv) -> int` parses, builds one typed request (mlops_gate.request) for the
command, hands it on, and is the one place that prints errors and picks exit codes. Nothing imports it back.

Every option of `check` and `audit` (and `--color`) also reads `MLOPS_GATE_<OPTION>` from the environment
(`--fail-on` -> MLOPS_GATE_FAIL_ON): a flag on the command line wins, an empty variable counts as unset, and a
value that is not valid is a usage error naming the variable. Shell completion (argcomplete) is imported only
while completing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_gate import __version__
from mlops_gate.errors import GateError, UsageError, closest
from mlops_gate.reporters import FORMATS

if TYPE_CHECKING:
    from mlops_gate.request import CheckRequest, Output

EPILOG = """exit codes: 0 passed · 1 blocked (a check failed at or above fail_on) · 2 usage error or invalid
policy (nothing fetched) · 3 could not evaluate (a check ended in error and none failed)

Every option also reads MLOPS_GATE_<OPTION> from the environment (--fail-on: MLOPS_GATE_FAIL_ON); flags win."""
FORMAT_NAMES = tuple(FORMATS)
SEVERITIES = ("critical", "high", "medium", "low", "info")
COLORS = ("auto", "always", "never")
ENV_PREFIX = "MLOPS_GATE_"
TARGET_FLAGS = (
    "platform",
    "repository",
    "branch",
    "commit",
    "base_branch",
    "model",
    "image",
    "prometheus_url",
    "alertmanager_url",
    "api_url",
)
# what an option is when neither the command line nor MLOPS_GATE_<OPTION> gives it (argparse defaults are None,
# so that a flag given on the command line can be told from one that was not)
DEFAULTS: dict[str, Any] = {
    "repo": ".",
    "format": "console",
    "output": [],
    "only": [],
    "skip": [],
    "quiet": False,
    "verbose": False,
    "color": "auto",
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

AUDIT_DESCRIPTION = """pre-release audit of a tag: the tag is resolved to its commit (git, in --repo), the gate runs
on that commit, and --evidence writes a bundle that `verify-evidence` checks and `--facts-in` replays.

Stricter default: with no --policy and no policy file in --repo, the `strict` profile applies. A policy
file (given or discovered) is used as it is, with its own fail_on: it says otherwise (extend `strict` in
it to keep the stricter defaults)."""
CHECK_DESCRIPTION = """run the gate on a repository and its release target.

With no flags, the target is read from CI (GitHub Actions, GitLab CI, Azure Pipelines) and, below that, from
the checkout: the platform and repository from the git remote, the commit from HEAD, the branch checked out.
Precedence: flags > MLOPS_GATE_* variables > the policy's target: > CI detection > the checkout."""


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
            description=AUDIT_DESCRIPTION if name == "audit" else CHECK_DESCRIPTION,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "audit":
            c.add_argument(
                "--release",
                metavar="TAG",
                help="(required) the release tag being audited; resolved to its commit with git in --repo",
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
    sub.add_parser("fleet", help="judge every repository of an organisation/group/project (mlops-gate fleet --help)")
    sub.add_parser("merge", help="combine fleet shard reports into one (mlops-gate merge --help)")
    sub.add_parser("checks", help="list every check: id, default severity, on or off by default, title").add_argument(
        "--format", choices=("text", "json"), default="text"
    )
    e = sub.add_parser("explain", help="a check's documentation, and each param's type, default, meaning, example")
    e.add_argument("id", metavar="ID").completer = _complete_ids  # type: ignore[attr-defined]
    pol = sub.add_parser("policy", help="validate a policy file, or print the policy JSON Schema")
    psub = pol.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    val = psub.add_parser(
        "validate",
        help="validate a policy file: every problem at once (exit 0 valid, 2 invalid)",
        description="validate a policy file and everything it extends, reporting every problem with its file, "
        "line and key path; without FILE, the repository's policy (.mlops-gate.yml, ... in --repo), as check finds it",
    )
    val.add_argument("file", metavar="FILE", nargs="?")
    val.add_argument("--repo", metavar="DIR", default=".", help="where to look for the policy without FILE")
    psub.add_parser("schema", help="print the JSON Schema of the policy format")
    i = sub.add_parser(
        "init",
        help="write a starter policy for this repository",
        description="look at the repository (CI files, Dockerfiles, manifests, rule files, orchestration files, "
        "the git remote) and write a commented .mlops-gate.yml that enables the checks it can run and says how to "
        "turn on the rest",
    )
    i.add_argument("--repo", metavar="DIR", default=".", help="the repository (default: .)")
    i.add_argument("--output", metavar="FILE", help="write here instead of DIR/.mlops-gate.yml (- for stdout)")
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    comp = sub.add_parser(
        "completion",
        help='print the shell completion script: eval "$(mlops-gate completion bash)"',
        description='print the completion script for a shell. bash: eval "$(mlops-gate completion bash)" in '
        "~/.bashrc; zsh: the same with zsh in ~/.zshrc; fish: mlops-gate completion fish | source",
    )
    comp.add_argument("shell", choices=("bash", "zsh", "fish"))
    return p


def _check_options(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--policy",
        metavar="FILE",
        help="policy file or built-in profile (default: .mlops-gate.yml "
        "in --repo, else the `default` profile; `strict` for audit)",
    )
    c.add_argument("--repo", metavar="DIR", help="repository to inspect (default: .)")
    c.add_argument(
        "--policy-ref",
        metavar="REF",
        help="read the policy file (--policy PATH relative to the "
        "repository, else the discovered name) from this git ref, e.g. origin/main, not the working "
        "tree: a pull request cannot weaken its own gate",
    )
    t = c.add_argument_group(
        "target (flags > MLOPS_GATE_* variables > the policy's target: > CI detection > the checkout: "
        "git remote, HEAD, current branch)"
    )
    t.add_argument("--platform", choices=("github", "gitlab", "azure"))
    t.add_argument("--repository", metavar="SLUG", help="owner/name, group/project or org/project/repo")
    t.add_argument("--branch", metavar="NAME")
    t.add_argument("--commit", metavar="SHA")
    t.add_argument("--base-branch", metavar="NAME", help="judge as a pull/merge request into NAME (detected in CI)")
    t.add_argument("--model", metavar="NAME@ALIAS|NAME/VERSION")
    t.add_argument("--image", metavar="REF")
    t.add_argument("--prometheus-url", metavar="URL")
    t.add_argument("--alertmanager-url", metavar="URL", help="live Alertmanager (optional, for monitoring.live)")
    t.add_argument(
        "--api-url",
        metavar="URL",
        help="platform API endpoint (GitHub Enterprise, self-managed GitLab, Azure DevOps Server); "
        "the platform token is sent there",
    )
    o = c.add_argument_group("output")
    o.add_argument("--format", choices=FORMAT_NAMES, help="report on stdout (default: console)")
    o.add_argument(
        "--output", action="append", metavar="FMT=PATH", help="also write FMT to PATH (repeatable; - is stdout)"
    )
    o.add_argument("--fail-on", choices=SEVERITIES, help="lowest severity that blocks (default: the policy's)")
    o.add_argument(
        "--only",
        action="append",
        metavar="IDS",
        help="run only these checks (ids or globs, e.g. vcs.*), even ones the policy disables",
    ).completer = _complete_ids  # type: ignore[attr-defined]
    o.add_argument(
        "--skip", action="append", metavar="IDS", help="skip these checks (ids or globs, comma-separated)"
    ).completer = _complete_ids  # type: ignore[attr-defined]
    o.add_argument("--facts-out", metavar="FILE", help="write the collected facts (with their sources) as JSON")
    o.add_argument(
        "--facts-in",
        metavar="FILE",
        help="judge a saved facts file or evidence bundle (a bundle "
        "brings the policy it applied, unless --policy is given); nothing is fetched or read; a target "
        "from flags or CI detection that contradicts the recorded one is refused (exit 2)",
    )
    o.add_argument(
        "--color",
        choices=COLORS,
        help="colour the console report: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), always, never",
    )
    o.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=None,
        help="no report on stdout (files from --output still written)",
    )
    o.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=None,
        help="each request as it is made, and tracebacks, on stderr",
    )


def _complete_ids(prefix: str, **kwargs: Any) -> list[str]:
    """Check ids for --only, --skip and explain (argcomplete; a comma-separated list completes its last id)."""
    from mlops_gate.catalogue import catalogue

    head, _, last = prefix.rpartition(",")
    lead = f"{head}," if head else ""
    return [lead + cid for cid in catalogue().checks if cid.startswith(last)]


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else dict(env)
    parser = _parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell is asking for completions: only then is argcomplete imported
        import argcomplete

        argcomplete.autocomplete(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] in (["fleet"], ["merge"]):  # their own parser, imported only for them (mlops_gate.fleet.cli)
            args = argparse.Namespace(command=argv[0], fleet_args=argv[1:])
        else:
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    except BrokenPipeError:  # --help | head
        return _closed_stdout(0)
    if args.command is None or (args.command == "policy" and args.policy_command is None):
        parser.print_help(sys.stderr)
        return 2
    from mlops_gate.stderr_guard import guard_stderr

    with guard_stderr(env):  # diagnostics, -v tracebacks and library logs: no form of a credential
        try:
            if args.command in ("check", "audit"):
                _from_environment(args, parser, env)
            return _dispatch(args, env)
        except SystemExit as exc:  # argparse's error(): a usage error found after parsing
            return int(exc.code or 0)
        except GateError as exc:
            _err(exc.diagnostics(), env)
            return exc.exit_code
        except KeyboardInterrupt:
            _err("interrupted", env)
            return 130
        except BrokenPipeError:  # every report goes through output.stdout, which ends quietly itself
            return _closed_stdout(141)
        except Exception as exc:  # a bug: never a traceback unless -v, and never a pass
            if getattr(args, "verbose", False):
                import traceback

                traceback.print_exc()
            _err(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)", env)
            return 3


def entry() -> None:
    sys.exit(main())


def _closed_stdout(code: int) -> int:
    from mlops_gate.output import stdout_closed

    stdout_closed()
    return code


def _from_environment(args: argparse.Namespace, parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """Options not given on the command line, from MLOPS_GATE_<OPTION>; then the defaults. `args.from_env`
    records which options came from which variable."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = sub.choices[args.command]
    args.from_env = {}
    for action in command._actions:
        dest = action.dest
        if not action.option_strings or dest == "help" or getattr(args, dest, None) is not None:
            continue
        name = ENV_PREFIX + dest.upper()
        raw = env.get(name, "").strip()
        if raw:
            setattr(args, dest, _env_value(name, raw, action))
            args.from_env[dest] = name
        elif dest in DEFAULTS:
            setattr(args, dest, DEFAULTS[dest])
    if args.command == "audit" and not args.release:
        command.error("the following arguments are required: --release (or MLOPS_GATE_RELEASE)")


def _env_value(name: str, raw: str, action: argparse.Action) -> Any:
    if isinstance(action, argparse._StoreTrueAction):
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        raise UsageError(f"{name}={raw!r} is not true or false", f"set {name} to 1 or 0, or unset it")
    if isinstance(action, argparse._AppendAction):
        return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    if action.choices is not None and raw not in action.choices:
        close = closest(raw, map(str, action.choices))
        raise UsageError(
            f"{name}={raw!r} is not one of {', '.join(map(str, action.choices))}"
            + (f" (did you mean {close}?)" if close else ""),
            f"fix {name}, or unset it",
        )
    return raw


def _err(message: str, env: Mapping[str, str]) -> None:
    from mlops_gate.secrets import redact

    print(f"mlops-gate: error: {redact(message, env)}", file=sys.stderr)


def _print(text: str) -> None:
    """Print outside a report: made printable as reports and stderr are (never a CI command)."""
    from mlops_gate.output import stdout

    stdout(printable_text(text))


def _dispatch(args: argparse.Namespace, env: dict[str, str]) -> int:
    if args.command in ("fleet", "merge"):
        from mlops_gate.fleet.cli import main as fleet_main

        return fleet_main(args.command, args.fleet_args, env)
    if args.command in ("check", "audit"):
        from mlops_gate.providers.netpolicy import limits
        from mlops_gate.run import run_check

        limits(env)  # a bad MLOPS_GATE_HTTP_* value is a usage error before anything is read
        return run_check(check_request(args), env)
    if args.command == "verify-evidence":
        from mlops_gate.evidence_verify import verify

        valid, message = verify(args.file, args.key)
        _print(redact_text(message, env))
        return 0 if valid else 1
    if args.command == "checks":
        return _list_checks(args.format)
    if args.command == "explain":
        from mlops_gate.describe import explain

        _print(explain(args.id))
        return 0
    if args.command == "init":
        from mlops_gate.starter import init

        return init(Path(args.repo), args.output, args.force, env)
    if args.command == "completion":
        from argcomplete.shell_integration import shellcode

        _print(shellcode(["mlops-gate"], shell=args.shell))
        return 0
    if args.policy_command == "schema":
        from mlops_gate.policy_schema import schema

        _print(json.dumps(schema(), indent=2))
        return 0
    return _validate(args.file, Path(args.repo))


def _list_checks(fmt: str) -> int:
    from mlops_gate.catalogue import catalogue
    from mlops_gate.describe import checks_rows, checks_text

    cat = catalogue()
    rows = checks_rows(cat)
    _print(json.dumps(rows, indent=2) if fmt == "json" else checks_text(rows))
    for problem in cat.plugin_errors:
        print(f"mlops-gate: warning: {problem}", file=sys.stderr)
    return 3 if cat.plugin_errors else 0


def _validate(file: str | None, repo: Path) -> int:
    from mlops_gate import policies
    from mlops_gate.policy import load

    if file is None:
        found = policies.discover(repo)
        if found is None:
            raise UsageError(
                f"no policy file in {repo} (looked for {', '.join(policies.DISCOVERED_NAMES)})",
                "name one (`mlops-gate policy validate FILE`), or write a starter with `mlops-gate init`",
            )
        file = str(found)
    policy = load(Path(file), origin="policy validate")
    enabled = sum(1 for c in policy.checks.values() if c.enabled)
    _print(
        f"{file}: valid (extends {' -> '.join(policy.chain[1:]) or 'nothing'}; "
        f"fail_on {policy.fail_on.value}; "
        f"{enabled} of {len(policy.checks)} checks enabled; {len(policy.waivers)} waivers)"
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
    """The request `check` or `audit` makes: every option, typed, once; target values from MLOPS_GATE_*
    variables kept apart from flags (the report says where each came from)."""
    from mlops_gate.request import CheckRequest
    from mlops_gate.target import Target

    from_env: dict[str, str] = getattr(args, "from_env", {})
    flags = {f: getattr(args, f) for f in TARGET_FLAGS if f not in from_env}
    env_flags = {f: getattr(args, f) for f in TARGET_FLAGS if f in from_env}
    return CheckRequest(
        command=args.command,
        repo=args.repo,
        policy=args.policy,
        policy_ref=args.policy_ref,
        flags=Target(**flags),
        env_flags=Target(**env_flags),
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
        color=args.color,
    )


def parse_outputs(specs: Sequence[str]) -> tuple[Output, ...]:
    from mlops_gate.request import Output

    out = []
    for spec in specs:
        fmt, sep, path = spec.partition("=")
        if not sep or not path:
            raise UsageError(f"--output {spec!r}: expected FMT=PATH, e.g. sarif=gate.sarif")
        if fmt not in FORMAT_NAMES:
            close = closest(fmt, FORMAT_NAMES)
            raise UsageError(
                f"--output {spec!r}: unknown format {fmt!r}"
                + (f" (did you mean {close}?)" if close else f"; one of {', '.join(FORMAT_NAMES)}")
            )
        out.append(Output(fmt, path))
    return tuple(out)


def split_ids(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(i.strip() for v in values for i in v.split(",") if i.strip())


__all__: list[Any] = ["entry", "main"]
