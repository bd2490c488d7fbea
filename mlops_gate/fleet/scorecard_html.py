"""The fleet scorecard as one self-contained HTML page: no external asset, inline CSS and JS, every text from
the report escaped (a repository name or a finding is data, never markup). Repositories by toolbelt areas,
sortable (click a column head) and filterable (text and verdict); each cell links to the repository's
findings further down the page; the fleet's pass rate per check; the change since --compare."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from mlops_gate.fleet.scores import Row, compute, delta, percent

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:.25em .55em;text-align:left}
th{background:#f6f8fa;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
td.c a{display:block;text-decoration:none;color:inherit;text-align:center}
.passed,.pass{background:#dafbe1}.failed,.fail{background:#ffebe9}.error{background:#fff8c5}
.waived{background:#ddf4ff}.not-judged,.none{background:#eaeef2;color:#57606a}
.bar{display:inline-block;height:.7em;background:#2da44e;vertical-align:middle}
#controls{margin:.6em 0}#controls input{width:18em}.muted{color:#57606a}
section.repo{border-top:1px solid #d0d7de;margin-top:1em}section.repo:target{background:#fff8c5}
"""

JS = """
(function(){
  var table=document.getElementById('fleet'),body=table.tBodies[0];
  function key(td){var v=td.getAttribute('data-sort');return v===null?td.textContent.trim().toLowerCase():v;}
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    th.addEventListener('click',function(){
      var asc=th.getAttribute('aria-sort')!=='ascending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(o){o.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);
        var nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:(x<y?-1:x>y?1:0);return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  var text=document.getElementById('filter'),verdict=document.getElementById('verdict');
  var count=document.getElementById('shown');
  function apply(){
    var q=text.value.trim().toLowerCase(),v=verdict.value,n=0;
    Array.prototype.forEach.call(body.rows,function(r){
      var ok=(!q||r.getAttribute('data-name').indexOf(q)>=0)&&(!v||r.getAttribute('data-verdict')===v);
      r.hidden=!ok;if(ok)n++;});
    count.textContent=n;
  }
  text.addEventListener('input',apply);verdict.addEventListener('change',apply);apply();
})();
"""

RANK = {"failed": "0", "error": "1", "waived": "2", "passed": "3", "": "4"}
VERDICT_RANK = {"fail": "0", "error": "1", "not judged": "2", "pass": "3", "excluded": "4"}


def _cls(text: str) -> str:
    return text.replace(" ", "-") or "none"


def _row(i: int, row: Row, areas: tuple[str, ...]) -> str:
    anchor = f"r{i}"
    cells = []
    for a in areas:
        state = row.areas[a]
        label = state or "—"
        cells.append(
            f'<td class="c {_cls(state)}" data-sort="{RANK[state]}"><a href="#{anchor}" '
            f'title="{escape(row.name)}: {escape(a)} {escape(label)}">{escape(label)}</a></td>'
        )
    was = (
        f' <span class="muted">(was {escape(row.previous)})</span>'
        if row.previous and row.previous != row.verdict
        else ""
    )
    name = f'<a href="#{anchor}">{escape(row.name)}</a>'
    return (
        f'<tr data-name="{escape(row.name.lower())}" data-verdict="{escape(row.verdict)}">'
        f"<td>{name}</td>"
        f'<td class="{_cls(row.verdict)}" data-sort="{VERDICT_RANK.get(row.verdict, "5")}">'
        f"{escape(row.verdict)}{was}</td>" + "".join(cells) + f'<td data-sort="{row.counted}">{row.counted}</td></tr>'
    )


def _findings(i: int, row: Row) -> str:
    parts = [f'<section class="repo" id="r{i}"><h3>{escape(row.name)} — {escape(row.verdict)}</h3>']
    if row.url.startswith(("https://", "http://")):
        parts.append(f'<p><a href="{escape(row.url)}" rel="noopener noreferrer">{escape(row.url)}</a></p>')
    if row.reason:
        parts.append(f"<p>{escape(row.reason)}</p>")
    if row.results:
        parts.append("<table><tr><th>check</th><th>status</th><th>severity</th><th>message</th></tr>")
        for r in row.results:
            status = str(r["status"])
            parts.append(
                f'<tr><td><code>{escape(str(r["check"]))}</code></td><td class="{_cls(status)}">{escape(status)}</td>'
                f"<td>{escape(str(r['severity']))}</td><td>{escape(str(r['message']))}</td></tr>"
            )
        parts.append("</table>")
    parts += [f'<p class="muted">{escape(n)}</p>' for n in row.notes]
    parts.append("</section>")
    return "".join(parts)


def render(report: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> str:
    s = compute(report, previous)
    summ, fleet = report["summary"], report["fleet"]
    title = f"Fleet scorecard: {fleet['owner']} ({fleet['platform']})"
    head = "".join(f"<th>{escape(a)}</th>" for a in s.areas)
    rows = "".join(_row(i, row, s.areas) for i, row in enumerate(s.rows))
    rates = "".join(
        f"<tr><td><code>{escape(r.check)}</code></td><td>{escape(r.area)}</td>"
        f'<td data-sort="{r.rate if r.rate is not None else -1}">'
        f'<span class="bar" style="width:{int((r.rate or 0) * 80)}px"></span> {percent(r.rate)}</td>'
        f"<td>{r.passed} / {r.total}</td><td>{escape(delta(r.rate, r.previous))}</td></tr>"
        for r in s.rates
    )
    was = f" (was {s.previous_pass})" if s.previous_pass is not None else ""
    findings = "".join(_findings(i, row) for i, row in enumerate(s.rows) if row.status != "excluded")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{escape(title)}</title><style>{CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p id="summary"><strong>Verdict: {escape(str(report["verdict"]))}</strong> · {summ["judged"]} judged:
<span id="passing">{summ["pass"]}</span> pass{escape(was)}, {summ["fail"]} fail, {summ["error"]} error ·
{summ["not_judged"]} not judged · {report["requests"]["counted"]} counted requests ·
generated {escape(str(report.get("generated_at", "")))} by mlops-gate {escape(str(report["tool"]["version"]))}</p>
<h2>Repositories</h2>
<div id="controls"><input id="filter" type="search" placeholder="filter repositories" aria-label="filter repositories">
<select id="verdict" aria-label="verdict"><option value="">every verdict</option>
<option>pass</option><option>fail</option>
<option>error</option><option>not judged</option><option>excluded</option></select>
<span class="muted"><span id="shown"></span> shown</span></div>
<table id="fleet"><thead><tr><th>repository</th><th>verdict</th>{head}<th>requests</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>Pass rate per check</h2>
<table id="rates"><tr><th>check</th><th>area</th><th>pass rate</th><th>passed / judged</th><th>change</th></tr>
{rates}</table>
<h2>Findings</h2>{findings}
<script>{JS}</script></body></html>
"""
