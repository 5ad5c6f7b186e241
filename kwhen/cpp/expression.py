"""C preprocessor `#if` expressions -> Formula.

An expression is tokenized and parsed with the C precedence rules; each
sub-expression evaluates to a `_Value`, one of

- a *guarded integer*: a small list of ``(guard, int)`` pairs whose guards
  partition the configurations (a plain constant is ``[(TRUE, n)]``;
  ``CONFIG_FOO`` for a bool FOO is ``[(FOO, 1), (!FOO, 0)]``), so arithmetic
  over known macros and Kconfig symbols stays exact;
- an *opaque term*: an integer kwhen cannot know (``LINUX_VERSION_CODE``,
  ``CONFIG_NR_CPUS``, a function-like macro), kept as normalised text.

The whole expression's truth (value != 0) is the result. Variable names
follow DEVELOPERS.md: ``FOO``, ``FOO=m``, ``NR_CPUS>4``, ``MODULE``,
``defined(BAR)``, ``cpp(BAR)``, ``cpp(BAR > 4)``.
"""

from __future__ import annotations

import re
from typing import Mapping

from kwhen.exceptions import KwhenError
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, neg, var
from kwhen.logic.names import MODULE, comparison, cpp_value, defined_macro, module_var

__all__ = ["condition_of", "defined_condition", "PHASE_PREFIX"]

_BOOLISH = ("bool", "tristate", "unknown")
_MAX_CASES = 16                       # a guarded value with more cases goes opaque
_MASK = (1 << 64) - 1

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<chr>[uUL]?'(?:[^'\\\n]|\\.)*')
  | (?P<str>[uUL]?"(?:[^"\\\n]|\\.)*")
  | (?P<op>\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%<>!~&|^?:(),])
  | (?P<other>.)
""", re.X | re.S)

# Binary operators: precedence (higher binds tighter).
_BINARY = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9,
    "*": 10, "/": 10, "%": 10,
}
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_VARIABLE_OP = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KCONFIG_TESTS = ("IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE")
# build-phase macros (U-Boot), resolved for the phase of the facts: see `call`
_PHASE_MACROS = ("CONFIG_IS_ENABLED", "CONFIG_VAL")
# the fact giving the prefix CONFIG_VAL adds in this phase ("" in U-Boot
# proper, "SPL_" in SPL: `kwhen.cpp.phase.config_prefix`); no macro has
# this name. Without it, the prefix is "" (a tree without phases).
PHASE_PREFIX = "(phase prefix)"
_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11,
            "\\": 92, "'": 39, '"': 34, "?": 63, "e": 27}


class _Malformed(Exception):
    pass


def _signed(n: int) -> int:
    n &= _MASK
    return n - (1 << 64) if n >> 63 else n


class _Value:
    """A guarded integer (`cases`) or an opaque term (`text` only).

    `text` is the normalised source text; `prec` its binding strength for
    parentheses; `terms`, for an opaque term that is an int/hex Kconfig
    symbol plus a constant (``CONFIG_PGTABLE_LEVELS - 1``, possibly a
    different one under each definition of a macro), lists ``(guard, sym,
    offset)`` with guards that partition the configurations (`sym` None: the
    constant `offset`), so a comparison becomes the symbol's own comparison
    (``PGTABLE_LEVELS>4``); `truth_f` overrides an opaque term's truth.
    """
    __slots__ = ("cases", "text", "prec", "terms", "truth_f")

    def __init__(self, cases, text, prec=99, terms=None, truth_f=None):
        self.cases = cases
        self.text = text
        self.prec = prec
        self.terms = terms
        self.truth_f = truth_f

    def wrapped(self, prec: int) -> str:
        return f"({self.text})" if self.prec < prec else self.text

    def truth(self) -> Formula:
        if self.cases is not None:
            return disj(*(g for g, v in self.cases if v != 0))
        if self.truth_f is not None:
            return self.truth_f
        if self.terms is not None:
            return _compare_terms(self.terms, "!=", 0)
        return var(cpp_value(self.text))

    def affine(self):
        """`terms`, or the guarded constants as terms; None when opaque."""
        if self.terms is not None:
            return self.terms
        if self.cases is not None:
            return [(g, None, v) for g, v in self.cases]
        return None


def _compare_terms(terms, op: str, value: int) -> Formula:
    """``term op value`` over guarded ``sym + offset`` terms: the symbol's
    comparison with the constant moved across (``S - 1 > 3`` is ``S>4``)."""
    out = []
    for guard, sym, off in terms:
        if sym is None:
            f = TRUE if _arith(op, off, value) else FALSE
        else:
            f = var(comparison(sym, _VARIABLE_OP[op], str(value - off)))
        out.append(conj(guard, f))
    return disj(*out)


def _shifted(terms, op: str, cases, sym_left: bool):
    """`terms` plus or minus the guarded constants `cases`; None when the
    result is no ``sym + offset`` (``c - S``) or has too many terms."""
    out = []
    for g, sym, off in terms:
        for gc, c in cases:
            guard = conj(g, gc)
            if guard is FALSE:
                continue
            if op == "-" and not sym_left:
                if sym is not None:
                    return None
                out.append((guard, None, _signed(c - off)))
            else:
                out.append((guard, sym, _signed(off + c if op == "+" else off - c)))
    return out if len(out) <= _MAX_CASES else None


def _const(n: int, text: str | None = None) -> _Value:
    return _Value([(TRUE, n)], str(n) if text is None else text)


def _boolean(f: Formula, text: str, prec: int = 99) -> _Value:
    if f is TRUE:
        return _Value([(TRUE, 1)], text, prec)
    if f is FALSE:
        return _Value([(TRUE, 0)], text, prec)
    return _Value([(f, 1), (neg(f), 0)], text, prec)


def _merge(cases):
    """Join cases with equal values; None when there are too many."""
    by_value: dict = {}
    for g, v in cases:
        if g is FALSE:
            continue
        by_value.setdefault(v, []).append(g)
    if len(by_value) > _MAX_CASES:
        return None
    out = [(disj(*gs), v) for v, gs in by_value.items()]
    return out or [(TRUE, 0)]


def _arith(op: str, a: int, b: int) -> int | None:
    if op == "+":
        return _signed(a + b)
    if op == "-":
        return _signed(a - b)
    if op == "*":
        return _signed(a * b)
    if op in ("/", "%"):
        if b == 0:
            return None
        q = abs(a) // abs(b)
        if (a < 0) != (b < 0):
            q = -q
        return _signed(q) if op == "/" else _signed(a - q * b)
    if op == "<<":
        return _signed(a << b) if 0 <= b < 64 else 0
    if op == ">>":
        return a >> b if 0 <= b < 64 else (-1 if a < 0 else 0)
    if op == "&":
        return _signed(a & b)
    if op == "|":
        return _signed(a | b)
    if op == "^":
        return _signed(a ^ b)
    if op == "==":
        return int(a == b)
    if op == "!=":
        return int(a != b)
    if op == "<":
        return int(a < b)
    if op == "<=":
        return int(a <= b)
    if op == ">":
        return int(a > b)
    if op == ">=":
        return int(a >= b)
    raise AssertionError(op)


_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)([uUlL]*)")
_SUFFIX = re.compile(r"[uU]?(?:l|L|ll|LL)?[uU]?")
_OCTAL = re.compile(r"[0-7]+")
# `defined(X)`, `!defined X`: most #if lines, answered without the parser.
_SIMPLE = re.compile(r"\s*(!\s*)?defined\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|\s([A-Za-z_]\w*))\s*")


def _parse_number(text: str) -> int:
    m = _NUMBER.fullmatch(text)
    if not m or len(m.group(2)) > 3 or not _SUFFIX.fullmatch(m.group(2)):
        raise _Malformed(f"invalid integer constant {text!r}")
    digits = m.group(1)
    if digits[:2] in ("0x", "0X"):
        n = int(digits[2:], 16)
    elif digits[:2] in ("0b", "0B"):
        n = int(digits[2:], 2)
    elif len(digits) > 1 and digits[0] == "0":
        if not _OCTAL.fullmatch(digits):
            raise _Malformed(f"invalid octal constant {text!r}")
        n = int(digits, 8)
    else:
        n = int(digits)
    return _signed(n)


def _parse_char(text: str) -> int:
    body = text[text.index("'") + 1:-1]
    if not body:
        raise _Malformed("empty character constant")
    if body[0] != "\\":
        return ord(body[0])
    rest = body[1:]
    if rest[:1] == "x":
        return int(rest[1:] or "0", 16) & 0xFF
    if rest[:1].isdigit():
        return int(re.match(r"[0-7]{1,3}", rest).group(0), 8) & 0xFF
    return _ESCAPES.get(rest[:1], ord(rest[:1]) if rest else 92)


# Bounds on expanding macro bodies inside one #if (beyond: an opaque term).
_MAX_EXPANSION_DEPTH = 24
_MAX_EXPANSIONS = 400
_PARAM_TOKEN = re.compile(r"##|#|[A-Za-z_]\w*|\s+|.", re.S)


class _Parser:
    def __init__(self, text, symbols, facts, macros, env=None, expanding=frozenset(), budget=None):
        self.text = text
        self.symbols = symbols
        self.facts = facts or {}
        self.macros = macros or {}
        # `env` (kwhen.cpp.headers.MacroEnvironment or alike): the bodies of
        # the macros the headers define (`env.values`: name -> ((guard,
        # params, body), ...)) and `env.outside(name)`, when a macro nobody
        # kwhen read defines is defined; `expanding`: the macros being
        # expanded (cpp expands none of them again: the name is then 0).
        self.env = env
        self.expanding = expanding
        self.budget = budget if budget is not None else [_MAX_EXPANSIONS]
        toks = []
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind != "ws":
                toks.append((kind, m.group(), m.start(), m.end()))
        toks.append(("end", "", len(text), len(text)))
        self.toks = toks
        self.i = 0

    # -- token helpers
    def peek(self):
        return self.toks[self.i]

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, value):
        tok = self.take()
        if tok[1] != value or tok[0] not in ("op",):
            raise _Malformed(f"expected {value!r}, found {tok[1] or 'end of line'!r}")
        return tok

    # -- grammar
    def parse(self) -> _Value:
        if self.peek()[0] == "end":
            raise _Malformed("empty expression")
        v = self.conditional()
        tok = self.peek()
        if tok[0] != "end":
            raise _Malformed(f"unexpected {tok[1]!r}")
        return v

    def conditional(self) -> _Value:
        c = self.binary(1)
        if self.peek()[1] != "?" or self.peek()[0] != "op":
            return c
        self.take()
        a = self.conditional()
        self.expect(":")
        b = self.conditional()
        text = f"{c.wrapped(2)} ? {a.wrapped(1)} : {b.wrapped(1)}"
        t = c.truth()
        if t is TRUE:
            return _Value(a.cases, text, 0, a.terms, a.truth_f)
        if t is FALSE:
            return _Value(b.cases, text, 0, b.terms, b.truth_f)
        if a.cases is not None and b.cases is not None:
            cases = _merge([(conj(t, g), v) for g, v in a.cases] +
                           [(conj(neg(t), g), v) for g, v in b.cases])
            if cases is not None:
                return _Value(cases, text, 0)
        return _Value(None, text, 0,
                      truth_f=disj(conj(t, a.truth()), conj(neg(t), b.truth())))

    def binary(self, min_prec: int) -> _Value:
        left = self.unary()
        while True:
            kind, op, _, _ = self.peek()
            prec = _BINARY.get(op) if kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = self.apply(op, prec, left, right)

    def constants_of(self, v: _Value):
        """`v` as guarded constants: its cases, or for ``sym + offset``
        terms each value Kconfig can give the symbol (`env.value_cases`:
        None when a user or no default may give it another); None when
        not known."""
        if v.cases is not None:
            return v.cases
        values_of = getattr(self.env, "value_cases", None)
        if v.terms is None or values_of is None:
            return None
        cases = []
        for g, sym, off in v.terms:
            if sym is None:
                cases.append((g, off))
                continue
            found = values_of(sym)
            if found is None:
                return None
            cases.extend((conj(g, guard), _signed(n + off)) for guard, n in found)
        return _merge(cases)

    def apply(self, op, prec, a: _Value, b: _Value) -> _Value:
        text = f"{a.wrapped(prec)} {op} {b.wrapped(prec + 1)}"
        if op == "&&":
            return _boolean(conj(a.truth(), b.truth()), text, prec)
        if op == "||":
            return _boolean(disj(a.truth(), b.truth()), text, prec)
        if (a.terms is not None or b.terms is not None) and op not in ("+", "-", *_COMPARE):
            # ``_AC(1,UL) << PAGE_SHIFT`` over arm64's CONFIG_ARM64_PAGE_SHIFT:
            # the symbol's values, where Kconfig always gives it one of them
            ca, cb = self.constants_of(a), self.constants_of(b)
            if ca is not None and cb is not None:
                a, b = _Value(ca, a.text, a.prec), _Value(cb, b.text, b.prec)
        if a.cases is not None and b.cases is not None:
            cases = []
            for ga, va in a.cases:
                for gb, vb in b.cases:
                    g = conj(ga, gb)
                    if g is FALSE:
                        continue
                    r = _arith(op, va, vb)
                    if r is None:          # division by zero: leave it opaque
                        return _Value(None, text, prec)
                    cases.append((g, r))
            cases = _merge(cases)
            if cases is not None:
                return _Value(cases, text, prec)
            return _Value(None, text, prec)
        if op in ("+", "-") and (a.terms is not None or b.terms is not None):
            if a.terms is not None and b.cases is not None:
                terms = _shifted(a.terms, op, b.cases, True)
            elif b.terms is not None and a.cases is not None:
                terms = _shifted(b.terms, op, a.cases, False)
            else:
                terms = None
            return _Value(None, text, prec, terms)
        if op in _COMPARE:
            # One side (at least) opaque: split the known side by its cases.
            if a.cases is not None:
                a, b, op = b, a, _FLIP[op]
            if b.cases is not None:
                return _boolean(disj(*(conj(g, self.compare(a, op, v)) for g, v in b.cases)), text, prec)
            return _boolean(var(cpp_value(text)), text, prec)
        return _Value(None, text, prec)

    @staticmethod
    def compare(term: _Value, op: str, value: int) -> Formula:
        if term.terms is not None:
            return _compare_terms(term.terms, op, value)
        t = term.truth_f
        if t is not None and value == 0 and op in ("==", "!="):
            return neg(t) if op == "==" else t
        return var(cpp_value(f"{term.wrapped(7)} {op} {value}"))

    def unary(self) -> _Value:
        kind, tok, start, end = self.take()
        if kind == "op" and tok in ("!", "~", "-", "+"):
            v = self.unary()
            text = f"{tok}{v.wrapped(11)}"
            if tok == "!":
                return _boolean(neg(v.truth()), text, 11)
            if v.terms is not None and tok != "+":
                cases = self.constants_of(v)
                if cases is not None:
                    v = _Value(cases, v.text, v.prec)
            if v.cases is not None:
                fn = {"~": lambda n: _signed(~n), "-": lambda n: _signed(-n), "+": lambda n: n}[tok]
                return _Value(_merge([(g, fn(n)) for g, n in v.cases]), text, 11)
            if tok == "+":
                return v
            return _Value(None, text, 11)
        if kind == "op" and tok == "(":
            v = self.conditional()
            self.expect(")")
            return _Value(v.cases, v.text, v.prec, v.terms, v.truth_f)
        if kind == "num":
            return _const(_parse_number(tok))
        if kind == "chr":
            return _const(_parse_char(tok))
        if kind == "id":
            return self.identifier(tok)
        if kind == "end":
            raise _Malformed("expression ends too early")
        raise _Malformed(f"unexpected {tok!r}")

    def identifier(self, name: str) -> _Value:
        nxt = self.peek()
        if name == "defined":
            paren = nxt[0] == "op" and nxt[1] == "("
            if paren:
                self.take()
            kind, macro, _, _ = self.take()
            if kind != "id":
                raise _Malformed("'defined' without a macro name")
            if paren:
                self.expect(")")
            return _boolean(defined_condition(macro, self.symbols, self.facts, self.macros,
                                              self.env),
                            f"defined({macro})")
        if nxt[0] == "op" and nxt[1] == "(":
            return self.call(name)
        return self.value_of(name)

    def call(self, name: str) -> _Value:
        self.take()   # the opening parenthesis
        depth = 1
        args: list[list] = [[]]
        while True:
            tok = self.take()
            if tok[0] == "end":
                raise _Malformed(f"missing ')' after {name}(")
            if tok[0] == "op" and tok[1] == "(":
                depth += 1
            elif tok[0] == "op" and tok[1] == ")":
                depth -= 1
                if depth == 0:
                    break
            elif tok[0] == "op" and tok[1] == "," and depth == 1:
                args.append([])
                continue
            args[-1].append(tok)
        parts = []
        for arg in args:
            parts.append(" ".join(self.text[arg[0][2]:arg[-1][3]].split()) if arg else "")
        text = f"{name}({', '.join(parts)})"
        if name in _KCONFIG_TESTS:
            if len(args) != 1 or len(args[0]) != 1 or args[0][0][0] != "id":
                raise _Malformed(f"{name} takes one macro name")
            return _boolean(self.kconfig_test(name, args[0][0][1]), text)
        prefix = self.facts.get(PHASE_PREFIX, "") if self.facts else ""
        if name in _PHASE_MACROS and len(args[0]) == 1 and args[0][0][0] == "id" \
                and prefix is not None:
            # U-Boot's include/linux/kconfig.h: CONFIG_IS_ENABLED(FOO) is
            # IS_ENABLED(CONFIG_FOO) in U-Boot proper, IS_ENABLED(CONFIG_SPL_FOO)
            # in SPL..., CONFIG_VAL(FOO) is CONFIG_<prefix>FOO. The
            # (if-enabled), (if-disabled) form is C, not #if.
            macro = "CONFIG_" + prefix + args[0][0][1]
            if name == "CONFIG_VAL" and len(args) == 1:
                return self.value_of(macro)
            if name == "CONFIG_IS_ENABLED" and len(args) == 1:
                return _boolean(self.kconfig_test("IS_ENABLED", macro), text)
        if self.env is not None:
            return self.expand(name, text, parts)
        return _Value(None, text)

    def kconfig_test(self, test: str, macro: str) -> Formula:
        builtin = self.is_one(macro)
        module = self.is_one(macro + "_MODULE")
        if test == "IS_BUILTIN":
            return builtin
        if test == "IS_MODULE":
            return module
        if test == "IS_ENABLED":
            return disj(builtin, module)
        return disj(builtin, conj(module, var(MODULE)))

    def is_one(self, macro: str) -> Formula:
        """Truth of "`macro` is defined as 1" (the `__is_defined` trick)."""
        if macro in self.facts:
            return TRUE if self.facts[macro] == 1 else FALSE
        if macro.startswith("CONFIG_") and self.symbols is not None:
            sym = macro[7:]
            info = _kind(self.symbols, sym)
            if info in ("int",):
                return var(f"{sym}=1")
            if info in ("hex", "string"):
                return FALSE
        return defined_condition(macro, self.symbols, self.facts, self.macros, self.env)

    def value_of(self, name: str) -> _Value:
        facts = self.facts
        if name in facts:
            value = facts[name]
            if value is None:
                return _const(0, name)
            return _const(int(value), name)
        if name == "MODULE":
            return _boolean(var(MODULE), name)
        if name.startswith("CONFIG_"):
            sym = name[7:]
            symbols = self.symbols
            if symbols is None:
                if sym.endswith("_MODULE") and len(sym) > 7:
                    return _boolean(var(module_var(sym[:-7])), name)
                return _boolean(var(sym), name)
            kind = _kind(symbols, sym)
            if kind is None:
                module_of = _module_of(symbols, sym)
                if module_of is not None:
                    return _boolean(module_of, name)
                if self.env is not None:
                    # no Kconfig symbol: a header's macro (a board's legacy option)
                    return self.expand(name, name, None)
                return _const(0, name)
            if kind in _BOOLISH:
                return _boolean(var(sym), name)
            if kind in ("int", "hex"):
                return _Value(None, name, terms=[(TRUE, sym, 0)])
            return _Value(None, name)
        if self.env is not None:
            return self.expand(name, name, None)
        return _Value(None, name)

    # -- macros the headers define (with `env`) --------------------------------

    def expand(self, name: str, text: str, args: list | None) -> _Value:
        """The value of macro `name` (called with `args`, or object-like
        when None) over its definitions: each body is evaluated under the
        guard that makes it the definition in force. Undefined, the name is
        0 (cpp's rule); defined by something kwhen did not read, or with a
        body that is no integer expression, the term is opaque."""
        if name in self.expanding:
            return _const(0, text)        # cpp does not expand a macro inside itself
        entries = self.env.values.get(name, ())
        if not entries and name not in self.env.values:
            if name not in self.macros and self.env.outside(name) is FALSE:
                # defined by nothing: 0 (a call would be malformed C: opaque)
                return _const(0, text) if args is None else _Value(None, text)
            return _Value(None, text)
        if entries is None:          # given up on (kwhen.cpp.headers.OPAQUE)
            return _Value(None, text)
        self.budget[0] -= 1
        if self.budget[0] < 0 or len(self.expanding) >= _MAX_EXPANSION_DEPTH:
            return _Value(None, text)
        cases = []
        for guard, params, body in entries:
            if (params is None) != (args is None):
                return _Value(None, text)   # a function-like macro named alone, or the reverse
            if params is not None:
                body = _substitute(body, params, args)
                if body is None:
                    return _Value(None, text)
            try:
                sub = _Parser(body, self.symbols, self.facts, self.macros, self.env,
                              self.expanding | {name}, self.budget).parse()
            except (_Malformed, RecursionError):
                return _Value(None, text)
            terms = sub.affine()
            if terms is None:
                return _Value(None, text)
            # `#define VA_BITS (CONFIG_ARM64_VA_BITS)`, `#define
            # SWAPPER_PGTABLE_LEVELS (CONFIG_PGTABLE_LEVELS - 1)`: an int
            # symbol plus a constant, compared as the symbol (values.py)
            cases.extend((conj(guard, g), s, v) for g, s, v in terms)
        rest = neg(disj(*(guard for guard, _, _ in entries)))
        if rest is not FALSE:
            if self.env.first_outside(name) is not FALSE:
                return _Value(None, text)
            cases.append((rest, None, 0))
        if any(sym is not None for _, sym, _ in cases):
            return _Value(None, text, terms=cases) if len(cases) <= _MAX_CASES else _Value(None, text)
        merged = _merge([(g, v) for g, _, v in cases])
        return _Value(merged, text) if merged is not None else _Value(None, text)


def _substitute(body: str, params: tuple, args: list) -> str | None:
    """`body` with each parameter replaced by its argument's text, and
    ``##`` pasting done; None for what #if cannot use (``#`` stringizing,
    a wrong number of arguments, variadic macros)."""
    if len(params) != len(args) and not (params == () and args == [""]):
        return None
    table = dict(zip(params, args))
    pieces: list[str] = []
    paste = False
    for tok in _PARAM_TOKEN.findall(body):
        if tok == "##":
            while pieces and pieces[-1].isspace():
                pieces.pop()
            paste = True
            continue
        if tok == "#" or tok == "__VA_ARGS__":
            return None
        if tok.isspace():
            if not paste:
                pieces.append(" ")
            continue
        text = table.get(tok, tok)
        if paste and pieces:
            pieces[-1] = pieces[-1].rstrip() + text.strip()
        else:
            pieces.append(f" {text} " if tok in table else text)
        paste = False
    return "".join(pieces)


def _kind(symbols: Mapping, name: str) -> str | None:
    """The type of symbol `name`; `symbols` values may be type names or
    objects with a ``type`` (kwhen.kconfig.model.SymbolInfo)."""
    kind = symbols.get(name)
    if kind is None or isinstance(kind, str):
        return kind
    return getattr(kind, "type", None)


def defined_condition(name: str, symbols: Mapping[str, str] | None,
                      facts: Mapping | None = None,
                      macros: Mapping[str, Formula] | None = None, env=None) -> Formula:
    """The condition under which macro `name` is defined (``defined(name)``).

    `macros` maps macros defined earlier in the same file to the condition
    of their ``#define`` (see `kwhen.cpp.directives`); `env` says when a
    macro none of the files read defines is defined (`env.outside`).
    """
    if facts and name in facts:
        return FALSE if not facts[name] else TRUE
    if macros and name in macros:
        return macros[name]
    if name == "MODULE":
        return var(MODULE)
    if name.startswith("CONFIG_"):
        sym = name[7:]
        if symbols is None:
            if sym.endswith("_MODULE") and len(sym) > 7:
                return var(module_var(sym[:-7]))
            return var(sym)
        kind = _kind(symbols, sym)
        if kind is None:
            module_of = _module_of(symbols, sym)
            if module_of is not None:
                return module_of
            # no Kconfig symbol: defined only where a header kwhen cannot
            # read may define it (a board's header, `env.config_taint`)
            return env.outside(name) if env is not None else FALSE
        if kind in _BOOLISH:
            return var(sym)
        return var(defined_macro(name))
    if env is not None:
        return env.outside(name)
    return var(defined_macro(name))


def _module_of(symbols: Mapping, name: str) -> Formula | None:
    """When ``CONFIG_<name>`` is defined, if `name` is ``S_MODULE`` for a
    Kconfig symbol S that has no symbol of its own: Kconfig writes
    ``CONFIG_S_MODULE`` for a tristate S at m and never for any other type
    (U-Boot's CONFIG_IS_ENABLED asks for it of bool symbols too); None
    otherwise."""
    if not name.endswith("_MODULE") or len(name) <= 7:
        return None
    kind = _kind(symbols, name[:-7])
    if kind is None:
        return None
    return var(module_var(name[:-7])) if kind == "tristate" else FALSE


def condition_of(expr_text: str, symbols: Mapping[str, str] | None, path: str, line: int,
                 facts: Mapping | None = None,
                 macros: Mapping[str, Formula] | None = None, env=None) -> Formula:
    """The condition under which the `#if` expression `expr_text` is nonzero.

    `symbols` maps Kconfig symbol names (without ``CONFIG_``) to their type,
    or is None when there is no symbol table (every ``CONFIG_X`` is then a
    bool-like variable ``X`` and ``CONFIG_X_MODULE`` is ``X=m``). `facts`
    fixes known macros (name -> value); a fact of None, False or 0 means
    *not defined* (cpp gives an undefined name the value 0 anyway), so
    ``{"__ASSEMBLY__": 0}`` makes ``#ifndef __ASSEMBLY__`` true. Raises
    KwhenError for a malformed expression. `env`: see `_Parser`.
    """
    simple = _SIMPLE.fullmatch(expr_text)
    if simple is not None:
        f = defined_condition(simple.group(2) or simple.group(3), symbols, facts, macros, env)
        return neg(f) if simple.group(1) else f
    try:
        return _Parser(expr_text, symbols, facts, macros, env).parse().truth()
    except _Malformed as e:
        raise KwhenError(f"malformed #if expression: {e}: {' '.join(expr_text.split())}",
                         path, line) from None
    except RecursionError:
        raise KwhenError("malformed #if expression: nested too deeply", path, line) from None
