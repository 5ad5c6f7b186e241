"""Text rendering of `kwhen line`, `kwhen file` and `kwhen symbol` answers."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape as escape_markup

from kwhen.report.printable import printable

STATUS_STYLE = {"always": "green", "sometimes": "yellow", "never": "red"}


class _Console(Console):
    """rich's Console, but a closed pipe is the caller's to handle (rich's own
    handling exits with status 1 whatever the work found)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError()


def console() -> Console:
    """The console the query answers are printed on (stdout)."""
    return _Console(highlight=False, soft_wrap=True)


def escape(text) -> str:
    """Text from the tree as rich markup that prints as itself: no markup,
    no control characters."""
    return escape_markup(printable(str(text)))


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'bold')}]{status}[/]"


def _witness(console: Console, label: str, witness, explain_limit: int = 12) -> None:
    if witness is None:
        return
    console.print(f"  {label:<14}{escape(witness.describe(explain_limit))}")


def _as_written(console: Console, text: str) -> None:
    """A line quoted from the tree, shown as written: no markup, so a
    continuation's trailing backslash stays one backslash."""
    console.print(printable(text), style="dim", markup=False, highlight=False)


def _on(answer) -> str:
    """on sandbox; on sandbox in SPL (a tree with phases)."""
    where = f"on {escape(answer.arch)}"
    return f"{where} in {escape(answer.phase)}" if answer.phase else where


def render(answer, console: Console, explain: bool = False) -> None:
    """A line, file or symbol answer."""
    {"LineAnswer": render_line, "FileAnswer": render_file,
     "SymbolAnswer": render_symbol}[type(answer).__name__](answer, console, explain=explain)


def render_phases(answers: list, console: Console, explain: bool = False) -> None:
    """One question's answers in each phase: in full where the line (file,
    definition) is built, in one line for the phases where it never is."""
    never = [a for a in answers if a.status == "never"]
    for answer in answers:
        if answer not in never:
            render(answer, console, explain=explain)
    if never:
        first = never[0]
        what = getattr(first, "name", None) or (f"{first.path}:{first.line}"
                                                if hasattr(first, "line") else first.path)
        console.print(f"[bold]{escape(what)}[/]: {_status('never')} built on "
                      f"{escape(first.arch)} in {', '.join(escape(a.phase) for a in never)}")


def render_line(answer, console: Console, explain: bool = False) -> None:
    where = f"{answer.path}:{answer.line}"
    console.print(f"[bold]{escape(where)}[/]: built {_status(answer.status)} {_on(answer)}")
    console.print(f"  condition:    {escape(answer.condition)}")
    console.print(f"    Kbuild:     {escape(answer.kbuild_condition)}")
    for path, n, text in answer.makefile_lines[:3]:
        _as_written(console, f"                {path}:{n}: {text}")
    _through(console, answer.through, "    through:    ")
    console.print(f"    #if:        {escape(answer.cpp_condition)}")
    for n, text in answer.directives:
        _as_written(console, f"                line {n}: {text}")
    _witness(console, "built in:", answer.witness_built)
    _witness(console, "not built in:", answer.witness_not_built)
    if answer.evaluation:
        _evaluation(console, answer.evaluation)
    _unknowns(console, answer.unknowns, explain)


def _through(console: Console, through: list, label: str) -> None:
    """The #include lines an included file is built through."""
    for i, t in enumerate(through):
        inside = f" in {escape(t['root'])}" if t.get("root", t["path"]) != t["path"] else ""
        console.print(f"{label if i == 0 else ' ' * len(label)}#include at "
                      f"{escape(t['path'])}:{t['line']}{inside} ({escape(t['condition'])})")


def _evaluation(console: Console, ev) -> None:
    verdict = {"yes": "[green]built[/]", "no": "[red]not built[/]",
               "unknown": "[yellow]undetermined[/]"}[ev.built]
    by = f" (excluded by {ev.layer})" if ev.built == "no" else ""
    console.print(f"  with --config: {verdict}{by}" + (f": {escape(ev.reason)}" if ev.reason else ""))


def _unknowns(console: Console, unknowns: list, explain: bool) -> None:
    if not unknowns:
        return
    if explain:
        console.print("  free propositions (either value assumed possible):")
        for text in unknowns:
            console.print(f"    {escape(text)}", style="dim")
    else:
        console.print(f"  ({len(unknowns)} free proposition(s) in the condition; --explain says which)",
                      style="dim")


def render_file(answer, console: Console, explain: bool = False) -> None:
    console.print(f"[bold]{escape(answer.path)}[/]: {answer.kind}, compiled {_status(answer.status)} "
                  f"{_on(answer)}")
    if answer.kind == "source":
        console.print(f"  built-in when: {escape(answer.builtin)}")
        console.print(f"  module when:   {escape(answer.module)}")
        for path, n, text in answer.makefile_lines[:5]:
            _as_written(console, f"                 {path}:{n}: {text}")
    elif answer.kind == "host":
        console.print(f"  built for the build machine when: {escape(answer.builtin)}")
    elif answer.kind == "included":
        console.print("  no Makefile names it; it is compiled where it is #included:")
        _through(console, answer.through, "    ")
    elif answer.kind == "unreached":
        console.print("  no Makefile on this architecture compiles it, and kwhen found no file"
                      " including it")
    if answer.evaluation:
        _evaluation(console, answer.evaluation)
    if answer.blocks:
        console.print(f"  {len(answer.blocks)} #if block(s):")
    for b in answer.blocks:
        built = f"  [{b['built']}]" if "built" in b else ""
        console.print(f"    {b['start']}-{b['end']}  {escape(b['directive'])}")
        console.print(f"        {_status(b['status'])}: {escape(b['condition'])}{built}")
    _unknowns(console, answer.unknowns, explain)


def render_symbol(answer, console: Console, explain: bool = False) -> None:
    console.print(f"[bold]{escape(answer.name)}[/]: {len(answer.definitions)} definition(s); "
                  f"{_on(answer)}:")
    others = [d for d in answer.definitions if d.role == "other-arch"]
    for d in answer.definitions:
        if d.role == "other-arch":
            continue
        tags = [d.kind] + [t for t, on in (("static", d.static), ("inline", d.inline),
                                           ("weak", d.weak)) if on]
        console.print(f"  [bold]{escape(d.path)}:{d.line}[/] ({', '.join(tags)})")
        console.print(f"      compiled {_status(d.status)}: {escape(d.condition)}")
        if d.role == "file-local":
            console.print("      file-local (static): not an alternative to the others", style="dim")
        else:
            console.print(f"      the one built {_status(d.chosen_status)}: {escape(d.chosen_condition)}")
        _witness(console, "    e.g.", d.witness)
    if others:
        console.print(f"  other architectures ({len(others)}): " +
                      ", ".join(escape(f"{d.path}:{d.line}") for d in others), style="dim")
    for a, b, w in answer.conflicts:
        console.print(f"  [red]conflict[/]: {escape(a)} and {escape(b)} are both compiled in some configurations"
                      + (f": {escape(w.describe())}" if w else ""))


def format_size(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
