"""Compiler-style text report of `kwhen check` findings.

    drivers/foo.c:42: warning: [moved-narrowed] code moved here from drivers/foo.c:10 ...
      before: when FOO
      after:  when FOO && SMP
      arches: x86
      witness on x86: make ARCH=x86 x86_64_defconfig, then set (make olddefconfig does the rest):
        # CONFIG_SMP is not set
    drivers/foo.c:10: note: the code was here, built when FOO
    kwhen: 1 finding in 1 change (x86)
    kwhen: checked on x86; ruled out without modelling: arm64 (...)
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


def scope_lines(report: Report) -> list[str]:
    """Which architectures were checked, and which were ruled out without
    modelling and why: one line, or one per change of a range (each
    change has its own scope)."""
    if len(report.scopes) > 1:
        return [f"kwhen: {s['change']}: {_scope_text([s], s['checked'], s['ruled_out'])}"
                for s in report.scopes]
    if not report.scopes:
        return []
    return ["kwhen: " + _scope_text(report.scopes, report.arches_checked,
                                    report.arches_ruled_out)]


def _scope_text(scopes: list, checked: list, ruled_out: dict) -> str:
    parts = [f"checked on {', '.join(checked)}"]
    unmodelled = []
    for s in scopes:
        unmodelled.extend(a for a in s["unmodelled"] if a not in unmodelled)
    if unmodelled:
        parts.append(f"losing by the #if alone, not modelled: {', '.join(sorted(unmodelled))}")
    by_reason: dict = {}
    for arch, why in sorted(ruled_out.items()):
        by_reason.setdefault(why, []).append(arch)
    for why, arches in by_reason.items():
        parts.append(f"ruled out without modelling: {', '.join(arches)} ({why})")
    notes = sorted({s["not_ruled_out"] for s in scopes if s["not_ruled_out"]})
    parts.extend(f"other architectures not ruled out: {n}" for n in notes)
    return "; ".join(parts)


def verification(f) -> str | None:
    """What --verify said of the finding's witness, if it ran."""
    if f.verified is None:
        return None
    return "verified with make olddefconfig" if f.verified else "NOT confirmed by make olddefconfig"


def _finding_lines(f):
    """(style, text) lines of one finding, as gcc writes a warning and its
    notes: `path:line: warning: ...`, then `path:line: note: ...`."""
    before = [("dim", " (present before the change)")] if getattr(f, "pre_existing", False) else []
    yield [("bold", f"{f.file}:{f.line}:"), ("", " "), ("bold magenta", "warning:"),
           ("", " "), ("bold", f"[{f.kind}]"), ("", f" {f.message}"), *before]
    if f.before_in_words is not None:
        yield [("", "  before: "), ("cyan", f.before_in_words)]
    if f.after_in_words is not None:
        yield [("", "  after:  "), ("cyan", f.after_in_words)]
    if f.arches:
        also = f.unmodelled_arches
        more = f" (also by its #if alone, not modelled: {', '.join(also)})" if also else ""
        yield [("", f"  arches: {', '.join(f.arches)}{more}")]
    if getattr(f, "phases", None):
        yield [("", f"  phases: {', '.join(f.phases)}")]
    if f.witness_text is not None:
        verdict = verification(f)
        fragment = f.witness_fragment
        on = f" on {f.witness_arch}" if f.witness_arch else ""
        phase = getattr(f, "witness_phase", None)
        if phase:
            on += f", building {phase}"
        if fragment and f.witness_recipe:
            yield [("", f"  witness{on}: {f.witness_recipe}, then set (make olddefconfig "
                        "does the rest):"), ("dim", f" ({verdict})" if verdict else "")]
            for line in fragment:
                yield [("green", f"    {line}")]
        elif f.witness_recipe:
            yield [("", f"  witness{on}: "), ("green", f.witness_recipe),
                   ("", ", as it is"), ("dim", f" ({verdict})" if verdict else "")]
        else:
            yield [("", f"  witness{on}: "), ("green", f.witness_text),
                   ("dim", f" ({verdict})" if verdict else "")]
    for r in f.related:
        loc = f"{r['file']}:{r['line']}:" if r.get("line") else f"{r['file']}:"
        yield [("bold", loc), ("", " note: "), ("", r["message"])]


def _blocks(report: Report):
    """(style, text) pieces, line by line; style is a rich style or ''.
    Findings of several changes are grouped by change, each under its
    commit id and subject."""
    findings = report.sorted_findings
    several_changes = len({f.change for f in findings}) > 1
    order = {c: i for i, c in enumerate(report.changes)}
    if several_changes:
        findings = sorted(findings, key=lambda f: (order.get(f.change, len(order)), f.sort_key))
    subjects = {c.get("id"): c.get("title") for c in report.change_info}
    current = object()
    for f in findings:
        if several_changes and f.change != current:
            current = f.change
            subject = subjects.get(f.change)
            yield [("bold", f"{f.change}" + (f": {subject}" if subject else ""))]
        yield from _finding_lines(f)
    for skipped in sorted(report.skipped, key=lambda s: s.sort_key):
        yield [("bold yellow", "kwhen: skipped:"), ("", f" {skipped.message}")]
    yield [("bold", summary_line(report))]
    if report.pre_existing_hidden:
        n = report.pre_existing_hidden
        yield [("dim", f"kwhen: {_plural(n, 'finding')} the parent already had "
                       f"{'is' if n == 1 else 'are'} not shown (--all-findings shows "
                       f"{'it' if n == 1 else 'them'})")]
    for scope in scope_lines(report):
        yield [("dim", scope)]


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
