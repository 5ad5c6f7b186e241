"""narrowed: code that stays where it is but is built in fewer
configurations, because the patch edited an #if, a Makefile or Kconfig.

Every line of each touched C file whose conditions the change can alter
(an #if, #else or #endif added, removed or moved; code re-written where it
stands; a header's directives edited) is compared before and after, mapped
through the diff; so is every file Kbuild builds when the change edits a
Makefile or Kconfig file, and every symbol a Kconfig edit lets be enabled
in fewer configurations. A contiguous run of lines, a file or a symbol
narrowed is one place; the places one change loses under the same
condition, or that one hunk's directives narrow, are one finding (one
cause: a feature made conditional on purpose), which lists them.
"""

from __future__ import annotations

from kwhen.checks.lines import is_code, is_directive, map_line
from kwhen.checks.loss import lost_condition, losing, one_per_cause
from kwhen.checks.messages import Finding, NarrowedFile, NarrowedLines, NarrowedSymbol, Place
from kwhen.checks.moved import in_place
from kwhen.checks.symbols_index import _is_kconfig
from kwhen.logic.formula import FALSE, conj, disj, neg
from kwhen.sources import CODE_SUFFIXES, HEADER_SUFFIXES


def run(change, context) -> list[Finding]:
    findings = []
    rewritten = in_place(change)
    for view in context.views:
        found = _line_edits(change, view, rewritten)
        if view.pre.root != view.post.root:
            found.extend(_kbuild_edits(change, view))
            if any(_is_kconfig(p) for p in change.paths()):
                found.extend(_kconfig_edits(view))
        findings.extend(one_per_cause(found))
    return findings


def _touches_directives(fp) -> bool:
    return any(tag in "+-" and is_directive(text)
               for hunk in fp.hunks for tag, text, _, _ in hunk.lines)


def _line_edits(change, view, rewritten: dict) -> list:
    """(NarrowedLines, Place, causes) of each contiguous run of kept lines
    of a C file that the change builds in fewer configurations, for the
    same reason (the same `losing`)."""
    headers_edited = any(fp.path.endswith(HEADER_SUFFIXES) and _touches_directives(fp)
                         for fp in change.file_patches)
    out = []
    for fp in change.file_patches:
        if fp.old_path is None or fp.new_path is None or not fp.new_path.endswith(CODE_SUFFIXES):
            continue
        moved_here = rewritten.get(fp.old_path, {})
        if not (moved_here or headers_edited or _touches_directives(fp)):
            continue     # no condition of the file's lines can change
        before = _conditions(view.pre, fp.old_path)
        after = _conditions(view.post, fp.new_path)
        kept = []        # (post-image line, old, new, losing or None: not narrowed)
        verdicts: dict = {}
        for number, text in enumerate(view.pre.read_text(fp.old_path).splitlines(), 1):
            if not is_code(text):
                continue
            new_number = moved_here.get(number) or map_line(fp, number)
            if new_number is None:
                continue
            old, new = before(number), after(new_number)
            if (old, new) not in verdicts:
                verdicts[old, new] = (None if old is new or not view.space.possible(
                    lost_condition(old, new)) else losing(view.space, old, new))
            kept.append((new_number, old, new, verdicts[old, new]))
        kept.sort(key=lambda k: k[0])
        run: list = []
        for item in kept + [(None, None, None, None)]:
            if run and item[3] is not run[0][3]:
                out.append(_region(view, fp, run))
                run = []
            if item[3] is not None:
                run.append(item)
    return out


def _region(view, fp, run) -> tuple:
    """(NarrowedLines, Place, causes) of a run of lines: caused by the
    hunk nearest to it (whose directives narrow it)."""
    first, old, new, _ = run[0]
    last = run[-1][0]
    finding = _finding(view, NarrowedLines, fp.new_path, first, old, new, last=last)
    return finding, Place(fp.new_path, first, last), {("hunk", fp.new_path, _nearest_hunk(fp, first))}


def _nearest_hunk(fp, line: int) -> int:
    """The index of the hunk of `fp` whose post-image holds `line`, or of
    the nearest one."""
    def distance(hunk) -> int:
        first, last = hunk.new_start, hunk.new_start + max(hunk.new_len, 1) - 1
        return 0 if first <= line <= last else min(abs(line - first), abs(line - last))
    return min(range(len(fp.hunks)), key=lambda j: distance(fp.hunks[j]))


def _conditions(tree, path):
    """line -> when the line is built on `tree`'s architecture: what
    `Tree.line_condition` answers, worked out once per #if region."""
    variants = tree.variants(path)
    memo: dict = {}

    def condition(line: int):
        key = tuple(structure.condition_at(line) for _file, structure in variants)
        found = memo.get(key)
        if found is None:
            found = memo[key] = disj(*(tree.combine(file, cpp)
                                       for (file, _s), cpp in zip(variants, key)))
        return found
    return condition


def _kbuild_edits(change, view) -> list:
    """(NarrowedFile, Place, causes) of each source file that a Makefile
    edit compiles in fewer configurations, or no longer at all."""
    from kwhen.kbuild.tree import differing

    out = []
    pre_files, post_files = view.pre.kbuild.files, view.post.kbuild.files
    for path in differing(pre_files, post_files):
        builtin, module = pre_files[path]
        if change.post.read(path) is None:
            continue    # the file is gone (deleted or renamed): nothing stays put
        after = post_files.get(path, (FALSE, FALSE))
        old = builtin | module
        new = after[0] | after[1]
        if old is new or not view.space.possible(lost_condition(old, new)):
            continue
        out.append((_finding(view, NarrowedFile, path, 1, old, new), Place(path), ()))
    return out


def _kconfig_edits(view) -> list:
    """(NarrowedSymbol, Place, causes) of each symbol that a Kconfig edit
    lets be enabled in fewer configurations (a `depends on` added, a select
    dropped), with the files built with it."""
    from kwhen.logic.formula import from_data

    pre_data = view.pre.model.enable_encoded()
    post_data = view.post.model.enable_encoded()
    pre_enable, post_enable = {}, {}
    for name, data in post_data.items():
        if name in pre_data and pre_data[name] != data:
            pre_enable[name], post_enable[name] = from_data(pre_data[name]), from_data(data)
    changed = {name for name, new in post_enable.items() if pre_enable[name] is not new}
    if not changed:
        return []
    gated: dict[str, list] = {}       # changed symbol -> files built with it
    files = view.post.kbuild.files
    encoded = files.encoded() if hasattr(files, "encoded") else None
    # a file whose stored condition does not spell a changed name is not
    # decoded (names are JSON strings there, a module's with a suffix)
    spelt = [f'"{name}'.encode() for name in changed]
    for path in files:
        raw = encoded.get(path) if encoded is not None else None
        if isinstance(raw, bytes) and not any(s in raw for s in spelt):
            continue
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
        out.append((NarrowedSymbol(
            file=file, line=int(line), symbol=name, files=paths, arches=[view.arch],
            phases=view.phases, types=types,
            before=view.space.simplify(old), after=view.space.simplify(new),
            losing=losing(view.space, old, new), witness=witness),
            Place(file, int(line), symbol=name), ()))
    return out


def _finding(view, kind, path, line, old, new, **arguments) -> Finding:
    """A finding of `kind` at path:line: code built under `old` that is
    lost under `new` in some configuration."""
    space = view.space
    return kind(file=path, line=line, arches=[view.arch], phases=view.phases, types=view.post.symbol_types,
                before=space.simplify(old), after=space.simplify(new),
                losing=losing(space, old, new), witness=view.witness(lost_condition(old, new)),
                **arguments)
