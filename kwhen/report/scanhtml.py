"""The HTML page of a scan's results: charts of the findings over time by
kind, by directory, and of the slowest commits, then every finding linked
to its commit and location, and the commits themselves.

The charts are drawn by plotly (plotly.py and plotly.js, MIT, released
monthly by Plotly): its Python package ships plotly.js, so the page
inlines the library and works offline, from a file, with no network and
no build step. (Altair/Vega-Lite would need vl-convert's bundle to inline
its scripts; drawing SVG by hand is what the issue asks not to do.)

Everything that comes from the repository (titles, paths, messages) is
HTML-escaped, in the page and in the charts' data alike: plotly reads a
few tags in its labels, and the data sits inside a <script>.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from html import escape

from kwhen import __version__
from kwhen.exceptions import KwhenError

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1.5em; max-width: 80em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.chart { width: 100%; height: 420px; border: 1px solid #eee; margin: .5em 0 1.5em 0; }
.loc, .sha { font-family: monospace; }
.kind { font-family: monospace; color: #a05000; }
.new { color: #b00000; font-weight: bold; } .old { color: #777; }
.failed { color: #b00000; } .skipped { color: #777; }
footer { margin-top: 3em; color: #777; font-size: .9em; }
"""

KIND_COLOURS = {"moved-narrowed": "#d62728", "narrowed": "#ff7f0e", "dead-added": "#9467bd",
                "alternative-definition": "#1f77b4", "undefined-symbol": "#2ca02c"}


def _plotly():
    try:
        import plotly.graph_objects as go
        import plotly.offline
    except ImportError:
        raise KwhenError("the HTML report of a scan needs plotly: pip install 'kwhen[scale]'") from None
    return go, plotly.offline


def directory_of(path: str, depth: int = 2) -> str:
    """The subsystem a path belongs to, as its first directories
    (drivers/net, arch/arm, lib)."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:depth]) or "(top)"


def _bucket(commits: list[dict]):
    """A function giving the period a commit time falls in, fine enough to
    show a trend over the range: days, weeks or months."""
    times = [c["committed"] for c in commits if c.get("committed")]
    span = (max(times) - min(times)) / 86400 if times else 0
    if span <= 62:
        return lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d"), "day"
    if span <= 2 * 365:
        def week(t):
            d = dt.datetime.fromtimestamp(t, dt.timezone.utc).date()
            return (d - dt.timedelta(days=d.weekday())).isoformat()
        return week, "week"
    return lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m"), "month"


def _figure_html(fig, div_id: str) -> str:
    fig.update_layout(margin={"l": 60, "r": 20, "t": 40, "b": 60}, template="plotly_white",
                      legend={"orientation": "h", "y": -0.2})
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       default_height="420px", config={"displaylogo": False, "responsive": True})


def _charts(commits: list[dict], findings: list[dict]) -> list[tuple[str, str]]:
    go, _ = _plotly()
    by_sha = {c["sha"]: c for c in commits}
    kinds = sorted({f["kind"] for f in findings})
    charts = []

    bucket, unit = _bucket(commits)
    periods = sorted({bucket(c["committed"]) for c in commits if c.get("committed")})
    counts = defaultdict(Counter)
    for f in findings:
        c = by_sha.get(f["commit"])
        if c and c.get("committed"):
            counts[f["kind"]][bucket(c["committed"])] += 1
    fig = go.Figure([go.Bar(name=escape(k), x=periods, y=[counts[k][p] for p in periods],
                            marker_color=KIND_COLOURS.get(k)) for k in kinds] or
                    [go.Bar(name="findings", x=periods, y=[0] * len(periods))])
    fig.update_layout(barmode="stack", title=f"Findings per {unit}, by kind",
                      xaxis_title=unit, yaxis_title="findings")
    charts.append(("Findings over time", _figure_html(fig, "chart-time")))

    per_dir = defaultdict(Counter)
    for f in findings:
        per_dir[directory_of(f["file"])][f["kind"]] += 1
    top = sorted(per_dir, key=lambda d: (-sum(per_dir[d].values()), d))[:25][::-1]
    fig = go.Figure([go.Bar(name=escape(k), y=[escape(d) for d in top],
                            x=[per_dir[d][k] for d in top], orientation="h",
                            marker_color=KIND_COLOURS.get(k)) for k in kinds] or
                    [go.Bar(name="findings", y=[], x=[], orientation="h")])
    fig.update_layout(barmode="stack", title="Findings by directory (the 25 with most)",
                      xaxis_title="findings")
    charts.append(("Findings by directory", _figure_html(fig, "chart-dirs")))

    slow = sorted((c for c in commits if c.get("seconds") is not None and c["status"] != "skipped"),
                  key=lambda c: -c["seconds"])[:20][::-1]
    fig = go.Figure([go.Bar(y=[c["sha"][:12] for c in slow], x=[round(c["seconds"], 2) for c in slow],
                            orientation="h", marker_color="#7f7f7f",
                            hovertext=[escape(c["title"] or "") for c in slow])])
    fig.update_layout(title="The slowest commits (seconds)", xaxis_title="seconds",
                      yaxis={"type": "category"})
    charts.append(("Slowest commits", _figure_html(fig, "chart-slow")))
    return charts


def _commit_link(sha: str, commit_url: str | None) -> str:
    href = escape(commit_url.replace("{sha}", sha)) if commit_url else f"#commit-{sha}"
    return f'<a class="sha" href="{href}">{escape(sha[:12])}</a>'


def _source_link(sha: str, file: str, line, n: int, source_url: str | None) -> str:
    loc = f"{file}:{line}" if line else file
    if source_url:
        href = source_url.replace("{sha}", sha).replace("{file}", file).replace(
            "{line}", str(line or 1))
    else:
        href = f"#finding-{n}"
    return f'<a href="{escape(href)}">{escape(loc)}</a>'


def render_scan_html(report, commits: list[dict], summary: dict,
                     commit_url: str | None = None, source_url: str | None = None) -> str:
    """The page of a scan's `report` (kwhen.report.core.Report of recorded
    findings, in history order), its `commits` (as the database has them)
    and `summary` (kwhen.scan.export.scan_summary)."""
    _, offline = _plotly()
    findings = [f.to_json() for f in report.findings]
    by_sha = {c["sha"]: c for c in commits}
    title = "kwhen scan"
    status = summary["commits"]
    facts = [("kwhen", summary["kwhen"]), ("options", ", ".join(
        f"{k}={v}" for k, v in sorted(summary["options"].items()) if v not in (None, False, []))
        or "defaults"),
        ("commits", f"{len(commits)}: {status.get('done', 0)} checked, {status.get('failed', 0)} "
                    f"failed, {status.get('skipped', 0)} skipped, {status.get('pending', 0)} not done"),
        ("findings", f"{len(findings)}, {summary['new_findings']} new in their commit")]
    body = [f"<h1>{escape(title)}</h1>",
            "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                                for k, v in facts) + "</table>"]
    for heading, html in _charts(commits, findings):
        body.append(f"<h2>{escape(heading)}</h2><div class=\"chart-box\">{html}</div>")

    body.append("<h2>Findings</h2>")
    if findings:
        rows = []
        for n, f in enumerate(findings, 1):
            c = by_sha.get(f["commit"], {})
            when = (dt.datetime.fromtimestamp(c["committed"], dt.timezone.utc).strftime("%Y-%m-%d")
                    if c.get("committed") else "")
            new = '<span class="new">new</span>' if f.get("new") else '<span class="old">already present</span>'
            rows.append(f'<tr id="finding-{n}"><td>{escape(when)}</td>'
                        f'<td>{_commit_link(f["commit"], commit_url)}</td>'
                        f'<td class="loc">{_source_link(f["commit"], f["file"], f.get("line"), n, source_url)}</td>'
                        f'<td class="kind">{escape(f["kind"])}</td><td>{new}</td>'
                        f'<td>{escape(f.get("message") or "")}</td></tr>')
        body.append("<table><tr><th>date</th><th>commit</th><th>location</th><th>kind</th>"
                    "<th></th><th>message</th></tr>" + "".join(rows) + "</table>")
    else:
        body.append("<p>No findings.</p>")

    body.append("<h2>Commits</h2>")
    rows = []
    for c in commits:
        seconds = f"{c['seconds']:.2f}" if c.get("seconds") is not None else ""
        reason = f": {escape(c['reason'])}" if c.get("reason") else ""
        rows.append(f'<tr id="commit-{escape(c["sha"])}"><td>{_commit_link(c["sha"], commit_url)}</td>'
                    f'<td>{escape(c.get("title") or "")}</td>'
                    f'<td class="{escape(c["status"])}">{escape(c["status"])}{reason}</td>'
                    f"<td>{seconds}</td></tr>")
    body.append("<table><tr><th>commit</th><th>title</th><th>status</th><th>seconds</th></tr>"
                + "".join(rows) + "</table>")
    body.append(f"<footer>kwhen {escape(__version__)}; charts by plotly</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n"
            f"<script type=\"text/javascript\">{offline.get_plotlyjs()}</script>\n"
            "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")
