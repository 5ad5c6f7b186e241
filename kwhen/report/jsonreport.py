"""JSON report of `kwhen check`: {"version": 1, "summary": {...}, "findings": [...]}.

Each finding is `Finding.to_json()`: kind, file, line, message, arches,
condition_before, condition_after, witness, witness_base, witness_text,
related, change, verified.
"""

from __future__ import annotations

import json
from dataclasses import fields

from kwhen.checks.messages import Finding
from kwhen.exceptions import KwhenError

VERSION = 1


def build_json(findings: list[Finding], summary: dict) -> dict:
    return {
        "version": VERSION,
        "summary": dict(summary),
        "findings": [f.to_json() for f in sorted(findings, key=lambda f: f.sort_key)],
    }


def render_json(findings: list[Finding], summary: dict) -> str:
    return json.dumps(build_json(findings, summary), indent=2, sort_keys=False, default=str) + "\n"


def load_json(text: str, source: str = "<json>") -> tuple[list[Finding], dict]:
    """Read a report back: (findings, summary)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise KwhenError(f"not a kwhen JSON report: {e.msg}", path=source, line=e.lineno) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise KwhenError(f"not a kwhen JSON report of version {VERSION}", path=source)
    names = {f.name for f in fields(Finding)}
    findings = [Finding(**{k: v for k, v in d.items() if k in names}) for d in data.get("findings", [])]
    return findings, data.get("summary", {})
