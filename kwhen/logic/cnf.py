"""Clause form: numbering variables and the Tseitin transformation."""

from __future__ import annotations

from array import array
from typing import Iterable

from kwhen.logic.formula import Formula


class VarPool:
    """Maps variable names to DIMACS numbers (1, 2, ...) and back.

    Names of auxiliary Tseitin variables are never asked back, so they get
    numbers without names (`fresh`).
    """

    def __init__(self, names: Iterable[str] = ()):
        self.ids: dict[str, int] = {}
        self.names: list[str | None] = [None]  # index 0 is unused
        for name in names:
            self.id(name)

    def id(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = len(self.names)
            self.ids[name] = found
            self.names.append(name)
        return found

    def fresh(self) -> int:
        self.names.append(None)
        return len(self.names) - 1

    @property
    def top(self) -> int:
        return len(self.names) - 1

    def name(self, number: int) -> str | None:
        return self.names[abs(number)]


class Tseitin:
    """Turns formulas into clauses over a `VarPool`, adding clauses to `out`.

    Polarity-aware (Plaisted-Greenbaum): a sub-formula needed only
    positively gets only ``aux -> f``, only negatively only ``f -> aux``;
    asserted constraints need one direction, which halves the clauses of a
    Kconfig model without changing its solutions on the named variables.
    `literal(f)` with both polarities (the default) gives a full definition,
    which queries need since they assume a literal or its negation.
    Sub-formulas shared between calls are defined once (the memo is keyed by
    the interned formula).
    """

    def __init__(self, pool: VarPool, out: list):
        self.pool = pool
        self.out = out
        self.memo: dict = {}       # Formula -> [literal, pos done, neg done]

    def literal(self, f: Formula, pos: bool = True, neg: bool = True) -> int:
        """A literal for `f`, implying it (pos) and implied by it (neg)."""
        op = f.op
        if op == "var":
            return self.pool.id(f.name)
        if op == "not":
            return -self.literal(f.args[0], neg, pos)
        entry = self.memo.get(f)
        if entry is None:
            entry = [self.pool.fresh(), False, False]
            self.memo[f] = entry
            if op == "const":
                self.out.append([entry[0]] if f.name else [-entry[0]])
                entry[1] = entry[2] = True
        lit = entry[0]
        want_pos = pos and not entry[1]
        want_neg = neg and not entry[2]
        if not (want_pos or want_neg):
            return lit
        entry[1] = entry[1] or pos
        entry[2] = entry[2] or neg
        kids = [self.literal(a, want_pos, want_neg) for a in f.args]
        out = self.out
        if op == "and":
            if want_pos:
                for k in kids:
                    out.append([-lit, k])
            if want_neg:
                out.append([lit] + [-k for k in kids])
        else:
            if want_pos:
                out.append([-lit] + kids)
            if want_neg:
                for k in kids:
                    out.append([lit, -k])
        return lit

    def assert_true(self, f: Formula) -> None:
        """Add clauses that hold exactly when `f` holds."""
        if f.op == "const":
            if not f.name:
                self.out.append([])
            return
        for part in f.literals_of_conjunction():
            if part.op == "or":
                self.out.append([self.literal(a, True, False) for a in part.args])
            else:
                self.out.append([self.literal(part, True, False)])


def pack_clauses(clauses: list[list[int]]) -> bytes:
    """Clauses as a DIMACS-like run of int32s, each clause closed by 0."""
    flat = array("i")
    for clause in clauses:
        flat.extend(clause)
        flat.append(0)
    return flat.tobytes()


def unpack_clauses(blob: bytes) -> list[list[int]]:
    flat = array("i")
    flat.frombytes(blob)
    clauses, current = [], []
    for lit in flat:
        if lit:
            current.append(lit)
        else:
            clauses.append(current)
            current = []
    return clauses
