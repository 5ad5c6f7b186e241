"""Names of propositional variables: the one naming contract of all layers.

Every condition kwhen computes is a `Formula` over variable names that mean
the same thing whichever layer wrote them (DEVELOPERS.md, "Variables"):

- ``FOO``: symbol FOO is y (or, for a free name, the proposition holds);
- ``FOO=m``: tristate FOO is m (`module_var`);
- ``SYM<op>VALUE``: a comparison of an int/hex/string symbol (`comparison`);
- ``MODULE``: the file is being compiled as a module;
- ``defined(FOO)``, ``cpp(TEXT)``: a macro that is not a CONFIG_ symbol
  (`defined_macro`, `cpp_value`);
- ``?shell:COMMAND``: a Kconfig macro kwhen did not run (`shell_unknown`);
- ``?make:PATH:LINE``: a Makefile construct kwhen could not evaluate
  (`make_unknown`);
- ``?cpp:PATH:LINE``: a preprocessor condition too large to keep exactly
  (`cpp_unknown`).

A layer builds and reads names only through these helpers, so a rule is
changed here and nowhere else.
"""

from __future__ import annotations

MODULE = "MODULE"            # defined while a file is compiled as a module

# The symbol types whose values are variables: FOO for y, and for a
# tristate FOO=m for m. Other types (string, int, hex) appear only in
# comparisons.
BOOL_TYPES = ("bool", "tristate")

_MODULE_SUFFIX = "=m"
_MAKE_PREFIX = "?make:"
_SHELL_PREFIX = "?shell:"
_CPP_PREFIX = "?cpp:"


# -- tristate symbols --------------------------------------------------------

def module_var(symbol: str) -> str:
    """The variable true when tristate `symbol` is m: ``FOO=m``."""
    return symbol + _MODULE_SUFFIX


def is_module_var(name: str) -> bool:
    """Whether `name` has the form of a module variable ``FOO=m``."""
    return name.endswith(_MODULE_SUFFIX)


def symbol_of(name: str) -> str:
    """The symbol a variable speaks of: ``FOO`` for ``FOO=m`` and ``FOO``."""
    return name[:-len(_MODULE_SUFFIX)] if name.endswith(_MODULE_SUFFIX) else name


def split_module(name: str) -> tuple[str, bool]:
    """(symbol, whether `name` is its module variable): ``FOO=m`` gives
    ("FOO", True), ``FOO`` gives ("FOO", False)."""
    if name.endswith(_MODULE_SUFFIX):
        return name[:-len(_MODULE_SUFFIX)], True
    return name, False


# -- comparisons of int/hex/string symbols -----------------------------------

def comparison(left: str, op: str, right: str) -> str:
    """The free variable for ``left op right`` (``HZ=100``, ``GCC_VERSION>=90100``).
    `right` is written as given: quote it with `quoted_value` when it may be
    empty or hold spaces."""
    return f"{left}{op}{right}"


def quoted_value(text: str) -> str:
    """`text` as the right-hand side of a comparison: as it is, or in double
    quotes (inner quotes escaped) when empty or holding white space, so the
    name stays one word."""
    if not text or any(c.isspace() for c in text):
        return '"' + text.replace('"', '\\"') + '"'
    return text


# -- preprocessor macros that are not CONFIG_ symbols -------------------------

def defined_macro(macro: str) -> str:
    """The free variable for ``defined(macro)`` of a non-CONFIG macro."""
    return f"defined({macro})"


def cpp_value(text: str) -> str:
    """The free variable for the preprocessor expression `text` being nonzero
    (a macro kwhen does not know, or an expression over such macros)."""
    return f"cpp({text})"


def is_free_cpp(name: str) -> bool:
    """Whether `name` is a free preprocessor variable (`defined_macro`, `cpp_value`)."""
    return name.startswith(("defined(", "cpp("))


# -- what kwhen did not evaluate ----------------------------------------------

def shell_unknown(command: str) -> str:
    """The free variable for the result of Kconfig's ``$(shell,command)``."""
    return _SHELL_PREFIX + command


def is_shell_unknown(name: str) -> bool:
    """Whether `name` is a ``?shell:`` variable."""
    return name.startswith(_SHELL_PREFIX)


def mentions_shell_unknown(name: str) -> bool:
    """Whether `name` is or contains a ``?shell:`` result (a comparison with one)."""
    return _SHELL_PREFIX in name


def old_config_value(symbol: str) -> str:
    """The free variable for the value an old .config gives the
    ``transitional`` symbol `symbol` (y; its `module_var` for m): Kconfig
    reads it there and nowhere else."""
    return "?oldconfig:" + symbol


def make_unknown(path: str, line: int) -> str:
    """The free variable for the Makefile construct at path:line kwhen
    could not evaluate: ``?make:PATH:LINE``."""
    return f"{_MAKE_PREFIX}{path}:{line}"


def is_make_unknown(name: str) -> bool:
    """Whether `name` is a ``?make:`` variable."""
    return name.startswith(_MAKE_PREFIX)


def parse_make_unknown(name: str) -> tuple[str, int] | None:
    """(path, line) of a ``?make:PATH:LINE`` variable, None for other names."""
    if not name.startswith(_MAKE_PREFIX):
        return None
    path, _, line = name[len(_MAKE_PREFIX):].rpartition(":")
    return (path, int(line)) if path and line.isdigit() else None


def cpp_unknown(path: str, line: int) -> str:
    """The free variable standing for the condition at path:line of a C
    file when it grew past kwhen's budget: ``?cpp:PATH:LINE``."""
    return f"{_CPP_PREFIX}{path}:{line}"


def is_cpp_unknown(name: str) -> bool:
    """Whether `name` is a ``?cpp:`` variable."""
    return name.startswith(_CPP_PREFIX)
