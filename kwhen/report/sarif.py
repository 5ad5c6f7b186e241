"""SARIF 2.1.0 report of `kwhen check`, for code-scanning front ends.

One run; tool.driver "kwhen" with one rule per finding kind; each finding a
result with a location relative to %SRCROOT%, related locations and the
conditions and witness as properties.
"""

from __future__ import annotations

import json

from pathlib import Path

from kwhen.checks.messages import KINDS, Finding
from kwhen.report.core import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"


def _location(file: str, line: int | None, message: str | None = None, ident: int | None = None) -> dict:
    physical: dict = {"artifactLocation": {"uri": _uri(file), "uriBaseId": "SRCROOT"}}
    if line and int(line) >= 1:
        physical["region"] = {"startLine": int(line)}
    loc: dict = {"physicalLocation": physical}
    if ident is not None:
        loc["id"] = ident
    if message:
        loc["message"] = {"text": message}
    return loc


def _uri(path: str) -> str:
    from urllib.parse import quote
    return quote(str(path).lstrip("/"), safe="/-_.~+@")


def _result(f: Finding, rule_index: dict) -> dict:
    result = {
        "ruleId": f.kind,
        "level": "warning",
        "message": {"text": f.message},
        "locations": [_location(f.file, f.line)],
    }
    if f.kind in rule_index:
        result["ruleIndex"] = rule_index[f.kind]
    related = [_location(r.get("file", ""), r.get("line"), r.get("message"), i)
               for i, r in enumerate(f.related)]
    if related:
        result["relatedLocations"] = related
    props = {
        "arches": list(f.arches or []),
        "conditions": {"before": f.condition_before, "after": f.condition_after},
        "witness": {"base": f.witness_base, "changes": f.witness_changes or {},
                    "text": f.witness_text},
    }
    if f.change:
        props["change"] = f.change
    if f.verified is not None:
        props["verified"] = f.verified
    result["properties"] = props
    return result


def build_sarif(report: Report) -> dict:
    findings = report.sorted_findings
    kinds = list(KINDS) + sorted({f.kind for f in findings} - set(KINDS))
    rules = [{"id": k, "name": k, "shortDescription": {"text": KINDS.get(k, k)},
              "defaultConfiguration": {"level": "warning"}} for k in kinds]
    rule_index = {k: i for i, k in enumerate(kinds)}
    run: dict = {
        "tool": {"driver": {"name": "kwhen", "version": report.version, "rules": rules}},
        "results": [_result(f, rule_index) for f in findings],
        "columnKind": "unicodeCodePoints",
        "properties": {"summary": report.summary},
    }
    if report.tree:
        # where the results' SRCROOT-relative locations are
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": Path(report.tree).resolve().as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> str:
    return json.dumps(build_sarif(report), indent=2, default=str) + "\n"
