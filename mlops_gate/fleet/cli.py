"""The arguments of `mlops-gate fleet` and `mlops-gate merge` (mlops_gate.cli hands them over unparsed, so
neither `--version` nor `check` builds or imports any of this). Returns the exit code; GateErrors go back to
mlops_gate.cli, which prints them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_gate.errors import UsageError
from mlops_gate.fleet import select

FORMATS = ("json", "html", "markdown")
EXIT = (
    "exit codes: 0 every repository passed · 1 one failed · 2 usage error · "
    "3 one could not be judged (or a shard is missing)"
)


def _outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="FMT=PATH",
        help=f"write a report ({', '.join(FORMATS)}); repeatable; PATH - is stdout",
    )
    parser.add_argument("--compare", metavar="PREVIOUS.json", help="a previous fleet report: the change since it")


def fleet_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlops-gate fleet",
        description="judge every repository of an organisation, group or project with the checks that need no "
        "checkout; shard it over CI jobs with --shard and combine with `mlops-gate merge`",
        epilog=EXIT,
    )
    p.add_argument("--platform", required=True, choices=("github", "gitlab", "azure"))
    p.add_argument(
        "--owner", required=True, help="GitHub organisation or user, GitLab group, Azure DevOps ORG[/PROJECT]"
    )
    p.add_argument("--api-url", help="the platform's API (as for check); the token goes there")
    p.add_argument("--policy", help="the fleet policy: a file or built-in profile (default: default)")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="only repositories matching")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave these out")
    p.add_argument("--topic", action="append", default=[], help="only repositories with one of these topics")
    p.add_argument("--language", help="only repositories in this language")
    p.add_argument("--include-archived", action="store_true", help="archived repositories too")
    p.add_argument("--include-forks", action="store_true", help="forks too")
    p.add_argument("--repos-file", metavar="FILE", help="only the repositories listed (one full name a line)")
    p.add_argument("--shard", default="1/1", metavar="K/N", help="judge the K-th of N shards (default 1/1)")
    p.add_argument("--jobs", type=int, default=8, help="repositories judged at once (default 8)")
    p.add_argument("--cache-dir", metavar="DIR", help="ETag cache for conditional requests (persist it in CI)")
    p.add_argument("--budget", type=int, metavar="N", help="at most N counted requests; the rest is not judged")
    p.add_argument("--max-wait", type=float, default=60.0, metavar="SECONDS", help="longest rate-limit wait")
    p.add_argument(
        "--files",
        action="store_true",
        help="also run the checks that read files, on each repository's default branch head fetched as an "
        "archive through the API (one more request a repository, streamed and size-capped)",
    )
    p.add_argument(
        "--archive-max-bytes",
        type=int,
        default=100 << 20,
        metavar="N",
        help="with --files: the largest archive read (default 100 MiB); a larger one makes the repository an error",
    )
    p.add_argument("--only", action="append", default=[], metavar="IDS", help="check ids or globs")
    p.add_argument("--skip", action="append", default=[], metavar="IDS", help="check ids or globs")
    p.add_argument(
        "--image-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="registries a repository's own policy may name in target.image",
    )
    _outputs(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    return p


def merge_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlops-gate merge",
        description="combine the shard reports of one fleet run into one report; refuses a missing or repeated shard",
        epilog=EXIT,
    )
    p.add_argument("reports", nargs="+", metavar="SHARD.json")
    _outputs(p)
    return p


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:
        raise _Exit(int(exc.code or 0)) from None


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def main(command: str, argv: Sequence[str], env: Mapping[str, str]) -> int:
    try:
        args = _parse(merge_parser() if command == "merge" else fleet_parser(), argv)
    except _Exit as exc:
        return exc.code
    planned, previous = _outputs_of(args.output), _previous(args.compare)  # usage errors before anything is read
    if command == "merge":
        from mlops_gate.fleet.merge import merge

        data = merge(list(args.reports))
    else:
        data = _fleet(args, env)
    from mlops_gate.output import write

    for fmt, path in planned:
        write(path, render(fmt, data, previous), env)
    if not getattr(args, "quiet", False):
        s = data["summary"]
        print(
            f"mlops-gate {command}: {s['judged']} judged ({s['pass']} pass, {s['fail']} fail, {s['error']} error), "
            f"{s['not_judged']} not judged; {data['requests']['counted']} counted requests; verdict {data['verdict']}",
            file=sys.stderr,
        )
    return {"pass": 0, "fail": 1}.get(str(data["verdict"]), 3)


def _fleet(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    from mlops_gate.fleet.run import FleetRequest, run

    if args.jobs < 1 or args.jobs > 64:
        raise UsageError(f"--jobs {args.jobs}: give 1 to 64")
    if args.budget is not None and args.budget < 1:
        raise UsageError(f"--budget {args.budget}: give a positive number of requests")
    if args.archive_max_bytes < 1:
        raise UsageError(f"--archive-max-bytes {args.archive_max_bytes}: give a positive number of bytes")
    if not 0 <= args.max_wait <= 3600:
        raise UsageError(f"--max-wait {args.max_wait}: give 0 to 3600 seconds")
    filters = select.Filters(
        include=_split(args.include),
        exclude=_split(args.exclude),
        topics=_split(args.topic),
        language=args.language,
        archived=args.include_archived,
        forks=args.include_forks,
        listed=select.read_list(args.repos_file) if args.repos_file else None,
    )
    req = FleetRequest(
        platform=args.platform,
        owner=args.owner.strip("/"),
        api_url=args.api_url or _env_api(args.platform, env),
        policy=args.policy,
        filters=filters,
        shard=select.parse_shard(args.shard),
        jobs=args.jobs,
        cache_dir=args.cache_dir,
        budget=args.budget,
        max_wait_s=args.max_wait,
        only=_split(args.only),
        skip=_split(args.skip),
        image_registries=frozenset(h.lower() for h in _split(args.image_registry)),
        files=args.files,
        archive_max_bytes=args.archive_max_bytes,
    )
    return run(req, env)


def _env_api(platform: str, env: Mapping[str, str]) -> str | None:
    names = {
        "github": ("GITHUB_API_URL",),
        "gitlab": ("CI_API_V4_URL", "CI_SERVER_URL"),
        "azure": ("SYSTEM_COLLECTIONURI",),
    }
    return next((env[n] for n in names[platform] if env.get(n)), None)


def _previous(compare: str | None) -> dict[str, Any] | None:
    if not compare:
        return None
    from mlops_gate.fleet.merge import read

    return read(compare)


def _outputs_of(outputs: list[str]) -> list[tuple[str, str]]:
    planned = []
    for spec in outputs:
        fmt, sep, path = spec.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise UsageError(f"--output {spec!r} is not FMT=PATH with FMT one of {', '.join(FORMATS)}")
        planned.append((fmt, path))
    return planned or [("markdown", "-")]


def render(fmt: str, data: dict[str, Any], previous: dict[str, Any] | None) -> str:
    if fmt == "json":
        from mlops_gate.fleet.report import dumps

        return dumps(data)
    if fmt == "html":
        from mlops_gate.fleet.scorecard_html import render as html

        return html(data, previous)
    from mlops_gate.fleet.scorecard_md import render as md

    return md(data, previous)
