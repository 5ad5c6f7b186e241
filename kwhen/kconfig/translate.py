"""kconfiglib objects -> KconfigModel: exact tristate semantics in CNF.

The encoding follows kconfiglib's own evaluation (Symbol.tri_value,
_visibility, Choice.tri_value, Choice.selection), so that every configuration
kconfiglib can produce satisfies the clauses, and (but for the few spots
marked OVER-APPROXIMATION, also listed in `model.notes`) every assignment
satisfying the clauses is one kconfiglib can produce.

A tristate value is a pair of formulas (ge_m, ge_y): value >= m, value >= y
(ge_y implies ge_m). AND is min, OR is max, NOT is 2 - v.

Variables (DEVELOPERS.md): bool FOO -> `FOO`; tristate FOO -> `FOO` (= y)
and `FOO=m`; a choice's mode -> `<choice:NAME>` or `<choice@file:line>` (and
`...=m` for tristate choices); comparisons of string/int/hex symbols ->
`SYM<op>VALUE`; shell output -> `?shell:<command>`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import kconfiglib
from kconfiglib import (AND, BOOL, EQUAL, GREATER, GREATER_EQUAL, HEX, INT, LESS,
                        LESS_EQUAL, NOT, OR, STRING, TRISTATE, UNEQUAL, Choice, Symbol)

from kwhen.kconfig.arches import defconfig_path, resolve_arch
from kwhen.kconfig.model import KconfigModel, SymbolInfo
from kwhen.kconfig.parse import is_shell_marker, kwhen_error_of, load_kconfig
from kwhen.logic.cnf import SegmentedClauses, Tseitin, VarPool
from kwhen.logic.values import Domain, canonical, comparison_formula, empty_string, value_var
from kwhen.logic.formula import (FALSE, TRUE, Formula, conj, conj_all, disj, disj_all,
                                 iff, implies, neg, var)
from kwhen.logic.names import (comparison, mentions_shell_unknown, module_var, old_config_value,
                               quoted_value, shell_unknown)

__all__ = ["build_model", "build", "Built", "kconfig_values", "free_values",
           "satisfies", "violated_constraints", "shell_var_name"]

_TYPE_NAMES = {BOOL: "bool", TRISTATE: "tristate", STRING: "string", INT: "int",
               HEX: "hex", 0: "unknown"}
_REL = {EQUAL: "=", UNEQUAL: "!=", LESS: "<", LESS_EQUAL: "<=", GREATER: ">",
        GREATER_EQUAL: ">="}
_MIRROR = {EQUAL: EQUAL, UNEQUAL: UNEQUAL, LESS: GREATER, LESS_EQUAL: GREATER_EQUAL,
           GREATER: LESS, GREATER_EQUAL: LESS_EQUAL}
# Each relation is the canonical one or the negation of one, so that
# `HZ!=100` is exactly `!HZ=100` (both variables exist, tied by a clause).
_CANONICAL = {"=": ("=", False), "!=": ("=", True), "<=": ("<=", False),
              ">": ("<=", True), ">=": (">=", False), "<": (">=", True)}
_BOOL_TRI = (BOOL, TRISTATE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")

N = (FALSE, FALSE)
M = (TRUE, FALSE)
Y = (TRUE, TRUE)


def _rel_holds(rel, comp: int) -> bool:
    return (comp == 0 if rel is EQUAL else comp != 0 if rel is UNEQUAL else
            comp < 0 if rel is LESS else comp <= 0 if rel is LESS_EQUAL else
            comp > 0 if rel is GREATER else comp >= 0)


def _strcmp(a: str, b: str) -> int:
    return (a > b) - (a < b)


def shell_var_name(command: str, srctree: str = "", markers: dict | None = None) -> str:
    """``?shell:<short command text>`` for a command kwhen did not run."""
    return shell_unknown(_short_command(command, srctree, markers or {}))


_SUCCESS_RE = re.compile(r'^\{ (.*); \} >/dev/null 2>&1 && echo "(\w*)" \|\| echo "(\w*)"$', re.S)


def _short_command(command: str, srctree: str, markers: dict, depth: int = 0) -> str:
    text = command
    if srctree:
        text = text.replace(srctree.rstrip("/") + "/", "$(srctree)/").replace(srctree, "$(srctree)")
    if depth < 4:
        text = re.sub(r"KWHEN_SHELL_[0-9a-f]{10}",
                      lambda m: "$(shell," + _short_command(markers.get(m.group(0), m.group(0)),
                                                             srctree, markers, depth + 1) + ")"
                      if m.group(0) in markers else m.group(0), text)
    m = _SUCCESS_RE.match(text)
    if m:
        inner = m.group(1)
        if (m.group(2), m.group(3)) == ("y", "n"):
            text = f"success,{inner}"
        elif (m.group(2), m.group(3)) == ("n", "y"):
            text = f"failure,{inner}"
        else:
            text = f"if-success,{inner},{m.group(2)},{m.group(3)}"
    text = " ".join(text.split())
    if len(text) > 100:
        digest = hashlib.sha1(command.encode()).hexdigest()[:8]
        text = text[:88] + "...#" + digest
    return text


@dataclass
class Built:
    """A model with the kconfiglib objects it came from (for tests/checks)."""
    model: KconfigModel
    kconf: kconfiglib.Kconfig
    free_exprs: dict = field(default_factory=dict)   # free var -> kconfiglib expr
    constraints: list = field(default_factory=list)  # (owner name, Formula)


class _Translator:
    def __init__(self, kconf, srctree: str):
        self.kconf = kconf
        self.srctree = srctree
        self.pool = VarPool()
        # constraints are kept per owner (the symbol or choice whose value
        # they define) and Tseitin definitions per auxiliary variable, so a
        # query can load only the slice it needs (SegmentedClauses)
        self.groups: dict[str, list] = {}
        self.defs: dict[int, list] = {}
        # symbol -> when it can be other than n, over the other symbols
        self.enable: dict[str, Formula] = {}
        self.tseitin = Tseitin(self.pool, [], self.defs)
        self.memo: dict = {}
        self.free: dict[str, str] = {}
        self.free_exprs: dict = {}
        self.notes: list[str] = []
        self.undefined_refs: set[str] = set()
        self.constraints: list = []
        self.choice_names: dict = {}
        self.sym_pairs: dict = {}
        self.markers = getattr(kconf, "kwhen_shell", {})
        self.marker_where = getattr(kconf, "kwhen_shell_where", {})
        self.transitional = getattr(kconf, "kwhen_transitional", set())
        self.notes_seen: set = set()
        # int/hex/string symbol -> the values its constant defaults give
        # (kwhen.logic.values); owner -> the variables its segment defines,
        # for owners that are not bool/tristate symbols
        self.domains: dict[str, Domain] = {}
        self.defines: dict[str, list] = {}

    def note(self, text: str):
        if text not in self.notes_seen:
            self.notes_seen.add(text)
            self.notes.append(text)

    # -- variables ------------------------------------------------------------

    def declare(self):
        kconf = self.kconf
        for sym in kconf.unique_defined_syms:
            if sym.orig_type in _BOOL_TRI:
                self.pool.id(sym.name)
                if sym.orig_type is TRISTATE:
                    self.pool.id(module_var(sym.name))
        for choice in kconf.unique_choices:
            name = self.choice_name(choice)
            self.pool.id(name)
            if choice.orig_type is TRISTATE:
                self.pool.id(module_var(name))

    def choice_name(self, choice) -> str:
        found = self.choice_names.get(choice)
        if found is None:
            if choice.name:
                found = f"<choice:{choice.name}>"
            else:
                node = choice.nodes[0]
                found = f"<choice@{node.filename}:{node.linenr}>"
            self.choice_names[choice] = found
        return found

    def sym_pair(self, sym):
        found = self.sym_pairs.get(sym)
        if found is not None:
            return found
        if sym.orig_type in _BOOL_TRI:
            if sym.is_constant:
                pair = (N, M, Y)[sym.tri_value]
            elif not sym.nodes:
                pair = N
            elif sym.name in self.transitional:
                pair = self.old_config_pair(sym)
            elif sym.orig_type is BOOL:
                y = var(sym.name)
                pair = (y, y)
            else:
                y = var(sym.name)
                pair = (disj(y, var(module_var(sym.name))), y)
        elif not sym.nodes and not sym.is_constant and is_shell_marker(sym.name):
            v = self.free_var(self.shell_name(sym.name), self.shell_explanation(sym.name), sym)
            pair = (v, v)
        else:
            if not sym.nodes and not sym.is_constant and _IDENT.match(sym.name):
                # referenced but defined nowhere (on this architecture): n
                self.undefined_refs.add(sym.name)
            pair = N
        self.sym_pairs[sym] = pair
        return pair

    def old_config_pair(self, sym):
        """A `transitional` symbol as other symbols see it: whatever an old
        .config gave it (Linux 6.18: it is read from the .config and never
        written back, so it never reaches the build itself)."""
        name = old_config_value(sym.name)
        why = (f"the value an old .config gives the transitional symbol {sym.name} "
               f"(Kconfig reads it, never writes it)")
        y = self.free_var(name, why, sym)
        if sym.orig_type is not TRISTATE:
            return (y, y)
        m = self.free_var(module_var(name), why, sym)
        self.assert_(name, neg(conj(y, m)))
        return (disj(y, m), y)

    def choice_pair(self, choice):
        found = self.sym_pairs.get(choice)
        if found is None:
            name = self.choice_name(choice)
            y = var(name)
            found = (disj(y, var(module_var(name))), y) if choice.orig_type is TRISTATE else (y, y)
            self.sym_pairs[choice] = found
        return found

    def shell_name(self, marker: str) -> str:
        return shell_var_name(self.markers.get(marker, marker), self.srctree, self.markers)

    def shell_explanation(self, marker: str) -> str:
        where = self.marker_where.get(marker)
        at = f" at {where}" if where else ""
        cmd = self.markers.get(marker, marker)
        if self.srctree:
            cmd = cmd.replace(self.srctree, "$(srctree)")
        return (f"result of $(shell,{cmd}){at}, not run "
                f"(kwhen does not execute the tree; --trust-tree runs it)")

    def free_var(self, name: str, explanation: str, expr) -> Formula:
        if name not in self.free:
            if mentions_shell_unknown(name):
                self.note("results of $(shell,...) are free propositions (not run), "
                          "so symbols defined by them may take either value")
            else:
                # OVER-APPROXIMATION: where Kconfig's defaults do not fix a
                # string/int/hex symbol's value (a prompt, a range, a default
                # naming another symbol), each comparison is its own
                # proposition (only A!=B = !(A=B), A>B = !(A<=B), A<B =
                # !(A>=B) are tied).
                self.note("comparisons of string/int/hex symbols whose value Kconfig's "
                          "defaults do not fix are free propositions")
            self.free[name] = explanation
            self.free_exprs[name] = expr
            self.pool.id(name)
        return var(name)

    # -- expressions ----------------------------------------------------------

    def tri(self, e):
        """(ge_m, ge_y) of a kconfiglib expression."""
        hit = self.memo.get(id(e))
        if hit is not None:
            return hit[1]
        cls = e.__class__
        if cls is Symbol:
            res = self.sym_pair(e)
        elif cls is tuple:
            op = e[0]
            if op is AND or op is OR:
                # flatten the (left-nested, possibly long) chain iteratively
                operands, stack = [], [e]
                while stack:
                    x = stack.pop()
                    if x.__class__ is tuple and x[0] is op:
                        stack.append(x[2])
                        stack.append(x[1])
                    else:
                        operands.append(x)
                pairs = [self.tri(x) for x in operands]
                if op is AND:
                    res = (conj_all(p[0] for p in pairs), conj_all(p[1] for p in pairs))
                else:
                    res = (disj_all(p[0] for p in pairs), disj_all(p[1] for p in pairs))
            elif op is NOT:
                a, b = self.tri(e[1])
                res = (neg(b), neg(a))
            else:
                r = self.relation(e)
                res = (r, r)
        elif cls is Choice:
            res = self.choice_pair(e)
        else:
            raise TypeError(f"unexpected Kconfig expression {e!r}")
        self.memo[id(e)] = (e, res)
        return res

    def _operand(self, sym):
        """('tri', sym) | ('const', text) | ('value', sym) | ('shell', sym)."""
        if sym.orig_type in _BOOL_TRI and (sym.is_constant or sym.nodes):
            return "tri"
        if not sym.nodes and not sym.is_constant and is_shell_marker(sym.name):
            return "shell"
        if sym.is_constant or not sym.nodes or not sym.orig_type:
            return "const"
        return "value"

    def _cases(self, sym, kind):
        """[(formula, str value, number or None)] for a tri or const operand."""
        if kind == "tri":
            a, b = self.sym_pair(sym)
            return [(neg(a), "n", 0), (conj(a, neg(b)), "m", 1), (b, "y", 2)]
        text = sym.name if sym.is_constant or not sym.nodes else sym.str_value
        base = kconfiglib._TYPE_TO_BASE.get(sym.orig_type, 0)
        try:
            num = int(text, base)
        except ValueError:
            num = None
        return [(TRUE, text, num)]

    def relation(self, e) -> Formula:
        rel, s1, s2 = e
        k1, k2 = self._operand(s1), self._operand(s2)
        if k1 in ("tri", "const") and k2 in ("tri", "const"):
            if k1 == "const" and k2 == "const":
                return TRUE if kconfiglib.expr_value(e) == 2 else FALSE
            # exact: enumerate the values of the tri-valued side(s)
            out = []
            for f1, t1, n1 in self._cases(s1, k1):
                for f2, t2, n2 in self._cases(s2, k2):
                    if n1 is not None and n2 is not None:
                        comp = n1 - n2
                    else:
                        comp = _strcmp(t1, t2)
                    if _rel_holds(rel, comp):
                        out.append(conj(f1, f2))
            return disj_all(out)
        # a comparison involving a string/int/hex symbol or a shell result:
        # a free proposition named SYM<op>VALUE
        if k1 in ("const", "tri") and k2 in ("value", "shell"):
            rel, s1, s2, k1, k2 = _MIRROR[rel], s2, s1, k2, k1
        op = _REL[rel]
        left, right = self._side(s1, k1), self._side(s2, k2, s1)
        canon_op, negated = _CANONICAL[op]
        canon = comparison(left, canon_op, right)
        expl = self._relation_explanation(s1, k1, s2, k2)
        base = self.free_var(canon, expl, (kconfiglib.EQUAL if canon_op == "=" else
                                           kconfiglib.LESS_EQUAL if canon_op == "<=" else
                                           kconfiglib.GREATER_EQUAL, s1, s2))
        if negated:
            name = comparison(left, op, right)
            if name not in self.free:
                v = self.free_var(name, expl, (rel, s1, s2))
                self.assert_(name, iff(v, neg(base)))
        domain = self.domains.get(s1.name) if k1 == "value" and k2 == "const" else None
        exact = comparison_formula(s1.name, domain, canon_op, right, canon) \
            if domain is not None else None
        if exact is not None:
            # decided by the symbol's value where Kconfig's defaults fix it;
            # the comparison's own variable counts only in the open case
            base = exact
        return neg(base) if negated else base

    def _side(self, sym, kind, other=None) -> str:
        if kind == "shell":
            return self.shell_name(sym.name)
        if kind in ("value", "tri"):
            return sym.name
        if other is not None and other.orig_type in (INT, HEX):
            # numbers as C writes them (decimal, 0x... for hex), the form
            # every layer's comparison names share (kwhen.logic.values)
            number = canonical(_TYPE_NAMES[other.orig_type], sym.name, hex_base=True)
            if number is not None:
                return number
        return quoted_value(sym.name)

    def _relation_explanation(self, s1, k1, s2, k2) -> str:
        parts = []
        for sym, kind in ((s1, k1), (s2, k2)):
            if kind == "value":
                parts.append(f"the {_TYPE_NAMES.get(sym.orig_type, 'unknown')} symbol {sym.name}")
            elif kind == "shell":
                parts.append(self.shell_explanation(sym.name))
        return ("comparison of " + " and ".join(parts) +
                " where Kconfig's defaults do not fix the value (a user's choice, "
                "or a value kwhen does not model)")

    # -- constraints -----------------------------------------------------------

    def group(self, owner: str) -> list:
        found = self.groups.get(owner)
        if found is None:
            found = self.groups[owner] = []
        return found

    def assert_(self, owner: str, f: Formula):
        if f is TRUE:
            return
        self.constraints.append((owner, f))
        self.tseitin.out = self.group(owner)
        self.tseitin.assert_true(f)

    def visibility_raw(self, sc):
        if sc.__class__ is Symbol and sc.name in self.transitional:
            return N
        pairs = [self.tri(node.prompt[1]) for node in sc.nodes if node.prompt]
        if not pairs:
            return N
        return (disj_all(p[0] for p in pairs), disj_all(p[1] for p in pairs))

    def defaults_pair(self, defaults):
        da, db = FALSE, FALSE
        for default, cond in reversed(defaults):
            ca, cb = self.tri(cond)
            xa, xb = self.tri(default)
            da = disj(conj(ca, xa), conj(neg(ca), da))
            db = disj(conj(ca, xb, cb), conj(neg(ca), db))
        return da, db

    def encode_symbol(self, sym, modules_on: Formula):
        name = sym.name
        v1, v2 = self.visibility_raw(sym)
        r1, r2 = self.tri(sym.rev_dep)
        w1, w2 = self.tri(sym.weak_rev_dep)
        tristate = sym.orig_type is TRISTATE
        is_bool_type = TRUE if not tristate else neg(modules_on)
        # m is promoted to y for bool-typed symbols only, as Linux 6.1's
        # kconfig does (sym_calc_value). kconfiglib 14.1.0 also promotes an
        # m implied by a y, but the kernel's randconfig writes CRYPTO_XTS=m
        # beside CRYPTO_CAST6_AVX_X86_64=y, which implies it: the kernel is
        # the truth.
        q = is_bool_type
        y = var(name)
        m = var(module_var(name)) if tristate else FALSE
        xa = disj(y, m)

        def defaults_with_imply():
            da, db = self.defaults_pair(sym.defaults)
            dd = self.tri(sym.direct_dep)[0]
            return disj(da, conj(w1, dd)), disj(db, conj(w2, dd))

        need_defaults = v1 is not TRUE
        d1, d2 = defaults_with_imply() if (need_defaults or tristate) else (FALSE, FALSE)
        # a visible symbol can be set; a hidden one takes its defaults,
        # raised by select
        self.enable[name] = disj(v1, d1, r1)
        if tristate:
            self.assert_(name, neg(conj(y, m)))
            self.assert_(name, implies(m, modules_on))
        if v1 is not FALSE:
            # visible: the user picks any value up to the visibility, or leaves
            # it to the defaults (which may exceed an m visibility); select
            # raises it, promotion rounds m up.
            self.assert_(name, implies(r1, xa))
            self.assert_(name, implies(disj(r2, conj(r1, q)), y))
            if tristate:
                self.assert_(name, implies(q, neg(m)))
                self.assert_(name, implies(conj(v1, y), disj(v2, d2, r2, q)))
        if need_defaults:
            # invisible: the value is a function of the others
            fa = disj(d1, r1)
            fb = disj(d2, r2, conj(fa, q))
            hidden = neg(v1)
            if tristate:
                self.assert_(name, implies(hidden, iff(y, fb)))
                self.assert_(name, implies(hidden, iff(m, conj(fa, neg(fb)))))
            else:
                self.assert_(name, implies(hidden, iff(y, fa)))

    # -- values of int/hex/string symbols (kwhen.logic.values) ---------------

    def default_value(self, sym, value_sym) -> str | None:
        """The canonical value a `default` gives `sym`, None when kwhen
        cannot tell (another symbol's value, a $(shell,...) result, a
        number that does not parse)."""
        if value_sym.nodes and not value_sym.is_constant:
            return None
        if is_shell_marker(value_sym.name):
            return None
        return canonical(_TYPE_NAMES[sym.orig_type], value_sym.name, hex_base=True)

    def collect_domains(self):
        for sym in self.kconf.unique_defined_syms:
            if sym.orig_type not in (INT, HEX, STRING):
                continue
            values = []
            for value_sym, _ in sym.defaults:
                v = self.default_value(sym, value_sym)
                if v is not None and v not in values:
                    values.append(v)
            if values:
                self.domains[sym.name] = Domain(_TYPE_NAMES[sym.orig_type], tuple(values))

    def range_may_clamp(self, sym, domain: Domain) -> bool:
        """Whether a `range` could move a default's value (Kconfig clamps
        it): a bound kwhen cannot read, or a default outside a bound."""
        for low, high, _ in sym.ranges:
            bounds = [self.default_value(sym, b) for b in (low, high)]
            if None in bounds:
                return True
            lo, hi = (int(b, 0) for b in bounds)
            if any(not lo <= int(v, 0) <= hi for v in domain.values):
                return True
        return False

    def encode_values(self, sym, domain: Domain):
        """At most one value proposition holds; where the user cannot set
        the symbol (no visible prompt), exactly the one of the first
        default whose condition holds, if that default's value is known."""
        name = sym.name
        props = [var(value_var(name, v)) for v in domain.values]
        self.defines[name] = [value_var(name, v) for v in domain.values] + (
            [empty_string(name)] if domain.type == "string" else [])
        for p in props:
            self.pool.id(p.name)
        self.at_most_one([self.pool.id(p.name) for p in props], name)
        if name in self.transitional or self.range_may_clamp(sym, domain):
            # OVER-APPROXIMATION: any of the values, or another
            return
        # Hidden, the value is that of the first default whose condition
        # holds. Clauses straight from the defaults, linear in them: an
        # auxiliary "none of the first i conditions holds" per default (a
        # chain), then per default "hidden, its condition and none before
        # it: its value (no value when kwhen cannot read it)", and "hidden
        # and no condition holds: no value". The formula per value ("the
        # i-th default and not the earlier ones") was quadratic in clauses,
        # and U-Boot has symbols with hundreds of defaults.
        hidden = neg(self.visibility_raw(sym)[0])
        if hidden is FALSE:
            return
        literal = self.tseitin.literal
        out = self.group(name)
        shown = [] if hidden is TRUE else [-literal(hidden, False, True)]
        value_ids = {v: self.pool.id(p.name) for v, p in zip(domain.values, props)}
        none_before = None          # literal: no earlier condition holds (None: none seen)
        rules = []
        for value_sym, cond in sym.defaults:
            c = self.tri(cond)[0]
            if c is FALSE:
                continue
            v = self.default_value(sym, value_sym)
            rules.append((c, v))
            gives = [value_ids[v]] if v is not None else [-i for i in value_ids.values()]
            if c is TRUE:
                for outcome in gives:
                    out.append(shown + ([-none_before] if none_before else []) + [outcome])
                none_before = False
                break
            c_lit = literal(c)
            for outcome in gives:
                out.append(shown + [-c_lit] + ([-none_before] if none_before else []) + [outcome])
            none_before = self._none_of(none_before, c_lit)
        if none_before is not False:
            for i in value_ids.values():
                out.append(shown + ([-none_before] if none_before else []) + [-i])
            if domain.type == "string":
                # hidden, no default applying: a string is empty (.config
                # has no line for it: $(CONFIG_SYS_VENDOR) is empty in make)
                out.append(shown + ([-none_before] if none_before else [])
                           + [self.pool.id(empty_string(name))])
        self.constraints.append((name, _FirstDefault(hidden, rules, dict(zip(domain.values, props)))))

    def _none_of(self, before: int | None, c_lit: int) -> int:
        """An auxiliary literal defined as `before` (None: true) and not
        `c_lit`, its clauses the definition's own segment."""
        aux = self.pool.fresh()
        if before is None:
            self.defs[aux] = [[-aux, -c_lit], [aux, c_lit]]
        else:
            self.defs[aux] = [[-aux, before], [-aux, -c_lit], [aux, -before, c_lit]]
        return aux

    def encode_choice(self, choice, modules_on: Formula):
        cname = self.choice_name(choice)
        tristate = choice.orig_type is TRISTATE
        c1, c2 = self.visibility_raw(choice)
        is_bool_type = TRUE if not tristate else neg(modules_on)
        cy = var(cname)
        cm = var(module_var(cname)) if tristate else FALSE
        ca = disj(cy, cm)
        vis_y = disj(c2, conj(c1, is_bool_type))
        self.assert_(cname, implies(ca, c1))
        self.assert_(cname, implies(cy, vis_y))
        if tristate:
            self.assert_(cname, neg(conj(cy, cm)))
            self.assert_(cname, implies(cm, modules_on))
        if not choice.is_optional:
            self.assert_(cname, implies(c1, ca))
        # a symbol may be defined twice in one choice: count it once
        members = [s for s in dict.fromkeys(choice.syms) if s.orig_type in _BOOL_TRI]
        selectable = []
        for sym in members:
            v1, v2 = self.visibility_raw(sym)
            y = var(sym.name)
            if sym.orig_type is TRISTATE:
                e = conj(v2, cy)
                mm = conj(v1, neg(cy)) if tristate else FALSE
                self.assert_(sym.name, neg(conj(y, var(module_var(sym.name)))))
                self.assert_(sym.name, implies(var(module_var(sym.name)), mm))
            else:
                e = conj(v1, cy) if tristate else v1
            # only a visible member can be the selection
            self.assert_(sym.name, implies(y, e))
            self.enable[sym.name] = conj(v1, c1)
            selectable.append((y, e))
        # in y mode exactly one visible member is y (none if none is visible)
        self.assert_(cname, implies(disj_all(e for _, e in selectable),
                                    disj_all(y for y, _ in selectable)))
        self.at_most_one([self.tseitin.literal(y, True, True) for y, _ in selectable], cname)

    def at_most_one(self, lits: list, owner: str):
        out = self.group(owner)
        if len(lits) <= 6:
            for i in range(len(lits)):
                for j in range(i + 1, len(lits)):
                    out.append([-lits[i], -lits[j]])
            return
        # sequential counter (Sinz): s_i = "one of lits[0..i] is true"
        prev = None
        for i, lit in enumerate(lits):
            s = self.pool.fresh() if i < len(lits) - 1 else None
            if s is not None:
                out.append([-lit, s])
            if prev is not None:
                out.append([-lit, -prev])
                if s is not None:
                    out.append([-prev, s])
            prev = s

    def run(self):
        kconf = self.kconf
        self.declare()
        if not self.domains:
            self.collect_domains()
        modules_on = self.tri(kconf.modules)[0]
        for sym in kconf.unique_defined_syms:
            domain = self.domains.get(sym.name)
            if domain is not None:
                self.encode_values(sym, domain)
        for sym in kconf.unique_defined_syms:
            if sym.orig_type not in _BOOL_TRI or sym.choice is not None:
                continue
            self.encode_symbol(sym, modules_on)
        for choice in kconf.unique_choices:
            self.encode_choice(choice, modules_on)
        choice_syms = [s for s in kconf.unique_defined_syms
                       if s.choice is not None and s.orig_type in _BOOL_TRI
                       and s not in s.choice.syms]
        for sym in choice_syms:  # defensive: kconfiglib always lists them
            self.encode_symbol(sym, modules_on)
        for name in sorted(self.undefined_refs):
            if name in kconf.syms and not kconf.syms[name].nodes:
                self.group(name).append([-self.pool.id(name)])

    def segments(self) -> SegmentedClauses:
        """Each owner's constraints defining its variables (a symbol's y and
        =m, a choice's), then each auxiliary variable's definition."""
        ids = self.pool.ids
        parts = []
        # a symbol without constraints still gets its (empty) segment: a
        # witness weighs exactly the symbols inside a slice
        for sym in self.kconf.unique_defined_syms:
            if sym.orig_type in _BOOL_TRI:
                self.group(sym.name)
        for owner, clauses in self.groups.items():
            defines = [ids[n] for n in self.defines.get(owner, (owner, module_var(owner)))
                       if n in ids]
            parts.append((defines, clauses))
        for aux, clauses in self.defs.items():
            parts.append(([aux], clauses))
        return SegmentedClauses.build(parts, self.pool.top)


class _FirstDefault:
    """The constraint `encode_values` writes as clauses, for
    `violated_constraints`: hidden, a symbol's value propositions say the
    value of the first default whose condition holds (none when kwhen
    cannot read that value, or no condition holds)."""

    def __init__(self, hidden: Formula, rules: list, props: dict):
        self.hidden, self.rules, self.props = hidden, rules, props

    def evaluate(self, assignment: dict, default: bool = False) -> bool:
        if not self.hidden.evaluate(assignment, default=default):
            return True
        chosen = None
        for c, v in self.rules:
            if c.evaluate(assignment, default=default):
                chosen = v
                break
        return all(p.evaluate(assignment, default=default) == (v == chosen)
                   for v, p in self.props.items())

    def __str__(self) -> str:
        return (f"when {self.hidden}: the value of the first default of "
                f"{len(self.rules)} whose condition holds")


def _locations(sym) -> list:
    return [f"{node.filename}:{node.linenr}" for node in sym.nodes]


def kconfig_values(kconf) -> dict[str, str]:
    """y/m/n of every bool/tristate symbol, as kconfiglib computes it now."""
    return {sym.name: sym.str_value for sym in kconf.unique_defined_syms
            if sym.orig_type in _BOOL_TRI}


def free_values(built: Built) -> dict[str, bool]:
    """Free propositions as kconfiglib evaluates them now (markers: n)."""
    out = {}
    for name, expr in built.free_exprs.items():
        out[name] = kconfiglib.expr_value(expr) == 2
    return out


def _load_base(kconf, path: Path | None, tree: Path) -> dict[str, str]:
    if path is not None:
        try:
            kconf.load_config(str(path))
        except (kconfiglib.KconfigError, OSError) as exc:
            raise kwhen_error_of(exc, tree) from None
    values = kconfig_values(kconf)
    return values


def build(tree: Path, arch: str | None = None, trust_tree: bool = False,
          base_config: Path | None = None, on_symbols=None) -> Built:
    """Like `build_model`, also returning the kconfiglib objects.

    `on_symbols(types)`, if given, is called with {symbol: SymbolInfo(type)}
    as soon as parsing is done, before the (longer) translation: work that
    needs only the symbol table, such as Kbuild, can start then.
    """
    tree = Path(tree)
    arch_name, srcarch = resolve_arch(tree, arch)
    kconf = load_kconfig(tree, arch_name, srcarch, trust_tree=trust_tree)
    srctree = str(tree.resolve())
    tr = _Translator(kconf, srctree)
    tr.collect_domains()

    def string_values(name: str) -> tuple:
        domain = tr.domains.get(name)
        return domain.values if domain is not None and domain.type == "string" else ()

    if on_symbols is not None:
        on_symbols({sym.name: SymbolInfo(_TYPE_NAMES.get(sym.orig_type, "unknown"),
                                         values=string_values(sym.name))
                    for sym in kconf.unique_defined_syms})
    tr.run()

    symbols: dict[str, SymbolInfo] = {}
    for sym in kconf.unique_defined_syms:
        prompt = any(node.prompt for node in sym.nodes) and \
            sym.name not in tr.transitional
        symbols[sym.name] = SymbolInfo(_TYPE_NAMES.get(sym.orig_type, "unknown"),
                                       bool(prompt), _locations(sym), string_values(sym.name))

    if base_config is not None:
        base_path, base_name = Path(base_config), Path(base_config).name
    else:
        base_path = defconfig_path(tree, arch_name, srcarch)
        base_name = base_path.name if base_path is not None else "defaults"
    base = _load_base(kconf, base_path, tree)

    sources = []
    seen = set()
    for name in kconf.kconfig_filenames:
        rel = name
        if name.startswith(srctree + "/"):
            rel = name[len(srctree) + 1:]
        if rel not in seen:
            seen.add(rel)
            sources.append(rel)

    model = KconfigModel(
        arch=arch_name, srcarch=srcarch, symbols=symbols,
        var_names=list(tr.pool.names), cnf=tr.segments(),
        enable_data=json.dumps({n: f.to_data() for n, f in tr.enable.items()}).encode(),
        base_name=base_name, base=base, free=dict(tr.free), notes=list(tr.notes),
        sources=sources, domains=dict(tr.domains),
    )
    return Built(model, kconf, tr.free_exprs, tr.constraints)


def build_model(tree: Path, arch: str | None = None, trust_tree: bool = False,
                base_config: Path | None = None, on_symbols=None) -> KconfigModel:
    """The Kconfig model of `tree` for `arch` (None: the host's).

    The base configuration is `base_config` if given, else the arch's
    defconfig (Kconfig's own defaults if it has none), evaluated by
    kconfiglib without running anything from the tree.
    """
    return build(tree, arch, trust_tree, base_config, on_symbols).model


# -- checking configurations against the clauses -----------------------------

def satisfies(model: KconfigModel, values: dict[str, str],
              free: dict[str, bool] | None = None) -> bool:
    """Whether symbol values (y/m/n; absent = n) and free values satisfy the clauses."""
    from pysat.solvers import Solver
    ids = {n: i for i, n in enumerate(model.var_names) if n is not None}
    assumptions = []
    for name, info in model.symbols.items():
        if info.type not in ("bool", "tristate"):
            continue
        value = values.get(name, "n")
        y = ids.get(name)
        if y is not None:
            assumptions.append(y if value == "y" else -y)
        if info.type == "tristate":
            mid = ids.get(module_var(name))
            if mid is not None:
                assumptions.append(mid if value == "m" else -mid)
    for name, value in (free or {}).items():
        i = ids.get(name)
        if i is not None:
            assumptions.append(i if value else -i)
    with Solver(name="glucose4", bootstrap_with=model.clauses) as solver:
        return solver.solve(assumptions=assumptions)


def violated_constraints(built: Built, values: dict[str, str],
                         free: dict[str, bool] | None = None) -> list:
    """(owner, constraint) pairs that `values` break (choice modes guessed).

    For diagnosis: evaluates each constraint formula directly; a choice's
    mode is taken from kconfiglib.
    """
    assignment: dict[str, bool] = {}
    for name, info in built.model.symbols.items():
        if info.type in ("bool", "tristate"):
            v = values.get(name, "n")
            assignment[name] = v == "y"
            if info.type == "tristate":
                assignment[module_var(name)] = v == "m"
    for choice in built.kconf.unique_choices:
        node = choice.nodes[0]
        cname = f"<choice:{choice.name}>" if choice.name else \
            f"<choice@{node.filename}:{node.linenr}>"
        assignment[cname] = choice.tri_value == 2
        assignment[module_var(cname)] = choice.tri_value == 1
    assignment.update(free or {})
    bad = []
    for owner, f in built.constraints:
        if not f.evaluate(assignment, default=False):
            bad.append((owner, f))
    return bad
