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
        """The number of variable `name`, numbering it if new."""
        found = self.ids.get(name)
        if found is None:
            found = len(self.names)
            self.ids[name] = found
            self.names.append(name)
        return found

    def fresh(self) -> int:
        """A new unnamed (auxiliary) variable."""
        self.names.append(None)
        return len(self.names) - 1

    @property
    def top(self) -> int:
        """The highest variable number in use."""
        return len(self.names) - 1

    def name(self, number: int) -> str | None:
        """The name of the variable of literal `number` (None if auxiliary)."""
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

    With `defs` (a dict), the clauses defining an auxiliary variable go to
    ``defs[variable]`` instead of `out`, so a caller can later take just the
    definitions a set of constraints needs (see `kwhen.kconfig.model`).
    """

    def __init__(self, pool: VarPool, out: list, defs: dict | None = None):
        self.pool = pool
        self.out = out
        self.defs = defs
        self.memo: dict = {}       # Formula -> [literal, pos done, neg done]

    def _sink(self, lit: int) -> list:
        if self.defs is None:
            return self.out
        found = self.defs.get(lit)
        if found is None:
            found = self.defs[lit] = []
        return found

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
                self._sink(entry[0]).append([entry[0]] if f.name else [-entry[0]])
                entry[1] = entry[2] = True
        lit = entry[0]
        want_pos = pos and not entry[1]
        want_neg = neg and not entry[2]
        if not (want_pos or want_neg):
            return lit
        entry[1] = entry[1] or pos
        entry[2] = entry[2] or neg
        kids = [self.literal(a, want_pos, want_neg) for a in f.args]
        out = self._sink(lit)
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


class SegmentedClauses:
    """Clauses kept in segments, each the definition of some variables.

    A Kconfig model is a set of definitions: each symbol's clauses say what
    value it takes given the symbols it mentions, and each auxiliary Tseitin
    variable's clauses say what sub-formula it stands for. Kconfig lets
    every symbol take some value whatever the others hold (that is how
    kconfiglib evaluates a configuration), so the segments reachable from a
    set of variables, following every variable a segment mentions to the
    segment defining it, are a *closed slice*: any assignment satisfying
    the slice extends to one satisfying every clause. Questions about those
    variables can therefore be answered on the slice alone, which for a
    typical query is a small part of an architecture's 250,000 clauses.

    Stored flat (int32 literals, each clause closed by 0) with the offset of
    each segment and, per variable, the segment defining it (-1: none), so
    loading a model from the cache decodes nothing until a query asks.
    """

    def __init__(self, flat: array, offsets: array, defining: array):
        self.flat = flat            # all literals, clauses closed by 0
        self.offsets = offsets      # segment i is flat[offsets[i]:offsets[i + 1]]
        self.defining = defining    # variable -> segment defining it, or -1

    @classmethod
    def build(cls, segments: list, top: int) -> "SegmentedClauses":
        """From [(variables it defines, clauses)] over variables 1..top."""
        flat, offsets = array("i"), array("i", [0])
        defining = array("i", [-1]) * (top + 1)
        for index, (defines, clauses) in enumerate(segments):
            for v in defines:
                defining[v] = index
            for clause in clauses:
                flat.extend(clause)
                flat.append(0)
            offsets.append(len(flat))
        return cls(flat, offsets, defining)

    @property
    def count(self) -> int:
        """How many segments there are."""
        return len(self.offsets) - 1

    def closure(self, variables: Iterable[int], seen: bytearray) -> list[int]:
        """Segments reachable from `variables` not yet marked in `seen`
        (which is updated), in the order found."""
        defining, flat, offsets = self.defining, self.flat, self.offsets
        found, todo = [], []
        for v in variables:
            if 0 < v < len(defining):
                s = defining[v]
                if s >= 0 and not seen[s]:
                    seen[s] = 1
                    todo.append(s)
        while todo:
            s = todo.pop()
            found.append(s)
            for lit in flat[offsets[s]:offsets[s + 1]]:
                if lit:
                    t = defining[lit if lit > 0 else -lit]
                    if t >= 0 and not seen[t]:
                        seen[t] = 1
                        todo.append(t)
        return found

    def clauses(self, segments: Iterable[int] | None = None) -> list[list[int]]:
        """The clauses of `segments` (all when None)."""
        if segments is None:
            return _split(self.flat)
        out = []
        for s in segments:
            out.extend(_split(self.flat[self.offsets[s]:self.offsets[s + 1]]))
        return out

    def to_bytes(self) -> bytes:
        """The clauses as bytes (arrays, no per-clause encoding), for the cache."""
        parts = [self.flat, self.offsets, self.defining]
        head = array("q", [len(p) for p in parts]).tobytes()
        return head + b"".join(p.tobytes() for p in parts)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "SegmentedClauses":
        """The clauses `to_bytes` wrote."""
        sizes = array("q")
        sizes.frombytes(blob[:24])
        parts, at = [], 24
        for size in sizes:
            part = array("i")
            part.frombytes(blob[at:at + 4 * size])
            parts.append(part)
            at += 4 * size
        return cls(*parts)


def _split(flat) -> list[list[int]]:
    clauses, current = [], []
    for lit in flat:
        if lit:
            current.append(lit)
        else:
            clauses.append(current)
            current = []
    return clauses
