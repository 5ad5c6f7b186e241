"""Values of int, hex and string symbols as propositions.

Kconfig gives a non-bool symbol its value from its first `default` whose
condition holds, or, when the symbol is visible, from the user. kwhen
models each such symbol by the values its constant defaults name: one
*value proposition* per value (`value_var`: ``PGTABLE_LEVELS:=5``), at most
one of them true, each true exactly when that default is the one Kconfig
takes (see `kwhen.kconfig.translate`). When none is true the symbol holds
some other value (a user's, a default kwhen cannot evaluate, or none at all):
the *open* case.

A comparison ``SYM OP VALUE`` (`kwhen.logic.names.comparison`), whichever
layer wrote it (a Kconfig `depends on`, an ``#if``, an ``ifeq``), is then
the formula `comparison_formula` gives: the value propositions whose value
satisfies it, or, in the open case only, the comparison's own free variable.
Sound: a comparison is decided only where Kconfig decides the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kwhen.logic.formula import Formula, conj, disj_all, neg, var
from kwhen.logic.names import comparison, quoted_value

VALUE_TYPES = ("int", "hex", "string")
_VALUE_MARK = ":="
_DEFINED_CONFIG = re.compile(r"^defined\(CONFIG_([A-Za-z0-9_]+)\)$")
_COMPARISON = re.compile(r"^([A-Za-z0-9_]+)(<=|>=|!=|=|<|>)(.*)$", re.S)
_OPS = {
    "=": lambda c: c == 0, "!=": lambda c: c != 0, "<": lambda c: c < 0,
    "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}
COMPLEMENT = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


@dataclass(frozen=True)
class Domain:
    """The values Kconfig's constant defaults give a symbol (canonical text,
    see `canonical`), in the order first met."""
    type: str
    values: tuple

    def to_data(self) -> list:
        return [self.type, list(self.values)]

    @classmethod
    def from_data(cls, data) -> "Domain":
        return cls(data[0], tuple(data[1]))


def value_var(symbol: str, value: str) -> str:
    """The proposition "`symbol` has the value `value`" (canonical text):
    ``PGTABLE_LEVELS:=5``, ``SYS_BOARD:="sandbox"``."""
    return f"{symbol}{_VALUE_MARK}{value}"


def empty_string(symbol: str) -> str:
    """The comparison "string `symbol` is empty" (``SYS_VENDOR=""``), which
    Kconfig makes true where the symbol is hidden and no default applies."""
    return comparison(symbol, "=", quoted_value(""))


def split_value_var(name: str) -> tuple[str, str] | None:
    """(symbol, value) of a value proposition, None for other names."""
    symbol, mark, value = name.partition(_VALUE_MARK)
    if not mark or not re.fullmatch(r"[A-Za-z0-9_]+", symbol):
        return None
    return symbol, value


def is_value_var(name: str) -> bool:
    return split_value_var(name) is not None


def parse_comparison(name: str) -> tuple[str, str, str] | None:
    """(symbol, op, right-hand text) of a comparison variable, else None."""
    if is_value_var(name):
        return None
    m = _COMPARISON.match(name)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r'\\(.)', r"\1", text[1:-1])
    return text


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(type_: str, text: str, hex_base: bool = False) -> int | None:
    """`text` as a number of an int or hex symbol, None when it is not one.

    Comparison names write numbers as C does (decimal, or 0x... for hex),
    whatever layer made them; a hex default in Kconfig may omit the 0x
    (`hex_base`: read it in base 16, as Kconfig does)."""
    text = _unquote(text).strip()
    try:
        if type_ == "hex" and hex_base:
            return int(text, 16)
        if type_ == "hex" and text[:2].lower() == "0x":
            return int(text, 16)
        return int(text, 10)
    except ValueError:
        return None


def canonical(type_: str, raw: str, hex_base: bool = False) -> str | None:
    """The canonical text of the value `raw` (a string's characters, a
    number's digits): decimal for int, 0x... for hex, quoted for string;
    None for a number that does not parse."""
    if type_ == "string":
        return _quote(raw)
    n = number(type_, raw, hex_base)
    if n is None:
        return None
    return hex(n) if type_ == "hex" else str(n)


def plain_string(value: str) -> str:
    """The text of a canonical string value, without quotes."""
    return _unquote(value)


def _compare(type_: str, value: str, right: str) -> int | None:
    """value <=> right (-1, 0, 1), None when they do not compare."""
    if type_ == "string":
        a, b = _unquote(value), _unquote(right)
        return (a > b) - (a < b)
    a, b = number(type_, value), number(type_, right)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def holds(type_: str, value: str, op: str, right: str) -> bool | None:
    """Whether `value` (canonical) OP `right` holds; None if not comparable."""
    c = _compare(type_, value, right)
    return None if c is None else _OPS[op](c)


def comparison_formula(symbol: str, domain: Domain, op: str, right: str,
                       free_name: str | None = None) -> Formula | None:
    """The formula for ``symbol op right`` over the value propositions of
    `domain`, with `free_name` (default: the comparison's own name) free in
    the open case. None when `right` is not a constant of the symbol's type
    (another symbol's name): the comparison then stays free."""
    if domain.type != "string" and number(domain.type, right) is None:
        return None
    free = var(free_name or comparison(symbol, op, right))
    values = [var(value_var(symbol, v)) for v in domain.values]
    true_for = []
    for v, prop in zip(domain.values, values):
        result = holds(domain.type, v, op, right)
        if result is None:
            return None
        if result:
            true_for.append(prop)
    open_case = conj(*(neg(p) for p in values), free) if values else free
    return disj_all(true_for + [open_case])


def expand_comparisons(f: Formula, domains: dict) -> Formula:
    """`f` with every comparison of a symbol in `domains` replaced by its
    `comparison_formula` (the variable itself stays, for the open case)."""
    names = [n for n in f.variables() if not is_value_var(n)]
    table = {}
    for name in names:
        defined = _DEFINED_CONFIG.match(name)
        if defined is not None and defined.group(1) in domains:
            # CONFIG_X is defined wherever X takes one of its values (Kconfig
            # writes a symbol whose default or user value it takes)
            symbol = defined.group(1)
            props = [var(value_var(symbol, v)) for v in domains[symbol].values]
            table[name] = disj_all(props + [conj(*(neg(p) for p in props), var(name))])
            continue
        parsed = parse_comparison(name)
        if parsed is None:
            continue
        symbol, op, right = parsed
        domain = domains.get(symbol)
        if domain is None:
            continue
        found = comparison_formula(symbol, domain, op, right, name)
        if found is not None and found is not var(name):
            table[name] = found
    if not table:
        return f
    return f.substitute(lambda name: table.get(name))


def readable(f: Formula) -> Formula:
    """`f` for people: a negated comparison as its complement
    (``!(PGTABLE_LEVELS>2)`` as ``PGTABLE_LEVELS<=2``)."""
    table = {}
    for name in f.variables():
        value = split_value_var(name)
        if value is not None:
            table[var(name)] = var(comparison(value[0], "=", value[1]))
            table[neg(var(name))] = var(comparison(value[0], "!=", value[1]))
            continue
        parsed = parse_comparison(name)
        if parsed is not None:
            symbol, op, right = parsed
            table[neg(var(name))] = var(comparison(symbol, COMPLEMENT[op], right))
    if not table:
        return f

    def walk(g: Formula) -> Formula:
        found = table.get(g)
        if found is not None:
            return found
        if g.op == "not":
            return neg(walk(g.args[0]))
        if g.op == "and":
            return conj(*(walk(a) for a in g.args))
        if g.op == "or":
            return disj_all(walk(a) for a in g.args)
        return g

    return walk(f)


def value_of(assignment, symbol: str, domain: Domain) -> str | None:
    """The value a solver `assignment` (name -> bool) gives `symbol`, if
    one of its value propositions holds."""
    for v in domain.values:
        if assignment.get(value_var(symbol, v)):
            return v
    return None


__all__ = ["Domain", "VALUE_TYPES", "value_var", "empty_string", "split_value_var", "is_value_var",
           "parse_comparison", "canonical", "number", "holds", "comparison_formula",
           "expand_comparisons", "readable", "value_of", "plain_string", "COMPLEMENT"]
