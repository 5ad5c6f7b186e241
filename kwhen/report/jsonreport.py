"""JSON report of `kwhen check`: {"version": 1, "summary": {...}, "findings": [...]}.

Each finding is `Finding.to_json()`: kind, file, line, message, arches,
condition_before, condition_after, witness, witness_base, witness_text,
related, change, verified.
"""

from __future__ import annotations

import json

from kwhen.exceptions import KwhenError
from kwhen.report.core import Report

VERSION = 1


def build_json(report: Report) -> dict:
    return {
        "version": VERSION,
        "summary": report.summary,
        "findings": [f.to_json() for f in report.sorted_findings],
    }


def render_json(report: Report) -> str:
    return json.dumps(build_json(report), indent=2, sort_keys=False, default=str) + "\n"


def load_json(text: str, source: str = "<json>") -> tuple[list[dict], dict]:
    """Read a report back: (findings as their JSON dicts, summary)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise KwhenError(f"not a kwhen JSON report: {e.msg}", path=source, line=e.lineno) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise KwhenError(f"not a kwhen JSON report of version {VERSION}", path=source)
    return list(data.get("findings", [])), data.get("summary", {})
