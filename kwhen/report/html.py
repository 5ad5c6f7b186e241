"""A self-contained HTML page of `kwhen check` findings: inline CSS, no
script, readable offline. Everything from the tree or the patch is escaped."""

from __future__ import annotations

from collections import Counter
from html import escape

from kwhen.checks.messages import KINDS, Finding
from kwhen.report.core import Report
from kwhen.report.text import summary_line, verification

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1.5em; max-width: 70em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .6em; text-align: left; }
th { background: #f3f3f3; }
.finding { border: 1px solid #ddd; border-left: .4em solid #d08000; padding: .6em 1em; margin: 1em 0; }
.loc { font-family: monospace; font-weight: bold; }
.kind { font-family: monospace; color: #a05000; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; margin: .6em 0 0 0; }
dt { font-weight: bold; } dd { margin: 0; }
code, pre { font-family: monospace; background: #f6f6f6; }
pre { padding: .4em; margin: 0; white-space: pre-wrap; }
ul.related { margin: .3em 0; padding-left: 1.2em; }
.none { color: #070; }
footer { margin-top: 3em; color: #777; font-size: .9em; }
"""


def _loc(file, line) -> str:
    return escape(f"{file}:{line}" if line else f"{file}")


def _finding(f: Finding, n: int) -> str:
    parts = [f'<div class="finding" id="finding-{n}">',
             f'<div><span class="loc">{_loc(f.file, f.line)}</span> '
             f'<span class="kind">[{escape(f.kind)}]</span> {escape(f.message)}</div>', "<dl>"]
    if f.change:
        parts.append(f"<dt>change</dt><dd><code>{escape(str(f.change))}</code></dd>")
    if f.condition_before is not None:
        parts.append(f"<dt>before</dt><dd><code>{escape(f.condition_before)}</code></dd>")
    if f.condition_after is not None:
        parts.append(f"<dt>after</dt><dd><code>{escape(f.condition_after)}</code></dd>")
    if f.arches:
        parts.append(f"<dt>arches</dt><dd>{escape(', '.join(map(str, f.arches)))}</dd>")
    if f.witness_text:
        verdict = verification(f)
        verified = f"<div>{escape(verdict)}</div>" if verdict else ""
        parts.append(f"<dt>witness</dt><dd><code>{escape(f.witness_text)}</code>{verified}</dd>")
    if f.related:
        items = "".join(f'<li><span class="loc">{_loc(r["file"], r["line"])}</span>: '
                        f'{escape(r["message"])}</li>' for r in f.related)
        parts.append(f'<dt>related</dt><dd><ul class="related">{items}</ul></dd>')
    parts.append("</dl></div>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    findings = report.sorted_findings
    target = report.target
    title = "kwhen check" + (f": {target}" if target else "")
    counts = Counter(f.kind for f in findings)
    rows = "".join(f"<tr><td class=\"kind\">{escape(k)}</td><td>{escape(KINDS.get(k, ''))}</td>"
                   f"<td>{counts[k]}</td></tr>" for k in sorted(counts))
    facts = [("target", target), ("changes checked", len(report.changes)),
             ("arches", ", ".join(map(str, report.arches)))]
    facts_html = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                         for k, v in facts if v not in (None, ""))
    body = [f"<h1>{escape(title)}</h1>", f"<table>{facts_html}</table>",
            f"<p>{escape(summary_line(report))}</p>"]
    if findings:
        body.append("<h2>By kind</h2><table><tr><th>kind</th><th>meaning</th><th>findings</th></tr>"
                    f"{rows}</table>")
        body.append("<h2>Findings</h2>")
        body.extend(_finding(f, n) for n, f in enumerate(findings, 1))
    else:
        body.append('<p class="none">No findings.</p>')
    body.append(f"<footer>kwhen {escape(report.version)}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
