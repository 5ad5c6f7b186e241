"""kwhen.report: text, JSON, SARIF (validated against the official schema), HTML."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from kwhen import __version__
from kwhen.checks.messages import KINDS, Finding
from kwhen.report.html import render_html
from kwhen.report.jsonreport import load_json, render_json
from kwhen.report.sarif import build_sarif, render_sarif
from kwhen.report.text import format_text, write_text

SUMMARY = {"changes": 1, "arches": ["x86"], "target": "HEAD"}


def _findings():
    return [
        Finding(kind="narrowed", file="drivers/net/foo.c", line=42,
                message="foo_init() is built in fewer configurations after the change",
                arches=["x86"], condition_before="FOO", condition_after="FOO && SMP",
                witness={"SMP": "n"}, witness_base="x86_64_defconfig",
                witness_text="x86_64_defconfig + # CONFIG_SMP is not set",
                related=[{"file": "drivers/net/foo.c", "line": 40,
                          "message": "the #ifdef CONFIG_SMP that now encloses it"}],
                change="abc123def456"),
        Finding(kind="undefined-symbol", file="drivers/net/Makefile", line=7,
                message="CONFIG_<script>alert(1)</script> is defined by no Kconfig & is odd",
                arches=["x86"], condition_after="FALSE", change="abc123def456"),
    ]


# -- text ----------------------------------------------------------------------------

def test_text_report():
    out = format_text(_findings(), SUMMARY)
    lines = out.splitlines()
    assert "drivers/net/foo.c:42: warning: [narrowed] foo_init() is built in fewer configurations" \
        " after the change" in lines
    assert "  before: FOO" in lines
    assert "  after:  FOO && SMP" in lines
    assert "  arches: x86" in lines
    assert "  witness: x86_64_defconfig + # CONFIG_SMP is not set" in lines
    assert "  note: drivers/net/foo.c:40: the #ifdef CONFIG_SMP that now encloses it" in lines
    assert lines[0].startswith("drivers/net/Makefile:7: warning: [undefined-symbol]")  # sorted
    assert lines[-1] == "kwhen: 2 findings in 1 change (x86)"
    assert "\x1b[" not in out


def test_text_summary_without_findings_and_plain_stream():
    assert format_text([], {"changes": 3, "arches": ["x86"], "target": "A..B"}) == \
        "kwhen: no findings in 3 changes\n"
    stream = io.StringIO()                      # not a terminal: no colour
    write_text(_findings(), SUMMARY, stream)
    assert stream.getvalue() == format_text(_findings(), SUMMARY)


def test_text_colour_on_request_keeps_content():
    stream = io.StringIO()
    write_text(_findings(), SUMMARY, stream, color=True)
    out = stream.getvalue()
    assert "\x1b[" in out
    assert "[narrowed]" in out and "x86_64_defconfig + # CONFIG_SMP is not set" in out


def test_text_witness_from_dict():
    f = Finding(kind="dead-added", file="a.c", line=1, message="m", witness={"SMP": "n", "FOO": "m"},
                witness_base="defconfig")
    assert "  witness: defconfig + CONFIG_FOO=m, # CONFIG_SMP is not set" in format_text([f], SUMMARY)


# -- JSON ----------------------------------------------------------------------------

def test_json_round_trip():
    text = render_json(_findings(), SUMMARY)
    data = json.loads(text)
    assert data["version"] == 1
    assert data["summary"] == SUMMARY
    assert len(data["findings"]) == 2
    documented = {"kind", "file", "line", "message", "arches", "condition_before", "condition_after",
                  "witness", "witness_base", "witness_text", "related", "change", "verified"}
    assert all(set(f) == documented for f in data["findings"])
    findings, summary = load_json(text)
    assert summary == SUMMARY
    assert sorted(findings, key=lambda f: f.sort_key) == sorted(_findings(), key=lambda f: f.sort_key)


# -- SARIF ---------------------------------------------------------------------------

SCHEMA_NAME = "sarif-2.1.0-rtm.5.json"


def _sarif_schema() -> dict | None:
    """The official SARIF 2.1.0 schema: $KWHEN_SARIF_SCHEMA, the cache, or npm."""
    env = os.environ.get("KWHEN_SARIF_SCHEMA")
    if env:
        return json.loads(Path(env).read_text())
    cache = Path.home() / ".cache" / "kwhen-test" / SCHEMA_NAME
    if not cache.is_file() and shutil.which("npm"):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                proc = subprocess.run(["npm", "pack", "--silent", "@microsoft/jest-sarif"], cwd=tmp,
                                      capture_output=True, text=True, timeout=180)
            except (OSError, subprocess.TimeoutExpired):
                proc = None
            tgz = sorted(Path(tmp).glob("*.tgz"))
            if proc is not None and proc.returncode == 0 and tgz:
                with tarfile.open(tgz[0]) as tar:
                    member = tar.extractfile(f"package/lib/schemas/{SCHEMA_NAME}")
                    data = member.read()
                json.loads(data)
                cache.parent.mkdir(parents=True, exist_ok=True)
                partial = cache.with_suffix(".part")
                partial.write_bytes(data)
                partial.replace(cache)
    if cache.is_file():
        return json.loads(cache.read_text())
    return None


@pytest.fixture(scope="module")
def sarif_validator():
    import jsonschema
    schema = _sarif_schema()
    if schema is None:
        if os.environ.get("CI"):
            pytest.fail("the SARIF 2.1.0 schema could not be obtained (npm pack @microsoft/jest-sarif)")
        pytest.skip("the SARIF 2.1.0 schema is not available (set KWHEN_SARIF_SCHEMA)")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates(sarif_validator):
    doc = json.loads(render_sarif(_findings(), SUMMARY))
    errors = list(sarif_validator.iter_errors(doc))
    assert not errors, [e.message for e in errors]
    empty = build_sarif([], {"changes": 0, "arches": [], "target": "HEAD", "tree": "/tmp"})
    assert not list(sarif_validator.iter_errors(empty))


def test_sarif_invalid_tweak_fails(sarif_validator):
    doc = build_sarif(_findings(), SUMMARY)
    for tweak in ("no-version", "bad-level", "line-zero"):
        bad = copy.deepcopy(doc)
        if tweak == "no-version":
            del bad["version"]
        elif tweak == "bad-level":
            bad["runs"][0]["results"][0]["level"] = "catastrophe"
        else:
            bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
        assert list(sarif_validator.iter_errors(bad)), tweak


def test_sarif_content():
    doc = build_sarif(_findings(), SUMMARY)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "kwhen" and driver["version"] == __version__
    assert {r["id"]: r["shortDescription"]["text"] for r in driver["rules"]} == KINDS
    by_rule = {r["ruleId"]: r for r in run["results"]}
    narrowed = by_rule["narrowed"]
    assert narrowed["level"] == "warning"
    assert narrowed["message"]["text"].startswith("foo_init()")
    loc = narrowed["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "drivers/net/foo.c", "uriBaseId": "SRCROOT"},
                   "region": {"startLine": 42}}
    assert narrowed["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 40
    assert narrowed["relatedLocations"][0]["message"]["text"].startswith("the #ifdef")
    props = narrowed["properties"]
    assert props["arches"] == ["x86"]
    assert props["conditions"] == {"before": "FOO", "after": "FOO && SMP"}
    assert props["witness"]["text"] == "x86_64_defconfig + # CONFIG_SMP is not set"
    assert driver["rules"][narrowed["ruleIndex"]]["id"] == "narrowed"


# -- HTML ----------------------------------------------------------------------------

def test_html_report():
    page = render_html(_findings(), SUMMARY)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "drivers/net/foo.c:42" in page and "drivers/net/Makefile:7" in page
    assert "FOO &amp;&amp; SMP" in page
    assert "# CONFIG_SMP is not set" in page              # the witness as .config lines
    assert "x86_64_defconfig" in page
    assert "drivers/net/foo.c:40" in page                 # related location
    assert "http://" not in page and "https://" not in page   # nothing from the network
    assert "<style>" in page
    for kind in ("narrowed", "undefined-symbol"):
        assert f">{kind}</td>" in page                    # the summary table by kind


def test_html_without_findings():
    page = render_html([], {"changes": 2, "arches": ["x86", "arm64"], "target": "A..B"})
    assert "No findings" in page and "kwhen: no findings in 2 changes" in page
