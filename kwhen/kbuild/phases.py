"""The build phases of a tree: U-Boot proper and the earlier images SPL,
TPL and VPL, each built from the same sources with its own context.

The phases come from the tree, not from a table. U-Boot's
scripts/Makefile.autoconf makes each phase's configuration
(`spl/u-boot.cfg`, `tpl/u-boot.cfg`...) by preprocessing with the phase's
``-D`` flags (``-DCONFIG_SPL_BUILD -DCONFIG_TPL_BUILD``, since 2024
``-DCONFIG_XPL_BUILD ...``); those macros are defined in the phase's C
files, and its `<dir>/include/autoconf.mk` gives make the same names as
variables set to ``y`` (``ifdef CONFIG_SPL_BUILD``, ``$(SPL_)``,
``$(PHASE_)`` follow from them). A phase exists where Kconfig defines the
symbol that turns its image on (``SPL``, ``TPL``, ``VPL``: the directory's
name), and its top makefile is scripts/Makefile.xpl (Makefile.spl before
2024), run with ``obj=<dir>``.

Linux has one phase, "proper", implicit: it never shows in an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from kwhen.exceptions import KwhenError
from kwhen.readfile import read_text

__all__ = ["Phase", "PROPER", "tree_phases", "PHASE_MAKEFILES"]


@dataclass(frozen=True)
class Phase:
    """One image built from the tree.

    `defines`: the macros defined (as 1, and as make variables set to y)
    in this phase; `undefined`: the other phases' macros, undefined here;
    `symbol`: the Kconfig symbol without which the image is not built
    (None for proper); `makefile`: the makefile whose lists name the
    phase's top directories.
    """
    name: str
    defines: tuple = ()
    undefined: tuple = ()
    symbol: str | None = None
    makefile: str = "Makefile"

    @property
    def proper(self) -> bool:
        return self.symbol is None

    @property
    def title(self) -> str:
        """The phase as people name it: U-Boot proper, SPL, TPL, VPL."""
        return "U-Boot proper" if self.proper else self.name.upper()


PROPER = Phase("proper")

# the makefile the top Makefile runs for an earlier phase (newest first)
PHASE_MAKEFILES = ("scripts/Makefile.xpl", "scripts/Makefile.spl")

# `spl/u-boot.cfg: ...` and its recipe, up to the next rule or blank line
_CFG_RULE = re.compile(r"^([a-z]+)/u-boot\.cfg\s*:[^\n]*\n((?:[ \t][^\n]*\n?)*)", re.M)
_DEFINE = re.compile(r"-D\s*([A-Za-z_]\w*)")


def tree_phases(root: Path, symbols: Mapping) -> tuple[Phase, ...]:
    """The phases of the tree `root` whose Kconfig defines `symbols`:
    proper first, then each earlier phase Makefile.autoconf configures and
    Kconfig can turn on."""
    root = Path(root)
    makefile = next((m for m in PHASE_MAKEFILES if (root / m).is_file()), None)
    autoconf = root / "scripts/Makefile.autoconf"
    if makefile is None or not autoconf.is_file():
        return (PROPER,)
    try:
        text = read_text(autoconf, shown="scripts/Makefile.autoconf", what="Makefile")
    except KwhenError:
        return (PROPER,)
    found = []
    for directory, recipe in _CFG_RULE.findall(text):
        defines = tuple(dict.fromkeys(_DEFINE.findall(recipe)))
        symbol = directory.upper()
        if defines and symbol in symbols and all(f[0] != directory for f in found):
            found.append((directory, defines, symbol))
    every = tuple(sorted({d for _n, defines, _s in found for d in defines}))
    phases = [Phase("proper", (), every)]
    for directory, defines, symbol in found:
        phases.append(Phase(directory, defines, tuple(d for d in every if d not in defines),
                            symbol, makefile))
    return tuple(phases)
