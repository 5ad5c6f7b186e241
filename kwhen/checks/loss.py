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


def one_per_cause(found: list) -> list:
    """One finding per cause among `found`, the (finding, Place) pairs of
    one architecture: findings that lose code under the same condition
    (their `losing`) are one change made on purpose (a feature made
    conditional), folded into the first of them by place, which lists the
    others' places in its `others`. Lines of a file the same cause drops
    whole are not listed again."""
    whole = {(place.file, finding.losing) for finding, place in found
             if not place.line and place.source is None}
    by_cause: dict = {}
    for finding, place in sorted(found, key=lambda item: (item[1].file, item[1].line)):
        if place.line and place.source is None and (place.file, finding.losing) in whole:
            continue
        first = by_cause.get(finding.losing)
        if first is None:
            by_cause[finding.losing] = finding
        else:
            first.others.append(place)
    return list(by_cause.values())
