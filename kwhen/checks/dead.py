"""dead-added: added lines that no valid configuration builds."""

from __future__ import annotations

import re

from kwhen.checks.lines import changed_lines
from kwhen.checks.messages import DeadAdded
from kwhen.checks.scope import buildable_first
from kwhen.checks.symbols_index import defined_symbols
from kwhen.kconfig.arches import arch_of_path

_CONFIG_REF = re.compile(r"\bCONFIG_(\w+)")
_NO_MAKEFILE = "no Makefile compiles the file"


def run(change, context) -> list[DeadAdded]:
    """`context.other_views(arches)` gives the change on `arches` (None:
    every architecture not checked): a line of generic code must be dead on
    them too before it is reported, a line under arch/<A>/ on A."""
    views, other_views = context.views, context.other_views
    _, added = changed_lines(change.file_patches)
    if not added or not views:
        return []
    others: dict = {}       # arch -> the change's views on it, made when first needed
    checked = {v.post.srcarch for v in views}
    every: list = []         # the architectures not checked, once listed
    # path -> the views of an architecture that compiles the file (where the
    # checked ones do not): its reason is the one to give (spl_opensbi.c is
    # riscv's: there the #if never holds; x86 only compiles no such file)
    explained: dict = {}

    def dead_everywhere(a) -> bool:
        if any(v.space.possible(v.post_line(a.path, a.line)) for v in views):
            return False
        if other_views is None:
            return True
        owner = arch_of_path(a.path)
        if owner in checked:
            return True
        # generic code must be dead on every architecture, and code under
        # arch/<A>/ on A itself (not on the architecture that was asked).
        # One architecture at a time, stopping at the first that builds the
        # line: each one not modelled yet costs a model.
        if owner is None and not every:
            from kwhen.kconfig.arches import list_arches
            every.extend(x for x in list_arches(views[0].post.root) if x not in checked)
        # an architecture that loses the line by its #if alone (its own
        # symbol, or symbols only others define) needs no model
        tree = views[0].post
        for arch in [owner] if owner else buildable_first(
                tree.read_text(a.path), a.path, a.line, every, context.root, tree.cache,
                change.post):
            if arch not in others:
                others[arch] = other_views([arch])
            if any(v.space.possible(v.post_line(a.path, a.line)) for v in others[arch]):
                return False
            if a.path not in explained and not _compiled(views, a.path) and \
                    _compiled(others[arch], a.path):
                explained[a.path] = others[arch]
        return True

    findings = []
    by_file: dict = {}
    for a in added:
        by_file.setdefault(a.path, []).append(a)
    for path, lines in by_file.items():
        run_start = None
        previous = None
        for a in lines + [None]:
            dead = a is not None and dead_everywhere(a)
            contiguous = a is not None and previous is not None and a.line == previous.line + 1
            if run_start is not None and (not dead or not contiguous):
                findings.extend(_report(explained.get(path, views), run_start, previous))
                run_start = None
            if dead and run_start is None:
                run_start = a
            previous = a
    return _one_per_file(findings)


def _compiled(views, path: str) -> bool:
    """Whether some configuration of the views compiles the file."""
    for v in views:
        try:
            if v.space.possible(v.post.file_condition(path).built):
                return True
        except Exception:       # a file kwhen cannot read says nothing here
            continue
    return False


def _file_level(f: DeadAdded) -> bool:
    """Whether the finding's reason is the whole file's: no line of it is built."""
    if f.reason in ("unreached", "impossible-file"):
        return True
    return f.reason == "phases" and all(why == _NO_MAKEFILE for _p, why in f.phase_reasons)


def _one_per_file(findings: list) -> list:
    """The runs of a file that is never compiled, as one finding (a new file
    no Makefile names is one cause, however many #if blocks it has)."""
    kept: list = []
    first_of: dict = {}
    for f in findings:
        key = (f.file, f.why) if _file_level(f) else None
        if key is not None and key in first_of:
            first_of[key].more.append((f.line, f.last))
            continue
        if key is not None:
            first_of[key] = f
        kept.append(f)
    return kept


def _report(views, first, last) -> list[DeadAdded]:
    """One finding for added lines first..last, all dead on every view."""
    view = views[0]
    tree = view.post
    file = tree.file_condition(first.path)
    structure = tree.cpp(first.path)
    cpp = structure.condition_at(first.line)
    reason = _reason(views, tree, file, structure, first.line, cpp)
    if reason is None:
        return []
    return [DeadAdded(file=first.path, line=first.line, last=last.line,
                      arches=list(dict.fromkeys(v.arch for v in views)), types=tree.symbol_types,
                      after=tree.combine(file, cpp), **reason)]


def _would_live(view, tree, file, line, names) -> bool:
    """Whether the line could be built if `names` were Kconfig symbols: only
    then is their being undefined the reason it is dead (under
    `!defined(CONFIG_X)` an undefined X is no reason at all)."""
    from kwhen.cpp.directives import scan

    types = dict(tree.symbol_types)
    types.update({name: "bool" for name in names})
    freed = scan(tree.read_text(file.path), file.path, types, tree.facts(file.path))
    return view.space.possible(tree.combine(file, freed.condition_at(line)))


def _reason(views, tree, file, structure, line, cpp) -> dict | None:
    """Why the line is dead (the reason's arguments of a DeadAdded), or None
    when it is only dead on the architectures checked (code for another
    architecture is not a finding)."""
    directives = [b.text for b in structure.enclosing(line)]
    names = {m.group(1) for text in directives for m in _CONFIG_REF.finditer(text)}
    known = set()
    for v in views:
        known.update(v.post.model.symbols)
        # a phase's build macros (CONFIG_XPL_BUILD...) are no Kconfig
        # symbols, and not undefined ones either
        for phase in v.post.phases:
            known.update(d[len("CONFIG_"):] for d in phase.defines + phase.undefined
                         if d.startswith("CONFIG_"))
    unknown_here = sorted(n for n in names if n not in known and
                          not (n.endswith("_MODULE") and n[:-7] in known))
    if unknown_here and _would_live(views[0], tree, file, line, unknown_here):
        everywhere = defined_symbols(tree.root, tree.state, tree.cache)
        undefined = [n for n in unknown_here if n not in everywhere and
                     not (n.endswith("_MODULE") and n[:-7] in everywhere)]
        if not undefined:
            return None   # defined on an architecture not checked here
        return {"reason": "undefined", "symbols": undefined}
    if views[0].phase is not None:
        return _phase_reason(views, file.path, line)
    space = views[0].space
    if not space.possible(cpp):
        # (the #if alone: the cause wherever the file is compiled)
        outermost = next((b.text.strip() for b in structure.enclosing(line)
                          if not space.possible(b.condition)), "")
        return {"reason": "impossible-if", "cpp": cpp, "directive": outermost}
    if file.kind == "unreached":
        return {"reason": "unreached", "unreached_on": list(dict.fromkeys(v.arch for v in views))}
    if file.kind == "source" and space.possible(file.built) and space.possible(cpp):
        return {"reason": "conflict", "built": space.simplify(file.built), "cpp": space.simplify(cpp)}
    return {"reason": "impossible-file", "built": file.built}


def _never_holds(view, blocks, within) -> str | None:
    """"#if X never holds" for the outermost of `blocks` whose condition
    (as `within` places it) no configuration of the view meets."""
    for block in blocks:
        if not view.space.possible(within(block.condition)):
            return f"{block.text.strip()} never holds"
    return None


def _phase_reason(views, path: str, line: int) -> dict:
    """Why no phase builds the line (U-Boot): per phase (the first
    architecture's views), the Makefile that leaves the file out, or the
    outermost #if that never holds there, phases with the same reason
    together: "in U-Boot proper: #ifdef CONFIG_SPL_BUILD never holds"."""
    reasons: dict = {}
    arch = views[0].arch
    for view in views:
        if view.arch != arch:
            continue
        tree = view.post
        file = tree.file_condition(path)
        blocks = tree.cpp(path).enclosing(line)
        # an #if that never holds on its own is the cause wherever the file
        # is compiled; a Makefile only where no #if is
        why = _never_holds(view, blocks, lambda c: c)
        if why is None and (file.kind == "unreached" or not view.space.possible(file.built)):
            why = _NO_MAKEFILE
        elif why is None:
            why = _never_holds(view, blocks, lambda c: tree.combine(file, c))
        reasons.setdefault(why or "Kconfig admits no configuration that builds it",
                           []).append(view.phase)
    return {"reason": "phases", "phase_reasons": [(phases, why) for why, phases in reasons.items()]}
