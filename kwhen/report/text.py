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

from kwhen.checks.messages import Finding


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def witness_text(f: Finding) -> str | None:
    """`base + # CONFIG_X is not set, CONFIG_Y=y`, from witness_text or witness."""
    if f.witness_text:
        return f.witness_text
    if not f.witness:
        return f.witness_base
    lines = witness_lines(f.witness)
    return (f"{f.witness_base} + " if f.witness_base else "") + ", ".join(lines)


def witness_lines(witness: dict | None) -> list[str]:
    """The witness as .config lines."""
    out = []
    for sym, value in sorted((witness or {}).items()):
        name = sym if sym.startswith("CONFIG_") else f"CONFIG_{sym}"
        out.append(f"# {name} is not set" if str(value) == "n" else f"{name}={value}")
    return out


def summary_line(findings: list[Finding], summary: dict) -> str:
    changes = int(summary.get("changes", 0) or 0)
    if not findings:
        return f"kwhen: no findings in {_plural(changes, 'change')}"
    arches = sorted({a for f in findings for a in (f.arches or [])}) or list(summary.get("arches") or [])
    changed = changes or len({f.change for f in findings}) or 1
    where = f" ({', '.join(arches)})" if arches else ""
    return f"kwhen: {_plural(len(findings), 'finding')} in {_plural(changed, 'change')}{where}"


def _blocks(findings: list[Finding], summary: dict):
    """(style, text) pieces, line by line; style is a rich style or ''."""
    several_changes = len({f.change for f in findings}) > 1
    for f in sorted(findings, key=lambda f: f.sort_key):
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
        wit = witness_text(f)
        if wit:
            tail = ""
            if f.verified is True:
                tail = " (verified with make olddefconfig)"
            elif f.verified is False:
                tail = " (NOT confirmed by make olddefconfig)"
            yield [("", "  witness: "), ("green", wit), ("dim", tail)]
        for r in f.related or []:
            loc = f"{r.get('file')}:{r.get('line')}" if r.get("line") else f"{r.get('file')}"
            yield [("", "  note: "), ("bold", f"{loc}:"), ("", f" {r.get('message', '')}")]
    yield [("bold", summary_line(findings, summary))]


def format_text(findings: list[Finding], summary: dict) -> str:
    """The plain report, one string ending with a newline."""
    return "".join("".join(text for _s, text in line) + "\n" for line in _blocks(findings, summary))


def write_text(findings: list[Finding], summary: dict, stream=None, color: bool | None = None) -> None:
    """Write the report to `stream` (stdout); colour (via rich) only on a terminal
    unless `color` says otherwise."""
    stream = stream or sys.stdout
    if color is None:
        color = hasattr(stream, "isatty") and stream.isatty()
    if not color:
        stream.write(format_text(findings, summary))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
    for line in _blocks(findings, summary):
        text = Text()
        for style, piece in line:
            text.append(piece, style=style or None)
        console.print(text)


render_text = format_text
