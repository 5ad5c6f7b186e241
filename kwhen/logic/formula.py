"""Propositional formulas over configuration variables.

Every layer of kwhen (Kconfig, Kbuild, the preprocessor) speaks this one
language, so a line's presence condition is simply the conjunction of what
each layer says.

Variables are named after Kconfig symbols, as the C preprocessor sees them:

- ``FOO``    bool symbol FOO is y, or tristate FOO is y (CONFIG_FOO defined)
- ``FOO=m``  tristate FOO is m (CONFIG_FOO_MODULE defined)
- anything else (``GCC_VERSION>=90100``, ``?make:arch/x86/Makefile:12``) is a
  free proposition that no Kconfig rule constrains.

Formulas are hash-consed: building the same formula twice gives the same
object, so ``is`` and ``==`` agree and formulas make cheap dictionary keys.
Construction simplifies as it goes (constants, duplicates, ``x && !x``), which
keeps the conditions of a whole kernel tree small without a separate pass.

This is written by hand rather than taken from pysat.formula because kwhen
needs stable, readable rendering, substitution and serialisation of millions
of small formulas, and pysat's formula objects live in a global pool that is
tied to one variable numbering.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Iterable, Mapping

__all__ = [
    "Formula", "TRUE", "FALSE", "var", "conj", "disj", "neg", "implies",
    "iff", "from_data",
]

# A variable shown as a call, ``cpp(NR_CPUS == 1)``: one operand as it is.
_CALL = re.compile(r"^[\w?]+\(.*\)$", re.S)

# Past this many characters a compound operand is ordered by a digest of its
# structure rather than by its text (Formula.sort_key).
KEY_TEXT_LIMIT = 4096


class _TooLong(Exception):
    pass


def _spend(budget: list | None, text: str) -> str:
    if budget is not None:
        budget[0] -= len(text)
        if budget[0] < 0:
            raise _TooLong
    return text


# Binding strength of the rendered operators, for parentheses.
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "var": 4, "const": 4}


class Formula:
    """An immutable, interned propositional formula.

    ``op`` is one of "const", "var", "not", "and", "or". Build formulas with
    the module functions (`var`, `conj`, `disj`, `neg`) or the operators
    ``&``, ``|`` and ``~``; never call the constructor.
    """

    __slots__ = ("op", "args", "name", "_key", "_vars", "__weakref__")

    _interned: dict = {}

    def __init__(self, op: str, args: tuple, name):
        self.op = op
        self.args = args
        self.name = name
        self._key = None
        self._vars = None

    @classmethod
    def _make(cls, op: str, args: tuple = (), name=None) -> "Formula":
        key = (op, args, name)
        found = cls._interned.get(key)
        if found is None:
            found = cls(op, args, name)
            cls._interned[key] = found
        return found

    # Identity is structural equality thanks to interning. (object's own
    # identity comparison and hash, which run in C: formulas are dict keys
    # in every hot loop.)
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __and__(self, other: "Formula") -> "Formula":
        return conj(self, other)

    def __or__(self, other: "Formula") -> "Formula":
        return disj(self, other)

    def __invert__(self) -> "Formula":
        return neg(self)

    def __bool__(self):
        raise TypeError("a Formula has no truth value; compare with TRUE/FALSE")

    def __repr__(self):
        return f"Formula({self})"

    def __str__(self):
        return self.render()

    @property
    def sort_key(self) -> tuple:
        """A stable key that orders operands the same way in every run:
        variables first (``A``, ``!A``, ``B``), then compound operands by
        their text, then those whose text would pass `KEY_TEXT_LIMIT`
        characters by a digest of their structure. (A formula shares its
        sub-formulas, so its text can grow exponentially with its size:
        U-Boot's top Makefile tests `$(wildcard $(LDSCRIPT))` three times
        over a choice of boards, and rendering those conditions to order
        them took more than 8 GB.)"""
        if self._key is None:
            if self.op == "var":
                self._key = (0, self.name, 0)
            elif self.op == "not" and self.args[0].op == "var":
                self._key = (0, self.args[0].name, 1)
            else:
                budget = [KEY_TEXT_LIMIT]
                try:
                    self._key = (1, self._render(None, budget), 0)
                except _TooLong:
                    self._key = (2, self._digest(), 0)
        return self._key

    def _digest(self) -> str:
        """A hex digest of the structure, from the operands' sort keys
        (each computed once: linear in the number of distinct nodes)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(self.op.encode())
        for a in self.args:
            h.update(repr(a.sort_key).encode())
        return h.hexdigest()

    def variables(self) -> frozenset:
        """The names of the variables that occur in this formula."""
        if self._vars is None:
            if self.op == "var":
                self._vars = frozenset((self.name,))
            elif self.op == "const":
                self._vars = frozenset()
            else:
                self._vars = frozenset().union(*(a.variables() for a in self.args))
        return self._vars

    def is_const(self) -> bool:
        """Whether this is TRUE or FALSE."""
        return self.op == "const"

    def evaluate(self, assignment: Mapping[str, bool], default: bool | None = None) -> bool:
        """The truth value under `assignment` (name -> bool).

        A variable missing from `assignment` takes `default`; with no
        default, a missing variable raises KeyError.
        """
        op = self.op
        if op == "const":
            return self.name
        if op == "var":
            if default is None:
                return assignment[self.name]
            return assignment.get(self.name, default)
        if op == "not":
            return not self.args[0].evaluate(assignment, default)
        if op == "and":
            return all(a.evaluate(assignment, default) for a in self.args)
        return any(a.evaluate(assignment, default) for a in self.args)

    def substitute(self, mapping: Mapping[str, "Formula"] | Callable[[str], "Formula | None"]) -> "Formula":
        """Replace variables by formulas; unmapped variables stay."""
        lookup = mapping if callable(mapping) else mapping.get
        memo: dict = {}

        def walk(f: Formula) -> Formula:
            done = memo.get(f)
            if done is not None:
                return done
            if f.op == "var":
                out = lookup(f.name)
                if out is None:
                    out = f
            elif f.op == "const":
                out = f
            elif f.op == "not":
                out = neg(walk(f.args[0]))
            elif f.op == "and":
                out = conj(*(walk(a) for a in f.args))
            else:
                out = disj(*(walk(a) for a in f.args))
            memo[f] = out
            return out

        return walk(self)

    def render(self, names: Callable[[str], str] | None = None) -> str:
        """Kconfig-style text: ``SMP && !(X86_64 || FOO=m)``.

        `names` may rewrite how a variable is shown (for example to show a
        tristate's y-variable as ``FOO=y``).
        """
        return self._render(names, None)

    def _render(self, names, budget: list | None) -> str:
        """render(); with `budget` (a one-item list of characters left),
        raise _TooLong rather than write more."""
        op = self.op
        if names is None and self._key is not None and self._key[0] == 1:
            # a compound formula's text is cached in its sort key
            return _spend(budget, self._key[1])
        if op == "const":
            return "y" if self.name else "n"
        if op == "var":
            return _spend(budget, names(self.name) if names else self.name)
        if op == "not":
            inner = self.args[0]
            text = inner._render(names, budget)
            # a name holding an operator (FOO=m, HZ>100) is one operand:
            # !(HZ>100), never !HZ>100, which reads as (!HZ)>100
            if inner.op in ("and", "or") or (inner.op == "var" and not _CALL.match(text)
                                              and any(c in text for c in "=<>!")):
                text = f"({text})"
            return "!" + text
        joiner = " && " if op == "and" else " || "
        parts = []
        for a in self.args:
            text = a._render(names, budget)
            if _PRECEDENCE[a.op] < _PRECEDENCE[op]:
                text = f"({text})"
            parts.append(text)
        return joiner.join(parts)

    def to_data(self):
        """A JSON-compatible nested list; `from_data` reverses it."""
        op = self.op
        if op == "const":
            return self.name
        if op == "var":
            return self.name
        return [op] + [a.to_data() for a in self.args]

    def literals_of_conjunction(self) -> tuple:
        """The conjuncts if this is an And, else (self,)."""
        return self.args if self.op == "and" else (self,)


TRUE = Formula._make("const", (), True)
FALSE = Formula._make("const", (), False)


def var(name: str) -> Formula:
    """The formula true when variable `name` is."""
    return Formula._make("var", (), name)


def neg(f: Formula) -> Formula:
    """``!f``, with double negations and constants removed."""
    if f is TRUE:
        return FALSE
    if f is FALSE:
        return TRUE
    if f.op == "not":
        return f.args[0]
    return Formula._make("not", (f,))


def _junction(op: str, unit: Formula, zero: Formula, operands: Iterable[Formula]) -> Formula:
    seen: dict = {}
    for f in operands:
        if f is unit:
            continue
        if f is zero:
            return zero
        children = f.args if f.op == op else (f,)
        for c in children:
            seen[c] = None
    if not seen:
        return unit
    interned = Formula._interned
    for c in seen:
        # the complement of c; a negation never built cannot be among them
        other = c.args[0] if c.op == "not" else interned.get(("not", (c,), None))
        if other is not None and other in seen:
            return zero
        if other is not None and c.op == "not" and other.op != op and other.op != "var" \
                and _absorbs(other, op, seen):
            return zero
    if len(seen) == 1:
        return next(iter(seen))
    args = tuple(sorted(seen, key=lambda f: f.sort_key))
    return Formula._make(op, args)


def _absorbs(inner: Formula, op: str, seen: dict) -> bool:
    """Whether the `op` junction of `seen`, which holds ``!inner`` (inner
    being the dual junction), is its zero: an operand of `inner` is among
    `seen`, or is an `op` junction of operands all among `seen`.

    ``a && b && !(x || (a && b))`` is FALSE; ``a || !(x && (a || b)) || b``
    is TRUE. A file that ``#define``s the macro it tests (include guards
    nested in each other) builds exactly these, and without this rule they
    grow exponentially with the nesting.
    """
    for d in inner.args:
        if d in seen:
            return True
        if d.op == op and all(a in seen for a in d.args):
            return True
    return False


def conj(*operands: Formula) -> Formula:
    """``a && b && ...``, flattened, deduplicated, TRUE when empty."""
    return _junction("and", TRUE, FALSE, operands)


def disj(*operands: Formula) -> Formula:
    """``a || b || ...``, flattened, deduplicated, FALSE when empty."""
    return _junction("or", FALSE, TRUE, operands)


def conj_all(operands: Iterable[Formula]) -> Formula:
    """`conj` of an iterable of formulas."""
    return _junction("and", TRUE, FALSE, operands)


def disj_all(operands: Iterable[Formula]) -> Formula:
    """`disj` of an iterable of formulas."""
    return _junction("or", FALSE, TRUE, operands)


def implies(a: Formula, b: Formula) -> Formula:
    """``a -> b``, as ``!a || b``."""
    return disj(neg(a), b)


def iff(a: Formula, b: Formula) -> Formula:
    """``a <-> b``."""
    if a is b:
        return TRUE
    return conj(disj(neg(a), b), disj(a, neg(b)))


def push_negations(f: Formula) -> Formula:
    """Negation normal form: ``!`` only in front of variables."""
    if f.op in ("var", "const"):
        return f
    if f.op == "and":
        return conj_all(push_negations(a) for a in f.args)
    if f.op == "or":
        return disj_all(push_negations(a) for a in f.args)
    inner = f.args[0]
    if inner.op == "and":
        return disj_all(push_negations(neg(a)) for a in inner.args)
    if inner.op == "or":
        return conj_all(push_negations(neg(a)) for a in inner.args)
    return f


def tree_size(f: Formula, limit: int) -> int:
    """The number of nodes of `f` written out as a tree (what `render` and
    `to_data` produce, exponential in the shared graph at worst), counted in
    time linear in the graph; counting stops soon after `limit`."""
    memo: dict = {}
    stack = [(f, False)]
    while stack:
        g, done = stack.pop()
        if g in memo:
            continue
        if not done:
            stack.append((g, True))
            stack.extend((a, False) for a in g.args if a not in memo)
            continue
        n = 1
        for a in g.args:
            n += memo[a]
            if n > limit:
                break
        memo[g] = n
        if n > limit:
            return n
    return memo[f]


def from_data(data) -> Formula:
    """Rebuild a formula from `Formula.to_data` output."""
    if data is True:
        return TRUE
    if data is False:
        return FALSE
    if isinstance(data, str):
        return var(data)
    op, *args = data
    children = [from_data(a) for a in args]
    if op == "not":
        return neg(children[0])
    if op == "and":
        return conj(*children)
    if op == "or":
        return disj(*children)
    raise ValueError(f"not a formula: {data!r}")


def conj_pair(a: Formula, b: Formula) -> Formula:
    """``a && b``, as `conj` builds it, with the constant and identical
    operands answered first: Kbuild's evaluation makes millions of these."""
    if a is TRUE:
        return b
    if b is TRUE or a is b:
        return a
    if a is FALSE or b is FALSE:
        return FALSE
    return conj(a, b)


def disj_pair(a: Formula, b: Formula) -> Formula:
    """``a || b``, as `disj` builds it, with the constant and identical
    operands answered first."""
    if a is FALSE:
        return b
    if b is FALSE or a is b:
        return a
    if a is TRUE or b is TRUE:
        return TRUE
    return disj(a, b)
