"""missing-config-prefix: an added #if/#ifdef/#elif that names a Kconfig
symbol without its CONFIG_ prefix (`#ifdef SMP`), which no header, source
file or Makefile defines as a macro.

Kconfig symbols reach C only as CONFIG_ macros, so such a test is never
true (an #ifndef never false) in any configuration: the code under it is
dead, or always built, and `CONFIG_SMP` was meant. The check stays silent
as soon as anything in the tree could define the bare name (`#define SMP`
in any C file or header, `-DSMP` in any Makefile): a macro that happens to
share a Kconfig symbol's name is legitimate.
"""

from __future__ import annotations

import re
import subprocess

from kwhen import git
from kwhen.checks.messages import MissingConfigPrefix
from kwhen.checks.symbols_index import defined_symbols
from kwhen.cpp.directives import lex
from kwhen.sources import CODE_SUFFIXES

_TESTS = ("if", "ifdef", "ifndef", "elif", "elifdef", "elifndef")
# An operand: a name not called as a function-like macro (IS_ENABLED(SMP)
# tests SMP; IS_ENABLED itself is no operand).
_OPERAND = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\b(?!\s*\()")
_NOT_OPERANDS = frozenset(("defined", "__has_include", "__has_attribute", "__has_builtin"))
# Userspace, host tools and the build's scripts are compiled outside Kconfig.
_OUTSIDE = ("tools/", "scripts/", "usr/")


def _added_tests(change):
    """(path, Directive) of the #if-like directives the change adds or edits."""
    for fp in change.file_patches:
        path = fp.new_path
        if path is None or not path.endswith(CODE_SUFFIXES) or path.startswith(_OUTSIDE):
            continue
        added = {n for n, _ in fp.added_lines()}
        if not added:
            continue
        text = change.post.read(path)
        if text is None:
            continue
        directives, _ = lex(text)
        for d in directives:
            if d.keyword in _TESTS and any(d.line <= n <= d.end_line for n in added):
                yield path, d


# U-Boot's phase macros take a symbol's name without CONFIG_ on purpose
# (CONFIG_IS_ENABLED(DM) is CONFIG_DM or CONFIG_SPL_DM by phase)
_PHASE_CALL = re.compile(r"\b(?:CONFIG_IS_ENABLED|CONFIG_VAL|CONFIG_IF_ENABLED_INT)\s*\(\s*\w+")


def _operands(directive) -> list[str]:
    names = []
    for name in _OPERAND.findall(_PHASE_CALL.sub(" ", directive.body)):
        if name not in _NOT_OPERANDS and not name.startswith("CONFIG_") and name not in names:
            names.append(name)
    return names


def _definition_patterns(name: str) -> tuple[str, str]:
    """POSIX extended expressions of `#define NAME` and of `-DNAME` (a
    Makefile's flag)."""
    end = "([^A-Za-z0-9_]|$)"
    return (f"^[[:space:]]*#[[:space:]]*define[[:space:]]+{name}{end}", f"-D[[:space:]]*{name}{end}")


def defined_as_macro(root, state, name: str) -> bool:
    """Whether any file of the tree (as `state` has the files it changed)
    defines `name` as a macro: `#define NAME` or `-DNAME`. A conservative
    test: the definition may sit where this file never reaches."""
    define, flag = _definition_patterns(name)
    changed = state.changed_paths() if state is not None else set()
    for path in changed:
        text = state.read(path)
        if text is not None and (re.search(rf"^\s*#\s*define\s+{name}\b", text, re.M)
                                 or re.search(rf"-D\s*{name}\b", text)):
            return True
    if (root / ".git").exists():
        out = git.run(root, "grep", "-l", "-I", "-E", "-e", define, "-e", flag, ok=(0, 1))
        hits = out.decode("utf-8", "surrogateescape").splitlines()
    else:
        done = subprocess.run(["grep", "-r", "-l", "-I", "-E", "--exclude-dir=.git",
                               "-e", define, "-e", flag, "."],
                              cwd=root, capture_output=True, text=True)
        hits = [p[2:] if p.startswith("./") else p for p in done.stdout.splitlines()]
    return any(p not in changed for p in hits)


def run(change, context) -> list[MissingConfigPrefix]:
    views = context.views
    tests = list(_added_tests(change))
    if not tests or not views:
        return []
    symbols = defined_symbols(context.root, change.post, views[0].post.cache)
    arches = list(dict.fromkeys(v.arch for v in views))
    macros: dict = {}          # name -> defined as a macro somewhere
    findings = []
    for path, directive in tests:
        for name in _operands(directive):
            if name not in symbols:
                continue
            if name not in macros:
                macros[name] = defined_as_macro(context.root, change.post, name)
            if macros[name]:
                continue
            findings.append(MissingConfigPrefix(
                file=path, line=directive.line, symbol=name, arches=list(arches),
                directive=f"#{directive.keyword} {directive.body}".strip()))
    return findings
