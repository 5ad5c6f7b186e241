"""narrowed: code that stays where it is but is built in fewer
configurations, because the patch edited an #if, a Makefile or Kconfig."""

from __future__ import annotations

from kwhen.checks.lines import is_code, is_directive, map_line
from kwhen.checks.loss import lost_condition, losing
from kwhen.checks.messages import Finding, NarrowedFile, NarrowedLines, NarrowedSymbol
from kwhen.checks.symbols_index import _is_kconfig
from kwhen.logic.formula import FALSE, conj, neg
from kwhen.sources import CODE_SUFFIXES


def run(change, context) -> list[Finding]:
    findings = []
    for view in context.views:
        findings.extend(_directive_edits(change, view))
        if view.pre.root != view.post.root:
            findings.extend(_kbuild_edits(change, view))
            if any(_is_kconfig(p) for p in change.paths()):
                findings.extend(_kconfig_edits(view))
    return findings


def _touches_directives(fp) -> bool:
    return any(tag in "+-" and is_directive(text)
               for hunk in fp.hunks for tag, text, _, _ in hunk.lines)


def _directive_edits(change, view) -> list[Finding]:
    """Kept lines of C files whose #if conditions the patch edited."""
    out = []
    for fp in change.file_patches:
        if fp.old_path is None or fp.new_path is None or not fp.new_path.endswith(CODE_SUFFIXES):
            continue
        if not _touches_directives(fp):
            continue
        old_text = view.pre.read_text(fp.old_path).splitlines()
        groups: dict = {}
        for number, text in enumerate(old_text, 1):
            if not is_code(text):
                continue
            new_number = map_line(fp, number)
            if new_number is None:
                continue
            old = view.pre_line(fp.old_path, number)
            new = view.post_line(fp.new_path, new_number)
            if old is not new:
                groups.setdefault((old, new), []).append(new_number)
        for (old, new), lines in groups.items():
            finding = _finding(view, NarrowedLines, fp.new_path, min(lines), old, new,
                               last=max(lines))
            if finding:
                out.append(finding)
    return out


def _kbuild_edits(change, view) -> list[Finding]:
    """Source files that a Makefile edit compiles in fewer configurations."""
    out = []
    pre_files, post_files = view.pre.kbuild.files, view.post.kbuild.files
    for path, (builtin, module) in pre_files.items():
        if change.post.read(path) is None:
            continue    # the file is gone (deleted or renamed): nothing stays put
        after = post_files.get(path, (FALSE, FALSE))
        old = builtin | module
        new = after[0] | after[1]
        if old is new:
            continue
        finding = _finding(view, NarrowedFile, path, 1, old, new)
        if finding:
            out.append(finding)
    return out


def _kconfig_edits(view) -> list[Finding]:
    """Symbols that a Kconfig edit lets be enabled in fewer configurations
    (a `depends on` added, a select dropped), with the files built with them."""
    pre_enable = view.pre.model.enable_conditions()
    post_enable = view.post.model.enable_conditions()
    changed = {name for name, new in post_enable.items()
               if name in pre_enable and pre_enable[name] is not new}
    if not changed:
        return []
    gated: dict[str, list] = {}       # changed symbol -> files built with it
    files = view.post.kbuild.files
    for path in files:
        builtin, module = files[path]
        for name in (builtin | module).variables() & changed:
            gated.setdefault(name, []).append(path)
    out = []
    types = view.post.symbol_types
    for name in sorted(gated):
        old, new = pre_enable[name], post_enable[name]
        lost = conj(old, neg(new))
        # configurations that could enable it before and cannot now, as
        # both the old and the new rules see them
        if not (view.pre.space.possible(lost) and view.space.possible(lost)):
            continue
        paths = sorted(gated[name])
        where = (view.post.model.symbols[name].locations or [f"{paths[0]}:1"])[0]
        file, _, line = where.rpartition(":")
        witness = view.pre.space.witness(conj(lost, view.pre.model.enabled(name)),
                                         base=view.base_values, base_name=view.base_name)
        out.append(NarrowedSymbol(
            file=file, line=int(line), symbol=name, files=paths, arches=[view.arch], types=types,
            before=view.space.simplify(old), after=view.space.simplify(new),
            losing=losing(view.space, old, new), witness=witness))
    return out


def _finding(view, kind, path, line, old, new, **arguments) -> Finding | None:
    """A finding of `kind` at path:line if code built under `old` is lost
    under `new` in some configuration."""
    space = view.space
    lost = lost_condition(old, new)
    if not space.possible(lost):
        return None
    return kind(file=path, line=line, arches=[view.arch], types=view.post.symbol_types,
                before=space.simplify(old), after=space.simplify(new),
                losing=losing(space, old, new), witness=view.witness(lost), **arguments)
