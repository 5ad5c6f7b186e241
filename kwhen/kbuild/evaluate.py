"""Symbolic evaluation of GNU make, as Kbuild files use it.

Make is evaluated once per makefile for all configurations at the same time:
every statement runs under a *path condition* (a `Formula` over Kconfig
variables, true where the enclosing ``ifeq``/``ifdef`` branches are taken),
and every variable holds a *value* that records under which condition each
of its words is present (`kwhen.kbuild.values`). The text is parsed by
`kwhen.kbuild.text`, the functions are `kwhen.kbuild.functions`.

Nothing is ever executed: ``$(shell ...)``, kbuild helpers that run the
compiler (``cc-option``...), ``$(eval ...)`` and unknown functions give
`Unknown` words. An unknown that reaches a condition becomes the free
variable ``?make:PATH:LINE`` and is recorded in `Evaluator.unknowns`.
"""

from __future__ import annotations

import os
import posixpath
from typing import Mapping

from kwhen.exceptions import KwhenError
from kwhen.kbuild.functions import MakeFunctions, const_text, map_words, pat_split
from kwhen.kbuild.makefile import Assign, Cond, Define, Export, Expr, Include, Rule, Undefine, parse_makefile
from kwhen.kbuild.text import parse_text
from kwhen.kbuild.values import (
    MAX_ALTS, MAX_DEPTH, MAX_STEPS, MAX_WORDS, UNKNOWN_VARS, Choice, Lazy, SymVal, TooManyAlternatives, Unknown, Var,
    alternatives, choice, flatten, glue, merge_alternatives, restrict, words_value,
)
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, conj_all, conj_pair, disj_all, disj_pair, neg, var
from kwhen.logic.names import comparison, module_var, quoted_value
from kwhen.logic.values import empty_string, value_var
from kwhen.readfile import read_text

__all__ = ["Evaluator"]

_GENERATED_DIRS = ("include/config/", "include/generated/")

class Trace:
    """What reading some makefiles asked of the tree: the makefiles parsed
    (in order), the directories listed (with what they held), the
    directories whose whole subtree was looked at, and the unknowns noted.
    The same makefiles read again give the same result unless one of these
    changed."""

    def __init__(self):
        self.files: dict = {}       # makefile -> None, in the order first read
        self.dirs: dict = {}        # directory ("" the top) -> frozenset of its names
        self.trees: set = set()     # directory ("." the top) -> anything below it
        self.unknowns: dict = {}    # (path, line) -> reason
        self.generated: set = set() # objects named without a source

    def reached_by(self, changed: dict, names) -> bool:
        """Whether a change (path -> git status letter) reaches what was
        asked; `names(d)` lists directory d in the changed tree."""
        for path, status in changed.items():
            if path in self.files:
                return True
            if status == "M":
                continue
            for top in self.trees:
                if top == "." or path == top or path.startswith(top + "/"):
                    return True
            d = path
            while d:
                d = d.rpartition("/")[0]
                if d in self.dirs and names(d) != self.dirs[d]:
                    return True
        return False


class Evaluator(MakeFunctions):
    """Evaluates makefiles of one tree under path conditions.

    `symbols` maps Kconfig symbol names (without CONFIG_) to objects with a
    ``type`` attribute (bool, tristate, string, int, hex). The variable
    environment is `env` (name -> Var); `exported` names the variables a
    sub-make would see.
    """

    def __init__(self, tree, symbols: Mapping, files_read: list | None = None):
        self.tree = os.fspath(tree)
        self.symbols = symbols
        self.env: dict = {}
        self.exported: set = set()
        self.locals: dict = {}
        self.rules: list = []           # explicit rules of the makefile being run
        self.unknowns: dict = {}        # (path, line) -> reason
        self.files_read = files_read if files_read is not None else []
        self._files_seen: set = set(self.files_read)
        self._parsed: dict = {}
        self._config_cache: dict = {}
        self._group_cache: dict = {}
        self._config_alts: dict = {}
        self._expanding: set = set()
        self.path = ""
        self.line = 0
        self.call_depth = 0              # nested includes and $(call)s
        self.steps = 0                   # expansions for the makefile being run (MAX_STEPS)
        self._file_depth = 0
        self._listdir: dict = {}
        # top-level makefiles include build outputs: missing is not an error
        self.lenient_includes = False
        # variables given on make's command line (ARCH=...): the makefiles'
        # own assignments do not change them
        self.command_line: frozenset = frozenset()
        # what the tree was asked while reading one directory's makefile
        # (kbuild.tree re-reads only the directories a change reaches)
        self.trace: Trace | None = None

    # -- unknowns -----------------------------------------------------------

    def unknown(self, reason: str) -> Unknown:
        """An unknown word at the current file and line, for `reason`."""
        return Unknown(self.path, self.line, reason)

    def note(self, u: Unknown) -> Formula:
        """Record `u` and return its free variable."""
        key = (u.path, u.line)
        if key not in self.unknowns:
            self.unknowns[key] = u.reason
        if self.trace is not None:
            self.trace.unknowns.setdefault(key, u.reason)
        return var(u.name)

    # -- files --------------------------------------------------------------

    def names(self, d: str) -> frozenset:
        """The entries of directory `d` (relative; "" is the top)."""
        names = self._listdir.get(d)
        if names is None:
            try:
                names = frozenset(os.listdir(os.path.join(self.tree, d) if d else self.tree))
            except (OSError, ValueError):       # ValueError: a NUL in the name
                names = frozenset()
            self._listdir[d] = names
        if self.trace is not None:
            self.trace.dirs[d] = names
        return names

    def exists(self, rel: str) -> bool:
        """Whether `rel` (relative to the tree) exists (directory listings are cached)."""
        d, _, base = rel.rpartition("/")
        return base in self.names(d)

    def below(self, rel: str) -> None:
        """Note that what exists anywhere below directory `rel` was looked at
        (a walk, a wildcard)."""
        if self.trace is not None:
            self.trace.trees.add(posixpath.normpath(rel) if rel else ".")

    def is_file(self, rel: str) -> bool:
        """Whether `rel` (relative to the tree) is a regular file."""
        if self.trace is not None:
            self.trace.trees.add(rel)         # a file now, a directory after a change
        return self.exists(rel) and os.path.isfile(os.path.join(self.tree, rel))

    def parsed(self, rel: str) -> list:
        """The statements of makefile `rel` (parsed once), recorded as read."""
        # recorded as read before it is parsed: a makefile kwhen cannot
        # parse is what the result depends on too (fixing it changes it)
        if rel not in self._files_seen:
            self._files_seen.add(rel)
            self.files_read.append(rel)
        if self.trace is not None:
            self.trace.files.setdefault(rel, None)
        got = self._parsed.get(rel)
        if got is None:
            text = read_text(os.path.join(self.tree, rel), shown=rel, what="Makefile")
            got = parse_makefile(text, rel)
            self._parsed[rel] = got
        return got

    # -- variables ----------------------------------------------------------

    def config_value(self, name: str) -> tuple:
        """The value of ``$(CONFIG_FOO)``: y, m or empty by the symbol's variables; a
        `SymVal` for int/hex/string; empty for a symbol the architecture lacks."""
        got = self._config_cache.get(name)
        if got is not None:
            if type(got) is str:
                return ((TRUE, SymVal(self.path, self.line, name[7:], got)),)
            return got
        sym = name[7:]
        info = self.symbols.get(sym)
        if info is None:
            val = ()
        else:
            t = info.type
            if t == "bool":
                val = ((var(sym), "y"),)
            elif t == "tristate":
                y, m = var(sym), var(module_var(sym))
                val = (Choice([(y, ((TRUE, "y"),)), (m, ((TRUE, "m"),)),
                               (conj(neg(y), neg(m)), ())], True),)
            elif t == "string" and 0 < len(getattr(info, "values", ())) <= MAX_ALTS:
                # not cached: the unknown word names the line of each use.
                # (More values than that, U-Boot's SYS_BOARD: the value
                # stays one opaque word, comparable to a constant, and
                # board/$(BOARD)/ stands for the existing directories that
                # fit rather than for a product past the bound.)
                return self._string_choice(sym, info.values)
            elif t in ("int", "hex", "string"):
                val = t
            else:
                val = ()
        self._config_cache[name] = val
        if type(val) is str:
            return ((TRUE, SymVal(self.path, self.line, sym, val)),)
        return val

    def _string_choice(self, sym: str, values: tuple) -> tuple:
        """$(CONFIG_FOO) of a string symbol: each value its Kconfig defaults
        give (quoted, as .config writes it) where it holds, and an unknown
        word where Kconfig leaves the value open (kwhen.logic.values)."""
        props = [var(value_var(sym, v)) for v in values]
        alts = [(p, ((TRUE, v),)) for p, v in zip(props, values)]
        # no value: empty where Kconfig leaves it so (hidden, no default);
        # `SYS_BOARD=""` holds only where no value proposition does (the
        # solver expands comparisons: kwhen.logic.values)
        empty = var(empty_string(sym))
        alts.append((empty, ()))
        alts.append((conj(conj_all(neg(p) for p in props), neg(empty)),
                     ((TRUE, SymVal(self.path, self.line, sym, "string")),)))
        return (Choice(alts, True),)

    def lookup(self, name: str) -> tuple:
        """The expanded value of variable `name`."""
        loc = self.locals.get(name)
        if loc is not None:
            return loc
        v = self.env.get(name)
        if v is not None:
            if v.recursive:
                return self.resolve(v.value, name)
            return v.value
        if name.startswith("CONFIG_"):
            return self.config_value(name)
        if name in UNKNOWN_VARS:
            return ((TRUE, self.unknown(f"{name} is set outside the makefiles kwhen reads")),)
        return ()

    def resolve(self, value: tuple, name: str | None = None) -> tuple:
        """Expand the `Lazy` segments of a value."""
        if not any(type(s) is not tuple for s in value):
            return value
        if name is not None:
            if name in self._expanding:
                return ((TRUE, self.unknown(f"recursive variable {name} references itself")),)
            self._expanding.add(name)
        try:
            out = []
            for seg in value:
                t = type(seg)
                if t is tuple:
                    out.append(seg)
                elif t is Choice:
                    out.append(Choice([(c, self.resolve(v)) for c, v in seg.alts], seg.exhaustive))
                else:
                    saved = self.path, self.line
                    self.path, self.line = seg.path, seg.line
                    try:
                        out.extend(self.expand_parsed(seg.groups))
                    finally:
                        self.path, self.line = saved
            return tuple(out)
        finally:
            if name is not None:
                self._expanding.discard(name)

    def is_defined(self, name: str) -> Formula:
        """Condition under which variable `name` is defined."""
        v = self.env.get(name)
        if v is not None:
            return v.defined
        if name in self.locals:
            return TRUE
        if name.startswith("CONFIG_"):
            return self.nonempty(self.config_value(name))
        return FALSE

    def set_var(self, name: str, value: tuple, recursive: bool, cond: Formula, append: bool = False):
        """Assign (or with `append`, append to) variable `name` where `cond` holds;
        elsewhere it keeps its old value."""
        if name in self.command_line:
            return      # a command-line variable overrides the makefiles' assignments
        old = self.env.get(name)
        if append:
            if old is None:
                self.env[name] = Var(recursive, restrict(value, cond), cond)
            else:
                self.env[name] = Var(old.recursive, old.value + restrict(value, cond),
                                     old.defined_or(cond))
            return
        if cond is TRUE or old is None or not old.value:
            self.env[name] = Var(recursive, restrict(value, cond),
                                 cond if old is None else old.defined_or(cond))
        else:
            # Where `cond` fails the old value stays, with its own flavour: a
            # recursive old value still holds `Lazy` text, so the merged
            # variable is expanded on use (expanded words are left as they are).
            self.env[name] = Var(recursive or old.recursive,
                                 (Choice([(cond, value), (neg(cond), old.value)], True),),
                                 old.defined_or(cond))

    # -- expansion ----------------------------------------------------------

    def expand(self, text: str) -> tuple:
        """The value of raw make `text`, expanded here."""
        try:
            parsed = parse_text(text)
        except ValueError:
            raise KwhenError("unterminated variable reference", path=self.path, line=self.line)
        return self.expand_parsed(parsed)

    def count_step(self) -> None:
        """One more expansion: past MAX_STEPS for one makefile, an error
        (a $(call) that calls itself twice per level is exponential)."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise KwhenError(f"more than {MAX_STEPS} expansions to evaluate this makefile",
                             path=self.path, line=self.line)

    def expand_parsed(self, parsed) -> tuple:
        """The value of text already parsed by `parse_text`."""
        self.count_step()
        if parsed[0] == "const":
            return tuple((TRUE, w) for w in parsed[1])
        out = []
        for group in parsed[1]:
            if len(group) == 1:
                p = group[0]
                if type(p) is str:
                    out.append((TRUE, p))
                else:
                    out.extend(self.eval_node(p))
                continue
            # glued parts: enumerate alternatives
            res = self.group_alternatives(group)
            if res is None:
                out.append((TRUE, self.unknown(f"more than {MAX_ALTS} alternatives")))
            elif len(res) == 1:
                out.extend(restrict(words_value(res[0][1]), res[0][0]))
            else:
                out.append(Choice([(c, words_value(ws)) for c, ws in res], True))
        if len(out) > MAX_WORDS:
            raise KwhenError(f"a value of more than {MAX_WORDS} words", path=self.path,
                             line=self.line)
        return tuple(out)

    def group_alternatives(self, group):
        """Alternatives [(cond, words)] of parts glued into one word, or None
        beyond MAX_ALTS."""
        cacheable = self._config_only(group)
        if cacheable:
            got = self._group_cache.get(group)
            if got is not None:
                return got
        try:
            res = [(TRUE, ())]
            for p in group:
                if type(p) is str:
                    res = [(c, glue(ws, (p,))) for c, ws in res]
                    continue
                sub = self._node_alternatives(p)
                if len(sub) == 1:
                    ws2 = sub[0][1]
                    res = [(c, glue(ws, ws2)) for c, ws in res]
                    continue
                new = []
                for c, ws in res:
                    for c2, ws2 in sub:
                        x = conj_pair(c, c2)
                        if x is not FALSE:
                            new.append((x, glue(ws, ws2)))
                res = merge_alternatives(new) if len(res) > 1 else new
                if len(res) > MAX_ALTS:
                    raise TooManyAlternatives()
        except TooManyAlternatives:
            res = None
        if cacheable:
            self._group_cache[group] = res
        return res

    def _node_alternatives(self, p) -> list:
        if p[0] == "ref" and p[1][0] == "const" and len(p[1][1]) == 1:
            n = p[1][1][0]
            if n.startswith("CONFIG_") and n not in self.env and n not in self.locals:
                got = self._config_alts.get(n)
                if got is None:
                    info = self.symbols.get(n[7:])
                    t = info.type if info is not None else None
                    if t == "bool":
                        x = var(n[7:])
                        got = [(x, ("y",)), (neg(x), ())]
                    elif t == "tristate":
                        ch = self.config_value(n)[0]
                        got = [(c, ("y",) if v else ()) if not v or v[0][1] == "y" else (c, ("m",))
                               for c, v in ch.alts]
                    elif t in ("int", "hex", "string"):
                        return alternatives(self.config_value(n))
                    else:
                        got = [(TRUE, ())]
                    self._config_alts[n] = got
                return got
        return alternatives(self.eval_node(p))

    def _config_only(self, group) -> bool:
        """A group of literals and CONFIG_ references that the makefiles do
        not assign: its expansion is the same everywhere."""
        for p in group:
            if type(p) is str:
                continue
            if p[0] != "ref" or p[1][0] != "const" or len(p[1][1]) != 1:
                return False
            n = p[1][1][0]
            if not n.startswith("CONFIG_") or n in self.env or n in self.locals:
                return False
            info = self.symbols.get(n[7:])
            if info is not None and info.type not in ("bool", "tristate"):
                return False
        return True

    def name_alternatives(self, parsed) -> list:
        """Alternatives [(cond, str|Unknown)] of a text that names one thing
        (a variable, a function): empty names are dropped."""
        if parsed[0] == "const":
            ws = parsed[1]
            return [(TRUE, ws[0])] if len(ws) == 1 else [(TRUE, " ".join(ws))] if ws else []
        groups = parsed[1]
        try:
            if len(groups) == 1 and len(groups[0]) > 1:
                alts = self.group_alternatives(groups[0])
                if alts is None:
                    raise TooManyAlternatives()
            else:
                alts = alternatives(self.expand_parsed(parsed))
        except TooManyAlternatives:
            return [(TRUE, self.unknown(f"more than {MAX_ALTS} alternatives"))]
        out = []
        for c, ws in alts:
            if not ws:
                continue
            if any(isinstance(w, Unknown) for w in ws):
                out.append((c, next(w for w in ws if isinstance(w, Unknown))))
            else:
                out.append((c, " ".join(ws)))
        return out

    def eval_node(self, node) -> tuple:
        """The value of one reference, function call or substitution reference."""
        self.count_step()
        kind = node[0]
        if kind == "ref":
            names = self.name_alternatives(node[1])
            if len(names) == 1 and names[0][0] is TRUE:
                n = names[0][1]
                if isinstance(n, Unknown):
                    return ((TRUE, n),)
                return self.lookup(n)
            alts = []
            for c, n in names:
                alts.append((c, ((TRUE, n),) if isinstance(n, Unknown) else self.lookup(n)))
            rest = conj(*[neg(c) for c, _ in alts]) if alts else TRUE
            if rest is not FALSE:
                alts.append((rest, ()))
            return choice(alts)
        if kind == "fn":
            return self.call_function(node[1], node[2])
        if kind == "sub":
            _, vparsed, frm, to = node
            val = self.eval_node(("ref", vparsed))
            frm_v = self.expand(frm)
            to_v = self.expand(to)
            fa, ta = const_text(frm_v), const_text(to_v)
            if fa is None or ta is None:
                return self.generic_words("patsubst", [frm_v, to_v, val])
            if "%" not in fa:
                fa, ta = "%" + fa, "%" + ta
            return map_words(val, pat_split(fa), fa, ta)
        if kind == "badfn":
            return ((TRUE, self.unknown(f"unknown function {node[1]}")),)
        raise AssertionError(kind)

    def nonempty(self, value: tuple) -> Formula:
        """Condition under which a value has at least one word."""
        conds = []
        for c, w in flatten(value):
            if type(w) is str:
                if c is TRUE:
                    return TRUE
                conds.append(c)
            else:
                conds.append(conj(c, self.note(w)))
        return disj_all(conds)

    def raw_nonempty(self, v: Var) -> Formula:
        """ifdef: non-empty value without expanding recursive text."""
        conds = []

        def walk(value, outer):
            for seg in value:
                t = type(seg)
                if t is tuple:
                    c = conj_pair(outer, seg[0])
                    conds.append(c if type(seg[1]) is str else conj(c, self.note(seg[1])))
                elif t is Choice:
                    for c, sub in seg.alts:
                        walk(sub, conj_pair(outer, c))
                elif seg.text.strip():
                    conds.append(outer)

        walk(v.value, TRUE)
        return disj_all(conds)

    def equal(self, a: tuple, b: tuple, unknown_equal: bool = True) -> Formula:
        """Condition under which two values are the same text. A comparison
        with an unknown word is its free variable (negated when not
        `unknown_equal`, so that an ``ifneq`` is taken where it is true)."""
        try:
            aa = alternatives(a)
            ba = alternatives(b)
        except TooManyAlternatives:
            return self.note(self.unknown(f"comparison with more than {MAX_ALTS} alternatives"))
        out = []
        for c1, w1 in aa:
            for c2, w2 in ba:
                c = conj_pair(c1, c2)
                if c is FALSE:
                    continue
                out.append(conj(c, self._compare(w1, w2, unknown_equal)))
        return disj_all(out)

    def _compare(self, w1: tuple, w2: tuple, unknown_equal: bool = True) -> Formula:
        u1 = [w for w in w1 if isinstance(w, Unknown)]
        u2 = [w for w in w2 if isinstance(w, Unknown)]
        if not u1 and not u2:
            return TRUE if w1 == w2 else FALSE
        for sv, other, uo in ((w1, w2, u2), (w2, w1, u1)):
            if len(sv) == 1 and type(sv[0]) is SymVal and not uo:
                s = sv[0]
                text = " ".join(other)
                if s.type == "string" and len(text) >= 2 and text[0] == '"' and text[-1] == '"':
                    text = text[1:-1]
                return var(comparison(s.sym, "=", quoted_value(text)))
        u = (u1 or u2)[0]
        if type(u) is SymVal:
            u = Unknown(self.path, self.line, u.reason)
        f = self.note(u)
        return f if unknown_equal else neg(f)

    # -- statements ---------------------------------------------------------

    def run_file(self, rel: str, cond: Formula = TRUE) -> None:
        """Evaluate the makefile `rel` (relative to the tree) under `cond`."""
        stmts = self.parsed(rel)
        saved = self.path, self.line
        self.path = rel
        if self._file_depth == 0:
            self.steps = 0
        self._file_depth += 1
        try:
            self.run(stmts, cond)
        except KwhenError as exc:
            if exc.path is None:        # raised below the statements: name the one at fault
                exc.path, exc.line = self.path, self.line
            raise
        finally:
            self._file_depth -= 1
            self.path, self.line = saved

    def run(self, stmts: list, cond: Formula) -> None:
        """Evaluate statements under the path condition `cond`."""
        for st in stmts:
            self.line = st.line
            t = type(st)
            if t is Assign:
                self._assign(st.name, st.op, st.value, cond, st.export)
            elif t is Cond:
                self._cond(st, cond)
            elif t is Include:
                self._include(st, cond)
            elif t is Export:
                if st.names is None:
                    continue
                for c, n in self.name_alternatives(parse_text(st.names)):
                    if isinstance(n, Unknown):
                        continue
                    for w in n.split():
                        if st.unexport:
                            self.exported.discard(w)
                        else:
                            self.exported.add(w)
            elif t is Define:
                self._define(st, cond)
            elif t is Expr:
                self.expand(st.text)
            elif t is Rule:
                # expanded only if a question needs it (`Walker.rule_source`)
                self.rules.append(st)
            elif t is Undefine:
                for c, n in self.name_alternatives(parse_text(st.name)):
                    if isinstance(n, Unknown):
                        continue
                    if c is TRUE and cond is TRUE:
                        self.env.pop(n, None)
                    else:
                        self.set_var(n, (), False, conj_pair(c, cond))

    def _assign(self, name_text: str, op: str, value_text: str, cond: Formula, export: bool):
        names = self.name_alternatives(parse_text(name_text))
        if not names:
            return
        value = None
        for c, name in names:
            if isinstance(name, Unknown):
                self.note(name)
                continue
            where = conj_pair(cond, c)
            if where is FALSE:
                continue
            if export:
                self.exported.add(name)
            if op in (":=", "::=", ":::="):
                if value is None:
                    value = self.expand(value_text)
                self.set_var(name, value, False, where)
            elif op == "=":
                self.set_var(name, self._lazy(value_text), True, where)
            elif op == "+=":
                old = self.env.get(name)
                if old is not None and not old.recursive:
                    if value is None:
                        value = self.expand(value_text)
                    self.set_var(name, value, False, where, append=True)
                else:
                    self.set_var(name, self._lazy(value_text), True, where, append=True)
            elif op == "?=":
                d = self.is_defined(name)
                where = conj(where, neg(d))
                if where is not FALSE:
                    self.set_var(name, self._lazy(value_text), True, where)
            elif op == "!=":
                self.set_var(name, ((TRUE, self.unknown("!= runs the shell")),), False, where)

    def _lazy(self, text: str) -> tuple:
        try:
            parsed = parse_text(text)
        except ValueError:
            raise KwhenError("unterminated variable reference", path=self.path, line=self.line)
        if parsed[0] == "const":
            return tuple((TRUE, w) for w in parsed[1])
        return (Lazy(parsed, self.path, self.line, text),)

    def _define(self, st: Define, cond: Formula):
        for c, name in self.name_alternatives(parse_text(st.name)):
            if isinstance(name, Unknown):
                continue
            where = conj_pair(cond, c)
            if st.export:
                self.exported.add(name)
            if st.op in (":=", "::="):
                self.set_var(name, self.expand(st.body), False, where)
            elif st.op == "+=":
                self.set_var(name, self._lazy(st.body), True, where, append=True)
            else:
                self.set_var(name, self._lazy(st.body), True, where)

    def test(self, t) -> Formula:
        """Condition under which a conditional's test (ifeq, ifneq, ifdef, ifndef)
        holds."""
        if t.kind in ("ifdef", "ifndef"):
            conds = []
            for c, n in self.name_alternatives(parse_text(t.a)):
                if isinstance(n, Unknown):
                    conds.append(conj(c, self.note(n)))
                    continue
                v = self.env.get(n)
                if v is not None:
                    d = self.raw_nonempty(v)
                elif n in self.locals:
                    d = self.nonempty(self.locals[n])
                else:
                    d = self.nonempty(self.lookup(n))
                conds.append(conj_pair(c, d))
            f = disj_all(conds)
            return f if t.kind == "ifdef" else neg(f)
        f = self.equal(self.expand(t.a), self.expand(t.b), t.kind == "ifeq")
        return f if t.kind == "ifeq" else neg(f)

    def _cond(self, st: Cond, cond: Formula):
        taken = FALSE
        for test, body in st.branches:
            self.line = test.line
            f = self.test(test)
            here = conj(cond, neg(taken), f)
            taken = disj_pair(taken, f)
            if here is not FALSE:
                self.run(body, here)
            if taken is TRUE:
                return
        if st.orelse is not None:
            here = conj(cond, neg(taken))
            if here is not FALSE:
                self.run(st.orelse, here)

    def _include(self, st: Include, cond: Formula):
        for c, w in flatten(self.expand(st.paths)):
            if isinstance(w, Unknown):
                if not st.optional:
                    self.note(w)
                continue
            where = conj_pair(cond, c)
            if where is FALSE:
                continue
            rel = posixpath.normpath(w)
            if rel.startswith("/") or rel == ".." or rel.startswith("../"):
                if not st.optional:
                    self.note(self.unknown(f"include of {w} outside the tree"))
                continue
            if not self.is_file(rel):
                if st.optional:
                    continue
                if self.lenient_includes or rel.startswith(_GENERATED_DIRS):
                    # a file the build generates (include/config/auto.conf)
                    self.note(self.unknown(f"included file {w} is generated or missing"))
                    continue
                raise KwhenError(f"included file not found: {w}", path=self.path, line=self.line)
            self.call_depth += 1
            try:
                if self.call_depth > MAX_DEPTH:
                    raise KwhenError(f"includes nested too deeply at {w}", path=self.path, line=self.line)
                saved = self.path, self.line
                self.run_file(rel, where)
                self.path, self.line = saved
            finally:
                self.call_depth -= 1
