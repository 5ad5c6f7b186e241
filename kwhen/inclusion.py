"""Files compiled only because another file #includes them.

No Makefile names kernel/sched/clock.c: kernel/sched/build_utility.c, which
is built, has ``#include "clock.c"``. A line of such a file is built when
some includer is built, its #include line is kept by the preprocessor, and
the line's own #if conditions hold, read with the macros the includer has
defined before the #include. Each way in is a `Route`; the file's condition
is the disjunction over its routes (an includer that is itself included is
followed in turn, up to `MAX_DEPTH`).

A route keeps Kbuild's split: `builtin` when the includer is built in and
its #include line is kept without MODULE, `module` likewise as a module, so
`presence.Tree.combine` resolves MODULE in the included file as in any
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from kwhen.cpp.includes import MAX_INCLUDERS, candidate_includers, resolve_quoted
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj
from kwhen.logic.names import MODULE, is_make_unknown

__all__ = ["Route", "routes_of", "also_included", "MAX_DEPTH"]

MAX_DEPTH = 4       # includers of includers ... followed this deep


@dataclass(frozen=True)
class Route:
    """File `includer` includes the file at line `line`: when that makes
    it built in (`builtin`) or in a module (`module`), and the macros the
    includer has defined by then (name -> when defined). `root` is the
    file compiled at the top of the chain (the includer itself, or the
    file that includes the includer, and so on: drivers/gpu/host1x/hw/
    debug_hw_1x06.c is read through debug_hw.c inside host1x06.c)."""
    includer: str
    line: int
    builtin: Formula
    module: Formula
    macros: Mapping[str, Formula]
    root: str = ""


def routes_of(tree, relpath: str, depth: int = 0, visiting: frozenset = frozenset()) -> list[Route]:
    """The ways `relpath` (a file no Makefile compiles) is built through an
    #include on `tree`'s architecture; [] when none is found."""
    if depth >= MAX_DEPTH or relpath in visiting:
        return []
    visiting = visiting | {relpath}
    routes: list[Route] = []
    for includer in candidate_includers(tree.root, relpath, tree.read_text,
                                        tree.source_includes)[:MAX_INCLUDERS]:
        for file, structure in _variants(tree, includer, depth, visiting):
            root = file.through[0].root if file.kind == "included" and file.through else includer
            for inc in structure.includes:
                if inc.angled or resolve_quoted(includer, inc.name) != relpath:
                    continue
                builtin = conj(file.builtin, inc.condition.substitute({MODULE: FALSE}))
                module = conj(file.module, inc.condition.substitute({MODULE: TRUE}))
                if builtin is FALSE and module is FALSE:
                    continue
                routes.append(Route(includer, inc.line, builtin, module, inc.macros, root))
    return routes


def _variants(tree, relpath: str, depth: int, visiting: frozenset) -> list:
    """(FileCondition, CppStructure) of each way `relpath` is compiled."""
    file = tree.file_condition(relpath, follow_includes=False)
    if file.kind == "source":
        own = [(file, tree.cpp(relpath, contexts=True))]
        if also_included(file):
            own += [(tree.route_condition(relpath, route), tree.cpp(relpath, route.macros))
                    for route in routes_of(tree, relpath, depth + 1, visiting)]
        return own
    if file.kind != "unreached":
        return []          # a header's includers are not followed
    return [(tree.route_condition(relpath, route), tree.cpp(relpath, route.macros))
            for route in routes_of(tree, relpath, depth + 1, visiting)]


def also_included(file) -> bool:
    """Whether a file a Makefile compiles may be built through its
    includers too: where Kbuild's answer is partly unknown (an object the
    vDSO's own rules make; arch/x86/entry/vdso/vdso32/vclock_gettime.c has
    ``#include "../vclock_gettime.c"``)."""
    return file.kind == "source" and any(is_make_unknown(n) for n in file.built.variables())


def either(routes: list[Route]) -> tuple[Formula, Formula]:
    """(built-in, module) condition of a file over all its routes."""
    return disj(*(r.builtin for r in routes)), disj(*(r.module for r in routes))
