"""Simplification of formulas over tristate variables.

A tristate symbol X has two variables, ``X`` (y) and ``X=m`` (m), which no
configuration sets both: `TristateSimplifier` uses that to shorten the
conditions Kbuild produces (``X=m && !X`` is ``X=m``), and `absorb` and
`disj_factored` shorten disjunctions on their own. Each result is
equivalent to its input on every assignment that keeps X and X=m exclusive.
"""

from __future__ import annotations

from collections.abc import Iterable

from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, disj_all, neg, var
from kwhen.logic.names import is_module_var, module_var, symbol_of


def disj_factored(fs) -> Formula:
    """Disjunction, with common conjuncts factored out."""
    if not isinstance(fs, (list, tuple)):
        fs = list(fs)
    if not fs:
        return FALSE
    if len(fs) == 1:
        return fs[0]
    return absorb(disj_all(fs))


class TristateSimplifier:
    """Simplifies formulas knowing that a tristate's ``X`` and ``X=m`` are
    exclusive: ``X=m && !X`` becomes ``X=m``, ``X && X=m`` becomes FALSE,
    literals of an enclosing conjunction are propagated into its operands,
    and ``A || (A && B)`` becomes ``A``. The result is equivalent to the
    input on every assignment that Kconfig can produce."""

    def __init__(self, tristate: Iterable[str]):
        self.tristate = set(tristate)     # the names of the tristate symbols
        self.memo: dict = {}
        self.memo2: dict = {}

    def __call__(self, f: Formula) -> Formula:
        """`f` simplified (memoised)."""
        if f.op in ("const", "var"):
            return f
        got = self.memo.get(f)
        if got is None:
            if not self._needs(f):
                # without both X and X=m, only absorption can apply
                got = absorb(f) if f.op == "or" else f
            else:
                got = self._simp(f, {})
            self.memo[f] = got
            self.memo[got] = got
        return got

    def conj2(self, outer: Formula, c: Formula) -> Formula:
        """``outer && c`` for a (large, already simplified) directory
        condition and a (small) local one: the literals of `c` are
        propagated into `outer` only when they concern its variables."""
        if outer is TRUE or c is FALSE:
            return c
        if c is TRUE or outer is FALSE:
            return outer
        lits = c.args if c.op == "and" else (c,)
        env = {}
        vs = outer.variables()
        hit = False
        for lit in lits:
            if lit.op == "var":
                n, val = lit.name, True
            elif lit.op == "not" and lit.args[0].op == "var":
                n, val = lit.args[0].name, False
            else:
                continue
            env[n] = val
            x = self._excl(n)
            if n in vs or (x is not None and x in vs):
                hit = True
        if not hit:
            return conj(outer, c)
        for n, val in list(env.items()):
            if val:
                x = self._excl(n)
                if x is not None:
                    if env.get(x) is True:
                        return FALSE
                    env[x] = False
        key = (outer, tuple(sorted(env.items())))
        got = self.memo2.get(key)
        if got is None:
            got = self._simp(outer, env)
            self.memo2[key] = got
        return conj(got, c)

    @staticmethod
    def _needs(f: Formula) -> bool:
        vs = f.variables()
        for n in vs:
            if is_module_var(n) and symbol_of(n) in vs:
                return True
        return False

    def _excl(self, name: str):
        if is_module_var(name):
            base = symbol_of(name)
            return base if base in self.tristate else None
        return module_var(name) if name in self.tristate else None

    def _simp(self, f: Formula, env: dict) -> Formula:
        op = f.op
        if op == "const":
            return f
        if op == "var":
            v = env.get(f.name)
            return f if v is None else (TRUE if v else FALSE)
        if op == "not":
            return neg(self._simp(f.args[0], env))
        if op == "and":
            lits = {}
            others = []
            for a in f.args:
                if a.op == "var":
                    lits[a.name] = True
                elif a.op == "not" and a.args[0].op == "var":
                    lits[a.args[0].name] = False
                else:
                    others.append(a)
            env2 = dict(env)
            for n, val in lits.items():
                e = env2.get(n)
                if e is not None and e != val:
                    return FALSE
                env2[n] = val
            for n, val in lits.items():
                if val:
                    x = self._excl(n)
                    if x is not None:
                        if env2.get(x) is True:
                            return FALSE
                        env2[x] = False
            kept = []
            for n, val in lits.items():
                if n in env:
                    continue
                if not val:
                    x = self._excl(n)
                    if x is not None and (lits.get(x) is True or env.get(x) is True):
                        continue
                kept.append(var(n) if val else neg(var(n)))
            rest = [self._simp(o, env2) for o in others]
            return conj(*kept, *rest)
        args = [self._simp(a, env) for a in f.args]
        return absorb(disj(*args))


def absorb(f: Formula) -> Formula:
    """Drop disjuncts that contain all the conjuncts of another one, and
    factor out conjuncts common to all: (A && B) || (A && C) is
    A && (B || C)."""
    if f.op != "or" or len(f.args) > 64:
        return f
    sets = [frozenset(a.args) if a.op == "and" else frozenset((a,)) for a in f.args]
    common = frozenset.intersection(*sets)
    if common:
        rest = [conj(*(s - common)) for s in sets]
        return conj(*common, absorb(disj(*rest)))
    keep = []
    for j, sj in enumerate(sets):
        if any(i != j and si < sj for i, si in enumerate(sets)):
            continue
        keep.append(f.args[j])
    return f if len(keep) == len(f.args) else disj(*keep)
