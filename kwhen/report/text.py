"""Compiler-style text report of `kwhen check` findings.

    drivers/foo.c:42: warning: [narrowed] foo_init() is no longer built on ...
      before: FOO
      after:  FOO && SMP
      arches: x86
      witness: x86_64_defconfig + # CONFIG_SMP is not set
      note: drivers/foo.c:10: the #ifdef that now excludes it
    kwhen: 1 finding in 1 change (x86)
"""

from __future__ import annotations

import sys

from kwhen.report.core import Report
from kwhen.report.printable import printable


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary_line(report: Report) -> str:
    findings = report.findings
    changes = len(report.changes)
    if not findings:
        return f"kwhen: no findings in {_plural(changes, 'change')}"
    arches = sorted({a for f in findings for a in (f.arches or [])}) or list(report.arches)
    changed = changes or len({f.change for f in findings}) or 1
    where = f" ({', '.join(arches)})" if arches else ""
    return f"kwhen: {_plural(len(findings), 'finding')} in {_plural(changed, 'change')}{where}"


def verification(f) -> str | None:
    """What --verify said of the finding's witness, if it ran."""
    if f.verified is None:
        return None
    return "verified with make olddefconfig" if f.verified else "NOT confirmed by make olddefconfig"


def _blocks(report: Report):
    """(style, text) pieces, line by line; style is a rich style or ''."""
    findings = report.sorted_findings
    several_changes = len({f.change for f in findings}) > 1
    for f in findings:
        head = [("bold", f"{f.file}:{f.line}:"), ("", " "), ("bold magenta", "warning:"),
                ("", " "), ("bold", f"[{f.kind}]"), ("", f" {f.message}")]
        yield head
        if several_changes and f.change:
            yield [("dim", f"  change: {f.change}")]
        if f.condition_before is not None:
            yield [("", "  before: "), ("cyan", f.condition_before)]
        if f.condition_after is not None:
            yield [("", "  after:  "), ("cyan", f.condition_after)]
        if f.arches:
            yield [("", f"  arches: {', '.join(f.arches)}")]
        if getattr(f, "phases", None):
            yield [("", f"  phases: {', '.join(f.phases)}")]
        if f.witness_text:
            verdict = verification(f)
            yield [("", "  witness: "), ("green", f.witness_text),
                   ("dim", f" ({verdict})" if verdict else "")]
        for r in f.related:
            loc = f"{r['file']}:{r['line']}" if r.get("line") else f"{r['file']}"
            yield [("", "  note: "), ("bold", f"{loc}:"), ("", f" {r['message']}")]
    for skipped in sorted(report.skipped, key=lambda s: s.sort_key):
        yield [("bold yellow", "kwhen: skipped:"), ("", f" {skipped.message}")]
    yield [("bold", summary_line(report))]


def format_text(report: Report) -> str:
    """The plain report, one string ending with a newline."""
    return "".join("".join(printable(text) for _s, text in line) + "\n" for line in _blocks(report))


def write_text(report: Report, stream=None, color: bool | None = None) -> None:
    """Write the report to `stream` (stdout); colour (via rich) only on a terminal
    unless `color` says otherwise."""
    stream = stream or sys.stdout
    if color is None:
        color = hasattr(stream, "isatty") and stream.isatty()
    if not color:
        stream.write(format_text(report))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
    for line in _blocks(report):
        text = Text()
        for style, piece in line:
            text.append(printable(piece), style=style or None)
        console.print(text)
