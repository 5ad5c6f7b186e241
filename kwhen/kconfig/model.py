"""The Kconfig model of one architecture, as data.

`kwhen.kconfig.translate` builds it from a tree with kconfiglib; the cache
stores it; `kwhen.logic.solver.ConfigSpace` answers questions with it. This
module imports neither kconfiglib nor a SAT solver, so a warm query that finds
the model in the cache never pays for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kwhen.logic.cnf import SegmentedClauses
from kwhen.logic.formula import Formula, conj, disj, neg, var
from kwhen.logic.names import BOOL_TYPES, module_var
from kwhen.logic.values import Domain


@dataclass
class SymbolInfo:
    """What kwhen needs to know of a Kconfig symbol."""
    type: str                      # bool, tristate, string, int, hex, unknown
    prompt: bool = False           # has a prompt somewhere (the user can set it)
    locations: list = field(default_factory=list)  # ["file:line", ...]
    # a string symbol's values from its defaults, as .config writes them
    # (quoted): the words $(CONFIG_FOO) can be in a Makefile
    values: tuple = ()


@dataclass
class KconfigModel:
    """Symbols and constraints of one architecture.

    `cnf` holds the clauses over `var_names` (DIMACS numbering: var_names[0]
    is a placeholder, var_names[i] names variable i, None for auxiliary
    ones), in segments that each define some variables, so a question needs
    to load only the slice its variables reach. `pinned` symbols are y in
    every configuration of this architecture, outside Kconfig's own rules
    (see `kwhen.kconfig.arches.pin_arch_symbol`).
    `base` maps each bool/tristate symbol to "y", "m" or "n" in the base
    configuration named `base_name` (the arch's defconfig).
    `free` maps free propositions (macro results kwhen did not execute,
    comparisons of string/int symbols) to a human explanation.
    """
    arch: str
    srcarch: str
    symbols: dict[str, SymbolInfo]
    var_names: list
    cnf: SegmentedClauses
    base_name: str = ""
    base: dict[str, str] = field(default_factory=dict)
    free: dict[str, str] = field(default_factory=dict)
    notes: list = field(default_factory=list)   # over-approximations made
    sources: list = field(default_factory=list) # Kconfig files read, relative
    pinned: list = field(default_factory=list)  # symbols fixed to y
    # int/hex/string symbol -> the values its defaults give
    # (kwhen.logic.values.Domain): comparisons are decided over them
    domains: dict = field(default_factory=dict)
    # JSON of {symbol: formula data}: when each symbol can be other than n,
    # over the other symbols (its visibility, defaults, selects). Only
    # checks of Kconfig edits need it, so it is stored apart (`to_bytes`
    # leaves it out) and fetched by `enable_loader` when first asked.
    enable_data: bytes | None = None
    enable_loader: object = None

    def enable_conditions(self) -> dict[str, Formula]:
        """When each symbol can be other than n (symbol -> Formula), decoded on first
        use."""
        found = self.__dict__.get("_enable")
        if found is None:
            from kwhen.logic.formula import from_data

            found = {n: from_data(d) for n, d in self.enable_encoded().items()}
            self.__dict__["_enable"] = found
        return found

    def enable_encoded(self) -> dict:
        """`enable_conditions` as stored (symbol -> `Formula.to_data`): two
        models whose encoded conditions of a symbol are equal agree on it,
        without decoding the 10,000 others."""
        found = self.__dict__.get("_enable_encoded")
        if found is None:
            if self.enable_data is None:
                self.enable_data = self.enable_loader()
            found = self.__dict__["_enable_encoded"] = json.loads(self.enable_data)
        return found

    def pinned_units(self) -> list[list[int]]:
        """Unit clauses fixing the pinned symbols to y."""
        return [[self.var_names.index(name)] for name in self.pinned]

    @property
    def clauses(self) -> list[list[int]]:
        """Every clause, decoded (for whole-model checks; queries use slices)."""
        return self.cnf.clauses() + self.pinned_units()

    def symbol_value_formula(self, name: str, value: str) -> Formula:
        """The formula for `name` having `value` (y, m or n)."""
        info = self.symbols.get(name)
        if info is None:
            return var(name) if value == "y" else neg(var(name)) if value == "n" else conj()
        if info.type == "tristate":
            y, m = var(name), var(module_var(name))
            return {"y": y, "m": m, "n": conj(neg(y), neg(m))}[value]
        return var(name) if value == "y" else neg(var(name))

    def enabled(self, name: str) -> Formula:
        """Formula for `name` != n (built in or as a module)."""
        info = self.symbols.get(name)
        if info is not None and info.type == "tristate":
            return disj(var(name), var(module_var(name)))
        return var(name)

    def assignment_of(self, values: dict[str, str]) -> dict[str, bool]:
        """Variable assignment (name -> bool) for symbol values (name -> y/m/n)."""
        out = {}
        for name, value in values.items():
            info = self.symbols.get(name)
            out[name] = value == "y"
            if info is not None and info.type == "tristate":
                out[module_var(name)] = value == "m"
        return out

    def values_of(self, assignment: dict[str, bool]) -> dict[str, str]:
        """Symbol values (y/m/n) for every bool/tristate symbol in `assignment`."""
        out = {}
        for name, info in self.symbols.items():
            if info.type not in BOOL_TYPES or name not in assignment:
                continue
            if assignment[name]:
                out[name] = "y"
            elif info.type == "tristate" and assignment.get(module_var(name)):
                out[name] = "m"
            else:
                out[name] = "n"
        return out

    def to_bytes(self) -> bytes:
        """The model for the cache (without `enable_data`, stored apart)."""
        header = json.dumps({
            "arch": self.arch, "srcarch": self.srcarch,
            "symbols": {n: [s.type, s.prompt, s.locations] for n, s in self.symbols.items()},
            "var_names": self.var_names, "base_name": self.base_name,
            "base": self.base, "free": self.free, "notes": self.notes,
            "sources": self.sources, "pinned": self.pinned,
            "domains": {n: d.to_data() for n, d in self.domains.items()},
        }).encode()
        return len(header).to_bytes(8, "little") + header + self.cnf.to_bytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "KconfigModel":
        """The model `to_bytes` wrote."""
        size = int.from_bytes(blob[:8], "little")
        meta = json.loads(blob[8:8 + size])
        cnf = SegmentedClauses.from_bytes(blob[8 + size:])
        model = cls(
            arch=meta["arch"], srcarch=meta["srcarch"],
            symbols={n: SymbolInfo(t, p, loc) for n, (t, p, loc) in meta["symbols"].items()},
            var_names=meta["var_names"], cnf=cnf,
            base_name=meta["base_name"], base=meta["base"], free=meta["free"],
            notes=meta["notes"], sources=meta["sources"], pinned=meta["pinned"],
            domains={n: Domain.from_data(d) for n, d in meta.get("domains", {}).items()},
        )
        model.give_string_values()
        return model

    def give_string_values(self) -> None:
        """Each string symbol's SymbolInfo gets its values (for Kbuild)."""
        for name, domain in self.domains.items():
            info = self.symbols.get(name)
            if info is not None and domain.type == "string":
                info.values = domain.values

    def kbuild_table(self) -> dict:
        return kbuild_table(self.symbols)


def kbuild_table(symbols: dict) -> dict:
    """What Kbuild's conditions depend on in the symbol table: each
    symbol's type, and a string symbol's values (a directory it names)."""
    return {name: [info.type, list(info.values)] if info.values else info.type
            for name, info in symbols.items()}


def assignment_of_values(model: KconfigModel, values: dict[str, str]) -> dict[str, bool]:
    """`model.assignment_of(values)`, for callers written before the method."""
    return model.assignment_of(values)
