"""Reports of a scan's results, read from its database without scanning:
text and JSON and SARIF as `kwhen check` writes them (with each finding's
commit and whether it is new there), and an HTML page with charts
(`kwhen.report.scanhtml`)."""

from __future__ import annotations

import json
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.sqldata import ScanStore

FORMATS = ("text", "json", "sarif", "html")


def choose_result_set(store: ScanStore, result_set: int | None = None,
                      options: dict | None = None) -> dict:
    """The result set a report is of: the one asked for; else the one of
    this kwhen and `options`, if it has results; else the last used."""
    from kwhen.scan.driver import result_options
    from kwhen.scan.worker import kwhen_version

    sets = store.result_sets()
    if not sets:
        raise KwhenError("the scan database holds no results", path=str(store.path))
    if result_set is not None:
        for s in sets:
            if s["id"] == result_set:
                return s
        raise KwhenError(f"no result set {result_set} (the database has "
                         f"{', '.join(str(s['id']) for s in sets)})", path=str(store.path))
    if options is not None:
        mine = store.result_set(kwhen_version(), result_options(options), create=False)
        for s in sets:
            if s["id"] == mine and s["commits"]:
                return s
    return sets[0]


def load(db: Path, result_set: int | None = None, options: dict | None = None):
    """(result set, commits, finding dicts) of the database `db`."""
    store = ScanStore(db, create=False)
    try:
        chosen = choose_result_set(store, result_set, options)
        store.mark_new(chosen["id"])
        return chosen, store.commits(chosen["id"]), store.findings(chosen["id"])
    finally:
        store.close()


def report_of(chosen: dict, commits: list[dict], entries: list[dict]):
    """The `kwhen.report.core.Report` of a result set: its findings read
    back (each with its commit and whether it is new there), the commits
    checked, the architectures."""
    from kwhen.report.core import RecordedFinding, Report

    findings = [RecordedFinding({k: v for k, v in e.items() if k not in ("commit", "new")},
                                commit=e["commit"], new=e["new"]) for e in entries]
    arches = sorted({a for e in entries for a in e.get("arches") or []})
    return Report(findings, f"scan result set {chosen['id']}",
                  [c["sha"][:12] for c in commits if c["status"] == "done"], arches,
                  version=chosen["version"])


def scan_summary(chosen: dict, commits: list[dict], entries: list[dict]) -> dict:
    counts = {status: 0 for status in ("done", "failed", "skipped", "pending")}
    for c in commits:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return {"result_set": chosen["id"], "kwhen": chosen["version"], "options": chosen["options"],
            "commits": counts, "new_findings": sum(1 for e in entries if e.get("new"))}


def render_scan(db: Path, fmt: str = "text", result_set: int | None = None,
                options: dict | None = None, commit_url: str | None = None,
                source_url: str | None = None) -> str:
    if fmt not in FORMATS:
        raise KwhenError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    chosen, commits, entries = load(db, result_set, options)
    report = report_of(chosen, commits, entries)
    summary = scan_summary(chosen, commits, entries)
    if fmt == "html":
        from kwhen.report.scanhtml import render_scan_html
        return render_scan_html(report, commits, summary, commit_url=commit_url,
                                source_url=source_url)
    if fmt == "json":
        from kwhen.report.jsonreport import build_json
        data = build_json(report)
        data["summary"].update(summary)
        data["commits"] = [{k: c[k] for k in ("sha", "parent", "committed", "author", "title",
                                              "status", "reason", "seconds", "worker")}
                           for c in commits]
        return json.dumps(data, indent=2, default=str) + "\n"
    if fmt == "sarif":
        from kwhen.report.sarif import build_sarif
        data = build_sarif(report)
        data["runs"][0]["properties"]["summary"].update(summary)
        for result, f in zip(data["runs"][0]["results"], report.sorted_findings):
            result["properties"]["commit"] = f.extra["commit"]
            result["properties"]["new"] = f.extra["new"]
        return json.dumps(data, indent=2, default=str) + "\n"
    from kwhen.report.text import format_text
    counts = summary["commits"]
    lines = [f"kwhen scan: {len(commits)} commits: {counts['done']} checked, "
             f"{counts['failed']} failed, {counts['skipped']} skipped, "
             f"{counts['pending']} not done yet; {summary['new_findings']} of "
             f"{len(entries)} findings new in their commit"]
    lines += [f"  failed: {c['sha'][:12]} {c['title']}: {c['reason']}"
              for c in commits if c["status"] == "failed"]
    return format_text(report) + "\n".join(lines) + "\n"
