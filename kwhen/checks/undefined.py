"""undefined-symbol: references to Kconfig symbols that no Kconfig defines.

Reads references the way the kernel's scripts/checkkconfigsymbols.py does,
so that on the same commit kwhen finds at least what it finds: CONFIG_ names
in any added line outside Kconfig files and tools/, symbol names in added
Kconfig statements, and references left dangling when a patch removes a
symbol's last definition.
"""

from __future__ import annotations

import re
import subprocess

from kwhen.checks.lines import patch_lines
from kwhen.checks.messages import Finding
from kwhen.checks.symbols_index import DEFINITION, SYMBOL, _is_kconfig, defined_symbols

SOURCE_REF = re.compile(r"(?:\W|\b)+D?CONFIG_(" + SYMBOL + r")")
_OPERATORS = r"&|\(|\)|\||\!"
_EXPR = r"(?:" + _OPERATORS + r"|\s|" + SYMBOL + r")+"
KCONFIG_STATEMENT = re.compile(
    r"^\s*(?:if|select|imply|depends\s+on|(?:default\s+.*?(?:if\s.+)?))\s+" + _EXPR)
KCONFIG_WORD = re.compile(r"(?!\B)" + SYMBOL + r"(?!\B)")
PLACEHOLDERS = {"FOO", "BAR", "FOO_BAR", "XXX"}


def _skipped(path: str) -> bool:
    return path.startswith("tools/") or "ChangeLog" in path or path.endswith(".log")


def references(path: str, text: str) -> list[str]:
    """Kconfig symbols that one line of `path` refers to."""
    if _is_kconfig(path):
        if KCONFIG_STATEMENT.match(text):
            words = KCONFIG_WORD.findall(re.sub(r'"[^"]*"', "", text.split("#", 1)[0]))
            keywords = {"if", "select", "imply", "depends", "on", "default"}
            return [w for w in words if w not in keywords and not re.fullmatch(
                r"0[xX][0-9a-fA-F]+|[0-9]+", w)]
        return []
    if "CONFIG_" not in text:
        return []
    return [s for s in SOURCE_REF.findall(text) if re.search(r"[A-Za-z0-9]$", s)]


def _undefined(symbol: str, defined: set) -> bool:
    if symbol in PLACEHOLDERS or symbol in defined:
        return False
    return not (symbol.endswith("_MODULE") and symbol[:-7] in defined)


def run(change, views, root) -> list[Finding]:
    defined = defined_symbols(root, change.post, views[0].post.cache if views else None)
    arches = [v.arch for v in views]
    findings, seen = [], set()
    for path, line, text in patch_lines(change.file_patches, "+"):
        if _skipped(path):
            continue
        for symbol in references(path, text):
            if _undefined(symbol, defined) and (path, symbol) not in seen:
                seen.add((path, symbol))
                findings.append(Finding(
                    kind="undefined-symbol", file=path, line=line,
                    message=f"CONFIG_{symbol} is not defined by any Kconfig file",
                    arches=arches))
    findings.extend(_orphaned(change, root, defined, arches))
    return findings


def _orphaned(change, root, defined, arches) -> list[Finding]:
    """References that a removed definition leaves dangling."""
    gone = {}
    for path, line, text in patch_lines(change.file_patches, "-"):
        if _is_kconfig(path):
            for symbol in DEFINITION.findall(text + "\n"):
                if symbol not in defined:
                    gone[symbol] = (path, line)
    findings = []
    for symbol, (kpath, kline) in sorted(gone.items()):
        for path, line in _references_in_tree(root, change.post, symbol):
            findings.append(Finding(
                kind="undefined-symbol", file=path, line=line,
                message=f"CONFIG_{symbol} is still used here, but the change removed its "
                        f"definition ({kpath}:{kline})", arches=arches))
    return findings


def _references_in_tree(root, state, symbol: str) -> list:
    """(path, line) of the first reference to `symbol` in each file of the
    tree as `state` has it."""
    # Not -w: in CONFIG_FOO the name FOO is no word of its own to grep.
    # references() below keeps only real references.
    cmd = (["git", "-C", str(root), "grep", "-n", "-F", "-e", symbol] if (root / ".git").exists()
           else ["grep", "-rnF", "--exclude-dir=.git", "-e", symbol, "."])
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    first: dict = {}
    for row in out.stdout.splitlines():
        path, _, rest = row.partition(":")
        number, _, text = rest.partition(":")
        path = path[2:] if path.startswith("./") else path
        if _skipped(path) or path in first or not number.isdigit():
            continue
        if state is not None and path in state.changed_paths():
            continue
        if symbol in references(path, text):
            first[path] = int(number)
    if state is not None:
        for path in state.changed_paths():
            text = state.read(path)
            if text is None or _skipped(path):
                continue
            for n, line in enumerate(text.splitlines(), 1):
                if symbol in references(path, line):
                    first[path] = n
                    break
    return sorted(first.items())
