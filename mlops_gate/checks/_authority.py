"""promtool and amtool as the authority on whether a file is valid, next to the gate's own reading.

The gate reads every file itself, for the release the policy names (`prometheus_version`,
`alertmanager_version`). Where the tool ran (`promtool_check`, `amtool_check` facts), its verdict decides
what does not depend on the release, and the gate's reading decides what does:

- the tool is the release judged: its verdict is the answer (a disagreement with the gate's reading is
  reported in the evidence, with both answers);
- the tool is another release (Debian 12 ships promtool 2.42 and amtool 0.25): the gate also reads the file
  as the tool's release. Where that reading agrees with the tool, the difference between the two releases
  is the gate's to judge, and its reading of the judged release stands. Where it does not, the tool wins:
  a file the tool accepts loses the problems the gate found in both releases; a file the tool refuses for
  a reason the gate did not see fails with the tool's words (it may be a reason the judged release does
  not share: the message says which release refused it, and installing the judged release's tool settles it).

A file the tool could not judge (not installed, over its time budget) keeps the gate's reading, and the
evidence says why the tool was not used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlops_gate.facts.promtool import ToolVerdicts
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.versions import Version, parse


@dataclass(frozen=True)
class Decided:
    """The verdict on one file, with the tool's and the gate's readings weighed: the problems that stand, the
    tool's refusal when the gate has no problem to show for it, and the evidence why."""

    problems: list[pr.Problem]  # the problems that stand
    refused: str | None  # the tool's refusal, when the gate's reading has no problem to show for it
    evidence: list[str]


def decide(
    path: str, product: str, judged: Version, read: Callable[[Version], list[pr.Problem]], verdicts: ToolVerdicts
) -> Decided:
    """The problems of `path` for `product` `judged`, with the tool's verdict where there is one."""
    mine = read(judged)
    check = verdicts.of(path) if verdicts.version else None
    if check is None or check.ok is None:
        why = verdicts.note if not verdicts.version else check.note if check else "it gave no verdict on this file"
        return Decided(mine, None, [f"{verdicts.tool} not used: {why}; judged by the gate's own reading"])
    try:
        release = parse(verdicts.version or "")
    except ValueError:
        return Decided(mine, None, [f"{verdicts.tool} version {verdicts.version!r} not understood: not used"])
    tool = f"{verdicts.tool} {verdicts.version}"
    theirs = mine if release == judged else read(release)
    said = f"{'accepts' if check.ok else 'refuses'} it"
    if check.ok == (not theirs):
        evidence = [f"{tool} {said}, as the gate's reading of {product} {release} does"]
    else:
        ours = f"refuses it ({theirs[0].message})" if theirs else "accepts it"
        detail = f": {_first(check.output)}" if not check.ok else ""
        evidence = [f"{tool} {said}{detail}; the gate's reading of {product} {release} {ours}: {verdicts.tool} decides"]
    if release != judged:
        evidence.append(
            f"judged as {product} {judged}; {tool} is another release: where the two releases differ, "
            f"the gate's reading of {judged} decides"
        )
    if check.ok:
        seen = {(p.message, p.path) for p in theirs}
        return Decided([p for p in mine if (p.message, p.path) not in seen], None, evidence)
    if theirs:
        return Decided(mine, None, evidence)
    return Decided(mine, f"{tool} refuses it: {_first(check.output)}", evidence)


def _first(output: str) -> str:
    """The tool's reason, without its `Checking FILE`/`FAILED:` framing."""
    said = []
    for line in output.splitlines():
        text = line.strip()
        if "FAILED:" in text:
            text = text.split("FAILED:", 1)[1].strip()
        if text and not text.startswith(("Checking ", "amtool: error: failed to validate", "SUCCESS")):
            said.append(text)
    return " ".join(said[:3])[:300] or "no reason given"
