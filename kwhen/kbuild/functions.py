"""Make's functions (``$(filter ...)``, ``$(call ...)``...) on conditional values.

`MakeFunctions` holds the builtins as methods of `kwhen.kbuild.evaluate.Evaluator`
(which provides `expand`, `lookup`, `unknown`...); the module functions
apply make's word rules to plain strings and to values word by word.
Nothing is run: ``$(shell ...)``, kbuild's compiler tests (`HELPERS`),
``$(eval ...)`` and unsupported functions give `Unknown` words.
"""

from __future__ import annotations

import glob
import posixpath

from kwhen.kbuild.text import FUNCTIONS, parse_text
from kwhen.kbuild.values import (
    MAX_ALTS, MAX_DEPTH, UNKNOWN_VARS, Choice, TooManyAlternatives, Unknown, alternatives,
    choice, flatten, restrict, words_value,
)
from kwhen.logic.formula import FALSE, TRUE, conj, conj_pair, disj_all, neg
from kwhen.readfile import inside

# kbuild helpers that test the compiler, assembler or linker.
HELPERS = frozenset("""
cc-option cc-option-yn cc-disable-warning cc-ifversion cc-cross-prefix
as-option as-instr ld-option ld-ifversion rustc-option try-run
cc-min-version gcc-min-version clang-min-version rustc-min-version
ld-version cc-version cc-fullversion test-ge test-gt test-le test-lt
cc-option-align cc-ldoption ld-name cc-name as-version ld-option-yn
host-cc-option
""".split())


# Files every configured build has, though a source tree does not: kwhen
# answers for configured builds, so `$(wildcard .config)` finds them.
_CONFIGURED = frozenset((".config", "include/config/auto.conf"))


# -- make's word rules on strings ---------------------------------------------

def pat_split(pat: str):
    """A make pattern cut at its ``%``: (before, after), or None without one."""
    i = pat.find("%")
    if i < 0:
        return None
    return pat[:i], pat[i + 1:]


def pat_match(split, pat: str, word: str) -> bool:
    """Whether `word` matches pattern `pat` (`split` is ``pat_split(pat)``)."""
    if split is None:
        return word == pat
    pre, suf = split
    return len(word) >= len(pre) + len(suf) and word.startswith(pre) and word.endswith(suf)


def patsubst_word(split, pat: str, rep: str, word: str) -> str:
    """One word of ``$(patsubst pat,rep,...)``."""
    if split is None:
        return rep if word == pat else word
    pre, suf = split
    if len(word) >= len(pre) + len(suf) and word.startswith(pre) and word.endswith(suf):
        stem = word[len(pre):len(word) - len(suf)]
        i = rep.find("%")
        return rep[:i] + stem + rep[i + 1:] if i >= 0 else rep
    return word


def _dir(w):
    i = w.rfind("/")
    return w[:i + 1] if i >= 0 else "./"


def _notdir(w):
    return w[w.rfind("/") + 1:]


def _suffix(w):
    i = w.rfind(".")
    return w[i:] if i > w.rfind("/") else None


def _basename(w):
    i = w.rfind(".")
    return w[:i] if i > w.rfind("/") else w


def _concrete(name: str, args: list) -> str | list:
    """A make function on concrete (expanded, joined) arguments."""
    if name == "subst":
        return args[2].replace(args[0], args[1]) if args[0] else args[2]
    if name == "patsubst":
        split = pat_split(args[0])
        return [patsubst_word(split, args[0], args[1], w) for w in args[2].split()]
    if name == "strip":
        return args[0].split()
    if name == "findstring":
        return args[0] if args[0] in args[1] else ""
    if name in ("filter", "filter-out"):
        pats = [(p, pat_split(p)) for p in args[0].split()]
        keep = name == "filter"
        return [w for w in args[1].split()
                if any(pat_match(s, p, w) for p, s in pats) == keep]
    if name == "sort":
        return sorted(set(args[0].split()))
    if name == "word":
        n = int(args[0].strip())
        ws = args[1].split()
        return ws[n - 1] if 0 < n <= len(ws) else ""
    if name == "wordlist":
        s, e = int(args[0].strip()), int(args[1].strip())
        return args[2].split()[s - 1:e]
    if name == "words":
        return str(len(args[0].split()))
    if name == "firstword":
        ws = args[0].split()
        return ws[0] if ws else ""
    if name == "lastword":
        ws = args[0].split()
        return ws[-1] if ws else ""
    if name == "dir":
        return [_dir(w) for w in args[0].split()]
    if name == "notdir":
        return [_notdir(w) for w in args[0].split()]
    if name == "suffix":
        return [s for s in (_suffix(w) for w in args[0].split()) if s]
    if name == "basename":
        return [_basename(w) for w in args[0].split()]
    if name == "addsuffix":
        return [w + args[0].strip() for w in args[1].split()]
    if name == "addprefix":
        return [args[0].strip() + w for w in args[1].split()]
    if name == "join":
        a, b = args[0].split(), args[1].split()
        n = max(len(a), len(b))
        return [(a[i] if i < len(a) else "") + (b[i] if i < len(b) else "") for i in range(n)]
    if name in ("abspath", "realpath"):
        return [posixpath.normpath(w) for w in args[0].split()]
    raise KeyError(name)


# -- word rules applied to values ---------------------------------------------

def const_text(value: tuple):
    """The text of a value with no conditions, else None."""
    out = []
    for seg in value:
        if type(seg) is not tuple or seg[0] is not TRUE or type(seg[1]) is not str:
            return None
        out.append(seg[1])
    return " ".join(out)

def map_words(value: tuple, split, pat, rep) -> tuple:
    """patsubst applied word by word, keeping the structure."""
    out = []
    for seg in value:
        if type(seg) is tuple:
            w = seg[1]
            if type(w) is str:
                w2 = patsubst_word(split, pat, rep, w)
                if w2 is not w and (not w2 or " " in w2):
                    out.extend((seg[0], x) for x in w2.split())
                    continue
                out.append((seg[0], w2) if w2 is not w else seg)
            else:
                out.append(seg)
        else:
            out.append(Choice([(c, map_words(v, split, pat, rep)) for c, v in seg.alts],
                              seg.exhaustive))
    return tuple(out)

def map_fn(value: tuple, fn) -> tuple:
    """Apply fn(word) -> list of words to each known word."""
    out = []
    for seg in value:
        if type(seg) is tuple:
            w = seg[1]
            if type(w) is str:
                for x in fn(w):
                    out.append((seg[0], x))
            else:
                out.append(seg)
        else:
            out.append(Choice([(c, map_fn(v, fn)) for c, v in seg.alts], seg.exhaustive))
    return tuple(out)

def raw_words(value: tuple) -> tuple:
    """``$(value ...)``: the words of a value with recursive text left unexpanded."""
    out = []
    for seg in value:
        t = type(seg)
        if t is tuple:
            out.append(seg)
        elif t is Choice:
            out.append(Choice([(c, raw_words(v)) for c, v in seg.alts], seg.exhaustive))
        else:
            out.extend((TRUE, w) for w in seg.text.split())
    return tuple(out)


class MakeFunctions:
    """The ``$(name ...)`` builtins, as methods of the `Evaluator`."""

    def call_function(self, name: str, args: list) -> tuple:
        """The value of ``$(name args...)``, `args` raw text (make expands them itself
        for if, or, and, foreach, call)."""
        if name == "if":
            cond = self.nonempty(self.expand(args[0]))
            then = args[1] if len(args) > 1 else ""
            orelse = args[2] if len(args) > 2 else ""
            if cond is TRUE:
                return self.expand(then)
            if cond is FALSE:
                return self.expand(orelse)
            return choice([(cond, self.expand(then)), (neg(cond), self.expand(orelse))])
        if name == "or":
            alts = []
            remaining = TRUE
            for a in args:
                v = self.expand(a)
                n = self.nonempty(v)
                alts.append((conj_pair(remaining, n), v))
                remaining = conj(remaining, neg(n))
                if remaining is FALSE:
                    break
            alts.append((remaining, ()))
            return choice(alts)
        if name == "and":
            cond = TRUE
            v = ()
            for a in args:
                v = self.expand(a)
                cond = conj(cond, self.nonempty(v))
                if cond is FALSE:
                    return ()
            return choice([(cond, v), (neg(cond), ())])
        if name == "foreach":
            if len(args) < 3:
                return ((TRUE, self.unknown("$(foreach) needs three arguments")),)
            names = self.name_alternatives(parse_text(args[0].strip()))
            if len(names) != 1 or names[0][0] is not TRUE or isinstance(names[0][1], Unknown):
                return ((TRUE, self.unknown("$(foreach) with a computed variable name")),)
            vname = names[0][1]
            lst = flatten(self.expand(args[1]))
            body = parse_text(args[2])
            saved = self.locals.get(vname)
            out = []
            try:
                for c, w in lst:
                    if type(w) is not str:
                        out.append((c, w))
                        continue
                    self.locals[vname] = ((TRUE, w),)
                    out.extend(restrict(self.expand_parsed(body), c))
            finally:
                if saved is None:
                    self.locals.pop(vname, None)
                else:
                    self.locals[vname] = saved
            return tuple(out)
        if name == "call":
            return self._call(args)
        if name in ("value", "origin", "flavor"):
            return self._introspect(name, args[0])
        if name in ("warning", "info"):
            return ()
        if name == "shell":
            return ((TRUE, self.unknown("$(shell ...) is not run")),)
        if name == "error":
            return ((TRUE, self.unknown("$(error ...)")),)
        if name == "eval":
            u = self.unknown("$(eval ...) is not evaluated")
            self.note(u)
            return ((TRUE, u),)
        if name in ("file", "guile", "intcmp", "let"):
            return ((TRUE, self.unknown(f"$({name} ...) is not supported")),)
        values = [self.expand(a) for a in args]
        while len(values) < (FUNCTIONS[name] or 0):
            values.append(())
        return self.apply_function(name, values)

    def apply_function(self, name: str, values: list) -> tuple:
        """The value of function `name` on expanded argument `values`."""
        if name == "wildcard":
            out = []
            for c, w in flatten(values[0]):
                if type(w) is not str:
                    out.append((c, w))
                    continue
                for m in self._glob(w):
                    out.append((c, m))
            return tuple(out)
        if name in ("filter", "filter-out"):
            pats = flatten(values[0])
            keep = name == "filter"
            if any(type(w) is not str for _, w in pats):
                return self.generic_words(name, values)
            const = all(c is TRUE for c, _ in pats)
            if const:
                psplit = [(p, pat_split(p)) for _, p in pats]
                exact = {p for p, s in psplit if s is None}
                wild = [(p, s) for p, s in psplit if s is not None]

                def fn(w):
                    hit = w in exact or any(pat_match(s, p, w) for p, s in wild)
                    return (w,) if hit == keep else ()
                return map_fn(values[1], fn)
            psplit = [(c, p, pat_split(p)) for c, p in pats]
            out = []
            for c, w in flatten(values[1]):
                if type(w) is not str:
                    out.append((c, w))
                    continue
                m = disj_all([pc for pc, p, s in psplit if pat_match(s, p, w)])
                x = conj(c, m if keep else neg(m))
                if x is not FALSE:
                    out.append((x, w))
            return tuple(out)
        if name == "sort":
            groups: dict = {}
            unk = []
            for c, w in flatten(values[0]):
                if type(w) is str:
                    groups.setdefault(w, []).append(c)
                else:
                    unk.append((c, w))
            return tuple((disj_all(groups[w]), w) for w in sorted(groups)) + tuple(unk)
        if name == "strip":
            return values[0]
        if name in ("dir", "notdir", "basename", "suffix", "abspath", "realpath"):
            f = {"dir": lambda w: (_dir(w),), "notdir": lambda w: (_notdir(w),) if _notdir(w) else (),
                 "basename": lambda w: (_basename(w),),
                 "suffix": lambda w: (_suffix(w),) if _suffix(w) else (),
                 "abspath": lambda w: (posixpath.normpath(w),),
                 "realpath": lambda w: (posixpath.normpath(w),)}[name]
            return map_fn(values[0], f)
        if name in ("addprefix", "addsuffix", "patsubst", "subst"):
            try:
                combos = [(TRUE, [])]
                for p in values[:-1]:
                    combos = [(x, ps + [ws]) for c, ps in combos for c2, ws in alternatives(p)
                              for x in (conj_pair(c, c2),) if x is not FALSE]
                    if len(combos) > MAX_ALTS:
                        raise TooManyAlternatives()
            except TooManyAlternatives:
                return self.generic_words(name, values)
            text = values[-1]
            out = []
            for c, ps in combos:
                unk = next((w for ws in ps for w in ws if isinstance(w, Unknown)), None)
                if unk is not None:
                    out.append((c, ((TRUE, unk),)))
                    continue
                consts = [" ".join(ws) for ws in ps]
                if name == "addprefix":
                    p = consts[0]
                    out.append((c, map_fn(text, lambda w: (p + w,))))
                elif name == "addsuffix":
                    sfx = consts[0]
                    out.append((c, map_fn(text, lambda w: (w + sfx,))))
                elif name == "patsubst":
                    out.append((c, map_words(text, pat_split(consts[0]), consts[0], consts[1])))
                else:
                    frm, to = consts
                    if not frm or " " in frm:
                        return self.generic_words(name, values)
                    out.append((c, map_fn(text, lambda w, frm=frm, to=to: w.replace(frm, to).split())))
            return choice(out)
        return self.generic_words(name, values)

    def _glob(self, pattern: str) -> list:
        if pattern.startswith("/") or ".." in pattern.split("/") or "\0" in pattern:
            return []
        if not any(ch in pattern for ch in "*?["):
            rel = posixpath.normpath(pattern)
            return [pattern] if rel != "." and (rel in _CONFIGURED or self.exists(rel)) else []
        self.below(pattern.split("*")[0].split("?")[0].split("[")[0].rpartition("/")[0])
        found = glob.glob(pattern, root_dir=self.tree)
        # a symbolic link out of the tree does not show what lies outside it
        return sorted(f for f in found if inside(self.tree, f))

    def _call(self, args: list) -> tuple:
        names = self.name_alternatives(parse_text(args[0].strip()))
        if not names:
            return ()
        arg_values = [self.expand(a) for a in args[1:]]
        alts = []
        for c, fname in names:
            if isinstance(fname, Unknown):
                alts.append((c, ((TRUE, fname),)))
                continue
            alts.append((c, self._call_one(fname, arg_values)))
        if len(alts) == 1 and alts[0][0] is TRUE:
            return alts[0][1]
        rest = conj(*[neg(c) for c, _ in alts])
        if rest is not FALSE:
            alts.append((rest, ()))
        return choice(alts)

    def _call_one(self, fname: str, arg_values: list) -> tuple:
        if fname in HELPERS:
            return ((TRUE, self.unknown(f"kbuild helper {fname} tests the toolchain")),)
        if fname in FUNCTIONS:
            return self.call_function(fname, [])  # rare: builtin through call
        v = self.env.get(fname)
        if v is None:
            return ()
        saved = self.locals
        new = {k: x for k, x in saved.items() if not k.isdigit()}
        new["0"] = ((TRUE, fname),)
        for i, av in enumerate(arg_values, 1):
            new[str(i)] = av
        self.locals = new
        self.call_depth += 1
        try:
            if self.call_depth > MAX_DEPTH:
                return ((TRUE, self.unknown(f"$(call {fname}) recurses too deeply")),)
            if v.recursive:
                return self.resolve(v.value, fname)
            return v.value
        finally:
            self.call_depth -= 1
            self.locals = saved

    def _introspect(self, fn: str, arg: str) -> tuple:
        names = self.name_alternatives(parse_text(arg.strip()))
        alts = []
        for c, n in names:
            if isinstance(n, Unknown):
                alts.append((c, ((TRUE, n),)))
                continue
            v = self.env.get(n)
            if fn == "value":
                if v is None:
                    val = self.lookup(n) if n.startswith("CONFIG_") else ()
                else:
                    val = raw_words(v.value)
            else:
                d = self.is_defined(n)
                if fn == "origin":
                    kind = "file"
                    if v is None and n in UNKNOWN_VARS:
                        kind, d = "environment", TRUE
                else:
                    kind = "recursive" if v is not None and v.recursive else "simple"
                val = choice([(d, ((TRUE, kind),)), (neg(d), ((TRUE, "undefined"),))])
            alts.append((c, val))
        if not alts:
            return ()
        rest = conj(*[neg(c) for c, _ in alts])
        if rest is not FALSE:
            alts.append((rest, ()))
        return choice(alts)

    def generic_words(self, name: str, values: list) -> tuple:
        """Evaluate a function on every combination of alternatives."""
        try:
            combos = [(TRUE, [])]
            for v in values:
                alts = alternatives(v)
                new = []
                for c, args in combos:
                    for c2, ws in alts:
                        x = conj_pair(c, c2)
                        if x is not FALSE:
                            new.append((x, args + [ws]))
                combos = new
                if len(combos) > MAX_ALTS:
                    raise TooManyAlternatives()
        except TooManyAlternatives:
            return ((TRUE, self.unknown(f"more than {MAX_ALTS} alternatives in $({name} ...)")),)
        out = []
        for c, args in combos:
            unk = next((w for ws in args for w in ws if isinstance(w, Unknown)), None)
            if unk is not None:
                out.append((c, ((TRUE, unk),)))
                continue
            try:
                res = _concrete(name, [" ".join(ws) for ws in args])
            except (ValueError, IndexError):
                res = [self.unknown(f"invalid arguments to $({name} ...)")]
            if isinstance(res, str):
                res = res.split()
            out.append((c, words_value(res)))
        return choice(out)
