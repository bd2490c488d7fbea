"""The fleet scorecard: Markdown and HTML from a real fleet report (the simulated organisation on the replay
server), every text escaped, the change since --compare; and the HTML page in headless Chromium (Debian's
`chromium`): it renders, sorts, filters, and its cells link to the repository's findings."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlops_gate.cli import main
from mlops_gate.fleet import scorecard_html, scorecard_md
from tests.support import chromium, fleet_org
from tests.support.replay import ReplayServer

HOSTILE = "<img src=x onerror=\"document.title='owned'\">|`*"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    server = ReplayServer(resolver=fleet_org.github(40), etags=True).start()
    out = tmp_path_factory.mktemp("scorecard") / "fleet.json"
    argv = ["fleet", "--platform", "github", "--owner", "acme", "--api-url", server.url, "-q"]
    assert main([*argv, "--output", f"json={out}"], {"GITHUB_TOKEN": "t0ken"}) == 1
    server.stop()
    data: dict[str, Any] = json.loads(out.read_text())
    failed = next(r for repo in data["repositories"] for r in repo["results"] if r["status"] == "failed")
    failed["message"] = HOSTILE  # what a hostile API or repository could put in a finding
    yield data


def _previous(report: dict[str, Any]) -> dict[str, Any]:
    """The same fleet before: acme/model-0004 failed its branch protection then."""
    before = copy.deepcopy(report)
    repo = next(r for r in before["repositories"] if r["name"] == "acme/model-0004")
    repo["verdict"] = "fail"
    next(r for r in repo["results"] if r["check"] == "vcs.branch-protected")["status"] = "failed"
    return before


def test_markdown(report: dict[str, Any]) -> None:
    text = scorecard_md.render(report, _previous(report))
    assert text.startswith("# Fleet scorecard: acme (github)")
    assert "| `vcs.branch-protected` | vcs | 79% | 30 / 38 | +3 pts |" in text  # 30 of 38 now, 29 before
    assert "| acme/model-0004 | pass (was fail) |" in text
    assert "<img" not in text and "&lt;img src=x" in text
    assert "### acme/model-0000 — fail" in text


def test_html_is_self_contained_and_escaped(report: dict[str, Any]) -> None:
    page = scorecard_html.render(report, _previous(report))
    assert "<img" not in page and "&lt;img src=x onerror=" in page
    for external in ('src="http', 'href="//', "@import", "url("):
        assert external not in page
    assert page.count("<script>") == 1 and "default-src 'none'" in page


needs_chromium = pytest.mark.skipif(
    chromium.executable() is None, reason="chromium not installed (apt-get install chromium; .ci/run installs it)"
)


@pytest.fixture(scope="module")
def page(report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[chromium.Page]:
    tmp = tmp_path_factory.mktemp("browser")
    html = tmp / "fleet.html"
    html.write_text(scorecard_html.render(report, _previous(report)), encoding="utf-8")
    with chromium.Browser.start(tmp / "profile") as browser:
        yield browser.open(html.as_uri())


ROWS = "Array.from(document.querySelectorAll('#fleet tbody tr'))"
VISIBLE = f"{ROWS}.filter(r => !r.hidden).map(r => r.cells[0].textContent)"


@needs_chromium
def test_the_page_renders(page: chromium.Page, report: dict[str, Any]) -> None:
    assert page.eval("document.title") == "Fleet scorecard: acme (github)"  # the hostile message ran nothing
    assert page.eval(f"{ROWS}.length") == len(report["repositories"])
    heads = page.eval("Array.from(document.querySelectorAll('#fleet thead th')).map(t => t.textContent)")
    assert heads == ["repository", "verdict", "vcs", "ci", "cd", "requests"]
    assert page.eval("document.getElementById('shown').textContent") == str(len(report["repositories"]))
    assert page.eval("document.querySelector('#fleet tbody td.failed') !== null")
    assert page.eval("document.querySelectorAll('img').length") == 0  # the hostile message is text


@needs_chromium
def test_sorting_by_a_column(page: chromium.Page) -> None:
    page.eval("document.querySelectorAll('#fleet thead th')[1].click()")  # verdict, ascending: failures first
    verdicts = page.eval(f"{ROWS}.map(r => r.cells[1].textContent)")
    assert verdicts[0].startswith("fail") and verdicts[-1].startswith("pass")
    assert verdicts == sorted(verdicts, key=lambda v: 0 if v.startswith("fail") else 1)
    page.eval("document.querySelectorAll('#fleet thead th')[0].click()")  # by name, ascending
    page.eval("document.querySelectorAll('#fleet thead th')[0].click()")  # and descending
    names = page.eval(f"{ROWS}.map(r => r.cells[0].textContent)")
    assert names == sorted(names, reverse=True)
    assert page.eval("document.querySelectorAll('#fleet thead th')[0].getAttribute('aria-sort')") == "descending"


@needs_chromium
def test_filtering(page: chromium.Page) -> None:
    page.eval("const f = document.getElementById('filter'); f.value = 'model-001'; f.dispatchEvent(new Event('input'))")
    shown = page.eval(VISIBLE)
    assert shown and all("model-001" in n for n in shown)
    page.eval("const v = document.getElementById('verdict'); v.value = 'pass'; v.dispatchEvent(new Event('change'))")
    both = page.eval(f"{ROWS}.filter(r => !r.hidden).map(r => r.getAttribute('data-verdict'))")
    assert both and set(both) == {"pass"} and len(both) < len(shown)
    assert page.eval("document.getElementById('shown').textContent") == str(len(both))
    page.eval("const g = document.getElementById('filter'); g.value = ''; g.dispatchEvent(new Event('input'))")
    page.eval("const w = document.getElementById('verdict'); w.value = ''; w.dispatchEvent(new Event('change'))")
    assert page.eval(f"{ROWS}.filter(r => r.hidden).length") == 0


@needs_chromium
def test_cells_link_to_the_findings(page: chromium.Page) -> None:
    links = page.eval(f"{ROWS}.map(r => [r.cells[0].textContent, r.cells[2].querySelector('a').getAttribute('href')])")
    for name, href in links:
        heading = page.eval(f"document.querySelector({json.dumps(href)} + ' h3').textContent")
        assert heading.startswith(name + " — ")
    page.eval("document.querySelector('#fleet tbody td.failed a').click()")
    assert page.eval("location.hash").startswith("#r")
    assert page.eval("document.querySelector(':target table') !== null")
