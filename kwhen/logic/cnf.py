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

    Sub-formulas shared between calls are defined once (the memo is keyed by
    the interned formula), which matters when thousands of Kconfig
    dependencies repeat the same sub-expressions.
    """

    def __init__(self, pool: VarPool, out: list):
        self.pool = pool
        self.out = out
        self.memo: dict[Formula, int] = {}

    def literal(self, f: Formula) -> int:
        """A literal equivalent to `f` (both directions defined)."""
        op = f.op
        if op == "var":
            return self.pool.id(f.name)
        if op == "not":
            return -self.literal(f.args[0])
        found = self.memo.get(f)
        if found is not None:
            return found
        if op == "const":
            lit = self.pool.fresh()
            self.out.append([lit] if f.name else [-lit])
        else:
            kids = [self.literal(a) for a in f.args]
            lit = self.pool.fresh()
            if op == "and":
                for k in kids:
                    self.out.append([-lit, k])
                self.out.append([lit] + [-k for k in kids])
            else:
                for k in kids:
                    self.out.append([lit, -k])
                self.out.append([-lit] + kids)
        self.memo[f] = lit
        return lit

    def assert_true(self, f: Formula) -> None:
        """Add clauses that hold exactly when `f` holds."""
        if f.op == "const":
            if not f.name:
                self.out.append([])
            return
        for part in f.literals_of_conjunction():
            if part.op == "or" and all(a.op in ("var", "not") and
                                       (a.op == "var" or a.args[0].op == "var")
                                       for a in part.args):
                self.out.append([self.literal(a) for a in part.args])
            else:
                self.out.append([self.literal(part)])


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
