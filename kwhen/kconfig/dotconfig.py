"""Reading a .config file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.kconfig.model import KconfigModel
from kwhen.logic.names import BOOL_TYPES, module_var
from kwhen.logic.values import (VALUE_TYPES, canonical, holds, parse_comparison, plain_string,
                                split_value_var)
from kwhen.readfile import read_text

# A hex symbol is written as its user gave it, with or without 0x
# (randconfig writes CONFIG_RADIO_GEMTEK_PORT=34c).
_SET = re.compile(r'^CONFIG_([A-Za-z0-9_]+)=(y|m|n|"(?:[^"\\]|\\.)*"|-?(?:0[xX])?[0-9a-fA-F]+)\s*$')
_UNSET = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set\s*$")


def read_dotconfig(path: Path) -> dict[str, str]:
    """Symbol -> value of a .config, defconfig or fragment: y, m, n, a
    number, or a quoted string.

    ``# CONFIG_X is not set`` gives n; other comments and blank lines are
    ignored. Anything else is not a configuration (a typo'd path, a
    Makefile, /etc/passwd): an error naming the first such line, as is a
    file without a single CONFIG_ line.
    """
    path = Path(path)
    text = read_text(path, what=".config")
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        m = _UNSET.match(stripped)
        if m:
            values[m.group(1)] = "n"
            continue
        if stripped.startswith("#"):
            continue
        m = _SET.match(stripped)
        if not m:
            if stripped.startswith("CONFIG_"):
                raise KwhenError(f"malformed .config line: {stripped[:80]!r}",
                                 path=str(path), line=number)
            # (the line is not quoted: the file may be anything, a secret too)
            raise KwhenError("not a configuration: a line that is neither CONFIG_X=..., "
                             "'# CONFIG_X is not set' nor a comment", path=str(path), line=number)
        values[m.group(1)] = m.group(2)
    if not values:
        raise KwhenError("not a configuration: no CONFIG_ lines", path=str(path))
    return values


def parse_config_lines(text: str) -> dict[str, str]:
    """Values of .config text kwhen wrote itself (kconfiglib's output)."""
    values = {}
    for line in text.splitlines():
        m = _SET.match(line.strip()) or _UNSET.match(line.strip())
        if m:
            values[m.group(1)] = m.group(2) if m.re is _SET else "n"
    return values


def values_for_model(model: KconfigModel, values: dict[str, str]) -> dict[str, str]:
    """y/m/n for every bool/tristate symbol of `model` (absent: n).

    An m for a bool symbol reads as y (as Kconfig rounds it).
    """
    out = {}
    for name, info in model.symbols.items():
        if info.type not in BOOL_TYPES:
            continue
        value = values.get(name) or "n"
        if value not in ("y", "m"):
            value = "n"
        elif value == "m" and info.type == "bool":
            value = "y"
        out[name] = value
    return out


class ConfigAssignment(Mapping):
    """The truth of every variable a concrete configuration decides: a
    bool/tristate symbol's ``FOO``/``FOO=m``, and the comparisons and value
    propositions of int/hex/string symbols (``PGTABLE_LEVELS>=5``).

    `values` maps symbols to their .config text; None (or absent, for a
    non-bool symbol) leaves the symbol's variables undecided.
    """

    def __init__(self, model: KconfigModel, values: dict):
        self._model = model
        self._values = values
        self._fixed: dict[str, bool] = {}
        for name, info in model.symbols.items():
            if info.type not in BOOL_TYPES:
                continue
            value = values.get(name, "n")
            if value is None:
                continue
            if value not in ("y", "m"):
                value = "n"
            elif value == "m" and info.type == "bool":
                value = "y"
            self._fixed[name] = value == "y"
            if info.type == "tristate":
                self._fixed[module_var(name)] = value == "m"

    def _value(self, symbol: str) -> tuple[str, str] | None:
        """(type, canonical value) of an int/hex/string symbol the
        configuration gives a value."""
        info = self._model.symbols.get(symbol)
        text = self._values.get(symbol)
        if info is None or info.type not in VALUE_TYPES or text is None or text == "":
            return None
        raw = plain_string(text) if info.type == "string" else text
        value = canonical(info.type, raw, hex_base=True)
        return (info.type, value) if value is not None else None

    def __getitem__(self, name: str) -> bool:
        found = self._fixed.get(name)
        if found is not None:
            return found
        proposition = split_value_var(name)
        if proposition is not None:
            known = self._value(proposition[0])
            if known is not None:
                return known[1] == proposition[1]
            raise KeyError(name)
        parsed = parse_comparison(name)
        if parsed is not None:
            known = self._value(parsed[0])
            if known is not None:
                result = holds(known[0], known[1], parsed[1], parsed[2])
                if result is not None:
                    return result
        raise KeyError(name)

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self):
        return iter(self._fixed)

    def __len__(self):
        return len(self._fixed)
