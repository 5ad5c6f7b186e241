"""Where each C identifier may be defined in a git work tree: an index kept
in the cache, so that looking for the definitions of a function reads the
few files that may define it instead of grepping all 70,000 files of Linux
for the files that merely mention it.

The index maps an identifier to the files where `find_definitions` could
find a definition of it: a superset, never fewer. It is built by one
`git grep -P` pass that prints, for every line starting at column 0 with
an identifier, the identifier that a definition on that line would name:

    static int __init foo(void)       foo   (a name before `(`)
    int\\nfoo(void)                    foo   (`foo(` at column 0)
    __printf(1, 2) void foo(...)      foo   (attribute groups skipped)
    static long bar[4] __ro = {       bar   (a name before `[..] attrs =`, `;`, `,`)
    } table[] = {                     table (after a struct's body)
    #define baz(x) ...                baz   (any indentation)

Known gaps (variables only): the second and later declarators of
`int a, b;`, and a variable whose name is on an indented line. Lines
indented from column 0 are not read: at file level code starts at
column 0, and reading indented lines would index every function call.
bench/defindex.py measures what this loses on Linux (bench/defindex.md).

``#define`` lines are indexed only for names without an uppercase letter:
Linux has five million #define lines, most of them register names in
capitals, and printing them all would triple the build. A name with an
uppercase letter is therefore not *covered*: `files_defining` returns None
and the caller greps as before.

Freshness: the stored index describes the tree of HEAD (keyed by
`git rev-parse HEAD^{tree}`) plus the files that were dirty while it was
built (`git diff --name-only HEAD`). A lookup re-reads directly every file
that is dirty now or was dirty then; every other file has the content of
the tree the index was built from. A new HEAD tree means a new build.
Untracked files are not searched, as `git grep` does not search them;
nor are paths with a newline in their name.

The cache is an optimisation: when the database is unavailable, an item is
missing or fails its checksum, or git fails, the caller falls back to
`git grep` and the answer is the same.
"""

from __future__ import annotations

import json
import os
import re
import weakref
import zlib
from pathlib import Path

from kwhen import git, progress
from kwhen.exceptions import KwhenError
from kwhen.git import WorkTreeStatus
from kwhen.readfile import read_bytes
from kwhen.sources import CODE_GLOBS, CODE_SUFFIXES

__all__ = ["DefinitionIndex", "for_root", "covered"]

KIND = "defindex"
FORMAT = 1                 # bump when PATTERN or the stored layout changes
_BUCKETS = 256             # names are stored in this many items
_PATHS_PER_ITEM = 2048     # paths are stored in items of this many
_KEEP_TREES = 3            # indexes of older HEAD trees kept in the cache

# A parenthesised group, nested up to three deep: attributes such as
# __printf(1, 2) or __attribute__((section(".x"))), and parameter lists.
_GROUP = r"\((?:[^()]++|\((?:[^()]++|\([^()]*+\))*+\))*+\)"
# What may follow a defined name: a parameter list, or a variable's array
# bounds and attributes and then `=`, `;`, `,` or the end of the line.
_AFTER = r"(?=\s*(?:\(|(?:\[[^\]]*\]\s*)*(?:__\w+(?:" + _GROUP + r")?\s*)*[=;,]|$))"
PATTERN = (
    r"^(?:[ \t]*#[ \t]*define[ \t]+\K[a-z_][a-z0-9_]*+(?!\w)"
    r"|(?:\}[ \t]*)?(?=[A-Za-z_])(?:[\w \t*]*+" + _GROUP + r")*[\w \t*]*?\b\K[A-Za-z_]\w*" + _AFTER + ")"
)
# Every alternative starts with `^`, so PCRE tries each line once. Matching
# the further declarators of `int a, b;` (a `\G` alternative) would make it
# try every position: three times the CPU. `b` there is a known gap.

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def covered(name: str) -> bool:
    """Whether the index answers for `name` (see the module's docstring)."""
    return _IDENTIFIER.fullmatch(name) is not None and name.lower() == name


class _Unavailable(Exception):
    """The index cannot answer; the caller greps instead."""


def _start(root: Path, subcommand: str, *args: str) -> git.Running:
    # the C locale: PCRE matches bytes, several times faster
    return git.start(root, subcommand, *args, environ={"LC_ALL": "C"})


def _finish(job: git.Running, ok=(0,)) -> bytes:
    try:
        return job.output(ok)
    except git.GitError:
        raise _Unavailable from None


def head_tree(root: Path) -> str | None:
    """The id of HEAD's tree, or None (not a git work tree, no commit yet)."""
    try:
        out = _finish(_start(root, "rev-parse", "--verify", "-q", "HEAD^{tree}"))
        return out.decode().strip() or None
    except (OSError, KwhenError, _Unavailable):
        return None


def _start_dirty(root: Path) -> git.Running:
    # --no-renames: a renamed file's old path is dirty too (it is gone).
    return _start(root, "diff", "--name-only", "--no-renames", "-z", "HEAD", "--")


def _start_grep(root: Path, paths=None) -> git.Running:
    # -a: binary-looking files are searched too, as files_mentioning does.
    return _start(root, "grep", "-a", "-z", "--heading", "--break", "-o", "--no-color",
                  "--no-line-number", "--no-column", "-P", PATTERN, "--",
                  *(paths if paths is not None else CODE_GLOBS))


# An index of an earlier HEAD tree is updated (the files the two trees
# differ in grepped again) rather than rebuilt, up to this many files.
_UPDATE_LIMIT = 2000


def _paths(out: bytes) -> set[str]:
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def parse_grep(out: bytes) -> tuple[list[str], dict[str, list[int]]]:
    """(paths, name -> indexes into paths) from the grep's output: per file,
    its path on a line, the names on the next lines, an empty line."""
    paths: list[str] = []
    names: dict[bytes, list[int]] = {}
    for chunk in out.split(b"\n\n"):
        path, _, found = chunk.partition(b"\n")
        if not found:
            continue
        i = len(paths)
        paths.append(os.fsdecode(path))
        for name in set(found.split(b"\n")):
            known = names.get(name)
            if known is None:
                names[name] = [i]
            else:
                known.append(i)
    return paths, {n.decode("ascii", "replace"): ids for n, ids in names.items()}


def _bucket(name: str) -> int:
    return zlib.crc32(name.encode()) % _BUCKETS


class DefinitionIndex:
    """The definition index of one git work tree, for one process.

    Creating it starts the git commands it needs (the list of dirty files,
    and the grep when the cache holds no index for HEAD's tree), so that
    they run while the caller does other work; `files_defining` waits for
    them.
    """

    def __init__(self, root: Path, cache, status: WorkTreeStatus | None = None,
                 build: bool = True):
        self.root = Path(root)
        self.cache = cache
        self.tree = head_tree(self.root)
        self._prefix = f"{self.tree}.{FORMAT}"
        self._head = None          # {"dirty": [...]} of the stored index
        self._grep = self._status = None
        self._built = None         # (paths, names) when built in this process
        self._dirty_now: set[str] | None = None
        self._items: dict[str, object] = {}
        self.failed = self.tree is None
        if self.failed:
            return
        try:
            # a check's revision states bring the status of the work tree
            # they were made from (kwhen.patch.target): one walk of the tree
            self._status = status if status is not None else WorkTreeStatus(self.root, "")
            self._head = self._get_json("head")
            if self._head is None and self._update():
                return
            if self._head is None:
                if not build:
                    # the caller has enough to do (a cold check builds the
                    # models): grep this time, build the index next time
                    self.failed = True
                    return
                self._grep = _start_grep(self.root)
        except (OSError, KwhenError):
            self.failed = True

    # -- the stored index ------------------------------------------------------

    def _get_json(self, part: str):
        key = f"{self._prefix}:{part}"
        if key not in self._items:
            blob = self.cache.get(KIND, key, self.root)
            try:
                self._items[key] = json.loads(blob) if blob is not None else None
            except ValueError:
                self._items[key] = None
        return self._items[key]

    def _stored_files(self, name: str) -> list[str]:
        bucket = self._get_json(f"n{_bucket(name)}")
        if not isinstance(bucket, dict):
            raise _Unavailable
        files = []
        for i in bucket.get(name, ()):
            chunk = self._get_json(f"p{i // _PATHS_PER_ITEM}")
            if not isinstance(chunk, list) or i % _PATHS_PER_ITEM >= len(chunk):
                raise _Unavailable
            files.append(chunk[i % _PATHS_PER_ITEM])
        return files

    # -- building --------------------------------------------------------------

    def _update(self) -> bool:
        """Make this tree's index from a stored one of a recent HEAD tree:
        its entries for the files the two trees share, and a grep of the
        files they differ in. False if there is none to start from."""
        for old in self._get_json_any("recent") or []:
            head = self._get_json_any(f"{old}.{FORMAT}:head")
            if old == self.tree or not isinstance(head, dict):
                continue
            try:
                out = _finish(_start(self.root, "diff-tree", "-r", "-z", "--name-only",
                                     "--no-renames", old, self.tree))
            except (OSError, KwhenError, _Unavailable):
                return False
            changed = _paths(out)
            if len(changed) > _UPDATE_LIMIT:
                return False
            paths, names = self._load_all(old)
            if paths is None:
                continue
            keep = [i for i, p in enumerate(paths) if p not in changed]
            renumber = {i: n for n, i in enumerate(keep)}
            new_paths = [paths[i] for i in keep]
            new_names: dict[str, list[int]] = {}
            for name, ids in names.items():
                kept = [renumber[i] for i in ids if i in renumber]
                if kept:
                    new_names[name] = kept
            grepped = [p for p in sorted(changed) if p.endswith(CODE_SUFFIXES)]
            if grepped:
                try:
                    extra_paths, extra = parse_grep(_finish(
                        _start_grep(self.root, grepped), ok=(0, 1)))
                except (OSError, KwhenError, _Unavailable):
                    return False
                base = len(new_paths)
                new_paths.extend(extra_paths)
                for name, ids in extra.items():
                    new_names.setdefault(name, []).extend(base + i for i in ids)
            try:
                dirty = set(head.get("dirty", ())) | self._dirty()
            except _Unavailable:
                return False
            self._built = (new_paths, new_names)
            self._head = {"dirty": sorted(dirty)}
            self._store(new_paths, new_names)
            return True
        return False

    def _load_all(self, tree: str):
        """(paths, name -> indexes) of the stored index of `tree`."""
        paths, i = [], 0
        while True:
            chunk = self._get_json_any(f"{tree}.{FORMAT}:p{i}")
            if chunk is None:
                break
            paths.extend(chunk)
            i += 1
        names: dict = {}
        for b in range(_BUCKETS):
            bucket = self._get_json_any(f"{tree}.{FORMAT}:n{b}")
            if not isinstance(bucket, dict):
                return None, None
            names.update(bucket)
        return paths, names

    def _build(self) -> None:
        progress.note(f"no definition index for HEAD's tree of {self.root}: building it (git grep)")
        with progress.step("building the definition index"):
            out = _finish(self._grep, ok=(0, 1))
        dirty = self._dirty() | _paths(_finish(_start_dirty(self.root)))
        self._dirty_now = dirty
        if head_tree(self.root) != self.tree:
            raise _Unavailable      # HEAD moved while the grep read the tree
        paths, names = parse_grep(out)
        self._built = (paths, names)
        self._head = {"dirty": sorted(dirty)}
        self._store(paths, names)

    def _store(self, paths: list[str], names: dict) -> None:
        buckets: list[dict] = [{} for _ in range(_BUCKETS)]
        for name, ids in names.items():
            buckets[_bucket(name)][name] = ids
        items = {f"{self._prefix}:n{b}": _pack(bucket) for b, bucket in enumerate(buckets)}
        for start in range(0, len(paths), _PATHS_PER_ITEM):
            items[f"{self._prefix}:p{start // _PATHS_PER_ITEM}"] = \
                _pack(paths[start:start + _PATHS_PER_ITEM])
        # The head last in the dict, but all in one transaction: a reader
        # that finds the head finds every part.
        items[f"{self._prefix}:head"] = _pack(self._head)
        recent = self._get_json_any("recent") or []
        recent = [self.tree] + [t for t in recent if t != self.tree][:_KEEP_TREES - 1]
        items["recent"] = _pack(recent)
        self.cache.put_items(KIND, items, keep_prefixes=[f"{t}." for t in recent] + ["recent"],
                             root=self.root)

    def _get_json_any(self, key: str):
        blob = self.cache.get(KIND, key, self.root)
        try:
            return json.loads(blob) if blob is not None else None
        except ValueError:
            return None

    # -- looking up ------------------------------------------------------------

    def _dirty(self) -> set[str]:
        """Tracked files that differ from HEAD now (untracked ones are not
        searched, as git grep does not search them)."""
        if self._dirty_now is None:
            try:
                codes = self._status.codes()
            except KwhenError:
                raise _Unavailable from None
            self._dirty_now = {path for path, code in codes.items() if code != "??"}
        return self._dirty_now

    def files_defining(self, names) -> list[str] | None:
        """The files (relative paths) that may define any of `names`, or
        None when the index cannot say (the caller then greps)."""
        names = [names] if isinstance(names, str) else list(names)
        if self.failed or not all(covered(n) for n in names):
            return None
        try:
            if self._head is None and self._built is None:
                self._build()
            dirty = set(self._head.get("dirty", ())) | self._dirty()
            files = set()
            for name in names:
                if self._built is not None:
                    paths, index = self._built
                    files.update(paths[i] for i in index.get(name, ()))
                else:
                    files.update(self._stored_files(name))
        except (_Unavailable, OSError, AttributeError, TypeError):
            self.failed = True
            return None
        files -= dirty
        words = [re.compile(rb"\b" + n.encode() + rb"\b") for n in names]
        for relpath in dirty:
            if not relpath.endswith(CODE_SUFFIXES):
                continue
            try:
                data = read_bytes(self.root / relpath, shown=relpath)
            except KwhenError:
                continue        # deleted (or unreadable, as for git grep)
            if any(w.search(data) for w in words):
                files.add(relpath)
        return sorted(files)


def _pack(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# One index per cache (one kwhen command) and work tree: the dirty files are
# listed once per command.
_indexes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def for_root(root: Path, cache, status: WorkTreeStatus | None = None,
             build: bool = True) -> DefinitionIndex | None:
    """The definition index of the git work tree `root`, started if needed;
    None when there is none to be had (not the top of a git work tree, or
    no usable cache, as with --no-cache). `status`: the work tree's status
    if the caller has one already. `build`: whether to build the index
    when the cache has none for HEAD's tree."""
    root = Path(root)
    if cache is None or not cache.available() or not (root / ".git").exists():
        return None
    per_cache = _indexes.setdefault(cache, {})
    index = per_cache.get(root)
    if index is None:
        index = per_cache[root] = DefinitionIndex(root, cache, status, build)
    return index
