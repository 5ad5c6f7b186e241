"""Reading a .config file."""

from __future__ import annotations

import re
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.kconfig.model import KconfigModel
from kwhen.logic.names import BOOL_TYPES
from kwhen.readfile import read_text

# A hex symbol is written as its user gave it, with or without 0x
# (randconfig writes CONFIG_RADIO_GEMTEK_PORT=34c).
_SET = re.compile(r'^CONFIG_([A-Za-z0-9_]+)=(y|m|n|"(?:[^"\\]|\\.)*"|-?(?:0[xX])?[0-9a-fA-F]+)\s*$')
_UNSET = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set\s*$")


def read_dotconfig(path: Path) -> dict[str, str]:
    """Symbol -> value of a .config: y, m, n, a number, or a quoted string.

    ``# CONFIG_X is not set`` gives n; comments and blank lines are ignored;
    a line that starts like an assignment (``CONFIG_``) but is malformed is an
    error.
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
        if stripped.startswith("CONFIG_"):
            m = _SET.match(stripped)
            if not m:
                raise KwhenError(f"malformed .config line: {stripped[:80]!r}",
                                 path=str(path), line=number)
            values[m.group(1)] = m.group(2)
    return values


def values_for_model(model: KconfigModel, values: dict[str, str]) -> dict[str, str]:
    """y/m/n for every bool/tristate symbol of `model` (absent: n).

    An m for a bool symbol reads as y (as Kconfig rounds it).
    """
    out = {}
    for name, info in model.symbols.items():
        if info.type not in BOOL_TYPES:
            continue
        value = values.get(name, "n")
        if value not in ("y", "m"):
            value = "n"
        elif value == "m" and info.type == "bool":
            value = "y"
        out[name] = value
    return out
