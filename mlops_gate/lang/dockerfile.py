"""Just enough of the Dockerfile grammar to find the images a build pulls, read the way BuildKit's frontend
reads it (moby/buildkit frontend/dockerfile/parser): nothing is executed or fetched.

- Lines end at LF only (a trailing CR is dropped); a UTF-8 BOM is dropped from the first line.
- Parser directives (`# syntax=`, `# escape=`, `# check=`) only at the very top: any other line, a blank
  one or an unknown directive ends them. `escape` sets the continuation character.
- A line ending in the escape character (spaces after it allowed, an escaped escape excepted) continues on
  the next; comment and blank lines inside a continuation vanish; the parts are joined as written.
- Heredocs only for RUN, COPY, ADD (also under ONBUILD), not in JSON form, and only where a shell word of the
  line starts with `<<` (`<<EOF`, `<<-EOF`, `2<<"EOF"`, `<< EOF`): `echo "<<EOF"` or `cat<<EOF` are not
  heredocs. The body runs to a line that is exactly the delimiter.
- Images pulled: each `FROM` (after `--platform=`; `FROM <earlier stage>` and `scratch` pull nothing),
  `COPY --from=<image>`, `RUN --mount=...,from=<image>`, and the frontend a `# syntax=` directive names.
  Global `ARG`s (before the first FROM) are expanded with their defaults; an image that depends on a
  build arg without a default, or on an expansion the gate does not evaluate, cannot be known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlops_gate.lang.dockerfile_parse import WHITESPACE, Instruction, parse
from mlops_gate.lang.shellwords import LexError, expand, split

DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$|@sha512:[0-9a-f]{128}$")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")


@dataclass(frozen=True)
class ImageUse:
    """One image the build pulls: `ref` after substitution, or `unresolved` saying why not."""

    line: int
    instruction: str  # FROM, COPY --from, RUN --mount from, # syntax
    written: str
    ref: str | None
    unresolved: str | None = None


def image_uses(text: str) -> tuple[list[ImageUse], int, str | None]:
    """Every external image a build pulls, the number of FROMs, and why BuildKit would refuse the file.

    Stage references (`FROM builder`, `COPY --from=0`, `--mount=from=builder`) and `scratch` are not images.
    """
    parsed = parse(text)
    args: dict[str, str | None] = {}
    why: dict[str, str] = {}  # build args whose default cannot be known, and why
    stages: list[str] = []
    every_stage = {_stage_name(i.args) for i in parsed.instructions if i.keyword == "FROM"} - {None}
    uses: list[ImageUse] = []
    if parsed.syntax is not None:
        uses.append(ImageUse(parsed.syntax[0], "# syntax", parsed.syntax[1], parsed.syntax[1]))
    froms = 0
    for ins in parsed.instructions:
        if ins.keyword == "ARG" and not froms:
            _declare(ins.args, args, why)
        elif ins.keyword == "FROM":
            froms += 1
            uses += _from(ins, args, stages, why)
        elif ins.keyword == "COPY" and froms:
            for flag in ins.flags:
                if flag.startswith("--from="):
                    source = flag[len("--from=") :]
                    if source and source.lower() not in stages and not source.isdigit():
                        uses.append(_known(ins.line, "COPY --from", source))
        elif ins.keyword == "RUN" and froms:
            for flag in ins.flags:
                if flag.startswith("--mount="):
                    mounted = _mount_from(flag[len("--mount=") :])
                    if mounted and mounted.lower() not in every_stage and mounted != "scratch":
                        uses.append(_known(ins.line, "RUN --mount from", mounted))
    return uses, froms, parsed.error


def _stage_name(args: str) -> str | None:
    words = WHITESPACE.split(args)
    return words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None


def _from(ins: Instruction, args: dict[str, str | None], stages: list[str], why: dict[str, str]) -> list[ImageUse]:
    """The image one FROM pulls; `stages` (the earlier stage names) gets this stage's name."""
    words = [w for w in WHITESPACE.split(ins.args) if w]
    earlier = list(stages)
    name = _stage_name(ins.args)
    if name is not None and _STAGE_NAME.match(name):
        stages.append(name)
    if not words:
        return [ImageUse(ins.line, "FROM", ins.args, None, "FROM names no image")]
    got = expand(words[0], args)
    if got.unknown:
        return [ImageUse(ins.line, "FROM", words[0], None, _reasons(got.unknown, why))]
    if got.result in earlier or got.result == "scratch":
        return []  # an earlier stage (matched as written, against lower-case names), or nothing
    return [ImageUse(ins.line, "FROM", words[0], got.result)]


def _known(line: int, instruction: str, source: str) -> ImageUse:
    """An image named in a flag: BuildKit refuses variables there, so `$` makes it unknowable."""
    if "$" in source:
        return ImageUse(line, instruction, source, None, "BuildKit does not expand variables here")
    return ImageUse(line, instruction, source, source)


def _mount_from(spec: str) -> str | None:
    import csv  # BuildKit reads --mount as one CSV record; only Dockerfiles with RUN --mount pay the import

    try:
        fields = next(csv.reader([spec]), [])
    except csv.Error:
        return None  # BuildKit refuses the mount: the build fails
    found = None
    for item in fields:
        key, eq, value = item.partition("=")
        if eq and key.lower() == "from":
            found = value
    return found


def _reasons(unknown: list[str], why: dict[str, str]) -> str:
    """Why a word is unknown; a build arg whose default could not be evaluated says why (not 'no default')."""
    out: list[str] = []
    for reason in unknown:
        name = reason.removeprefix("build arg ").removesuffix(" has no default value")
        shown = why.get(name, reason) if reason.endswith(" has no default value") else reason
        if shown not in out:
            out.append(shown)
    return "; ".join(out)


def _declare(text: str, args: dict[str, str | None], why: dict[str, str]) -> None:
    """A global ARG line: each name with its default expanded (None: no default, or none the gate can know,
    and `why`), in order, into `args`."""
    try:
        words = split(text, raw=True)
    except LexError:
        return
    for token in words:
        name, eq, default = token.partition("=")
        if eq:
            got = expand(default, args)
            args[name] = None if got.unknown else got.result
            if got.unknown:
                why[name] = _reasons(got.unknown, why)
        else:
            args.setdefault(name, None)


def is_digest_pinned(ref: str) -> bool:
    return DIGEST_RE.search(ref) is not None
