"""Symbolic evaluation of GNU make, as Kbuild files use it.

Make is evaluated once per makefile for all configurations at the same time:
every statement runs under a *path condition* (a `Formula` over Kconfig
variables, true where the enclosing ``ifeq``/``ifdef`` branches are taken),
and every variable holds a *value* that records under which condition each
of its words is present.

A value is a tuple of segments:

- ``(cond, word)``: `word` is present when `cond` holds. A word is a ``str``
  or an `Unknown` (a word kwhen could not compute).
- a `Choice`: mutually exclusive alternatives ``(cond, value)``, from an
  assignment that replaced the old value under a condition, from
  ``$(if ...)``, or from gluing references inside one word
  (``obj-$(CONFIG_X)``, ``foo_$(BITS).o``), which enumerates the
  alternatives of the glued parts (at most `MAX_ALTS`, else the word is
  unknown).
- a `Lazy`: the unexpanded text of a recursive (``=``) variable, expanded at
  use, with make's dynamic scoping.

Nothing is ever executed: ``$(shell ...)``, kbuild helpers that run the
compiler (``cc-option``...), ``$(eval ...)`` and unknown functions give
`Unknown` words. An unknown that reaches a condition becomes the free
variable ``?make:PATH:LINE`` and is recorded in `Evaluator.unknowns`.
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
from typing import Mapping

from kwhen.exceptions import KwhenError
from kwhen.readfile import read_text
from kwhen.kbuild.makefile import (
    Assign, Cond, Define, Export, Expr, Include, Undefine, find_reference_end,
    parse_makefile, split_args,
)
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, disj_all, neg, var
from kwhen.logic.names import comparison, make_unknown, module_var, quoted_value

__all__ = [
    "Evaluator", "Unknown", "SymVal", "Choice", "Lazy", "Var", "MAX_ALTS",
    "flatten", "alternatives", "TooManyAlternatives",
]

MAX_ALTS = 64
_MAX_DEPTH = 60

# Variables the top Makefile sets from the environment or the toolchain:
# kwhen does not know their value.
UNKNOWN_VARS = frozenset("""
CC LD AR NM STRIP OBJCOPY OBJDUMP READELF CPP AS HOSTCC HOSTCXX HOSTLD HOSTAR
CROSS_COMPILE CC_VERSION_TEXT CONFIG_SHELL PERL PYTHON PYTHON3 MAKE BASH LEX YACC
AWK GENKSYMS DEPMOD KGZIP KBZIP2 KLZOP LZMA LZ4 XZ ZSTD PAHOLE RESOLVE_BTFIDS
RUSTC RUSTDOC RUSTFMT CLIPPY BINDGEN CARGO HOSTRUSTC INSTALLKERNEL CHECK
LLVM LLVM_IAS MAKECMDGOALS KBUILD_CFLAGS KBUILD_AFLAGS
KBUILD_CPPFLAGS KBUILD_LDFLAGS KBUILD_RUSTFLAGS LINUXINCLUDE NOSTDINC_FLAGS
CLANG_FLAGS KBUILD_HOSTCFLAGS KBUILD_HOSTLDFLAGS HOST_LFS_CFLAGS KERNELRELEASE
KERNELVERSION VERSION PATCHLEVEL SUBLEVEL EXTRAVERSION SUBARCH UTS_MACHINE
MAKEFLAGS MFLAGS CURDIR abs_srctree abs_objtree O V W C M
""".split())

# kbuild helpers that test the compiler, assembler or linker.
HELPERS = frozenset("""
cc-option cc-option-yn cc-disable-warning cc-ifversion cc-cross-prefix
as-option as-instr ld-option ld-ifversion rustc-option try-run
cc-min-version gcc-min-version clang-min-version rustc-min-version
ld-version cc-version cc-fullversion test-ge test-gt test-le test-lt
cc-option-align cc-ldoption ld-name cc-name as-version ld-option-yn
host-cc-option
""".split())

# make functions: name -> maximum number of arguments (the last one keeps
# its commas), or None for any number.
_FUNCTIONS = {
    "subst": 3, "patsubst": 3, "strip": 1, "findstring": 2, "filter": 2,
    "filter-out": 2, "sort": 1, "word": 2, "wordlist": 3, "words": 1,
    "firstword": 1, "lastword": 1, "dir": 1, "notdir": 1, "suffix": 1,
    "basename": 1, "addsuffix": 2, "addprefix": 2, "join": 2, "wildcard": 1,
    "realpath": 1, "abspath": 1, "foreach": 3, "if": 3, "or": None,
    "and": None, "call": None, "value": 1, "origin": 1, "flavor": 1,
    "shell": 1, "error": 1, "warning": 1, "info": 1, "eval": 1, "file": 2,
    "guile": 1, "intcmp": 5, "let": 3,
}


_GENERATED_DIRS = ("include/config/", "include/generated/")
# Files every configured build has, though a source tree does not: kwhen
# answers for configured builds, so `$(wildcard .config)` finds them.
_CONFIGURED = frozenset((".config", "include/config/auto.conf"))


class TooManyAlternatives(Exception):
    pass


class Unknown:
    """A word kwhen could not compute, with where and why.

    `prefix` and `suffix` keep the known text glued around it
    (``board/$(BOARDDIR)/`` is ``board/`` + unknown + ``/``), so a list of
    directories or objects can stand for those that exist and match
    (`matches`): an over-approximation rather than nothing.
    """
    __slots__ = ("path", "line", "reason", "prefix", "suffix")

    def __init__(self, path: str, line: int, reason: str, prefix: str = "", suffix: str = ""):
        self.path = path
        self.line = line
        self.reason = reason
        self.prefix = prefix
        self.suffix = suffix

    def glued(self, prefix: str = "", suffix: str = "") -> "Unknown":
        """This unknown with known text added before or after it."""
        return Unknown(self.path, self.line, self.reason, prefix + self.prefix,
                       self.suffix + suffix)

    def matches(self, names) -> list:
        """Those of `names` that this word could be: prefix, anything
        (slashes included), suffix."""
        pattern = re.compile(re.escape(self.prefix) + ".*" + re.escape(self.suffix) + r"\Z",
                             re.S)
        return [n for n in names if pattern.match(n)]

    @property
    def name(self) -> str:
        return make_unknown(self.path, self.line)

    def __repr__(self):
        return f"Unknown({self.path}:{self.line}: {self.reason})"


class SymVal(Unknown):
    """The value of an int/hex/string CONFIG_ symbol: comparable to a
    constant (``HZ=100``), unknown in any other use."""
    __slots__ = ("sym", "type")

    def __init__(self, path, line, sym: str, type_: str):
        super().__init__(path, line, f"value of {type_} symbol CONFIG_{sym} used as text")
        self.sym = sym
        self.type = type_


class Choice:
    """Mutually exclusive alternatives ``(cond, value)``; when not
    `exhaustive`, the value is empty where no alternative holds."""
    __slots__ = ("alts", "exhaustive")

    def __init__(self, alts, exhaustive: bool):
        self.alts = alts
        self.exhaustive = exhaustive

    def __repr__(self):
        return f"Choice({self.alts!r}, {self.exhaustive})"


class Lazy:
    """Unexpanded text of a recursive variable, with where it was written."""
    __slots__ = ("groups", "path", "line", "text")

    def __init__(self, groups, path, line, text):
        self.groups = groups
        self.path = path
        self.line = line
        self.text = text

    def __repr__(self):
        return f"Lazy({self.text!r})"


class Var:
    """A make variable: flavour, value, and where it is defined (TRUE, or a
    tuple of conditions whose disjunction is computed only when asked)."""
    __slots__ = ("recursive", "value", "_defined")

    def __init__(self, recursive: bool, value: tuple, defined=TRUE):
        self.recursive = recursive
        self.value = value
        self._defined = defined

    @property
    def defined(self) -> Formula:
        d = self._defined
        if type(d) is tuple:
            d = self._defined = disj_all(d)
        return d

    def defined_or(self, cond: Formula):
        d = self._defined
        if d is TRUE or cond is TRUE:
            return TRUE
        if type(d) is tuple:
            return d + (cond,)
        return (d, cond)


# ---------------------------------------------------------------------------
# values

def _and(a: Formula, b: Formula) -> Formula:
    if a is TRUE:
        return b
    if b is TRUE or a is b:
        return a
    if a is FALSE or b is FALSE:
        return FALSE
    return conj(a, b)


def _or(a: Formula, b: Formula) -> Formula:
    if a is FALSE:
        return b
    if b is FALSE or a is b:
        return a
    if a is TRUE or b is TRUE:
        return TRUE
    return disj(a, b)


def flatten(value, outer: Formula = TRUE, out=None) -> list:
    """The words of a value with the condition of each: [(cond, word)].
    `value` must not contain `Lazy` segments."""
    if out is None:
        out = []
    for seg in value:
        if type(seg) is tuple:
            c = seg[0]
            if outer is not TRUE:
                c = _and(outer, c) if c is not TRUE else outer
            if c is not FALSE:
                out.append((c, seg[1]))
        else:
            for c, v in seg.alts:
                if outer is not TRUE:
                    c = _and(outer, c)
                if c is not FALSE:
                    flatten(v, c, out)
    return out


def _glue(a: tuple, b: tuple) -> tuple:
    if not a:
        return b
    if not b:
        return a
    x, y = a[-1], b[0]
    if y == "":
        w = x
    elif x == "":
        w = y
    elif isinstance(x, Unknown):
        # after a second unknown, what follows is all the suffix that is
        # known (the unknown part's `.*` takes the text between)
        w = x.glued(suffix=y) if type(y) is str else Unknown(x.path, x.line, x.reason, x.prefix)
    elif isinstance(y, Unknown):
        w = y.glued(prefix=x)
    else:
        w = x + y
    return a[:-1] + (w,) + b[1:]


def _merge(alts: list) -> list:
    """Merge alternatives with the same words (their conditions are
    exclusive, so the disjunction keeps the list exclusive)."""
    if len(alts) < 2:
        return alts
    seen: dict = {}
    for c, ws in alts:
        key = tuple(w if type(w) is str else id(w) for w in ws)
        if key in seen:
            seen[key] = (_or(seen[key][0], c), ws)
        else:
            seen[key] = (c, ws)
    return list(seen.values())


def alternatives(value) -> list:
    """Exclusive and exhaustive alternatives [(cond, words)] of a value.
    Raises TooManyAlternatives beyond MAX_ALTS."""
    res = [(TRUE, ())]
    for seg in value:
        if type(seg) is tuple:
            c, w = seg
            if c is TRUE:
                res = [(a, ws + (w,)) for a, ws in res]
            else:
                nc = neg(c)
                new = []
                for a, ws in res:
                    x = _and(a, c)
                    if x is not FALSE:
                        new.append((x, ws + (w,)))
                    x = _and(a, nc)
                    if x is not FALSE:
                        new.append((x, ws))
                res = new
        else:
            sub = []
            for c, v in seg.alts:
                for a2, ws2 in alternatives(v):
                    x = _and(c, a2)
                    if x is not FALSE:
                        sub.append((x, ws2))
            if not seg.exhaustive:
                rest = conj(*[neg(c) for c, _ in seg.alts])
                if rest is not FALSE:
                    sub.append((rest, ()))
            sub = _merge(sub)
            if len(sub) == 1 and sub[0][0] is TRUE:
                ws2 = sub[0][1]
                res = [(a, ws + ws2) for a, ws in res]
            else:
                new = []
                for a, ws in res:
                    for c, ws2 in sub:
                        x = _and(a, c)
                        if x is not FALSE:
                            new.append((x, ws + ws2))
                res = new
        if len(res) > MAX_ALTS:
            res = _merge(res)
            if len(res) > MAX_ALTS:
                raise TooManyAlternatives()
    return _merge(res)


def _wrap(value: tuple, cond: Formula) -> tuple:
    """`value` where `cond` holds, empty elsewhere."""
    if cond is TRUE:
        return value
    if cond is FALSE:
        return ()
    out = []
    for seg in value:
        if type(seg) is tuple:
            c = seg[0]
            c = cond if c is TRUE else _and(cond, c)
            if c is not FALSE:
                out.append((c, seg[1]))
        elif type(seg) is Choice:
            alts = []
            for c, v in seg.alts:
                c = _and(cond, c)
                if c is not FALSE:
                    alts.append((c, v))
            if alts:
                out.append(Choice(alts, False))
        else:
            out.append(Choice([(cond, (seg,))], False))
    return tuple(out)


def _choice(alts: list) -> tuple:
    """A value from exclusive, exhaustive alternatives [(cond, value)]."""
    alts = [(c, v) for c, v in alts if c is not FALSE]
    if not alts:
        return ()
    if len(alts) == 1:
        return _wrap(alts[0][1], alts[0][0])
    if all(not v for _, v in alts):
        return ()
    return (Choice(alts, True),)


def _words_value(words) -> tuple:
    return tuple((TRUE, w) for w in words)


# ---------------------------------------------------------------------------
# pattern helpers (make semantics on concrete strings)

def _pat_split(pat: str):
    i = pat.find("%")
    if i < 0:
        return None
    return pat[:i], pat[i + 1:]


def _pat_match(split, pat: str, word: str) -> bool:
    if split is None:
        return word == pat
    pre, suf = split
    return len(word) >= len(pre) + len(suf) and word.startswith(pre) and word.endswith(suf)


def _patsubst_word(split, pat: str, rep: str, word: str) -> str:
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
        split = _pat_split(args[0])
        return [_patsubst_word(split, args[0], args[1], w) for w in args[2].split()]
    if name == "strip":
        return args[0].split()
    if name == "findstring":
        return args[0] if args[0] in args[1] else ""
    if name in ("filter", "filter-out"):
        pats = [(p, _pat_split(p)) for p in args[0].split()]
        keep = name == "filter"
        return [w for w in args[1].split()
                if any(_pat_match(s, p, w) for p, s in pats) == keep]
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


# ---------------------------------------------------------------------------
# text parsing: raw text -> groups of parts separated by whitespace

_text_cache: dict = {}
_WS = re.compile(r"[ \t\n]+")


def parse_text(text: str):
    """Parse raw make text into a tuple of groups (whitespace-separated);
    each group is a tuple of parts: str literals and nodes
    ``("ref", groups)``, ``("fn", name, [raw args])``,
    ``("sub", groups, from, to)``. Returns a tuple of words when the text
    has no references at all."""
    got = _text_cache.get(text)
    if got is not None:
        return got
    if "$" not in text:
        res = ("const", tuple(text.split()))
        _text_cache[text] = res
        return res
    groups = []
    cur: list = []
    pos = 0
    n = len(text)
    pending = ""     # literal text glued to the current group
    while pos <= n:
        i = text.find("$", pos)
        chunk = text[pos:i] if i >= 0 else text[pos:]
        if chunk:
            pieces = _WS.split(chunk)
            if len(pieces) == 1:
                pending += chunk
            else:
                pending += pieces[0]
                if pending:
                    cur.append(pending)
                if cur:
                    groups.append(tuple(cur))
                cur = []
                for mid in pieces[1:-1]:
                    if mid:
                        groups.append((mid,))
                pending = pieces[-1]
        if i < 0:
            break
        if i + 1 >= n:
            pending += "$"
            break
        nx = text[i + 1]
        if nx == "$":
            pending += "$"
            pos = i + 2
            continue
        if nx in "({":
            end = find_reference_end(text, i)
            if end < 0:
                raise ValueError("unterminated variable reference")
            node = _parse_ref(text[i + 2:end - 1])
            pos = end
        else:
            node = ("ref", ("const", (nx,)))
            pos = i + 2
        if pending:
            cur.append(pending)
            pending = ""
        cur.append(node)
    if pending:
        cur.append(pending)
    if cur:
        groups.append(tuple(cur))
    res = ("groups", tuple(groups))
    _text_cache[text] = res
    return res


def _parse_ref(inner: str):
    # function call: name followed by whitespace
    j = 0
    n = len(inner)
    while j < n and inner[j] not in " \t$:(){}":
        j += 1
    if j < n and inner[j] in " \t" and j > 0:
        name = inner[:j]
        if name in _FUNCTIONS:
            rest = inner[j:].lstrip(" \t")
            limit = _FUNCTIONS[name]
            args = split_args(rest, None if limit is None else limit - 1)
            return ("fn", name, args)
        if "$" not in inner:
            return ("badfn", name, inner)
    # substitution reference $(var:a=b)
    depth = 0
    for k, ch in enumerate(inner):
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == ":" and depth == 0:
            rest = inner[k + 1:]
            eq = _top_level_find(rest, "=")
            if eq >= 0:
                return ("sub", parse_text(inner[:k]), rest[:eq], rest[eq + 1:])
            break
    return ("ref", parse_text(inner))


def _top_level_find(text: str, ch: str) -> int:
    depth = 0
    for k, c in enumerate(text):
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        elif c == ch and depth == 0:
            return k
    return -1


# ---------------------------------------------------------------------------

class Evaluator:
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
        self._depth = 0
        self._listdir: dict = {}
        # top-level makefiles include build outputs: missing is not an error
        self.lenient_includes = False
        # variables given on make's command line (ARCH=...): the makefiles'
        # own assignments do not change them
        self.command_line: frozenset = frozenset()

    # -- unknowns -----------------------------------------------------------

    def unknown(self, reason: str) -> Unknown:
        return Unknown(self.path, self.line, reason)

    def note(self, u: Unknown) -> Formula:
        """Record `u` and return its free variable."""
        key = (u.path, u.line)
        if key not in self.unknowns:
            self.unknowns[key] = u.reason
        return var(u.name)

    # -- files --------------------------------------------------------------

    def names(self, d: str) -> frozenset:
        """The entries of directory `d` (relative; "" is the top)."""
        names = self._listdir.get(d)
        if names is None:
            try:
                names = frozenset(os.listdir(os.path.join(self.tree, d) if d else self.tree))
            except OSError:
                names = frozenset()
            self._listdir[d] = names
        return names

    def exists(self, rel: str) -> bool:
        d, _, base = rel.rpartition("/")
        names = self._listdir.get(d)
        if names is None:
            names = self.names(d)
        return base in names

    def is_file(self, rel: str) -> bool:
        return self.exists(rel) and os.path.isfile(os.path.join(self.tree, rel))

    def parsed(self, rel: str) -> list:
        got = self._parsed.get(rel)
        if got is None:
            text = read_text(os.path.join(self.tree, rel), shown=rel, what="Makefile")
            got = parse_makefile(text, rel)
            self._parsed[rel] = got
        if rel not in self._files_seen:
            self._files_seen.add(rel)
            self.files_read.append(rel)
        return got

    # -- variables ----------------------------------------------------------

    def config_value(self, name: str) -> tuple:
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
            elif t in ("int", "hex", "string"):
                val = t
            else:
                val = ()
        self._config_cache[name] = val
        if type(val) is str:
            return ((TRUE, SymVal(self.path, self.line, sym, val)),)
        return val

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
        v = self.env.get(name)
        if v is not None:
            return v.defined
        if name in self.locals:
            return TRUE
        if name.startswith("CONFIG_"):
            return self.nonempty(self.config_value(name))
        return FALSE

    def set_var(self, name: str, value: tuple, recursive: bool, cond: Formula, append: bool = False):
        if name in self.command_line:
            return      # a command-line variable overrides the makefiles' assignments
        old = self.env.get(name)
        if append:
            if old is None:
                self.env[name] = Var(recursive, _wrap(value, cond), cond)
            else:
                self.env[name] = Var(old.recursive, old.value + _wrap(value, cond),
                                     old.defined_or(cond))
            return
        if cond is TRUE or old is None or not old.value:
            self.env[name] = Var(recursive, _wrap(value, cond),
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
        try:
            parsed = parse_text(text)
        except ValueError:
            raise KwhenError("unterminated variable reference", path=self.path, line=self.line)
        return self.expand_parsed(parsed)

    def expand_parsed(self, parsed) -> tuple:
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
                out.extend(_wrap(_words_value(res[0][1]), res[0][0]))
            else:
                out.append(Choice([(c, _words_value(ws)) for c, ws in res], True))
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
                    res = [(c, _glue(ws, (p,))) for c, ws in res]
                    continue
                sub = self._node_alternatives(p)
                if len(sub) == 1:
                    ws2 = sub[0][1]
                    res = [(c, _glue(ws, ws2)) for c, ws in res]
                    continue
                new = []
                for c, ws in res:
                    for c2, ws2 in sub:
                        x = _and(c, c2)
                        if x is not FALSE:
                            new.append((x, _glue(ws, ws2)))
                res = _merge(new) if len(res) > 1 else new
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
            return _choice(alts)
        if kind == "fn":
            return self.call_function(node[1], node[2])
        if kind == "sub":
            _, vparsed, frm, to = node
            val = self.eval_node(("ref", vparsed))
            frm_v = self.expand(frm)
            to_v = self.expand(to)
            fa, ta = self._const(frm_v), self._const(to_v)
            if fa is None or ta is None:
                return self._generic_words("patsubst", [frm_v, to_v, val])
            if "%" not in fa:
                fa, ta = "%" + fa, "%" + ta
            return self._map_words(val, _pat_split(fa), fa, ta)
        if kind == "badfn":
            return ((TRUE, self.unknown(f"unknown function {node[1]}")),)
        raise AssertionError(kind)

    # -- helpers for functions ---------------------------------------------

    @staticmethod
    def _const(value: tuple):
        """The text of a value with no conditions, else None."""
        out = []
        for seg in value:
            if type(seg) is not tuple or seg[0] is not TRUE or type(seg[1]) is not str:
                return None
            out.append(seg[1])
        return " ".join(out)

    def _map_words(self, value: tuple, split, pat, rep) -> tuple:
        """patsubst applied word by word, keeping the structure."""
        out = []
        for seg in value:
            if type(seg) is tuple:
                w = seg[1]
                if type(w) is str:
                    w2 = _patsubst_word(split, pat, rep, w)
                    if w2 is not w and (not w2 or " " in w2):
                        out.extend((seg[0], x) for x in w2.split())
                        continue
                    out.append((seg[0], w2) if w2 is not w else seg)
                else:
                    out.append(seg)
            else:
                out.append(Choice([(c, self._map_words(v, split, pat, rep)) for c, v in seg.alts],
                                  seg.exhaustive))
        return tuple(out)

    def _map_fn(self, value: tuple, fn) -> tuple:
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
                out.append(Choice([(c, self._map_fn(v, fn)) for c, v in seg.alts], seg.exhaustive))
        return tuple(out)

    def _generic_words(self, name: str, values: list) -> tuple:
        """Evaluate a function on every combination of alternatives."""
        try:
            combos = [(TRUE, [])]
            for v in values:
                alts = alternatives(v)
                new = []
                for c, args in combos:
                    for c2, ws in alts:
                        x = _and(c, c2)
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
            out.append((c, _words_value(res)))
        return _choice(out)

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
                    c = _and(outer, seg[0])
                    conds.append(c if type(seg[1]) is str else conj(c, self.note(seg[1])))
                elif t is Choice:
                    for c, sub in seg.alts:
                        walk(sub, _and(outer, c))
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
                c = _and(c1, c2)
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

    # -- functions ----------------------------------------------------------

    def call_function(self, name: str, args: list) -> tuple:
        if name == "if":
            cond = self.nonempty(self.expand(args[0]))
            then = args[1] if len(args) > 1 else ""
            orelse = args[2] if len(args) > 2 else ""
            if cond is TRUE:
                return self.expand(then)
            if cond is FALSE:
                return self.expand(orelse)
            return _choice([(cond, self.expand(then)), (neg(cond), self.expand(orelse))])
        if name == "or":
            alts = []
            remaining = TRUE
            for a in args:
                v = self.expand(a)
                n = self.nonempty(v)
                alts.append((_and(remaining, n), v))
                remaining = conj(remaining, neg(n))
                if remaining is FALSE:
                    break
            alts.append((remaining, ()))
            return _choice(alts)
        if name == "and":
            cond = TRUE
            v = ()
            for a in args:
                v = self.expand(a)
                cond = conj(cond, self.nonempty(v))
                if cond is FALSE:
                    return ()
            return _choice([(cond, v), (neg(cond), ())])
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
                    out.extend(_wrap(self.expand_parsed(body), c))
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
        while len(values) < (_FUNCTIONS[name] or 0):
            values.append(())
        return self._apply(name, values)

    def _apply(self, name: str, values: list) -> tuple:
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
                return self._generic_words(name, values)
            const = all(c is TRUE for c, _ in pats)
            if const:
                psplit = [(p, _pat_split(p)) for _, p in pats]
                exact = {p for p, s in psplit if s is None}
                wild = [(p, s) for p, s in psplit if s is not None]

                def fn(w):
                    hit = w in exact or any(_pat_match(s, p, w) for p, s in wild)
                    return (w,) if hit == keep else ()
                return self._map_fn(values[1], fn)
            psplit = [(c, p, _pat_split(p)) for c, p in pats]
            out = []
            for c, w in flatten(values[1]):
                if type(w) is not str:
                    out.append((c, w))
                    continue
                m = disj_all([pc for pc, p, s in psplit if _pat_match(s, p, w)])
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
            return self._map_fn(values[0], f)
        if name in ("addprefix", "addsuffix", "patsubst", "subst"):
            try:
                combos = [(TRUE, [])]
                for p in values[:-1]:
                    combos = [(x, ps + [ws]) for c, ps in combos for c2, ws in alternatives(p)
                              for x in (_and(c, c2),) if x is not FALSE]
                    if len(combos) > MAX_ALTS:
                        raise TooManyAlternatives()
            except TooManyAlternatives:
                return self._generic_words(name, values)
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
                    out.append((c, self._map_fn(text, lambda w: (p + w,))))
                elif name == "addsuffix":
                    sfx = consts[0]
                    out.append((c, self._map_fn(text, lambda w: (w + sfx,))))
                elif name == "patsubst":
                    out.append((c, self._map_words(text, _pat_split(consts[0]), consts[0], consts[1])))
                else:
                    frm, to = consts
                    if not frm or " " in frm:
                        return self._generic_words(name, values)
                    out.append((c, self._map_fn(text, lambda w, frm=frm, to=to: w.replace(frm, to).split())))
            return _choice(out)
        return self._generic_words(name, values)

    def _glob(self, pattern: str) -> list:
        if pattern.startswith("/") or ".." in pattern.split("/"):
            return []
        if not any(ch in pattern for ch in "*?["):
            rel = posixpath.normpath(pattern)
            return [pattern] if rel != "." and (rel in _CONFIGURED or self.exists(rel)) else []
        found = glob.glob(pattern, root_dir=self.tree)
        return sorted(found)

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
        return _choice(alts)

    def _call_one(self, fname: str, arg_values: list) -> tuple:
        if fname in HELPERS:
            return ((TRUE, self.unknown(f"kbuild helper {fname} tests the toolchain")),)
        if fname in _FUNCTIONS:
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
        self._depth += 1
        try:
            if self._depth > _MAX_DEPTH:
                return ((TRUE, self.unknown(f"$(call {fname}) recurses too deeply")),)
            if v.recursive:
                return self.resolve(v.value, fname)
            return v.value
        finally:
            self._depth -= 1
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
                    val = self._raw(v.value)
            else:
                d = self.is_defined(n)
                if fn == "origin":
                    kind = "file"
                    if v is None and n in UNKNOWN_VARS:
                        kind, d = "environment", TRUE
                else:
                    kind = "recursive" if v is not None and v.recursive else "simple"
                val = _choice([(d, ((TRUE, kind),)), (neg(d), ((TRUE, "undefined"),))])
            alts.append((c, val))
        if not alts:
            return ()
        rest = conj(*[neg(c) for c, _ in alts])
        if rest is not FALSE:
            alts.append((rest, ()))
        return _choice(alts)

    def _raw(self, value: tuple) -> tuple:
        out = []
        for seg in value:
            t = type(seg)
            if t is tuple:
                out.append(seg)
            elif t is Choice:
                out.append(Choice([(c, self._raw(v)) for c, v in seg.alts], seg.exhaustive))
            else:
                out.extend((TRUE, w) for w in seg.text.split())
        return tuple(out)

    # -- statements ---------------------------------------------------------

    def run_file(self, rel: str, cond: Formula = TRUE) -> None:
        """Evaluate the makefile `rel` (relative to the tree) under `cond`."""
        stmts = self.parsed(rel)
        saved = self.path, self.line
        self.path = rel
        try:
            self.run(stmts, cond)
        finally:
            self.path, self.line = saved

    def run(self, stmts: list, cond: Formula) -> None:
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
            elif t is Undefine:
                for c, n in self.name_alternatives(parse_text(st.name)):
                    if isinstance(n, Unknown):
                        continue
                    if c is TRUE and cond is TRUE:
                        self.env.pop(n, None)
                    else:
                        self.set_var(n, (), False, _and(c, cond))

    def _assign(self, name_text: str, op: str, value_text: str, cond: Formula, export: bool):
        names = self.name_alternatives(parse_text(name_text))
        if not names:
            return
        value = None
        for c, name in names:
            if isinstance(name, Unknown):
                self.note(name)
                continue
            where = _and(cond, c)
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
            where = _and(cond, c)
            if st.export:
                self.exported.add(name)
            if st.op in (":=", "::="):
                self.set_var(name, self.expand(st.body), False, where)
            elif st.op == "+=":
                self.set_var(name, self._lazy(st.body), True, where, append=True)
            else:
                self.set_var(name, self._lazy(st.body), True, where)

    def test(self, t) -> Formula:
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
                conds.append(_and(c, d))
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
            taken = _or(taken, f)
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
            where = _and(cond, c)
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
            self._depth += 1
            try:
                if self._depth > _MAX_DEPTH:
                    raise KwhenError(f"includes nested too deeply at {w}", path=self.path, line=self.line)
                saved = self.path, self.line
                self.run_file(rel, where)
                self.path, self.line = saved
            finally:
                self._depth -= 1
