"""How kwhen writes conditions and configurations for people.

One place for the wording every answer and every finding shares:
`describe` (a condition as Kconfig-style text) and `settings` (a
conjunction as symbol settings, ``SMP=n, X86_32=y``).
"""

from __future__ import annotations

import re

from kwhen.logic.formula import FALSE, TRUE, Formula
from kwhen.logic.names import is_module_var, module_var, symbol_of
from kwhen.logic.values import COMPLEMENT, parse_comparison, readable, split_value_var

# A variable shown as a call, ``cpp(NR_CPUS == 1)``: one operand as it is.
_CALL = re.compile(r"^[\w?]+\(.*\)$", re.S)
_SYMBOL = re.compile(r"[A-Za-z0-9_]+")

# How tightly an operator binds, as Formula.render parenthesises.
_BINDING = {"or": 1, "and": 2, "not": 3, "var": 4, "const": 4, "either": 4}


class _Shown:
    """A condition as shown: `op` as in Formula plus "either" (a tristate
    that is y or m, shown by its bare name), the `text` people read, and
    `order`, the key that places it among its siblings as Formula orders
    operands (variables by name, then compounds by their text), with an
    "either" placed before every variable."""

    __slots__ = ("op", "text", "order", "plain", "kids")

    def __init__(self, op: str, text: str, order: tuple, plain: str, kids: tuple = ()):
        self.op, self.text, self.order = op, text, order
        self.plain = plain          # the text that orders a compound holding it
        self.kids = kids            # the operands of an and/or


def describe(f: Formula, types: dict[str, str]) -> str:
    """Kconfig-style text, with a tristate's states spelt out: ``FOO``
    (y or m), ``FOO=y``, ``FOO=m``; ``!FOO`` means FOO=n; a negated
    comparison reads as its complement (``PGTABLE_LEVELS<=2``, never
    ``!PGTABLE_LEVELS>2``).

    A disjunction ``FOO=y || FOO=m`` of a tristate's two states is shown as
    ``FOO`` and put before the other operands; everything else keeps the
    order Formula gives it.
    """
    f = readable(f)
    either = {symbol_of(name) for name in f.variables()
              if is_module_var(name) and types.get(symbol_of(name)) == "tristate"}
    return _show(f, types, either).text


# An "either" orders before every name: "\x00" sorts before any character
# a symbol name has.
_FIRST = "\x00"


def _show(f: Formula, types: dict, either: set) -> _Shown:
    op = f.op
    if op == "const":
        return _constant(bool(f.name))
    if op == "var":
        name = f.name
        text = name + "=y" if types.get(name) == "tristate" else name
        return _Shown("var", text, (0, name, 0), name)
    if op == "not":
        inner = _show(f.args[0], types, either)
        if inner.op == "const":
            return _constant(inner.text == "n")
        if inner.op in ("var", "either"):
            text = inner.text
            if inner.op == "var" and not _CALL.match(text) and any(c in text for c in "=<>!"):
                text = f"({text})"      # one operand: !(FOO=m), never !FOO=m
            return _Shown("not", "!" + text, (0, inner.order[1], 1), "!" + inner.plain)
        text, plain = inner.text, inner.plain
        if inner.op in ("and", "or"):
            text, plain = f"({text})", f"({plain})"
        return _Shown("not", "!" + text, (1, "!" + plain, 0), "!" + plain)
    kids = list(f.args)
    shown = []
    if op == "or":
        for sym in sorted(either):
            pair = (_var_named(kids, sym), _var_named(kids, module_var(sym)))
            if None not in pair:
                kids = [k for k in kids if k not in pair]
                shown.append(_Shown("either", sym, (0, _FIRST + sym, 0), _FIRST + sym))
    shown.extend(_show(k, types, either) for k in kids)
    return _junction(op, shown)


def _constant(value: bool) -> _Shown:
    text = "y" if value else "n"
    return _Shown("const", text, (1, text, 0), text)


def _junction(op: str, operands: list) -> _Shown:
    """An and/or of shown operands, simplified as Formula's own junction
    simplifies: units dropped, a zero or a complementary pair absorbing
    everything, nested junctions of the same kind flattened, duplicates
    once."""
    unit, zero = ("y", "n") if op == "and" else ("n", "y")
    seen: dict = {}
    for s in operands:
        if s.op == "const":
            if s.text == zero:
                return s
            continue
        for kid in (s.kids if s.op == op else (s,)):
            seen.setdefault(kid.plain, kid)
    for plain, s in seen.items():
        if _complement(s) in seen:
            return _constant(zero == "y")
    if not seen:
        return _constant(unit == "y")
    shown = sorted(seen.values(), key=lambda s: s.order)
    if len(shown) == 1:
        return shown[0]
    joiner = " && " if op == "and" else " || "
    texts, plains = [], []
    for s in shown:
        if _BINDING[s.op] < _BINDING[op]:
            texts.append(f"({s.text})")
            plains.append(f"({s.plain})")
        else:
            texts.append(s.text)
            plains.append(s.plain)
    plain = joiner.join(plains)
    return _Shown(op, joiner.join(texts), (1, plain, 0), plain, tuple(shown))


def _complement(s: _Shown) -> str:
    """The ordering text of the negation of `s`."""
    if s.op == "not":
        inner = s.plain[1:]
        return inner[1:-1] if inner.startswith("(") else inner
    return "!" + s.plain if s.op in ("var", "either") else f"!({s.plain})"


def _var_named(kids: list, name: str) -> Formula | None:
    return next((k for k in kids if k.op == "var" and k.name == name), None)


def settings(f: Formula, types: dict) -> str:
    """A conjunction of literals as symbol settings (``SMP=n, X86_32=y``);
    anything else as a Kconfig expression."""
    parts = []
    for lit in f.literals_of_conjunction():
        if lit.op == "var":
            name = lit.name
            parts.append(name if is_module_var(name) else _not_a_symbol(name, True)
                         or f"{name}=y")
        elif lit.op == "not" and lit.args[0].op == "var":
            name = lit.args[0].name
            if is_module_var(name):
                parts.append(f"{symbol_of(name)}!=m")
            elif (tested := _not_a_symbol(name, False)) is not None:
                parts.append(tested)
            elif types.get(name) == "tristate":
                parts.append(f"{name}!=y")
            else:
                parts.append(f"{name}=n")
        else:
            return describe(f, types)
    return ", ".join(parts)


def _not_a_symbol(name: str, positive: bool) -> str | None:
    """A proposition that is no symbol's value, as a setting: a comparison
    (``LMB_MEMORY_REGIONS!=1``, not ``LMB_MEMORY_REGIONS=1=n``), a value
    (``ARM64_PAGE_SHIFT=12``), a macro test (``!defined(CMD_BOOTI)``);
    None for a symbol."""
    value = split_value_var(name)
    if value is not None:
        return f"{value[0]}={value[1]}" if positive else f"{value[0]}!={value[1]}"
    compared = parse_comparison(name)
    if compared is not None:
        sym, op, right = compared
        return name if positive else f"{sym}{COMPLEMENT[op]}{right}"
    if _SYMBOL.fullmatch(name):
        return None
    return name if positive else f"!{name}"



def in_words(f: Formula, types: dict) -> str:
    """A condition as a sentence ends: "always", "never", "when SMP=n"."""
    if f is TRUE:
        return "always"
    if f is FALSE:
        return "never"
    if f.op == "var" or (f.op == "not" and f.args[0].op == "var"):
        return "when " + settings(f, types)          # "when SMP=n", not "when !SMP"
    return "when " + describe(f, types)
