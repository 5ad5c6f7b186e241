"""Values of make variables under conditions, for `kwhen.kbuild.evaluate`.

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
"""

from __future__ import annotations

import re

from kwhen.exceptions import KwhenError
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, conj_pair, disj_all, disj_pair, neg
from kwhen.logic.names import make_unknown

MAX_ALTS = 64
# A value of more words is refused: `X := $(X) $(X)` forty times is 2**40
# words (make itself would run out of memory). Linux's longest lists of
# objects hold a few thousand.
MAX_WORDS = 1 << 18
# Expansions one makefile (with its includes) may take: Linux 6.1's busiest,
# sound/soc/codecs/Makefile, takes under a thousand.
MAX_STEPS = 100_000
MAX_DEPTH = 60      # nested includes and $(call)s

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


class TooManyAlternatives(Exception):
    """A value has more than `MAX_ALTS` alternatives (it becomes unknown)."""


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
        """Its free variable, ``?make:PATH:LINE``."""
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
        """Condition under which the variable is defined."""
        d = self._defined
        if type(d) is tuple:
            d = self._defined = disj_all(d)
        return d

    def defined_or(self, cond: Formula):
        """The `defined` conditions with `cond` added (kept as a tuple, joined when
        asked)."""
        d = self._defined
        if d is TRUE or cond is TRUE:
            return TRUE
        if type(d) is tuple:
            return d + (cond,)
        return (d, cond)


def flatten(value, outer: Formula = TRUE, out=None) -> list:
    """The words of a value with the condition of each: [(cond, word)].
    `value` must not contain `Lazy` segments."""
    if out is None:
        out = []
    for seg in value:
        if type(seg) is tuple:
            c = seg[0]
            if outer is not TRUE:
                c = conj_pair(outer, c) if c is not TRUE else outer
            if c is not FALSE:
                out.append((c, seg[1]))
                if len(out) > MAX_WORDS:
                    raise KwhenError(f"a Makefile value of more than {MAX_WORDS} words")
        else:
            for c, v in seg.alts:
                if outer is not TRUE:
                    c = conj_pair(outer, c)
                if c is not FALSE:
                    flatten(v, c, out)
    return out


def glue(a: tuple, b: tuple) -> tuple:
    """Two word tuples with the last word of `a` and the first of `b` joined into one
    word (make text without space between)."""
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


def merge_alternatives(alts: list) -> list:
    """Merge alternatives with the same words (their conditions are
    exclusive, so the disjunction keeps the list exclusive)."""
    if len(alts) < 2:
        return alts
    seen: dict = {}
    for c, ws in alts:
        key = tuple(w if type(w) is str else id(w) for w in ws)
        if key in seen:
            seen[key] = (disj_pair(seen[key][0], c), ws)
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
                    x = conj_pair(a, c)
                    if x is not FALSE:
                        new.append((x, ws + (w,)))
                    x = conj_pair(a, nc)
                    if x is not FALSE:
                        new.append((x, ws))
                res = new
        else:
            sub = []
            for c, v in seg.alts:
                for a2, ws2 in alternatives(v):
                    x = conj_pair(c, a2)
                    if x is not FALSE:
                        sub.append((x, ws2))
            if not seg.exhaustive:
                rest = conj(*[neg(c) for c, _ in seg.alts])
                if rest is not FALSE:
                    sub.append((rest, ()))
            sub = merge_alternatives(sub)
            if len(sub) == 1 and sub[0][0] is TRUE:
                ws2 = sub[0][1]
                res = [(a, ws + ws2) for a, ws in res]
            else:
                new = []
                for a, ws in res:
                    for c, ws2 in sub:
                        x = conj_pair(a, c)
                        if x is not FALSE:
                            new.append((x, ws + ws2))
                res = new
        if len(res) > MAX_ALTS:
            res = merge_alternatives(res)
            if len(res) > MAX_ALTS:
                raise TooManyAlternatives()
    return merge_alternatives(res)


def restrict(value: tuple, cond: Formula) -> tuple:
    """`value` where `cond` holds, empty elsewhere."""
    if cond is TRUE:
        return value
    if cond is FALSE:
        return ()
    out = []
    for seg in value:
        if type(seg) is tuple:
            c = seg[0]
            c = cond if c is TRUE else conj_pair(cond, c)
            if c is not FALSE:
                out.append((c, seg[1]))
        elif type(seg) is Choice:
            alts = []
            for c, v in seg.alts:
                c = conj_pair(cond, c)
                if c is not FALSE:
                    alts.append((c, v))
            if alts:
                out.append(Choice(alts, False))
        else:
            out.append(Choice([(cond, (seg,))], False))
    return tuple(out)


def choice(alts: list) -> tuple:
    """A value from exclusive, exhaustive alternatives [(cond, value)]."""
    alts = [(c, v) for c, v in alts if c is not FALSE]
    if not alts:
        return ()
    if len(alts) == 1:
        return restrict(alts[0][1], alts[0][0])
    if all(not v for _, v in alts):
        return ()
    return (Choice(alts, True),)


def words_value(words) -> tuple:
    """A value of words present in every configuration."""
    return tuple((TRUE, w) for w in words)
