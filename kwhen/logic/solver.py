"""Questions about one architecture's configuration space, answered by SAT.

`ConfigSpace` answers, for any formula over an architecture's Kconfig
model: is it possible, is it certain, which valid configuration closest to
the base configuration makes it true (MaxSAT, with pysat's RC2), and how does
it read once simplified against the model. One incremental SAT solver holds
the slices of the model that the questions so far have reached (see
`SegmentedClauses`): a question about SMP loads what decides SMP, not the
whole architecture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pysat.examples.rc2 import RC2
from pysat.formula import WCNF
from pysat.solvers import Solver

from kwhen.logic.cnf import SegmentedClauses, Tseitin, VarPool
from kwhen.logic.formula import (FALSE, TRUE, Formula, conj, conj_all, disj_all, neg,
                                  push_negations, var)
from kwhen.logic.names import BOOL_TYPES, is_module_var, module_var, split_module, symbol_of
from kwhen.logic.values import expand_comparisons, is_value_var, split_value_var, value_of

SOLVER_NAME = "glucose4"


class ConfigModel(Protocol):
    """What `ConfigSpace` needs of a configuration model
    (`kwhen.kconfig.model.KconfigModel` is one): the clauses, in slices,
    over numbered variables, the symbols with their type and whether a
    user sets them, and a base configuration for witnesses."""
    var_names: list                # var_names[i] names variable i (None: auxiliary)
    cnf: SegmentedClauses
    symbols: Mapping               # name -> object with .type and .prompt
    base: dict                     # symbol -> "y", "m" or "n"
    base_name: str

    def pinned_units(self) -> list[list[int]]:
        """Unit clauses true in every configuration, outside the slices."""

    def symbol_value_formula(self, name: str, value: str) -> Formula:
        """The formula for symbol `name` having `value` (y, m or n)."""

    def values_of(self, assignment: dict[str, bool]) -> dict[str, str]:
        """y/m/n of each bool/tristate symbol an assignment of variables gives."""


@dataclass
class Witness:
    """A valid configuration, as changes against a base configuration."""
    base_name: str
    values: dict          # symbol -> y/m/n for every bool/tristate symbol that
                          # bears on the condition (the rest keep the base's
                          # values unless these force them: olddefconfig's job)
    changes: list         # [(symbol, base value, new value)], prompted symbols first
    free: dict            # free propositions the witness relies on -> bool

    def config_lines(self) -> list[str]:
        """The changes as .config lines."""
        return [config_line(name, new) for name, _, new in self.changes]

    prompted: int = 0     # how many of `changes` (the first ones) a user decides
    # int/hex/string symbols the condition compares -> the value the
    # witness gives them (canonical text, kwhen.logic.values)
    symbol_values: dict = None

    def describe(self, limit: int | None = None, understood=()) -> str:
        """``x86_64_defconfig + # CONFIG_SMP is not set`` style summary:
        the settings a user makes, then those that follow from them, every
        one the JSON lists. With `limit` (a summary for a terminal), at most
        that many settings and a count of the rest. Free propositions in
        `understood` go without saying (a C file is not assembled)."""
        assumptions = self._assumptions(understood)
        lines = self.config_lines()
        if not lines:
            return f"{self.base_name} (unchanged)" + assumptions
        chosen = lines[:self.prompted] or lines
        derived = lines[len(chosen):]
        if limit is not None:
            text = self.base_name + " + " + " + ".join(chosen[:limit])
            if len(chosen) > limit:
                text += f" + {len(chosen) - limit} more settings"
            if derived:
                text += (f" (and {len(derived)} symbols that follow)" if len(derived) > 1 else
                         " (and 1 symbol that follows)")
            return text + assumptions
        text = self.base_name + " + " + " + ".join(chosen)
        if derived:
            text += f" (then following from these: {' + '.join(derived)})"
        return text + assumptions

    def _assumptions(self, understood=()) -> str:
        """What the witness holds beyond the .config settings: the values
        it gives compared int/hex/string symbols, and the free propositions
        it relies on (a witness is only as good as these)."""
        parts = [f"CONFIG_{name}={value}" for name, value in sorted((self.symbol_values or {}).items())]
        parts += [name if value else f"!({name})" if any(c in name for c in "<>=!")
                  else f"!{name}" for name, value in sorted(self.free.items())
                  if name not in understood]
        return f", with {', '.join(parts)}" if parts else ""

    def to_json(self) -> dict:
        """The witness as JSON data: base, changes (symbol -> value), free propositions."""
        return {
            "base": self.base_name,
            "changes": {name: new for name, _, new in self.changes},
            "values": dict(self.symbol_values or {}),
            "free": self.free,
        }


def _add_all(solver: Solver, clauses: list) -> None:
    """Add trusted `clauses` to `solver`.

    pysat's add_clause checks each clause in Python before handing it to C;
    for tens of thousands of clauses, calling the C entry point directly
    halves the time. Other solvers, or another pysat layout, take the
    public path.
    """
    try:
        import pysolvers
        handle = solver.solver.glucose
        add = pysolvers.glucose41_add_cl
    except (ImportError, AttributeError):
        solver.append_formula(clauses)
        return
    for clause in clauses:
        add(handle, clause)


def _size(f: Formula) -> int:
    """Literal occurrences in `f`."""
    if f.op in ("var", "not", "const"):
        return 1
    return sum(_size(a) for a in f.args)


def config_line(name: str, value: str) -> str:
    """The .config line setting symbol `name` to `value` (y, m or n)."""
    if value == "n":
        return f"# CONFIG_{name} is not set"
    return f"CONFIG_{name}={value}"


class ConfigSpace:
    """The valid configurations of one architecture."""

    def __init__(self, model: ConfigModel):
        self.model = model
        self.pool = VarPool()
        self.pool.names = list(model.var_names)
        self.pool.ids = {n: i for i, n in enumerate(model.var_names) if n is not None}
        self._query_clauses: list = []     # defined but not yet in the solver
        self._defined: list = []           # every query definition so far
        self._tseitin = Tseitin(self.pool, self._query_clauses)
        self._solver = Solver(name=SOLVER_NAME)
        self._loaded = bytearray(model.cnf.count)   # segments in the solver
        self._pins = model.pinned_units()
        _add_all(self._solver, self._pins)
        self._load([lit for unit in self._pins for lit in unit])
        self._consistent = None
        self._fixed_cache: dict[str, Formula | None] = {}
        self._witnesses: dict = {}    # (formula, base) -> Witness: MaxSAT is the costly call
        # formulas -> satisfiable: the clauses added later define new query
        # variables only, so an answer never changes
        self._answers: dict[tuple, bool] = {}
        self._domains = getattr(model, "domains", None) or {}
        self._expanded: dict = {}

    def expand(self, f: Formula) -> Formula:
        """`f` with comparisons of int/hex/string symbols decided over their
        values where Kconfig fixes them (kwhen.logic.values)."""
        if not self._domains:
            return f
        found = self._expanded.get(f)
        if found is None:
            found = self._expanded[f] = expand_comparisons(f, self._domains)
        return found

    def close(self):
        """Free the SAT solver."""
        self._solver.delete()

    # -- the primitive: satisfiability under assumptions ------------------

    def _load(self, variables) -> None:
        """Put the slice of the model that decides `variables` in the solver."""
        segments = self.model.cnf.closure(variables, self._loaded)
        if segments:
            _add_all(self._solver, self.model.cnf.clauses(segments))

    def _ids(self, f: Formula) -> list[int]:
        ids = self.pool.ids
        return [ids[name] for name in f.variables() if name in ids]

    def _slice(self, f: Formula) -> list[int]:
        """The segments deciding `f` and the pinned symbols (sorted)."""
        seen = bytearray(self.model.cnf.count)
        pins = [lit for unit in self._pins for lit in unit]
        return sorted(self.model.cnf.closure(self._ids(f) + pins, seen))

    def _literal(self, f: Formula) -> int:
        f = self.expand(f)
        self._load(self._ids(f))
        lit = self._tseitin.literal(f)
        if self._query_clauses:
            for clause in self._query_clauses:
                self._solver.add_clause(clause)
            self._defined.extend(self._query_clauses)
            self._query_clauses.clear()
        return lit

    def _satisfiable(self, formulas) -> bool:
        """Whether some valid configuration satisfies all `formulas`.

        Only the answer is read: the solver's model (one literal a variable
        of the whole architecture) costs more to copy out than most queries
        cost to solve."""
        key = tuple(formulas)
        found = self._answers.get(key)
        if found is None:
            found = self._answers[key] = self._solve_now(formulas)
        return found

    def _solve_now(self, formulas) -> bool:
        assumptions = []
        for f in formulas:
            if f is TRUE:
                continue
            if f is FALSE:
                return False
            assumptions.append(self._literal(f))
        return self._solver.solve(assumptions=assumptions)

    # -- questions ----------------------------------------------------------

    def consistent(self) -> bool:
        """Whether the model admits any configuration at all."""
        if self._consistent is None:
            self._consistent = self._satisfiable([])
        return self._consistent

    def possible(self, f: Formula, *also: Formula) -> bool:
        """Whether some valid configuration satisfies `f` and all of `also`."""
        return self._satisfiable([f, *also])

    def certain(self, f: Formula, given: Formula = TRUE) -> bool:
        """Whether every valid configuration satisfying `given` satisfies `f`."""
        return not self._satisfiable([given, neg(f)])

    def equivalent(self, a: Formula, b: Formula) -> bool:
        """Whether `a` and `b` agree in every valid configuration."""
        return self.certain(a, b) and self.certain(b, a)

    def decided(self, comparison: Formula) -> bool:
        """Whether a comparison variable's value follows from the symbols'
        values in every configuration (its free variable never counts)."""
        expanded = self.expand(comparison)
        if expanded is comparison:
            return False
        name = comparison.name
        return self.equivalent(expanded.substitute({name: TRUE}),
                               expanded.substitute({name: FALSE}))

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
        if given is TRUE and f.op not in ("const", "var"):
            if not self.possible(f):
                return FALSE
            if self.certain(f):
                return TRUE
        f = push_negations(f.substitute(lambda name: self.fixed_value(name)))
        if _size(f) <= self.CONTEXT_LIMIT:
            f = self._in_context(f, given)
        return self._drop_redundant(f, given)

    # Literal occurrences up to which `simplify` decides each literal in the
    # context of its siblings (two SAT calls a literal, on a loaded slice).
    CONTEXT_LIMIT = 40

    def _in_context(self, f: Formula, given: Formula) -> Formula:
        """`f` with each literal that its context decides replaced by its
        value: in ``A && (B || C)``, B is decided under ``A && !C``, so
        ``SMP && (!SMP || X)`` becomes ``SMP && X``. Equivalent to `f`
        wherever `given` holds."""
        if f.op in ("var", "not"):
            if not self.possible(f, given):
                return FALSE
            if self.certain(f, given):
                return TRUE
            return f
        if f.op not in ("and", "or"):
            return f
        args = list(f.args)
        for i in range(len(args)):
            others = args[:i] + args[i + 1:]
            context = conj_all(others) if f.op == "and" else neg(disj_all(others))
            args[i] = self._in_context(args[i], conj(given, context))
        return conj_all(args) if f.op == "and" else disj_all(args)

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
        # Only the symbols that decide f are weighed: the slice of the model
        # f reaches. Every other symbol can keep its base value unless the
        # slice's values force it (those follow, as olddefconfig would
        # derive them), and the result does not depend on which questions
        # were asked before.
        root = self._literal(f)
        f = self.expand(f)
        segments = self._slice(f)
        inside = set(segments)
        soft = list(self._soft_literals(base, segments, f))
        # The base itself, when it satisfies f, is the closest witness of all.
        if self._solver.solve(assumptions=[lit for lit, _ in soft] + [root]):
            return self._witness_from(self._solver.get_model(), base, base_name, f, inside)
        if not self.possible(f):
            return None
        # WCNF's own append copies clause by clause; the hard part is the
        # slice's clauses as they are, plus the queries' definitions.
        hard = self.model.cnf.clauses(segments) + self._pins + \
            self._query_definitions(root) + [[root]]
        # RC2 sizes its structures by the highest variable: number the
        # slice's variables 1..k so a small slice is a small problem.
        number: dict[int, int] = {}
        for clause in hard:
            for lit in clause:
                number.setdefault(abs(lit), len(number) + 1)
        for lit, _ in soft:
            number.setdefault(abs(lit), len(number) + 1)
        original = {n: v for v, n in number.items()}

        def renumber(lit):
            return number[lit] if lit > 0 else -number[-lit]

        wcnf = WCNF()
        wcnf.hard = [[renumber(lit) for lit in clause] for clause in hard]
        wcnf.soft = [[renumber(lit)] for lit, _ in soft]
        wcnf.wght = [weight for _, weight in soft]
        wcnf.topw = sum(wcnf.wght) + 1
        wcnf.nv = len(number)
        with RC2(wcnf, solver=SOLVER_NAME) as rc2:
            solution = rc2.compute()
        if solution is None:
            return None
        solution = [original[lit] if lit > 0 else -original[-lit] for lit in solution
                    if abs(lit) in original]
        return self._witness_from(solution, base, base_name, f, inside)

    def _query_definitions(self, root: int) -> list:
        """The clauses defining the auxiliary variables `root` stands on
        (of all the definitions the questions so far have added)."""
        model_top = len(self.model.cnf.defining)
        by_var: dict[int, list] = {}
        for clause in self._defined:
            for lit in clause:
                if abs(lit) >= model_top:
                    by_var.setdefault(abs(lit), []).append(clause)
        out, seen, todo = [], {abs(root)}, [abs(root)]
        taken: set[int] = set()
        while todo:
            for clause in by_var.get(todo.pop(), ()):
                if id(clause) in taken:
                    continue
                taken.add(id(clause))
                out.append(clause)
                for lit in clause:
                    v = abs(lit)
                    if v >= model_top and v not in seen:
                        seen.add(v)
                        todo.append(v)
        return out

    # A setting a user makes (a prompted symbol) weighs more than any number
    # of symbols that merely follow from settings, so the witness asks the
    # fewest changes of a person, and among those, disturbs the fewest others.
    PROMPTED_WEIGHT = 1000

    def _soft_literals(self, base: dict, segments: list, f: Formula):
        """(literal, weight): each bool/tristate symbol of the slice
        `segments` keeping its base value."""
        cnf, names, symbols = self.model.cnf, self.pool.names, self.model.symbols
        inside = set(segments)
        variables = set(self._ids(f))
        for s in segments:
            variables.update(abs(lit) for lit in cnf.flat[cnf.offsets[s]:cnf.offsets[s + 1]])
        for v in sorted(variables):
            name = names[v] if v < len(names) else None
            if name is None or v >= len(cnf.defining) or cnf.defining[v] not in inside:
                continue
            symbol, module = split_module(name)
            info = symbols.get(symbol)
            if info is None or info.type not in BOOL_TYPES or symbol not in base:
                continue
            keep = base[symbol] == ("m" if module else "y")
            yield (v if keep else -v), (self.PROMPTED_WEIGHT if info.prompt else 1)

    def _witness_from(self, solution: list, base: dict, base_name: str, f: Formula,
                      inside: set) -> Witness:
        assignment = {}
        names = self.pool.names
        defined = self.model.cnf.defining
        for lit in solution:
            n = abs(lit)
            if n < len(names) and names[n] is not None and \
                    (n >= len(defined) or defined[n] in inside or defined[n] < 0):
                assignment[names[n]] = lit > 0
        values = self.model.values_of(assignment)
        changes = [(name, base.get(name, "n"), value) for name, value in values.items()
                   if value != base.get(name, "n")]
        # only the free propositions this condition depends on are worth showing
        named = f.variables()
        free = {name: value for name, value in assignment.items()
                if name in named and name not in self.model.symbols and not is_value_var(name)
                and not (is_module_var(name) and symbol_of(name) in self.model.symbols)}
        compared = {}
        for name in named:
            if is_value_var(name):
                symbol = split_value_var(name)[0]
                found = value_of(assignment, symbol, self._domains[symbol])
                if found is not None:
                    compared[symbol] = found
                    # decided by the value: its comparisons are not relied on
                    for other in list(free):
                        if other.startswith(symbol) and other[len(symbol):len(symbol) + 1] in "<>=!":
                            del free[other]
        changes, decided = self._decisions_first(changes, f)
        return Witness(base_name, values, changes, free, decided, compared)

    def _decisions_first(self, changes: list, f: Formula) -> tuple[list, int]:
        """Order changes as a person would make them: first the settings a
        user chooses (prompted symbols, those the condition names first,
        each unless the choices before it already force it), then the
        symbols that follow. Returns (ordered changes, number of choices)."""
        symbols = self.model.symbols
        named = f.variables()
        ordered = sorted(changes, key=lambda c: (
            not symbols[c[0]].prompt,
            c[0] not in named and module_var(c[0]) not in named, c[0]))
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


def satisfiable(f: Formula) -> bool:
    """Whether some assignment of `f`'s variables, each free (no Kconfig
    model), makes it true: what holds of a condition on every architecture."""
    if f.op == "const":
        return bool(f.name)
    clauses: list = []
    Tseitin(VarPool(), clauses).assert_true(f)
    with Solver(name=SOLVER_NAME, bootstrap_with=clauses) as solver:
        return solver.solve()
