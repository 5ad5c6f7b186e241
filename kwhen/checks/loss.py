"""Where code built under one condition is lost under another."""

from __future__ import annotations

from kwhen.logic.formula import Formula, conj, neg, var
from kwhen.logic.names import defined_macro

# C code that a header hides from the assembler (`#ifndef __ASSEMBLY__`)
# could never be assembled: losing it in assembly is no loss.
_ASSEMBLER = conj(neg(var(defined_macro("__ASSEMBLY__"))), neg(var(defined_macro("__ASSEMBLER__"))))


def lost_condition(old: Formula, new: Formula) -> Formula:
    """Where a line built under `old` is no longer built under `new`,
    among compilations of C (an assembler's use of a header does not count)."""
    return conj(old, neg(new), _ASSEMBLER)


def losing(space, old: Formula, new: Formula) -> Formula:
    """What a configuration needs to lose the code: `!new` read given `old`
    (simplified against the configurations of `space`)."""
    return space.simplify(neg(new), given=old)
