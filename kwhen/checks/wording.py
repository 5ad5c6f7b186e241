"""How findings name configurations: ``SMP=n`` rather than ``!SMP``."""

from __future__ import annotations

from kwhen.wording import describe
from kwhen.logic.formula import Formula, conj, neg, var

# C code that a header hides from the assembler (`#ifndef __ASSEMBLY__`)
# could never be assembled: losing it in assembly is no loss.
_ASSEMBLER = conj(neg(var("defined(__ASSEMBLY__)")), neg(var("defined(__ASSEMBLER__)")))


def lost_condition(old: Formula, new: Formula) -> Formula:
    """Where a line built under `old` is no longer built under `new`,
    among compilations of C (an assembler's use of a header does not count)."""
    return conj(old, neg(new), _ASSEMBLER)


def settings(f: Formula, types: dict) -> str:
    """A conjunction of literals as symbol settings (``SMP=n, X86_32=y``);
    anything else as a Kconfig expression."""
    parts = []
    for lit in f.literals_of_conjunction():
        if lit.op == "var":
            name = lit.name
            if name.endswith("=m"):
                parts.append(name)
            else:
                parts.append(f"{name}=y")
        elif lit.op == "not" and lit.args[0].op == "var":
            name = lit.args[0].name
            if name.endswith("=m"):
                parts.append(f"{name[:-2]}!=m")
            elif types.get(name) == "tristate":
                parts.append(f"{name}!=y")
            else:
                parts.append(f"{name}=n")
        else:
            return describe(f, types)
    return ", ".join(parts)


def lost_text(space, old: Formula, new: Formula, types: dict) -> str:
    """What a configuration needs to lose the code: `!new` read given `old`."""
    return settings(space.simplify(neg(new), given=old), types)
