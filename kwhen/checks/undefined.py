"""undefined-symbol: references to Kconfig symbols that no Kconfig defines.

Reads references the way the kernel's scripts/checkkconfigsymbols.py does,
so that on the same commit kwhen finds at least what it finds: CONFIG_ names
in any added line outside Kconfig files and tools/, symbol names in added
Kconfig statements and the lines they continue with a backslash, every
reference in a file the patch renames (checkkconfigsymbols compares the
files that name a symbol, and a renamed file is a new one), and references
left dangling when a patch removes a symbol's last definition.
"""

from __future__ import annotations

import re
import subprocess

from kwhen import git
from kwhen.checks.lines import patch_lines
from kwhen.checks.messages import UndefinedReference, UndefinedSymbol
from kwhen.checks.symbols_index import DEFINITION, SYMBOL, _is_kconfig, defined_symbols
from kwhen.exceptions import KwhenError
from kwhen.readfile import read_text
from kwhen.sources import CODE_SUFFIXES, is_makefile

# A name followed by `(` is a function-like macro (U-Boot's
# CONFIG_IS_ENABLED(X), CONFIG_VAL(X)), never a Kconfig symbol;
# checkkconfigsymbols.py reads it as symbol IS_ENABLED, a false alarm
# kwhen does not copy.
SOURCE_REF = re.compile(r"(?:\W|\b)+D?CONFIG_(" + SYMBOL + r")(?!\w|\s*\()")
_OPERATORS = r"&|\(|\)|\||\!"
_EXPR = r"(?:" + _OPERATORS + r"|\s|" + SYMBOL + r")+"
KCONFIG_STATEMENT = re.compile(
    r"^\s*(?:if|select|imply|depends\s+on|(?:default\s+.*?(?:if\s.+)?))\s+" + _EXPR)
KCONFIG_WORD = re.compile(r"(?!\B)" + SYMBOL + r"(?!\B)")
NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
PLACEHOLDERS = {"FOO", "BAR", "FOO_BAR", "XXX"}


def _skipped(path: str) -> bool:
    return path.startswith("tools/") or "ChangeLog" in path or path.endswith(".log")


def references(path: str, text: str) -> list[str]:
    """Kconfig symbols that one line of `path` refers to."""
    if _is_kconfig(path):
        if KCONFIG_STATEMENT.match(text):
            return _kconfig_words(re.sub(r'"[^"]*"', "", text.split("#", 1)[0]))
        return []
    if "CONFIG_" not in text:
        return []
    return [s for s in SOURCE_REF.findall(text) if re.search(r"[A-Za-z0-9]$", s)]


def _continued_lines(text: str) -> set[int]:
    """Numbers of the lines of a Kconfig file that continue a statement
    whose line ends with a backslash. As checkkconfigsymbols reads them:
    the statement without its comment and strings, each further line as it
    is."""
    lines = text.splitlines()
    continued = set()
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0]
        if DEFINITION.match(line) or not KCONFIG_STATEMENT.match(line):
            continue
        line = re.sub(r'"[^"]*"', "", line)
        while line.endswith("\\") and number < len(lines):
            number += 1
            continued.add(number)
            line = lines[number - 1]
    return continued


def _kconfig_words(text: str) -> list[str]:
    return [w for w in KCONFIG_WORD.findall(text) if not NUMBER.fullmatch(w)]


def file_references(path: str, text: str, numbers=None):
    """(line, symbol) of the references in the lines `numbers` (all when
    None) of a whole file `text` at `path`."""
    continued = _continued_lines(text) if _is_kconfig(path) else set()
    for number, line in enumerate(text.splitlines(), 1):
        if numbers is not None and number not in numbers:
            continue
        symbols = _kconfig_words(line) if number in continued else references(path, line)
        for symbol in symbols:
            yield number, symbol


def _new_references(change):
    """(path, line, symbol, renamed from) of each reference the change
    brings to a path: on its added lines, and on every line of a file it
    renames."""
    for fp in change.file_patches:
        path = fp.new_path
        if path is None or _skipped(path):
            continue
        renamed = fp.old_path is not None and fp.old_path != path
        added = dict(fp.added_lines())
        # Outside Kconfig an added line says it all; a Kconfig line may
        # continue a statement above it.
        whole = renamed or bool(added and _is_kconfig(path))
        text = change.post.read(path) if whole and change.post is not None else None
        if text is None:
            for number, line in added.items():
                for symbol in references(path, line):
                    yield path, number, symbol, None
            continue
        for number, symbol in file_references(path, text, None if renamed else set(added)):
            yield path, number, symbol, (fp.old_path if renamed and number not in added else None)


def _undefined(symbol: str, defined: set) -> bool:
    if symbol in PLACEHOLDERS or symbol in defined:
        return False
    return not (symbol.endswith("_MODULE") and symbol[:-7] in defined)


def run(change, context) -> list[UndefinedSymbol]:
    """One finding per line that refers to symbols no Kconfig defines: each
    reference once per file, those on one line together (`depends on
    A || B` may name two). A CONFIG_ name some C header or source of the
    tree #defines (U-Boot's legacy board options in include/configs/*.h)
    is a macro, not a missing symbol: a C file's reference to it is not
    reported (a Kconfig or Makefile line still is: no header reaches
    them)."""
    views, root = context.views, context.root
    defined = defined_symbols(root, change.post, views[0].post.cache if views else None)
    by_line: dict = {}                  # (path, line) -> [UndefinedReference]
    seen = set()
    found = [(path, line, symbol, renamed_from)
             for path, line, symbol, renamed_from in _new_references(change)
             if _undefined(symbol, defined)]
    macros, flags = defined_macros(root, change.post, {symbol for _p, _l, symbol, _r in found})
    for path, line, symbol, renamed_from in found:
        if symbol in flags or (symbol in macros and path.endswith(CODE_SUFFIXES)):
            continue
        if (path, symbol) not in seen:
            seen.add((path, symbol))
            by_line.setdefault((path, line), []).append(UndefinedReference(symbol, renamed_from))
    for path, line, reference in _orphaned(change, root, defined):
        by_line.setdefault((path, line), []).append(reference)
    arches = list(dict.fromkeys(v.arch for v in views))
    return [UndefinedSymbol(file=path, line=line, references=references, arches=list(arches))
            for (path, line), references in by_line.items()]


_MACRO_DEFINITION = re.compile(r"^[ \t]*#[ \t]*define[ \t]+CONFIG_(\w+)", re.M)
# a makefile's -DCONFIG_FOO: defined for every file the flag reaches (U-Boot's
# scripts/Makefile.spl: KBUILD_CPPFLAGS += -DCONFIG_SPL_BUILD)
_FLAG_DEFINITION = re.compile(r"-D[ \t]*CONFIG_(\w+)")


def defined_macros(root, state, names) -> tuple[set[str], set[str]]:
    """Those of `names` (symbols, without CONFIG_) that a #define of
    CONFIG_<name> in some C file of the tree (as `state` has it) defines,
    and those a makefile's ``-DCONFIG_<name>`` flag defines (for the C
    files and, as the make variable the build sets beside it, the
    makefiles): one git grep for the few names a change leaves undefined."""
    if not names:
        return set(), set()
    changed = state.changed_paths() if state is not None else set()
    pattern = "(^[[:space:]]*#[[:space:]]*define[[:space:]]+|-D[[:space:]]*)CONFIG_(" + "|".join(
        sorted(names)) + ")([^A-Za-z0-9_]|$)"
    if (root / ".git").exists():
        hits = git.run(root, "grep", "-E", "-I", "-e", pattern, ok=None).decode(
            "utf-8", "replace")
    else:
        hits = subprocess.run(["grep", "-rEI", "--exclude-dir=.git", "-e", pattern, "."],
                              cwd=root, capture_output=True, text=True).stdout
    found: set = set()
    flags: set = set()

    def take(path, text):
        if _skipped(path):
            return
        if path.endswith(CODE_SUFFIXES):
            found.update(_MACRO_DEFINITION.findall(text))
        elif is_makefile(path):
            flags.update(_FLAG_DEFINITION.findall(text))

    for row in hits.splitlines():
        path, _, text = row.partition(":")
        path = path[2:] if path.startswith("./") else path
        if path not in changed:
            take(path, text)
    for path in changed:
        text = state.read(path) if path.endswith(CODE_SUFFIXES) or is_makefile(path) else None
        if text is not None:
            take(path, text)
    return found & set(names), flags & set(names)


def _orphaned(change, root, defined):
    """(path, line, reference) of the references that a removed definition
    leaves dangling."""
    gone = {}
    for path, line, text in patch_lines(change.file_patches, "-"):
        if _is_kconfig(path):
            for symbol in DEFINITION.findall(text + "\n"):
                if symbol not in defined:
                    gone[symbol] = (path, line)
    for symbol, (kpath, kline) in sorted(gone.items()):
        for path, line in _references_in_tree(root, change.post, symbol):
            yield path, line, UndefinedReference(symbol, removed_at=f"{kpath}:{kline}")


def _references_in_tree(root, state, symbol: str) -> list:
    """(path, line) of the first reference to `symbol` in each file of the
    tree as `state` has it."""
    # Not -w: in CONFIG_FOO the name FOO is no word of its own to grep.
    # references() below keeps only real references.
    if (root / ".git").exists():
        hits = git.run(root, "grep", "-n", "-F", "-e", symbol, ok=None).decode("utf-8", "replace")
    else:
        hits = subprocess.run(["grep", "-rnF", "--exclude-dir=.git", "-e", symbol, "."], cwd=root,
                              capture_output=True, text=True).stdout
    first: dict = {}
    kconfig_hits: dict = {}
    for row in hits.splitlines():
        path, _, rest = row.partition(":")
        number, _, text = rest.partition(":")
        path = path[2:] if path.startswith("./") else path
        if _skipped(path) or path in first or not number.isdigit():
            continue
        if state is not None and path in state.changed_paths():
            continue
        if _is_kconfig(path):
            # the line may continue a statement: read it with its file
            kconfig_hits.setdefault(path, set()).add(int(number))
        elif symbol in references(path, text):
            first[path] = int(number)
    for path, numbers in kconfig_hits.items():
        try:
            text = (state.read(path) if state is not None
                    else read_text(root / path, shown=path))
        except KwhenError:
            text = None
        if text is None:
            continue
        found = [n for n, s in file_references(path, text, numbers) if s == symbol]
        if found:
            first[path] = found[0]
    if state is not None:
        for path in state.changed_paths():
            text = state.read(path)
            if text is None or _skipped(path):
                continue
            found = [n for n, s in file_references(path, text) if s == symbol]
            if found:
                first[path] = found[0]
    return sorted(first.items())
