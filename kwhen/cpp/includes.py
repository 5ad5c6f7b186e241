"""Which files #include a given C file: the includers of a .c built only
through another one (kernel/sched/build_utility.c includes "clock.c").

Only quoted includes are followed, resolved as cpp resolves them first:
against the directory of the including file. Candidates are the C, assembly
and header files of the included file's own directory and of its parent
(``#include "clock.c"``, ``#include "../lib/string.c"``, ``#include
"test/route-test.c"``): a cheap listing per question. A file included
from further away, or from a directory below,
is found through `SourceIncludes`: every quoted #include of a .c or .S
file in the tree's C and assembly files (the vDSO's
``#include "../../../../lib/vdso/gettimeofday.c"``, vdso32's
``#include "../vclock_gettime.c"`` from a subdirectory), read once and
kept in the cache, each file read again only when its size or time
changes.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from kwhen.exceptions import KwhenError

__all__ = ["resolve_quoted", "candidate_includers", "SourceIncludes", "MAX_INCLUDERS"]

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


def candidate_includers(root: Path, relpath: str, read_text, index=None) -> list[str]:
    """Files beside `relpath` or one directory up whose text has an
    ``#include "...<basename>"`` line that resolves to `relpath`; when
    there are none, those `index` (a `SourceIncludes`) knows anywhere.

    `read_text(relpath)` reads a file of the tree (the tree's reader, so a
    patch state is honoured); files it cannot read are skipped.
    """
    found = _nearby_includers(root, relpath, read_text)
    if not found and index is not None:
        found = [p for p in index.includers(relpath) if p != relpath]
    return found


def _nearby_includers(root: Path, relpath: str, read_text) -> list[str]:
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


_QUOTED_SOURCE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*"([^"\n]*\.[cS])"', re.M)


class SourceIncludes:
    """Which files #include each C or assembly file by a quoted name, over
    the whole tree: `includers(relpath)`. Built on first use by reading
    every .c and .S file (Linux: 33,000 files, 3-5 s), then kept in the
    cache with each file's size and modification time, so a later process
    stats the tree (a fraction of a second) and reads only what changed.
    `read_text` (the tree's reader) is used for the files a patch state
    changes (`changed`), so an includer a patch adds is seen."""

    KIND = "source-includes"

    def __init__(self, root: Path, cache=None, read_text=None, changed=(), origin=None):
        self.root = Path(root)
        # the cache item of the work tree a scratch tree was materialised
        # from serves it: the hard links keep each file's size and time
        self.origin = Path(origin) if origin is not None else self.root
        self.cache = cache
        self.read_text = read_text
        self.changed = frozenset(p for p in changed if p.endswith((".c", ".S")))
        self._table: dict | None = None

    def includers(self, relpath: str) -> list[str]:
        if self._table is None:
            self._table = self._build()
        return sorted(self._table.get(relpath, ()))

    def _build(self) -> dict:
        import json
        import time

        started = time.time_ns()
        key = str(self.origin)
        old: dict = {}
        blob = self.cache.get(self.KIND, key, self.root) if self.cache is not None else None
        if blob is not None:
            try:
                old = json.loads(blob)
            except ValueError:
                old = {}
        files: dict = {}
        changed = False
        for relpath, size, mtime in _walk_sources(self.root):
            entry = old.get(relpath)
            if entry is not None and entry[0] == size and entry[1] == mtime:
                files[relpath] = entry
                continue
            changed = True
            try:
                with open(self.root / relpath, "rb") as f:
                    data = f.read(64 << 20)
            except OSError:
                continue
            files[relpath] = [size, mtime, _quoted_sources(data)]
        if self.cache is not None and (changed or len(files) != len(old)):
            self.cache.put(self.KIND, key, self.root, [], json.dumps(files).encode(), started)
        table: dict[str, set] = {}

        def add(includer: str, names) -> None:
            for name in names:
                target = resolve_quoted(includer, name)
                if target is not None:
                    table.setdefault(target, set()).add(includer)

        for relpath, (_size, _mtime, names) in files.items():
            if relpath not in self.changed:
                add(relpath, names)
        for relpath in self.changed:
            try:
                text = self.read_text(relpath)
            except KwhenError:
                continue
            add(relpath, _quoted_sources(text.encode("utf-8", "surrogateescape")))
        return table


def _quoted_sources(data: bytes) -> list[str]:
    """The names of the .c and .S files a file's text #includes by quotes."""
    return [m.decode("utf-8", "surrogateescape") for m in _QUOTED_SOURCE.findall(data)]


def _walk_sources(root: Path):
    """(relpath, size, mtime_ns) of every .c and .S file below `root`
    (hidden directories skipped; symbolic links not followed)."""
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = list(os.scandir(root / rel if rel else root))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            path = f"{rel}/{name}" if rel else name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif name.endswith((".c", ".S")) and entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    yield path, st.st_size, st.st_mtime_ns
            except OSError:
                continue
