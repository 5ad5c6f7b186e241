"""Where code built under one condition is lost under another."""

from __future__ import annotations

import dataclasses

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
    """One finding per cause among `found`, the (finding, Place, causes) of
    one architecture. Findings share a cause when they lose code under the
    same condition (their `losing`: a feature made conditional on purpose,
    in as many files as it takes) or name one of the same `causes` (the
    hunk whose directives narrow them); each group is folded into its first
    finding by place, which lists the others' places in its `others`.
    Lines of a file the group drops whole are not listed again."""
    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict = {}
    for i, (finding, _place, causes) in enumerate(found):
        for key in (("losing", finding.losing), *causes):
            parent[root(i)] = root(first_with.setdefault(key, i))
    groups: dict = {}
    for i, item in enumerate(found):
        groups.setdefault(root(i), []).append(item)
    out = []
    for items in groups.values():
        items.sort(key=lambda item: (item[1].file, item[1].line))
        whole = {(place.file, finding.losing) for finding, place, _ in items
                 if not place.line and place.source is None}
        first = items[0][0]
        for finding, place, _ in items[1:]:
            if place.line and place.source is None and (place.file, finding.losing) in whole:
                continue
            if finding.losing is not first.losing:
                place = dataclasses.replace(place, losing=finding.losing)
            first.others.append(place)
        out.append(first)
    return out
