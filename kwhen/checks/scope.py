"""Which architectures a change must be checked on, decided before modelling any.

Modelling an architecture cold costs seconds to tens of seconds and a few
hundred MB; Linux has 22. Most of what a change does to a line's condition
does not depend on the architecture: the #if structure of a C file is the
same text everywhere, and a change that touches only C files leaves every
file's Kbuild condition as it was. So the scope is reasoned first with no
model at all:

- the lines of each touched C file are compared before and after through the
  diff, with every CONFIG_ symbol free (`scan` without a symbol table). Where
  no kept or same-file-moved line's #if condition narrows, no architecture
  can lose one, and only the architectures the other checks need are
  modelled (the owners of arch/ paths, else the host);
- where one narrows, the loss is asked again on each architecture with only
  what its Kconfig files say without modelling: its own symbol (X86) is y and
  symbols that only other architectures' Kconfig files define are n. Those
  on which the loss is then impossible are ruled out, and of those left one
  is modelled (the host if it is among them), the rest are named as losing
  the same lines by the #if alone, not modelled;
- a change to Kconfig files or Makefiles, or code moved between files, is
  not reasoned on this way: it is checked on the host and the owners of the
  paths, as before, and the summary says the other architectures were not
  ruled out.

`--arch` and `--all-arches` replace this decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kwhen.checks.lines import changed_lines, is_code, map_line
from kwhen.checks.loss import lost_condition
from kwhen.checks.symbols_index import defining_arches, never_set
from kwhen.cpp.directives import scan
from kwhen.logic.formula import FALSE, TRUE, Formula, disj_all
from kwhen.logic.names import split_module
from kwhen.logic.solver import satisfiable
from kwhen.presence import compile_facts
from kwhen.sources import CODE_SUFFIXES

# Architectures tried first as the one modelled when the host cannot lose
# the lines, and to find one that builds code dead on those checked: U-Boot's
# sandbox (the native build its own tests run, which enables nearly every
# generic driver and library), then the most used ones, whose defconfigs
# people know.
PREFERRED = ("sandbox", "x86", "arm64", "arm", "riscv", "powerpc", "s390")


@dataclass
class Scope:
    """The architectures to model for one change, and why the others are not.

    `modelled`: checked with their models. `unmodelled`: arch -> the loss
    formula (over CONFIG_ symbols, #if alone) by which that architecture
    can lose lines too, not modelled. `ruled_out`: arch -> why it cannot lose
    any line. `not_ruled_out`: why the other architectures were neither
    checked nor ruled out (build files changed, code moved between files),
    or None."""

    modelled: list
    unmodelled: dict = field(default_factory=dict)
    ruled_out: dict = field(default_factory=dict)
    not_ruled_out: str | None = None
    losses: dict = field(default_factory=dict)   # path -> [(first, last, loss)] (post lines)
    owners: dict = field(default_factory=dict, repr=False)   # symbol -> defining arches
    arches: list = field(default_factory=list, repr=False)   # every architecture of the tree


def cpp_losses(change) -> tuple[dict, bool]:
    """(path -> [(first, last, loss formula)], undecided): where the #if
    condition of a kept line of a touched C file, or of a line moved within
    one file, narrows, with every CONFIG_ symbol free. `undecided` when code
    moved between files (the Kbuild conditions of two files differ by
    architecture)."""
    losses: dict = {}
    for fp in change.file_patches:
        if not (fp.old_path and fp.new_path and fp.new_path.endswith(CODE_SUFFIXES)):
            continue
        before_text, after_text = change.pre.read(fp.old_path), change.post.read(fp.new_path)
        if before_text is None or after_text is None:
            continue
        before = scan(before_text, fp.old_path, None, compile_facts(fp.old_path))
        after = scan(after_text, fp.new_path, None, compile_facts(fp.new_path))
        found = []
        for number, text in enumerate(before_text.splitlines(), 1):
            if not is_code(text):
                continue
            new_number = map_line(fp, number)
            if new_number is None:
                continue
            old, new = before.condition_at(number), after.condition_at(new_number)
            if old is not new:
                lost = lost_condition(old, new)
                if satisfiable(lost):
                    found.append((new_number, lost))
        if found:
            losses[fp.new_path] = _runs(found)
    removed, added = changed_lines(change.file_patches)
    undecided = False
    if removed and added:
        from kwhen.checks.moved import match_moves

        texts: dict = {}
        for r, a in match_moves(removed, added):
            if r.path != a.path:
                # between files of one architecture, its model decides;
                # a generic file's Kbuild condition differs by architecture
                undecided = undecided or _is_generic(r.path) or _is_generic(a.path)
                continue
            for side, path in (("pre", r.path), ("post", a.path)):
                if (side, path) not in texts:
                    state = change.pre if side == "pre" else change.post
                    texts[side, path] = scan(state.read(path), path, None, compile_facts(path))
            lost = lost_condition(texts["pre", r.path].condition_at(r.line),
                                  texts["post", a.path].condition_at(a.line))
            if satisfiable(lost):
                losses.setdefault(a.path, []).append((a.line, a.line, lost))
    return losses, undecided


def _runs(found: list) -> list:
    """Consecutive lines losing under the same formula, as (first, last, loss)."""
    runs: list = []
    for number, lost in found:
        if runs and runs[-1][2] is lost:
            runs[-1] = (runs[-1][0], number, lost)
        else:
            runs.append((number, number, lost))
    return runs


def on_arch(loss: Formula, arch: str, owners: dict, arches: list) -> Formula:
    """`loss` with what the Kconfig files of `arch` fix without a model:
    the symbol named after it y, symbols only other architectures define
    n, and the symbols named after the others n where its own is defined."""
    own = arch.upper()
    others = {a.upper() for a in arches if a != arch}

    def fixed(name: str):
        symbol, _ = split_module(name)
        where = owners.get(symbol)
        if where is None:
            return None
        if symbol == own and arch in where:
            return TRUE if name == symbol else FALSE
        if None not in where and arch not in where:
            return FALSE
        if symbol in others and own in owners and arch in owners[own] | {None}:
            return FALSE
        return None

    return loss.substitute(fixed)


def on_arch_possible(losses: list, arch: str, scope: Scope) -> bool:
    """Whether `arch` can lose code under one of `losses` by what its
    Kconfig files fix without a model (see `on_arch`)."""
    return any(satisfiable(on_arch(loss, arch, scope.owners, scope.arches)) for loss in losses)


def buildable_first(text: str, path: str, line: int, arches: list, root, cache=None,
                    state=None) -> list:
    """Those of `arches` on which line `line` of `path` (whose text is
    `text`) can be built by its #if alone (see `on_arch`), the ones people
    use most first: the others lose it whatever their configuration. A
    symbol no Kconfig file lets be set (`never_set`, in the tree as `state`
    has it) is n on all of them."""
    condition = scan(text, path, None, compile_facts(path)).condition_at(line)
    if condition.variables():
        never = never_set(root, state, cache)
        condition = condition.substitute(
            lambda name: FALSE if split_module(name)[0] in never else None)
    if not condition.variables():
        return _preferred_first(arches) if satisfiable(condition) else []
    from kwhen.kconfig.arches import list_arches

    owners, every = defining_arches(root, cache), list_arches(root)
    return _preferred_first([a for a in arches
                             if satisfiable(on_arch(condition, a, owners, every))])


def _preferred_first(arches: list) -> list:
    return sorted(arches, key=lambda a: (PREFERRED.index(a) if a in PREFERRED
                                         else len(PREFERRED)))


def decide(root, change, host: str, owners_of_paths: list, arches: list, structural: bool,
           cache=None) -> Scope:
    """The scope of `change` (see the module's docstring). `host`: the
    host's architecture; `owners_of_paths`: the architectures owning touched
    arch/ paths; `arches`: every architecture of the tree."""
    generic = any(_is_generic(p) for p in change.paths())
    base = list(owners_of_paths) or [host]
    if generic and host not in base:
        base.insert(0, host)
    if structural:
        return Scope(base, not_ruled_out="the change edits Kconfig files or Makefiles; "
                                         "--all-arches checks every architecture")
    losses, undecided = cpp_losses(change)
    generic_losses = {p: runs for p, runs in losses.items() if _is_generic(p)}
    if not generic_losses:
        modelled = list(owners_of_paths) or [host]
        if undecided and host not in modelled:
            modelled.insert(0, host)
        reason = "no line's #if condition narrows on any architecture"
        scope = Scope(modelled, ruled_out={a: reason for a in arches if a not in modelled},
                      losses=losses)
        if undecided:
            scope.ruled_out = {}
            scope.not_ruled_out = ("code moved between files; --all-arches checks every "
                                   "architecture")
        return scope
    owners = defining_arches(root, cache)
    every_loss = disj_all(loss for runs in generic_losses.values() for _, _, loss in runs)
    possible, ruled_out = [], {}
    for arch in arches:
        if satisfiable(on_arch(every_loss, arch, owners, arches)):
            possible.append(arch)
        else:
            ruled_out[arch] = "its Kconfig never meets the #if condition under which lines are lost"
    modelled = list(owners_of_paths)
    if possible:
        first = host if host in possible else next(
            (a for a in PREFERRED if a in possible), possible[0])
        if first not in modelled:
            modelled.insert(0, first)
    if not modelled:
        modelled = [host]
    if undecided and host not in modelled:
        modelled.insert(0, host)
    unmodelled = {a: on_arch(every_loss, a, owners, arches) for a in possible if a not in modelled}
    for a in modelled:
        ruled_out.pop(a, None)
    return Scope(modelled, unmodelled=unmodelled, ruled_out=ruled_out, losses=losses,
                 owners=owners, arches=list(arches),
                 not_ruled_out=("code moved between files; --all-arches checks every "
                                "architecture") if undecided else None)


def _is_generic(path: str) -> bool:
    from kwhen.kconfig.arches import arch_of_path

    return arch_of_path(path) is None

