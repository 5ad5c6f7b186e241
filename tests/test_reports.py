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
from kwhen.checks.messages import (KINDS, AlternativeDefinition, DeadAdded, MovedNarrowed,
                                   NarrowedFile, NarrowedLines, NarrowedSymbol,
                                   UndefinedReference, UndefinedSymbol)
from kwhen.logic.formula import conj, disj, neg, var
from kwhen.logic.solver import Witness
from kwhen.report.core import Report
from kwhen.report.html import render_html
from kwhen.report.jsonreport import load_json, render_json
from kwhen.report.sarif import build_sarif, render_sarif
from kwhen.report.text import format_text, write_text
from kwhen.wording import describe, in_words, settings

NO_SMP = Witness(base_name="x86_64_defconfig", values={"SMP": "n"}, changes=[("SMP", "y", "n")],
                 free={})


def _findings():
    return [
        MovedNarrowed(file="drivers/net/foo.c", line=42, source_file="drivers/net/foo.c",
                      source_line=40, arches=["x86"], before=var("FOO"),
                      after=conj(var("FOO"), var("SMP")), losing=neg(var("SMP")), witness=NO_SMP,
                      change="abc123def456"),
        UndefinedSymbol(file="drivers/net/Makefile", line=7, arches=["x86"],
                        references=[UndefinedReference("<script>alert(1)</script>")],
                        change="abc123def456"),
    ]


def _report(findings=None, changes=("abc123def456",), arches=("x86",), target="HEAD"):
    return Report(_findings() if findings is None else findings, target, list(changes),
                  list(arches), tree="/tmp/src")


# -- wording -------------------------------------------------------------------------

def test_each_kind_words_its_arguments():
    types = {"FOO": "tristate"}
    moved, undefined = _findings()
    assert moved.message == ("code moved here from drivers/net/foo.c:40 is built in fewer "
                             "configurations: no longer built when SMP=n")
    assert moved.related == [{"file": "drivers/net/foo.c", "line": 40,
                              "message": "the code was here, built when FOO=y"}]
    assert NarrowedLines(file="a.c", line=3, last=5, losing=neg(var("SMP"))).message == \
        "lines 3-5 stay but the #if around them changed: no longer built when SMP=n"
    assert NarrowedFile(file="a.c", line=1, losing=neg(var("FOO")), types=types).message == \
        "the file stays but a Makefile changed: no longer built when FOO!=y"
    symbol = NarrowedSymbol(file="Kconfig", line=10, symbol="SMP", losing=neg(var("X86_64")),
                            files=["a.c", "b.c", "c.c", "d.c"])
    assert symbol.message == ("SMP can no longer be enabled when X86_64=n, so a.c, b.c, c.c and "
                              "1 more are no longer built then")
    dead = DeadAdded(file="a.c", line=2, last=2, reason="conflict", built=var("SMP"),
                     cpp=neg(var("SMP")), after=conj(var("SMP"), neg(var("SMP=m"))))
    assert dead.message == ("added line 2 no configuration builds: the file is compiled only "
                            "when SMP but the #if needs !SMP")
    assert DeadAdded(file="a.c", line=2, last=4, reason="undefined", symbols=["X", "Y"]).message \
        == "added lines 2-4 no configuration builds: CONFIG_X, CONFIG_Y is defined by no Kconfig file"
    alternative = AlternativeDefinition(file="a.c", line=4, function="f",
                                        alternatives=[("b.c", 12, neg(var("SMP")))])
    assert alternative.message == ("f() is changed here, but b.c:12 defines it instead in other "
                                   "configurations and is left unchanged")
    assert alternative.related[0]["message"] == "f() defined here is the one built when SMP=n"
    assert undefined.message == "CONFIG_<script>alert(1)</script> is not defined by any Kconfig file"
    two = UndefinedSymbol(file="Kconfig", line=16, references=[
        UndefinedReference("A", renamed_from="old.c"), UndefinedReference("B", removed_at="Kconfig:3")])
    assert two.symbols == ["A", "B"]
    assert two.message == ("CONFIG_A is not defined by any Kconfig file (in a file renamed from "
                           "old.c); CONFIG_B is still used here, but the change removed its "
                           "definition (Kconfig:3)")
    assert set(KINDS) == {"moved-narrowed", "narrowed", "dead-added", "alternative-definition",
                          "undefined-symbol", "missing-config-prefix", "missing-definition",
                          "mismatched-signature", "config-test-argument"}


def test_conditions_in_words():
    types = {"FOO": "tristate", "BAR": "tristate"}
    either = disj(var("FOO"), var("FOO=m"))
    assert describe(either, types) == "FOO"
    assert describe(disj(var("A"), var("FOO"), var("FOO=m")), types) == "FOO || A"
    assert describe(conj(neg(either), var("BAR")), types) == "!FOO && BAR=y"
    assert describe(var("FOO=m"), types) == "FOO=m"
    assert settings(conj(neg(var("SMP")), var("X86_32")), {}) == "SMP=n, X86_32=y"
    assert settings(conj(neg(var("FOO")), neg(var("BAR=m"))), types) == "BAR!=m, FOO!=y"
    # propositions that are no symbol's value read as what they test
    assert in_words(neg(var("LMB_MEMORY_REGIONS=1")), {}) == "when LMB_MEMORY_REGIONS!=1"
    assert in_words(neg(var("ARM64_PAGE_SHIFT:=12")), {}) == "when ARM64_PAGE_SHIFT!=12"
    assert settings(conj(neg(var("defined(CMD_BOOTZ)")), var("HZ>100")), {}) == \
        "HZ>100, !defined(CMD_BOOTZ)"


# -- text ----------------------------------------------------------------------------

def test_text_report():
    out = format_text(_report())
    lines = out.splitlines()
    assert ("drivers/net/foo.c:42: warning: [moved-narrowed] code moved here from "
            "drivers/net/foo.c:40 is built in fewer configurations: no longer built when SMP=n") \
        in lines
    assert "  before: when FOO=y" in lines
    assert "  after:  when FOO && SMP" in lines
    assert "  arches: x86" in lines
    # the witness: whose defconfig, then .config lines to paste
    witness = lines.index("  witness on x86: make ARCH=x86 x86_64_defconfig, then set "
                          "(make olddefconfig does the rest):")
    assert lines[witness + 1] == "    # CONFIG_SMP is not set"
    # gcc's order: location, then severity
    assert "drivers/net/foo.c:40: note: the code was here, built when FOO=y" in lines
    assert lines[0].startswith("drivers/net/Makefile:7: warning: [undefined-symbol]")  # sorted
    assert lines[-1] == "kwhen: 2 findings in 1 change (x86)"
    assert "\x1b[" not in out


def test_text_summary_without_findings_and_plain_stream():
    assert format_text(_report([], changes=["a", "b", "c"], target="A..B")) == \
        "kwhen: no findings in 3 changes\n"
    stream = io.StringIO()                      # not a terminal: no colour
    write_text(_report(), stream)
    assert stream.getvalue() == format_text(_report())


def test_text_colour_on_request_keeps_content():
    stream = io.StringIO()
    write_text(_report(), stream, color=True)
    out = stream.getvalue()
    assert "\x1b[" in out
    assert "[moved-narrowed]" in out and "x86_64_defconfig" in out and \
        "# CONFIG_SMP is not set" in out


def test_witness_shown_by_its_decisions():
    witness = Witness(base_name="defconfig", values={}, free={}, prompted=1,
                      changes=[("SMP", "y", "n"), ("FOO", "y", "m")])
    f = DeadAdded(file="a.c", line=1, last=1, reason="undefined", symbols=["X"], witness=witness)
    lines = format_text(_report([f])).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  witness"))
    # every setting the JSON lists is shown, those that follow too
    assert lines[start + 1:start + 3] == ["    # CONFIG_SMP is not set", "    CONFIG_FOO=m"]
    assert f.witness_text == "defconfig + # CONFIG_SMP is not set (then following from these: " \
        "CONFIG_FOO=m)"
    assert "<code>defconfig + # CONFIG_SMP is not set (then following from these: CONFIG_FOO=m)</code>" \
        in render_html(_report([f]))                # the same words in HTML


# -- JSON ----------------------------------------------------------------------------

def test_json_round_trip():
    text = render_json(_report())
    data = json.loads(text)
    assert data["version"] == 1
    summary = {"target": "HEAD", "changes": 1, "findings": 2, "arches": ["x86"],
               "changes_checked": ["abc123def456"], "arches_checked": ["x86"],
               "arches_ruled_out": {}, "scopes": [], "pre_existing_hidden": 0}
    assert data["summary"] == summary
    assert len(data["findings"]) == 2
    documented = {"kind", "file", "line", "message", "arches", "arches_unmodelled",
                  "condition_before", "condition_after",
                  "witness", "witness_base", "witness_text", "related", "change", "verified",
                  "pre_existing"}
    assert all(set(f) == documented for f in data["findings"])
    moved = data["findings"][1]
    assert moved["witness"] == {"SMP": "n"} and moved["witness_base"] == "x86_64_defconfig"
    assert moved["condition_after"] == "FOO && SMP"
    findings, loaded_summary = load_json(text)
    assert loaded_summary == summary
    assert findings == [f.to_json() for f in _report().sorted_findings]


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
    doc = json.loads(render_sarif(_report()))
    errors = list(sarif_validator.iter_errors(doc))
    assert not errors, [e.message for e in errors]
    empty = build_sarif(_report([], changes=[], arches=[]))
    assert not list(sarif_validator.iter_errors(empty))


def test_sarif_invalid_tweak_fails(sarif_validator):
    doc = build_sarif(_report())
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
    doc = build_sarif(_report())
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "kwhen" and driver["version"] == __version__
    assert {r["id"]: r["shortDescription"]["text"] for r in driver["rules"]} == KINDS
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": "file:///tmp/src/"}}
    by_rule = {r["ruleId"]: r for r in run["results"]}
    narrowed = by_rule["moved-narrowed"]
    assert narrowed["level"] == "warning"
    assert narrowed["message"]["text"].startswith("code moved here from drivers/net/foo.c:40")
    loc = narrowed["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "drivers/net/foo.c", "uriBaseId": "SRCROOT"},
                   "region": {"startLine": 42}}
    assert narrowed["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 40
    assert narrowed["relatedLocations"][0]["message"]["text"].startswith("the code was here")
    props = narrowed["properties"]
    assert props["arches"] == ["x86"]
    assert props["conditions"] == {"before": "FOO", "after": "FOO && SMP"}
    assert props["witness"]["text"] == "x86_64_defconfig + # CONFIG_SMP is not set"
    assert driver["rules"][narrowed["ruleIndex"]]["id"] == "moved-narrowed"


# -- HTML ----------------------------------------------------------------------------

def test_html_report():
    page = render_html(_report())
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "drivers/net/foo.c:42" in page and "drivers/net/Makefile:7" in page
    assert "FOO &amp;&amp; SMP" in page
    assert "# CONFIG_SMP is not set" in page              # the witness, as the text shows it
    assert "x86_64_defconfig" in page
    assert "drivers/net/foo.c:40" in page                 # related location
    assert "http://" not in page and "https://" not in page   # nothing from the network
    assert "<style>" in page
    for kind in ("moved-narrowed", "undefined-symbol"):
        assert f">{kind}</td>" in page                    # the summary table by kind


def test_html_without_findings():
    page = render_html(_report([], changes=["a", "b"], arches=["x86", "arm64"], target="A..B"))
    assert "No findings" in page and "kwhen: no findings in 2 changes" in page


def test_a_phase_that_loses_code_in_any_configuration_says_so():
    from kwhen.checks.messages import NarrowedLines
    from kwhen.logic.formula import TRUE

    f = NarrowedLines(file="a.c", line=3, last=5, losing=var("FOO"), arches=["arm"],
                      types={}, phases=["U-Boot proper", "SPL"],
                      phase_losing={"U-Boot proper": var("FOO"), "SPL": TRUE})
    assert f.message.endswith("no longer built in U-Boot proper when FOO=y; "
                              "in SPL in any configuration")
