"""The example fleet scorecard (examples/fleet/scorecard.html, scorecard.md) and the README's screenshot
(docs/fleet-scorecard.png): `mlops-gate fleet` over the simulated organisation of tests/support/fleet_org.py
on the replay server, compared with the same organisation a month earlier (more repositories unprotected).

    PYTHONPATH=. python examples/fleet/make_scorecard.py

The screenshot needs Debian's `chromium`; without it only the HTML and Markdown are written.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlops_gate.cli import main
from tests.support import chromium, fleet_org
from tests.support.replay import ReplayServer

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs"
REPOS = 40


def run(unprotected: int, out: Path, *extra: str) -> None:
    server = ReplayServer(resolver=fleet_org.github(REPOS, unprotected=unprotected)).start()
    try:
        argv = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", server.url, "-q", *extra]
        main([*argv, "--output", f"json={out}"], {"GITHUB_TOKEN": "example-token"})
    finally:
        server.stop()


def make() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        before, now = Path(tmp) / "before.json", Path(tmp) / "now.json"
        run(3, before)
        run(5, now)
        for fmt, name in (("html", "scorecard.html"), ("markdown", "scorecard.md")):
            main(["merge", str(now), "--compare", str(before), "--output", f"{fmt}={HERE / name}"], {})
        if chromium.executable() is None:
            print("chromium not installed: no screenshot")
            return
        with chromium.Browser.start(Path(tmp) / "profile") as browser:
            page = browser.open((HERE / "scorecard.html").as_uri(), width=1100, height=760)
            page.eval("document.querySelectorAll('#fleet thead th')[1].click()")  # failures first
            page.screenshot(DOCS / "fleet-scorecard.png")


if __name__ == "__main__":
    make()
