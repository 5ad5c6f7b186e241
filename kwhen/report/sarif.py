"""SARIF 2.1.0 report of `kwhen check`, for code-scanning front ends.

One run; tool.driver "kwhen" with one rule per finding kind (with help
text and a link to its page in docs/checks.md); each finding a result with
a location relative to %SRCROOT%, related locations, a partial fingerprint
that survives unrelated edits (kwhen.report.fingerprint), and the
conditions and witness as properties; the invocation (command line, working
directory, start and end, success).
"""

from __future__ import annotations

import json

from pathlib import Path

from kwhen import DOCS_URL
from kwhen.checks.messages import KINDS, Finding
from kwhen.report.core import Report
from kwhen.report.fingerprint import SourceLines, fingerprint

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


def _result(f: Finding, rule_index: dict, sources: SourceLines) -> dict:
    result = {
        "ruleId": f.kind,
        "level": "warning",
        "message": {"text": f.message},
        "locations": [_location(f.file, f.line)],
        "partialFingerprints": {"kwhenFinding/v1": fingerprint(f, sources)},
    }
    if f.kind in rule_index:
        result["ruleIndex"] = rule_index[f.kind]
    related = [_location(r.get("file", ""), r.get("line"), r.get("message"), i)
               for i, r in enumerate(f.related)]
    if related:
        result["relatedLocations"] = related
    props = {
        "arches": list(f.arches or []),
        **({"phases": list(f.phases)} if getattr(f, "phases", None) else {}),
        "conditions": {"before": f.condition_before, "after": f.condition_after},
        "witness": {"base": f.witness_base, "changes": f.witness_changes or {},
                    "text": f.witness_text,
                    **({"phase": f.witness_phase} if getattr(f, "witness_phase", None) else {})},
    }
    if f.change:
        props["change"] = f.change
    if f.verified is not None:
        props["verified"] = f.verified
    # kwhen compares each change with its parent: a finding is new, or (with
    # --all-findings) one the parent had already
    result["baselineState"] = "unchanged" if getattr(f, "pre_existing", False) else "new"
    result["properties"] = props
    return result


HELP = ("kwhen models Kconfig, Kbuild and the C preprocessor together and reports code "
        "that a change makes vanish from some configurations. The result shows the "
        "conditions before and after and a witness configuration (changes against the "
        "architecture's defconfig) in which the code is no longer built: build that "
        "configuration to see it.")


def _rule(kind: str) -> dict:
    meaning = KINDS.get(kind, kind)
    url = f"{DOCS_URL}/checks.md#{kind}"
    return {"id": kind, "name": kind, "shortDescription": {"text": meaning},
            "fullDescription": {"text": f"{meaning[:1].upper()}{meaning[1:]}."},
            "help": {"text": f"{meaning[:1].upper()}{meaning[1:]}. {HELP} See {url}",
                     "markdown": f"**{kind}**: {meaning}.\n\n{HELP}\n\n[More on {kind}]({url})"},
            "helpUri": url,
            "defaultConfiguration": {"level": "warning"}}


def _invocation(report: Report) -> dict:
    done = report.invocation
    invocation: dict = {"executionSuccessful": True}
    if done.get("command_line"):
        args = [str(a) for a in done["command_line"]]
        invocation["commandLine"] = " ".join(_shell_quote(a) for a in args)
        invocation["arguments"] = args[1:]
    if done.get("start"):
        invocation["startTimeUtc"] = done["start"]
    if done.get("end"):
        invocation["endTimeUtc"] = done["end"]
    if done.get("working_directory"):
        invocation["workingDirectory"] = {"uri": Path(done["working_directory"]).as_uri() + "/"}
    return invocation


def _shell_quote(arg: str) -> str:
    import shlex
    return shlex.quote(arg)


def build_sarif(report: Report) -> dict:
    findings = report.sorted_findings
    kinds = list(KINDS) + sorted({f.kind for f in findings} - set(KINDS))
    rules = [_rule(k) for k in kinds]
    rule_index = {k: i for i, k in enumerate(kinds)}
    sources = SourceLines(report.tree)
    run: dict = {
        "tool": {"driver": {"name": "kwhen", "version": report.version,
                            "informationUri": DOCS_URL, "rules": rules}},
        "invocations": [_invocation(report)],
        "results": [_result(f, rule_index, sources) for f in findings],
        "columnKind": "unicodeCodePoints",
        "properties": {"summary": report.summary},
    }
    if report.tree:
        # where the results' SRCROOT-relative locations are
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": Path(report.tree).resolve().as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> str:
    return json.dumps(build_sarif(report), indent=2, default=str) + "\n"
