"""GitLab code quality report of `kwhen check` (a JSON array of issues,
uploaded as `artifacts: reports: codequality`), so findings show in merge
requests."""

from __future__ import annotations

import json

from kwhen.report.core import Report
from kwhen.report.fingerprint import SourceLines, fingerprint


def build_gitlab(report: Report) -> list[dict]:
    sources = SourceLines(report.tree)
    issues = []
    for f in report.sorted_findings:
        description = f"[{f.kind}] {f.message}"
        if f.witness_text:
            description += f" (e.g. {f.witness_text})"
        issues.append({
            "type": "issue",
            "check_name": f.kind,
            "description": description,
            "categories": ["Bug Risk"],
            "severity": "major",
            "fingerprint": fingerprint(f, sources),
            "location": {"path": f.file, "lines": {"begin": max(int(f.line or 1), 1)}},
        })
    return issues


def render_gitlab(report: Report) -> str:
    return json.dumps(build_gitlab(report), indent=2) + "\n"
