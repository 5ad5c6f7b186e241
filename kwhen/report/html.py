"""A self-contained HTML page of `kwhen check` findings: inline CSS, no
script, no font or image from anywhere, readable offline. Everything from
the tree or the patch is escaped.

The page names each change checked (commit, subject, author), then each
finding with the lines of code around it, every line with the condition
under which it is built, and links: from the summary to each finding, from
a related location to the finding at that place when there is one.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from kwhen.checks.messages import KINDS, Finding
from kwhen.report.core import Report
from kwhen.report.text import summary_line, verification

CSS = """
:root { --ink: #1d1f24; --muted: #5d6470; --rule: #d9dce1; --paper: #fff; --tint: #f5f6f8;
        --warn: #b35c00; --accent: #0b5cad; --hit: #fff4d6; --mono: ui-monospace, "DejaVu Sans Mono",
        "Liberation Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink);
       background: var(--paper); margin: 0 auto; padding: 2rem 1.5rem 4rem; max-width: 64rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .3rem; }
h2 { font-size: 1.15rem; margin: 2.2rem 0 .8rem; padding-bottom: .3rem; border-bottom: 1px solid var(--rule); }
p.summary { color: var(--muted); margin: .2rem 0 1.2rem; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
td, th { border-bottom: 1px solid var(--rule); padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { font-weight: 600; color: var(--muted); width: 11rem; }
table.changes td:first-child, table.kinds td:first-child { font-family: var(--mono); font-size: .9rem; }
.finding { border: 1px solid var(--rule); border-left: .35rem solid var(--warn); border-radius: .3rem;
           padding: 1rem 1.2rem; margin: 1.2rem 0; background: var(--paper); }
.finding:target { box-shadow: 0 0 0 3px #ffd27a; }
.head { font-size: 1.02rem; }
.loc { font-family: var(--mono); font-weight: 600; font-size: .93rem; }
.kind { font-family: var(--mono); font-size: .85rem; color: var(--warn); background: #fff1e0;
        padding: .05rem .4rem; border-radius: .25rem; white-space: nowrap; }
.change { color: var(--muted); font-size: .9rem; margin-top: .2rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; margin: .8rem 0 0; }
dt { font-weight: 600; color: var(--muted); } dd { margin: 0; }
code { font-family: var(--mono); font-size: .88rem; background: var(--tint); padding: .05rem .3rem;
       border-radius: .2rem; }
table.code { font-family: var(--mono); font-size: .84rem; margin: .9rem 0 .2rem; background: var(--tint);
             border-radius: .3rem; overflow: hidden; table-layout: fixed; }
table.code td { border: 0; padding: .08rem .6rem; white-space: pre-wrap; word-break: break-word; }
table.code td.n { width: 3.5rem; text-align: right; color: var(--muted); user-select: none; }
table.code td.src { width: 60%; }
table.code td.cond { color: #2f6b3a; font-size: .8rem; }
table.code tr.hit { background: var(--hit); } table.code tr.hit td.n { color: var(--ink); font-weight: 600; }
table.code caption { caption-side: top; text-align: left; color: var(--muted); font-family: system-ui, sans-serif;
                     font-size: .8rem; padding: .3rem .6rem; }
ul.related { margin: 0; padding-left: 1.1rem; }
.none { color: #23753a; font-weight: 600; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
"""


def _loc(file, line) -> str:
    return escape(f"{file}:{line}" if line else f"{file}")


def _code(f: Finding) -> str:
    """The lines around the finding, each with its condition."""
    if not f.context:
        return ""
    rows = []
    for n, text, condition in f.context:
        hit = ' class="hit"' if n == f.line else ""
        cond = escape(condition) if condition is not None else ""
        rows.append(f'<tr{hit}><td class="n">{n}</td><td class="src">{escape(text)}</td>'
                    f'<td class="cond">{cond}</td></tr>')
    return ('<table class="code"><caption>the code after the change; right: when each line is '
            f'built{" on " + escape(f.arches[0]) if f.arches else ""}</caption>' + "".join(rows) + "</table>")


def _finding(f: Finding, n: int, anchors: dict, change_info: dict) -> str:
    parts = [f'<section class="finding" id="finding-{n}">',
             f'<div class="head"><span class="loc">{_loc(f.file, f.line)}</span> '
             f'<span class="kind">{escape(f.kind)}</span> {escape(f.message)}'
             + (' <em>(present before the change)</em>' if getattr(f, "pre_existing", False) else "")
             + '</div>']
    if f.change:
        info = change_info.get(f.change) or {}
        title = info.get("title")
        parts.append(f'<div class="change">in <code>{escape(str(f.change))}</code>'
                     + (f" {escape(title)}" if title and title != f.change else "") + "</div>")
    parts.append(_code(f))
    parts.append("<dl>")
    if f.condition_before is not None:
        parts.append(f"<dt>before</dt><dd><code>{escape(f.condition_before)}</code></dd>")
    if f.condition_after is not None:
        parts.append(f"<dt>after</dt><dd><code>{escape(f.condition_after)}</code></dd>")
    if f.arches:
        parts.append(f"<dt>arches</dt><dd>{escape(', '.join(map(str, f.arches)))}</dd>")
    if getattr(f, "phases", None):
        parts.append(f"<dt>phases</dt><dd>{escape(', '.join(map(str, f.phases)))}</dd>")
    if f.witness_text:
        verdict = verification(f)
        verified = f"<div>{escape(verdict)}</div>" if verdict else ""
        phase = getattr(f, "witness_phase", None)
        building = f"<div>building {escape(phase)}</div>" if phase else ""
        parts.append(f"<dt>witness</dt><dd><code>{escape(f.witness_text)}</code>{building}"
                     f"{verified}</dd>")
    if f.related:
        items = []
        for r in f.related:
            loc = _loc(r["file"], r["line"])
            target = anchors.get((r["file"], r.get("line")))
            if target is not None and target != n:
                loc = f'<a href="#finding-{target}">{loc}</a>'
            items.append(f'<li><span class="loc">{loc}</span>: {escape(r["message"])}</li>')
        parts.append(f'<dt>related</dt><dd><ul class="related">{"".join(items)}</ul></dd>')
    parts.append("</dl></section>")
    return "\n".join(p for p in parts if p)


def _changes(report: Report) -> str:
    if not report.change_info:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(c.get('id') or ''))}</td><td>{escape(str(c.get('title') or ''))}</td>"
        f"<td>{escape(str(c.get('author') or ''))}</td></tr>" for c in report.change_info)
    return ('<h2>Changes checked</h2><table class="changes"><tr><th>change</th><th>subject</th>'
            f"<th>author</th></tr>{rows}</table>")


def render_html(report: Report) -> str:
    findings = report.sorted_findings
    target = report.target
    info = {c.get("id"): c for c in report.change_info}
    heading = "kwhen check" + (f": {target}" if target else "")
    if len(report.change_info) == 1 and report.change_info[0].get("title"):
        heading = report.change_info[0]["title"]
    counts = Counter(f.kind for f in findings)
    first_of_kind = {}
    for n, f in enumerate(findings, 1):
        first_of_kind.setdefault(f.kind, n)
    rows = "".join(f'<tr><td class="kind">{escape(k)}</td><td>{escape(KINDS.get(k, ""))}</td>'
                   f'<td><a href="#finding-{first_of_kind[k]}">{counts[k]}</a></td></tr>'
                   for k in sorted(counts))
    facts = [("target", target), ("changes checked", len(report.changes)),
             ("arches", ", ".join(map(str, report.arches)))]
    if len(report.change_info) == 1:
        only = report.change_info[0]
        facts[1:1] = [("author", only.get("author")), ("commit", only.get("commit"))]
    facts_html = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                         for k, v in facts if v not in (None, ""))
    anchors = {}
    for n, f in enumerate(findings, 1):
        anchors.setdefault((f.file, f.line), n)
    body = [f"<h1>{escape(heading)}</h1>", f'<p class="summary">{escape(summary_line(report))}</p>',
            f"<table>{facts_html}</table>"]
    if len(report.change_info) > 1:
        body.append(_changes(report))
    if findings:
        body.append('<h2>By kind</h2><table class="kinds"><tr><th>kind</th><th>meaning</th>'
                    f"<th>findings</th></tr>{rows}</table>")
        body.append("<h2>Findings</h2>")
        body.extend(_finding(f, n, anchors, info) for n, f in enumerate(findings, 1))
    else:
        body.append('<p class="none">No findings.</p>')
    body.append(f"<footer>kwhen {escape(report.version)}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape('kwhen check: ' + heading if heading != 'kwhen check' else heading)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")
