"""Questions about one architecture's configuration space, answered by SAT.

`ConfigSpace` loads an architecture's Kconfig clauses into one incremental
SAT solver and answers, for any formula: is it possible, is it certain, which
valid configuration closest to the base configuration makes it true (MaxSAT,
with pysat's RC2), and how does it read once simplified against the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from pysat.examples.rc2 import RC2
from pysat.formula import WCNF
from pysat.solvers import Solver

from kwhen.kconfig.model import BOOL_TYPES, KconfigModel, values_of_assignment
from kwhen.logic.cnf import Tseitin, VarPool
from kwhen.logic.formula import (FALSE, TRUE, Formula, conj, conj_all, disj_all, neg,
                                  push_negations, var)

SOLVER_NAME = "glucose4"


@dataclass
class Witness:
    """A valid configuration, as changes against a base configuration."""
    base_name: str
    values: dict          # symbol -> y/m/n for every bool/tristate symbol
    changes: list         # [(symbol, base value, new value)], prompted symbols first
    free: dict            # free propositions the witness relies on -> bool

    def config_lines(self) -> list[str]:
        """The changes as .config lines."""
        return [config_line(name, new) for name, _, new in self.changes]

    prompted: int = 0     # how many of `changes` (the first ones) a user decides

    def describe(self, limit: int = 12) -> str:
        """``x86_64_defconfig + # CONFIG_SMP is not set`` style summary:
        the settings a user makes, then how many symbols follow from them."""
        lines = self.config_lines()
        if not lines:
            return f"{self.base_name} (unchanged)"
        chosen = lines[:self.prompted] or lines
        shown = chosen[:limit]
        text = self.base_name + " + " + " + ".join(shown)
        if len(chosen) > limit:
            text += f" + {len(chosen) - limit} more settings"
        derived = len(lines) - len(chosen)
        if derived:
            text += f" (and {derived} symbol{'s' if derived > 1 else ''} that follow)"
        return text

    def to_json(self) -> dict:
        return {
            "base": self.base_name,
            "changes": {name: new for name, _, new in self.changes},
            "free": self.free,
        }


def _loaded_solver(clauses: list) -> Solver:
    """A solver holding `clauses`.

    pysat's add_clause checks each clause in Python before handing it to C;
    for half a million trusted clauses, calling the C entry point directly
    halves the load time. Other solvers, or another pysat layout, take the
    public path.
    """
    solver = Solver(name=SOLVER_NAME)
    try:
        import pysolvers
        handle = solver.solver.glucose
        add = pysolvers.glucose41_add_cl
    except (ImportError, AttributeError):
        solver.append_formula(clauses)
        return solver
    for clause in clauses:
        add(handle, clause)
    return solver


def config_line(name: str, value: str) -> str:
    if value == "n":
        return f"# CONFIG_{name} is not set"
    return f"CONFIG_{name}={value}"


class ConfigSpace:
    """The valid configurations of one architecture."""

    def __init__(self, model: KconfigModel):
        self.model = model
        self.pool = VarPool()
        self.pool.names = list(model.var_names)
        self.pool.ids = {n: i for i, n in enumerate(model.var_names) if n is not None}
        self._query_clauses: list = []     # defined but not yet in the solver
        self._defined: list = []           # every query definition so far
        self._tseitin = Tseitin(self.pool, self._query_clauses)
        self._solver = _loaded_solver(model.clauses)
        self._consistent = None
        self._fixed_cache: dict[str, Formula | None] = {}
        self._witnesses: dict = {}    # (formula, base) -> Witness: MaxSAT is the costly call

    def close(self):
        self._solver.delete()

    # -- the primitive: satisfiability under assumptions ------------------

    def _literal(self, f: Formula) -> int:
        lit = self._tseitin.literal(f)
        if self._query_clauses:
            for clause in self._query_clauses:
                self._solver.add_clause(clause)
            self._defined.extend(self._query_clauses)
            self._query_clauses.clear()
        return lit

    def _solve(self, formulas) -> list | None:
        """A model (list of literals) satisfying all `formulas`, or None."""
        assumptions = []
        for f in formulas:
            if f is TRUE:
                continue
            if f is FALSE:
                return None
            assumptions.append(self._literal(f))
        if self._solver.solve(assumptions=assumptions):
            return self._solver.get_model()
        return None

    # -- questions ----------------------------------------------------------

    def consistent(self) -> bool:
        """Whether the model admits any configuration at all."""
        if self._consistent is None:
            self._consistent = self._solve([]) is not None
        return self._consistent

    def possible(self, f: Formula, *also: Formula) -> bool:
        return self._solve([f, *also]) is not None

    def certain(self, f: Formula, given: Formula = TRUE) -> bool:
        """Whether every valid configuration satisfying `given` satisfies `f`."""
        return self._solve([given, neg(f)]) is None

    def equivalent(self, a: Formula, b: Formula) -> bool:
        return self.certain(a, b) and self.certain(b, a)

    def status(self, f: Formula) -> str:
        """'always', 'sometimes' or 'never' (over valid configurations)."""
        if not self.possible(f):
            return "never"
        if self.certain(f):
            return "always"
        return "sometimes"

    def fixed_value(self, name: str) -> Formula | None:
        """TRUE or FALSE if variable `name` has one value in every config."""
        if name not in self._fixed_cache:
            v = var(name)
            if not self.possible(v):
                self._fixed_cache[name] = FALSE
            elif not self.possible(neg(v)):
                self._fixed_cache[name] = TRUE
            else:
                self._fixed_cache[name] = None
        return self._fixed_cache[name]

    def simplify(self, f: Formula, given: Formula = TRUE) -> Formula:
        """`f` rewritten to an equivalent (under the model) but shorter form.

        Variables with one value on this architecture become constants, and
        conjuncts or disjuncts implied by their siblings are dropped. The
        result is equivalent to `f` in every valid configuration.
        """
        f = push_negations(f.substitute(lambda name: self.fixed_value(name)))
        return self._drop_redundant(f, given)

    def _drop_redundant(self, f: Formula, given: Formula) -> Formula:
        if f.op not in ("and", "or") or len(f.args) > 24:
            return f
        kept = list(f.args)
        i = 0
        while i < len(kept):
            others = kept[:i] + kept[i + 1:]
            part = kept[i]
            if f.op == "and":
                # a conjunct the others already imply adds nothing
                redundant = self.certain(part, conj(given, *others))
            else:
                # a disjunct that implies one of the others adds nothing
                redundant = self.certain(disj_all(others), conj(given, part))
            if redundant:
                kept.pop(i)
            else:
                i += 1
        return conj_all(kept) if f.op == "and" else disj_all(kept)

    # -- witnesses -----------------------------------------------------------

    def witness(self, f: Formula, base: dict[str, str] | None = None,
                base_name: str | None = None) -> Witness | None:
        """The valid configuration satisfying `f` closest to the base.

        Closest means fewest changed settings a user makes (prompted
        bool/tristate symbols whose value differs from the base: defconfig
        unless `base` is given), then fewest changed symbols that follow from
        them: a weighted MaxSAT problem whose hard part is the model plus `f`
        and whose soft part asks each symbol to keep its base value. Returns
        None if `f` is impossible.
        """
        base = self.model.base if base is None else base
        base_name = (base_name or self.model.base_name) if base is not None else ""
        key = (f, base_name, id(base))
        if key not in self._witnesses:
            self._witnesses[key] = self._closest(f, base, base_name)
        return self._witnesses[key]

    def _closest(self, f: Formula, base: dict, base_name: str) -> Witness | None:
        root = self._literal(f)
        soft = list(self._soft_literals(base))
        # The base itself, when it satisfies f, is the closest witness of all.
        if self._solver.solve(assumptions=[lit for lit, _ in soft] + [root]):
            return self._witness_from(self._solver.get_model(), base, base_name, f)
        if not self.possible(f):
            return None
        # WCNF's own append copies clause by clause; the hard part is the
        # model's clause list as it is, plus this query's definitions.
        wcnf = WCNF()
        wcnf.hard = self.model.clauses + self._defined + [[root]]
        wcnf.soft = [[lit] for lit, _ in soft]
        wcnf.wght = [weight for _, weight in soft]
        wcnf.topw = sum(wcnf.wght) + 1
        wcnf.nv = self.pool.top
        with RC2(wcnf, solver=SOLVER_NAME) as rc2:
            solution = rc2.compute()
        if solution is None:
            return None
        return self._witness_from(solution, base, base_name, f)

    # A setting a user makes (a prompted symbol) weighs more than any number
    # of symbols that merely follow from settings, so the witness asks the
    # fewest changes of a person, and among those, disturbs the fewest others.
    PROMPTED_WEIGHT = 1000

    def _soft_literals(self, base: dict):
        """(literal, weight): each bool/tristate symbol keeping its base value."""
        for name, value in base.items():
            info = self.model.symbols.get(name)
            if info is None or info.type not in BOOL_TYPES:
                continue
            weight = self.PROMPTED_WEIGHT if info.prompt else 1
            y = self.pool.ids.get(name)
            if y is not None:
                yield (y if value == "y" else -y), weight
            if info.type == "tristate":
                m = self.pool.ids.get(name + "=m")
                if m is not None:
                    yield (m if value == "m" else -m), weight

    def _witness_from(self, solution: list, base: dict, base_name: str, f: Formula) -> Witness:
        assignment = {}
        names = self.pool.names
        for lit in solution:
            n = abs(lit)
            if n < len(names) and names[n] is not None:
                assignment[names[n]] = lit > 0
        values = values_of_assignment(self.model, assignment)
        changes = [(name, base.get(name, "n"), value) for name, value in values.items()
                   if value != base.get(name, "n")]
        # only the free propositions this condition depends on are worth showing
        named = f.variables()
        free = {name: value for name, value in assignment.items()
                if name in named and name not in self.model.symbols and
                not (name.endswith("=m") and name[:-2] in self.model.symbols)}
        changes, decided = self._decisions_first(changes, f)
        return Witness(base_name, values, changes, free, decided)

    def _decisions_first(self, changes: list, f: Formula) -> tuple[list, int]:
        """Order changes as a person would make them: first the settings a
        user chooses (prompted symbols, those the condition names first,
        each unless the choices before it already force it), then the
        symbols that follow. Returns (ordered changes, number of choices)."""
        symbols = self.model.symbols
        named = f.variables()
        ordered = sorted(changes, key=lambda c: (
            not symbols[c[0]].prompt,
            c[0] not in named and c[0] + "=m" not in named, c[0]))
        decisions, derived, forced_by = [], [], TRUE
        for change in ordered:
            name, _, new = change
            setting = self.model.symbol_value_formula(name, new)
            if symbols[name].prompt and not self.certain(setting, forced_by):
                decisions.append(change)
                forced_by = conj(forced_by, setting)
            else:
                derived.append(change)
        return decisions + derived, len(decisions)
