"""Which files #include a given C file: the includers of a .c built only
through another one (kernel/sched/build_utility.c includes "clock.c").

Only quoted includes are followed, resolved as cpp resolves them first:
against the directory of the including file. Candidates are the C, assembly
and header files of the included file's own directory and of its parent
(``#include "clock.c"``, ``#include "../lib/string.c"``, ``#include
"test/route-test.c"``): a cheap listing per question, no index. A file
included from further away (the boot decompressors' ``../../../../lib/``)
is not found and stays "unreached": a known gap (DEVELOPERS.md).
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from kwhen.exceptions import KwhenError

__all__ = ["resolve_quoted", "candidate_includers", "MAX_INCLUDERS"]

# A bound on the files one question reads to find includers, and on the
# includers followed per file: beyond it the file stays unreached (an
# under-approximation the answer states, never a guess).
MAX_CANDIDATES = 400
MAX_INCLUDERS = 16

_SUFFIXES = (".c", ".h", ".S")


def resolve_quoted(includer: str, name: str) -> str | None:
    """The tree-relative path ``#include "name"`` in file `includer` names
    when found beside the includer; None for a path leaving the tree."""
    if name.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(includer), name))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def _include_pattern(basename: str) -> re.Pattern:
    return re.compile(r'^[ \t]*#[ \t]*include[ \t]*"(?:[^"\n]*/)?' + re.escape(basename) + '"',
                      re.M)


def candidate_includers(root: Path, relpath: str, read_text) -> list[str]:
    """Files beside `relpath` or one directory up whose text has an
    ``#include "...<basename>"`` line that resolves to `relpath`.

    `read_text(relpath)` reads a file of the tree (the tree's reader, so a
    patch state is honoured); files it cannot read are skipped.
    """
    directory = posixpath.dirname(relpath)
    places = [directory]
    if directory:
        places.append(posixpath.dirname(directory))
    pattern = _include_pattern(posixpath.basename(relpath))
    found: list[str] = []
    seen = 0
    for place in places:
        try:
            entries = sorted(os.scandir(root / place), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(_SUFFIXES):
                continue
            candidate = posixpath.join(place, entry.name) if place else entry.name
            if candidate == relpath or not entry.is_file():
                continue
            seen += 1
            if seen > MAX_CANDIDATES:
                return found
            try:
                text = read_text(candidate)
            except KwhenError:      # unreadable: not an includer kwhen can use
                continue
            for m in pattern.finditer(text):
                name = m.group(0).split('"')[1]
                if resolve_quoted(candidate, name) == relpath:
                    found.append(candidate)
                    break
    return found
