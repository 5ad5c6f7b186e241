"""A configuration completed as `make olddefconfig` would, without make.

Kernel developers pass a full .config, a defconfig or a fragment. kconfiglib
reads it as Linux's kconfig does (the given symbols are user values; every
other symbol takes its default under the resulting values), in-process and
with the tree's $(shell,...) macros not run (kwhen.kconfig.parse).

Not running the macros leaves the symbols that depend on their results
(a compiler probe, and everything derived from one) unknown: such a symbol
keeps the value the file gives it, and is left out when the file gives none,
so that a verdict depending on it stays "unknown" rather than wrong.
"""

from __future__ import annotations

from pathlib import Path

import kconfiglib

from kwhen.kconfig.dotconfig import parse_config_lines, read_dotconfig
from kwhen.kconfig.parse import is_shell_marker, kwhen_error_of, load_kconfig

__all__ = ["complete_config"]


def _items(expr) -> list:
    """The symbols and choices an expression mentions."""
    out, stack = [], [expr]
    while stack:
        e = stack.pop()
        if e.__class__ is tuple:
            stack.extend(e[1:])
        elif e is not None:
            out.append(e)
    return out


def _inputs(sc) -> list:
    """What the value of a symbol or choice is computed from."""
    exprs = [sc.direct_dep]
    exprs += [node.prompt[1] for node in sc.nodes if node.prompt]
    exprs += [x for default in sc.defaults for x in default]
    if isinstance(sc, kconfiglib.Symbol):
        exprs += [sc.rev_dep, sc.weak_rev_dep]
        exprs += [x for r in sc.ranges for x in r]
        if sc.choice is not None:
            exprs.append(sc.choice)
    else:
        exprs += list(sc.syms)
    found = []
    for e in exprs:
        found.extend(_items(e))
    return found


def shell_dependent(kconf) -> set[str]:
    """Names of the symbols whose value may depend on a $(shell,...) result
    kwhen did not run (directly or through other symbols)."""
    dependents: dict = {}
    todo = []
    for sc in list(kconf.unique_defined_syms) + list(kconf.unique_choices):
        for item in _inputs(sc):
            if isinstance(item, kconfiglib.Symbol) and is_shell_marker(item.name):
                todo.append(sc)
            else:
                dependents.setdefault(item, []).append(sc)
    tainted = set(todo)
    while todo:
        for sc in dependents.get(todo.pop(), ()):
            if sc not in tainted:
                tainted.add(sc)
                todo.append(sc)
    return {sc.name for sc in tainted if isinstance(sc, kconfiglib.Symbol)}


def complete_config(root: Path, arch: str, srcarch: str, path: Path,
                    trust_tree: bool = False) -> dict[str, str | None]:
    """Symbol -> value (y/m/n, a number, a quoted string) of the
    configuration `path` gives, completed as olddefconfig would; None for a
    symbol kwhen cannot compute (it depends on an unrun macro)."""
    given = read_dotconfig(path)        # refuses what is not a configuration
    kconf = load_kconfig(root, arch, srcarch, trust_tree=trust_tree)
    try:
        kconf.load_config(str(path))
    except (kconfiglib.KconfigError, OSError) as exc:
        raise kwhen_error_of(exc, root) from None
    text = "".join(sym.config_string for sym in kconf.unique_defined_syms)
    computed = parse_config_lines(text)
    unknown = set() if trust_tree else shell_dependent(kconf)
    values: dict[str, str | None] = {}
    for sym in kconf.unique_defined_syms:
        name = sym.name
        if name in given:
            values[name] = given[name]
        elif name in unknown:
            values[name] = None
        else:
            # not written: n for bool/tristate; no value (CONFIG_X
            # undefined) for the others, which kwhen leaves undecided
            values[name] = computed.get(name, "n" if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE)
                                        else None)
    return values
