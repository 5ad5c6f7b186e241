"""The SQLite cache of models. The only module in kwhen that speaks SQL.

A cached item (a Kconfig model, a tree's Kbuild conditions) is stored with
the list of files it was computed from and each file's content digest. It is
reused only while every one of those files still has that digest, so an
edited Kconfig invalidates the Kconfig models that read it and nothing else.

Digests are themselves cached by the file's stat stamp (mtime, ctime, inode
and size, in nanoseconds, as git's index does), so checking a model built
from 4,000 files costs 4,000 stat calls, not 4,000 reads. The ctime is what
no edit can restore (`touch -d` and `os.utime` set it to now): an edit of
the same size with its mtime put back still changes the stamp. A stamp
taken within `RACY_NS` of a change is kept for this process only, so an
edit in the same clock tick as kwhen's read is never trusted later.

The cache is an optimisation and must never change an answer or stop kwhen:
a damaged database (any error reading it but a lock: a bad page, a header
that no longer decodes) is moved aside and rebuilt with a one-line notice,
a locked one (another kwhen process writing) is simply not written to, an
unusable cache directory gives one notice and a run without cache, and
every stored blob carries a checksum that is verified before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
import zlib
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.readfile import read_bytes

SCHEMA_VERSION = 3

_TABLES = ("file_stamp", "item", "part_set", "part")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS file_stamp (
    path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, ctime_ns INTEGER, ino INTEGER,
    digest TEXT);
CREATE TABLE IF NOT EXISTS item (
    kind TEXT, key TEXT, deps BLOB, data BLOB, checksum TEXT,
    root TEXT, used INTEGER,
    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS part_set (
    kind TEXT, key TEXT, generation TEXT, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS part (
    kind TEXT, key TEXT, name TEXT, generation TEXT, data BLOB, checksum TEXT,
    PRIMARY KEY (kind, key, name));
"""


_code: list = []


def code_digest() -> str:
    """A digest of kwhen's own source: what the cached items were computed by."""
    if not _code:
        h = hashlib.blake2b(digest_size=12)
        package = Path(__file__).resolve().parent
        for path in sorted(package.rglob("*.py")):
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
        _code.append(h.hexdigest())
    return _code[0]


# A stamp this close to the file's last change may not see a second change
# in the same clock tick (coarse file-system timestamps): not kept.
RACY_NS = 2_000_000_000

# What reading a damaged database can raise besides sqlite3's own errors:
# text columns that no longer decode, values of the wrong type.
_DAMAGE = (sqlite3.Error, UnicodeError, ValueError, TypeError, OverflowError, zlib.error)

_noticed: set = set()


def _notice(message: str) -> None:
    """One line on stderr, once per process: the cache never stops a run,
    but a user should know why it is slow."""
    if message not in _noticed:
        _noticed.add(message)
        sys.stderr.write(f"kwhen: notice: {message}\n")


def _is_busy(exc: BaseException) -> bool:
    """Whether a database error is another process's lock, not damage."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _is_unusable_place(exc: BaseException) -> bool:
    """Whether an error opening the database says the place is unusable
    (no permission, read-only, full), not that the file is damaged."""
    if isinstance(exc, OSError):
        return True
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and any(
        s in text for s in ("unable to open", "readonly", "read-only", "disk i/o", "full",
                            "permission"))


class Unreadable(Exception):
    """A cached item's part cannot be trusted any more: compute afresh."""


def default_cache_dir() -> Path:
    """$KWHEN_CACHE_DIR, else kwhen/ in the XDG cache directory."""
    explicit = os.environ.get("KWHEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kwhen"


def _digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).lower()


class Cache:
    """Content-keyed storage of computed models.

    `Cache(None)` (or `enabled=False`) is a cache that never hits and never
    writes, so callers need no special case for --no-cache.
    """

    def __init__(self, directory: Path | None = None, enabled: bool = True):
        self.enabled = enabled
        self._db = None
        self._stamps: dict[str, tuple] = {}
        self._dirty_stamps: dict[str, tuple] = {}
        self._seen: dict[str, str | None] = {}     # path -> digest, until forget_files()
        self._generations: dict[tuple, str] = {}   # (kind, key) -> parts read by get
        self._healed = False
        self._used: set[tuple[str, str]] = set()   # items read: their last use is now
        # the stored bytes as last counted plus what this process wrote since
        # (`_evict` counts them again every `_RECOUNT` writes: other
        # processes write too): a write that leaves the cache under its cap
        # does not scan every item (thousands of file structures in a check)
        self._total: int | None = None
        self._writes = 0
        if not enabled:
            return
        self.path = Path(directory or default_cache_dir()) / "kwhen.sqlite3"
        self._db = self._open()

    def _open(self):
        """The database, or None (locked by another kwhen; or unusable, said once)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect()
        except _DAMAGE + (OSError,) as exc:
            if _is_busy(exc):
                return None
            if _is_unusable_place(exc):
                _notice(f"cannot use the cache in {self.path.parent} ({_reason(exc)}); "
                        "running without it")
                return None
            return self._rebuild()

    def _rebuild(self):
        """Move a damaged database aside and start a new one (once a process)."""
        self._healed = True
        self._stamps.clear()
        self._dirty_stamps.clear()
        self._generations.clear()
        try:
            self._move_aside()
            db = self._connect()
        except _DAMAGE + (OSError,) as exc:
            _notice(f"the cache {self.path} is damaged and cannot be rebuilt ({_reason(exc)}); "
                    "running without it")
            return None
        _notice(f"the cache {self.path} was damaged: moved aside to {self.path.name}.corrupt "
                "and rebuilt")
        return db

    def _trouble(self, exc: BaseException) -> None:
        """An error from the open database: a lock is waited out by going
        without; anything else is damage, healed by a rebuild."""
        if _is_busy(exc):
            return
        db, self._db = self._db, None
        if db is not None:
            try:
                db.close()
            except _DAMAGE:
                pass
        if not self._healed:
            self._db = self._rebuild()

    def _connect(self):
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            return self._prepare(db)
        except BaseException:
            db.close()
            raise

    def _prepare(self, db):
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            # an older layout: its tables are dropped, not migrated
            try:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    for table in _TABLES:
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                    db.execute("DELETE FROM meta")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    db.close()
                    return None
                raise
            row = None
        db.executescript(SCHEMA)
        if row is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        # Items are what this kwhen computed: another kwhen's (another
        # version, or the code edited since) may be wrong for this one.
        row = db.execute("SELECT value FROM meta WHERE key = 'code'").fetchone()
        if row is None or row[0] != code_digest():
            try:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    for table in ("item", "part", "part_set"):
                        db.execute(f"DELETE FROM {table}")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('code', ?)", (code_digest(),))
            except sqlite3.OperationalError:
                # another kwhen holds the lock: its items cannot be trusted
                # and cannot be cleared now, so this process goes without
                db.close()
                return None
        return db

    def _move_aside(self):
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.replace(str(p) + ".corrupt")

    def available(self) -> bool:
        """Whether the database is open (items can be read and written)."""
        return self._db is not None

    def close(self):
        """Write what is pending and close the database."""
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- file digests -------------------------------------------------------

    def _load_stamps(self):
        if self._stamps or self._db is None:
            return
        try:
            for path, mtime, size, ctime, ino, digest in self._db.execute(
                    "SELECT path, mtime_ns, size, ctime_ns, ino, digest FROM file_stamp"):
                self._stamps[path] = (mtime, size, ctime, ino, digest)
        except _DAMAGE as exc:
            self._stamps.clear()
            self._trouble(exc)

    def digest(self, path: str | os.PathLike) -> str | None:
        """Content digest of a file, or None if it cannot be read.

        A file is looked at once until `forget_files`: the items of one run
        share most of their dependencies (every Kconfig file, every
        Makefile), and stat-ing each again for each item cost more than
        reading the items."""
        path = os.fspath(path)
        try:
            return self._seen[path]
        except KeyError:
            digest = self._seen[path] = self._digest_now(path)
            return digest

    def forget_files(self):
        """Look at files afresh: the caller is about to rewrite a tree it
        reads (a revision materialised where another was, a checkout moved)."""
        self._seen.clear()

    def _digest_now(self, path: str) -> str | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        self._load_stamps()
        known = self._stamps.get(path)
        if (known is not None and known[0] == st.st_mtime_ns and known[1] == st.st_size
                and known[2] == st.st_ctime_ns and known[3] == st.st_ino):
            return known[4]
        try:
            digest = _digest_bytes(read_bytes(path))
        except KwhenError:
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ctime_ns, st.st_ino, digest)
        self._stamps[path] = stamp
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_NS:
            self._dirty_stamps[path] = stamp
        return digest

    def flush(self):
        """Write the file digests learnt in this process, and when the items
        read were last used (what eviction goes by)."""
        if self._db is None:
            return
        if self._used:
            used, now = sorted(self._used), time.time_ns()
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany("UPDATE item SET used = ? WHERE kind = ? AND key = ?",
                                         [(now, kind, key) for kind, key in used])
                self._used.clear()
            except _DAMAGE as exc:
                self._trouble(exc)
                return
        if self._db is None or not self._dirty_stamps:
            return
        rows = [(p, *s) for p, s in self._dirty_stamps.items()]
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR REPLACE INTO file_stamp VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._dirty_stamps.clear()
        except _DAMAGE as exc:
            self._trouble(exc)  # (locked: the digests are recomputed next time)

    # -- items --------------------------------------------------------------

    def get(self, kind: str, key: str, root: Path) -> bytes | None:
        """The stored item if every file it depends on is unchanged.

        The item's parts (see `put`) are then readable with `get_part`."""
        if self._db is None:
            return None
        try:
            # one read transaction: the item and its parts' generation agree
            with self._db:
                self._db.execute("BEGIN")
                row = self._db.execute(
                    "SELECT deps, data, checksum FROM item WHERE kind = ? AND key = ?",
                    (kind, key)).fetchone()
                generation = self._db.execute(
                    "SELECT generation FROM part_set WHERE kind = ? AND key = ?",
                    (kind, key)).fetchone()
        except _DAMAGE as exc:
            self._trouble(exc)
            return None
        if row is None:
            return None
        deps_blob, data, checksum = row
        try:
            deps = json.loads(zlib.decompress(deps_blob))
            for relpath, digest in deps:
                if self.digest(os.path.join(os.fspath(root), relpath)) != digest:
                    return None
            if _digest_bytes(data) != checksum:
                return None
            unpacked = zlib.decompress(data)
        except _DAMAGE:
            return None         # a damaged item, not a damaged database: a miss
        if generation is not None:
            self._generations[(kind, key)] = generation[0]
        self._used.add((kind, key))
        return unpacked

    def get_part(self, kind: str, key: str, name: str) -> bytes | None:
        """Part `name` of the item last returned by `get(kind, key)`, or None
        if it has no such part. Raises `Unreadable` if the part cannot be
        trusted (damaged, or the item was replaced since): the caller must
        then compute the item afresh."""
        generation = self._generations.get((kind, key))
        if self._db is None or generation is None:
            raise Unreadable(kind, key)
        try:
            row = self._db.execute(
                "SELECT data, checksum FROM part WHERE kind = ? AND key = ? AND name = ?"
                " AND generation = ?", (kind, key, name, generation)).fetchone()
        except _DAMAGE as exc:
            self._trouble(exc)
            raise Unreadable(kind, key) from None
        if row is None:
            if not self.has_parts(kind, key):
                raise Unreadable(kind, key)
            return None
        if not isinstance(row[0], bytes) or _digest_bytes(row[0]) != row[1]:
            raise Unreadable(kind, key)
        return row[0]

    def get_parts(self, kind: str, key: str) -> dict:
        """Every part of the item last returned by `get(kind, key)`, name ->
        bytes, in one query (raises `Unreadable` as `get_part` does)."""
        generation = self._generations.get((kind, key))
        if self._db is None or generation is None:
            raise Unreadable(kind, key)
        try:
            rows = self._db.execute(
                "SELECT name, data, checksum FROM part WHERE kind = ? AND key = ?"
                " AND generation = ?", (kind, key, generation)).fetchall()
        except _DAMAGE as exc:
            self._trouble(exc)
            raise Unreadable(kind, key) from None
        if not rows and not self.has_parts(kind, key):
            raise Unreadable(kind, key)
        found = {}
        for name, data, checksum in rows:
            if not isinstance(data, bytes) or _digest_bytes(data) != checksum:
                raise Unreadable(kind, key)
            found[name] = data
        return found

    def has_parts(self, kind: str, key: str) -> bool:
        """Whether the item last returned by `get` has parts, still stored."""
        generation = self._generations.get((kind, key))
        if self._db is None or generation is None:
            return False
        try:
            return self._db.execute(
                "SELECT 1 FROM part_set WHERE kind = ? AND key = ? AND generation = ?",
                (kind, key, generation)).fetchone() is not None
        except _DAMAGE as exc:
            self._trouble(exc)
            return False

    def part_names(self, kind: str, key: str) -> list[str]:
        """The names of the parts of the item last returned by `get`
        (raises `Unreadable` as `get_part` does)."""
        generation = self._generations.get((kind, key))
        if self._db is None or generation is None or not self.has_parts(kind, key):
            raise Unreadable(kind, key)
        try:
            return [name for (name,) in self._db.execute(
                "SELECT name FROM part WHERE kind = ? AND key = ? AND generation = ?",
                (kind, key, generation))]
        except _DAMAGE as exc:
            self._trouble(exc)
            raise Unreadable(kind, key) from None

    def put(self, kind: str, key: str, root: Path, deps, data: bytes,
            started_ns: int, parts: dict[str, bytes] | None = None) -> None:
        """Store `data`, valid while the files `deps` (relative to root) keep
        their present content.

        `parts` (name -> bytes) are stored beside it, each readable alone
        with `get_part`, so a reader that needs one of 24,000 file
        conditions does not decode them all. They are written in the same
        transaction under a fresh generation, so a reader never mixes parts
        of two writes.

        `started_ns` is when the computation of `data` began (time.time_ns):
        a file modified since then may have been read in its old state, so
        nothing is stored rather than something wrong.
        """
        if self._db is None:
            return
        dep_list = []
        for relpath in sorted(set(deps)):
            path = root / relpath
            try:
                if os.stat(path).st_mtime_ns >= started_ns:
                    return
            except OSError:
                pass  # a file that does not exist is recorded as such (None)
            dep_list.append([relpath, self.digest(path)])
        packed = zlib.compress(data, 1)
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT OR REPLACE INTO item VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, key, zlib.compress(json.dumps(dep_list).encode()), packed,
                     _digest_bytes(packed), str(root), time.time_ns()))
                self._db.execute("DELETE FROM part WHERE kind = ? AND key = ?", (kind, key))
                self._db.execute("DELETE FROM part_set WHERE kind = ? AND key = ?", (kind, key))
                if parts is not None:
                    generation = os.urandom(12).hex()
                    self._db.execute("INSERT INTO part_set VALUES (?, ?, ?)",
                                     (kind, key, generation))
                    self._db.executemany(
                        "INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                        ((kind, key, name, generation, blob, _digest_bytes(blob))
                         for name, blob in parts.items()))
        except _DAMAGE as exc:
            self._trouble(exc)
        self._evict(keep=(kind, key),
                    added=len(packed) + sum(len(b) for b in (parts or {}).values()))
        self.flush()

    # -- groups of items written together (the definition index) --------------

    def put_items(self, kind: str, items: dict, keep_prefixes=None, root: Path | None = None) -> None:
        """Store `items` (key -> bytes, valid without file dependencies) in
        one transaction, so a reader sees all of them or none.

        With `keep_prefixes`, items of `kind` whose key starts with none of
        them are deleted first (older generations of a large item group).
        """
        if self._db is None:
            return
        empty_deps = zlib.compress(b"[]")
        rows = []
        now = time.time_ns()
        for key, data in items.items():
            packed = zlib.compress(data, 1)
            rows.append((kind, key, empty_deps, packed, _digest_bytes(packed),
                         str(root) if root else None, now))
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                if keep_prefixes is not None:
                    keep = tuple(keep_prefixes)
                    old = [k for (k,) in self._db.execute(
                        "SELECT key FROM item WHERE kind = ?", (kind,)) if not k.startswith(keep)]
                    self._db.executemany("DELETE FROM item WHERE kind = ? AND key = ?",
                                         [(kind, k) for k in old])
                self._db.executemany("INSERT OR REPLACE INTO item VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        except _DAMAGE as exc:
            self._trouble(exc)
        self._evict(keep=(kind, next(iter(items), None)))

    # -- size: least recently used items go first ------------------------------

    _RECOUNT = 256

    def _evict(self, keep=None, added: int | None = None) -> None:
        """Delete the least recently used models until the stored data fits
        under max_cache_bytes(). The models of a tree on one architecture go
        together, with their parts (and a tree's definition index, written
        as a group, goes whole), never those holding `keep` (kind, key),
        just written. Freed pages go to SQLite's free list and are reused by
        the next writes, so the file stays near the cap without a VACUUM."""
        if self._db is None:
            return
        cap = max_cache_bytes()
        self._writes += 1
        if added is not None and self._total is not None and self._writes % self._RECOUNT:
            self._total += added
            if self._total <= cap:
                return
        try:
            sizes = _item_sizes(self._db)
            total = self._total = sum(row[-1] for row in sizes)
            if total <= cap:
                return
            self._total = None          # (counted again after the eviction)
            units: dict[tuple, list] = {}
            for kind, key, root, used, size in sizes:
                # a tree's models on one architecture go together (the
                # Kconfig model is no use without its Kbuild conditions)
                unit = units.setdefault((root, _arch_of(kind, key), kind if not root else ""),
                                        [0, 0, []])
                unit[0] = max(unit[0], used or 0)
                unit[1] += size
                unit[2].append((kind, key))
            doomed = []
            for name, (_used, size, keys) in sorted(units.items(), key=lambda u: u[1][0]):
                if total <= cap * 0.9:      # (a margin, so the next write does not evict again)
                    break
                if keep in keys:
                    continue
                doomed.extend(keys)
                total -= size
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                for table in ("item", "part", "part_set"):
                    self._db.executemany(f"DELETE FROM {table} WHERE kind = ? AND key = ?", doomed)
        except _DAMAGE as exc:
            self._trouble(exc)


# -- the results of `kwhen scan` (a database of its own, named by --db) ----------

SCAN_SCHEMA_VERSION = 1

SCAN_SCHEMA = """
CREATE TABLE IF NOT EXISTS scan_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS result_set (
    id INTEGER PRIMARY KEY, version TEXT NOT NULL, options TEXT NOT NULL,
    created REAL, used REAL, UNIQUE (version, options));
CREATE TABLE IF NOT EXISTS scanned_commit (
    result_set INTEGER NOT NULL, sha TEXT NOT NULL, parent TEXT, committed INTEGER,
    position INTEGER, author TEXT, title TEXT,
    status TEXT NOT NULL, reason TEXT, seconds REAL, worker TEXT, attempts INTEGER DEFAULT 0,
    finished REAL, notes TEXT,
    PRIMARY KEY (result_set, sha));
CREATE TABLE IF NOT EXISTS scan_finding (
    result_set INTEGER NOT NULL, sha TEXT NOT NULL, n INTEGER NOT NULL,
    kind TEXT, file TEXT, line INTEGER, identity TEXT, new INTEGER, data TEXT,
    PRIMARY KEY (result_set, sha, n));
CREATE INDEX IF NOT EXISTS scan_finding_identity ON scan_finding (result_set, identity);
"""

# A commit's status in a result set: `pending` until the driver records what
# became of it; the other three are final and never redone by a resumed scan.
PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"


class ScanStore:
    """The results of `kwhen scan`: per result set (one kwhen version and one
    set of check options: results of two are never mixed), each commit's
    status and each finding.

    Only the scan's driver writes, one transaction per commit, so a scan
    killed at any point (kill -9, a machine restart) leaves every commit
    either recorded whole or still pending. `synchronous = FULL`: a commit
    recorded is on disk before the next is asked for.
    """

    def __init__(self, path: str | os.PathLike, create: bool = True):
        from kwhen.exceptions import KwhenError

        self.path = Path(path)
        if not create and not self.path.is_file():
            raise KwhenError("no such scan database", path=str(self.path))
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 30000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(SCAN_SCHEMA)
            row = self._db.execute("SELECT value FROM scan_meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO scan_meta VALUES ('schema', ?)",
                                 (str(SCAN_SCHEMA_VERSION),))
            elif row[0] != str(SCAN_SCHEMA_VERSION):
                raise KwhenError(f"a scan database of schema {row[0]}, not "
                                 f"{SCAN_SCHEMA_VERSION}: use another --db", path=str(self.path))
        except sqlite3.DatabaseError as e:
            raise KwhenError(f"not a usable scan database: {e}", path=str(self.path)) from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- result sets -----------------------------------------------------------

    def result_set(self, version: str, options: dict, create: bool = True) -> int | None:
        """The id of the result set of `version` and `options` (created when
        missing, unless `create` is false)."""
        import time

        text = json.dumps(options, sort_keys=True)
        row = self._db.execute("SELECT id FROM result_set WHERE version = ? AND options = ?",
                               (version, text)).fetchone()
        if row is not None:
            self._db.execute("UPDATE result_set SET used = ? WHERE id = ?", (time.time(), row[0]))
            return row[0]
        if not create:
            return None
        now = time.time()
        cur = self._db.execute("INSERT INTO result_set (version, options, created, used) "
                               "VALUES (?, ?, ?, ?)", (version, text, now, now))
        return cur.lastrowid

    def result_sets(self) -> list[dict]:
        """Every result set, the most recently used first, with its counts."""
        out = []
        for ident, version, options, created, used in self._db.execute(
                "SELECT id, version, options, created, used FROM result_set ORDER BY used DESC, id DESC"):
            counts = dict(self._db.execute(
                "SELECT status, COUNT(*) FROM scanned_commit WHERE result_set = ? GROUP BY status",
                (ident,)).fetchall())
            out.append({"id": ident, "version": version, "options": json.loads(options),
                        "created": created, "used": used, "commits": counts})
        return out

    # -- commits ----------------------------------------------------------------

    def add_commits(self, result_set: int, commits) -> None:
        """Register commits (dicts: sha, parent, committed, position, author,
        title) as pending; those already known keep what they have."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO scanned_commit (result_set, sha, parent, committed, position,"
                " author, title, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(result_set, c["sha"], c.get("parent"), c.get("committed"), c.get("position"),
                  c.get("author"), c.get("title"), PENDING) for c in commits])

    def statuses(self, result_set: int) -> dict[str, str]:
        """sha -> status of every commit of the result set."""
        return dict(self._db.execute("SELECT sha, status FROM scanned_commit WHERE result_set = ?",
                                     (result_set,)).fetchall())

    def record(self, result_set: int, sha: str, status: str, reason: str | None = None,
               seconds: float | None = None, worker: str | None = None, attempts: int = 1,
               findings: list[dict] | None = None, notes: dict | None = None) -> None:
        """What became of one commit, with its findings (each a dict as
        `kwhen check --format json` gives it), in one transaction."""
        import time

        rows = []
        for n, f in enumerate(findings or []):
            rows.append((result_set, sha, n, f.get("kind"), f.get("file"), f.get("line"),
                         finding_identity(f), None, json.dumps(f, sort_keys=True, default=str)))
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM scan_finding WHERE result_set = ? AND sha = ?",
                             (result_set, sha))
            self._db.executemany("INSERT INTO scan_finding VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            cur = self._db.execute(
                "UPDATE scanned_commit SET status = ?, reason = ?, seconds = ?, worker = ?,"
                " attempts = ?, finished = ?, notes = ? WHERE result_set = ? AND sha = ?",
                (status, reason, seconds, worker, attempts, time.time(),
                 json.dumps(notes, sort_keys=True) if notes else None, result_set, sha))
            if cur.rowcount == 0:
                self._db.execute(
                    "INSERT INTO scanned_commit (result_set, sha, status, reason, seconds, worker,"
                    " attempts, finished, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (result_set, sha, status, reason, seconds, worker, attempts, time.time(),
                     json.dumps(notes, sort_keys=True) if notes else None))

    def commits(self, result_set: int, shas=None) -> list[dict]:
        """The commits of a result set in history order (oldest first);
        only those of `shas` when given."""
        names = ("sha", "parent", "committed", "position", "author", "title", "status", "reason",
                 "seconds", "worker", "attempts", "finished", "notes")
        rows = self._db.execute(
            f"SELECT {', '.join(names)} FROM scanned_commit WHERE result_set = ?"
            " ORDER BY committed, position, sha", (result_set,)).fetchall()
        wanted = set(shas) if shas is not None else None
        out = []
        for row in rows:
            entry = dict(zip(names, row))
            if wanted is not None and entry["sha"] not in wanted:
                continue
            entry["notes"] = json.loads(entry["notes"]) if entry["notes"] else {}
            out.append(entry)
        return out

    # -- findings ---------------------------------------------------------------

    def mark_new(self, result_set: int) -> None:
        """Decide for each finding whether it is new in its commit or was
        already reported for an earlier one (the same identity: kind, file
        and message with line numbers left out), in history order, so the
        answer does not depend on the order in which workers finished."""
        seen: set = set()
        updates = []
        for sha, n, identity, new in self._db.execute(
                "SELECT f.sha, f.n, f.identity, f.new FROM scan_finding f JOIN scanned_commit c"
                " ON c.result_set = f.result_set AND c.sha = f.sha WHERE f.result_set = ?"
                " ORDER BY c.committed, c.position, c.sha, f.n", (result_set,)).fetchall():
            value = 0 if identity in seen else 1
            seen.add(identity)
            if new != value:
                updates.append((value, result_set, sha, n))
        if updates:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("UPDATE scan_finding SET new = ? WHERE result_set = ? AND sha = ?"
                                     " AND n = ?", updates)

    def findings(self, result_set: int) -> list[dict]:
        """Every finding of the result set, in history order: the stored
        JSON with `commit` (the full id) and `new` added."""
        out = []
        for sha, data, new in self._db.execute(
                "SELECT f.sha, f.data, f.new FROM scan_finding f JOIN scanned_commit c"
                " ON c.result_set = f.result_set AND c.sha = f.sha WHERE f.result_set = ?"
                " ORDER BY c.committed, c.position, c.sha, f.n", (result_set,)):
            entry = json.loads(data)
            entry["commit"] = sha
            entry["new"] = None if new is None else bool(new)
            out.append(entry)
        return out


def finding_identity(finding: dict) -> str:
    """What makes two commits' findings the same problem: the kind, the file
    and the message with line numbers left out (code moves between commits)."""
    import re

    message = re.sub(r"(:|line )\d+", r"\1#", str(finding.get("message", "")))
    return "\0".join([str(finding.get("kind")), str(finding.get("file")), message])


def _item_sizes(db) -> list[tuple[str, str, str | None, int, int]]:
    """(kind, key, tree root, last used, bytes with its parts) of every item."""
    parts = dict(((kind, key), size) for kind, key, size in db.execute(
        "SELECT kind, key, SUM(LENGTH(data)) FROM part GROUP BY kind, key"))
    return [(kind, key, root, used, size + parts.get((kind, key), 0))
            for kind, key, root, used, size in db.execute(
                "SELECT kind, key, root, used, LENGTH(data) + LENGTH(deps) FROM item")]


DEFAULT_CACHE_MAX = 1 << 30


def max_cache_bytes() -> int:
    """The cache's cap: $KWHEN_CACHE_MAX (bytes, or with K, M, G), else 1 GiB."""
    text = os.environ.get("KWHEN_CACHE_MAX", "").strip().upper().removesuffix("B")
    if not text:
        return DEFAULT_CACHE_MAX
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMG" else text
    try:
        return max(0, int(float(number) * scale))
    except ValueError:
        raise KwhenError(f"KWHEN_CACHE_MAX: expected a size such as 500M or 2G, got "
                         f"'{os.environ['KWHEN_CACHE_MAX']}'") from None


def _arch_of(kind: str, key: str) -> str:
    # model keys are "version|root|arch|..." (kwhen.models); other kinds
    # (the definition index, by git tree) are not per architecture
    fields = key.split("|")
    return fields[2] if kind in ("kconfig", "kbuild", "cpp", "cppflags") and len(fields) > 2 else "-"


def _open_existing(directory: Path | None):
    path = Path(directory or default_cache_dir()) / "kwhen.sqlite3"
    if not path.exists():
        return path, None
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5.0, isolation_level=None)
        db.execute("SELECT 1 FROM item LIMIT 1")
    except _DAMAGE as exc:
        raise KwhenError(f"cannot read the cache: {_reason(exc)}", path=str(path)) from None
    return path, db


def usage(directory: Path | None = None) -> dict:
    """The cache's place, size and items by tree and architecture (`kwhen cache`)."""
    path, db = _open_existing(directory)
    files = [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]
    on_disk = sum(p.stat().st_size for p in files if p.exists())
    groups: dict[tuple[str, str], dict] = {}
    if db is not None:
        try:
            for kind, key, root, used, size in _item_sizes(db):
                tree = root or "(any tree)"
                group = groups.setdefault((tree, _arch_of(kind, key)),
                                          {"items": 0, "bytes": 0, "used": 0})
                group["items"] += 1
                group["bytes"] += size
                group["used"] = max(group["used"], used or 0)
        except _DAMAGE as exc:
            raise KwhenError(f"cannot read the cache: {_reason(exc)}", path=str(path)) from None
        finally:
            db.close()
    entries = []
    for (tree, arch), g in sorted(groups.items()):
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(g["used"] / 1e9)) if g["used"] else "never"
        entries.append({"tree": tree, "arch": arch, "items": g["items"], "bytes": g["bytes"],
                        "last_used": last})
    return {"path": str(path), "bytes": on_disk, "max_bytes": max_cache_bytes(), "entries": entries}


def clear(root: str | None = None, directory: Path | None = None) -> int:
    """Delete every item (the database files themselves), or only the items
    of the tree `root`; the number of items removed."""
    path, db = _open_existing(directory)
    if db is None:
        return 0
    try:
        if root is None:
            count = db.execute("SELECT COUNT(*) FROM item").fetchone()[0]
        else:
            keys = list(db.execute("SELECT kind, key FROM item WHERE root = ?", (root,)))
            count = len(keys)
            with db:
                db.execute("BEGIN IMMEDIATE")
                for table in ("item", "part", "part_set"):
                    db.executemany(f"DELETE FROM {table} WHERE kind = ? AND key = ?", keys)
    except _DAMAGE as exc:
        raise KwhenError(f"cannot clear the cache: {_reason(exc)}", path=str(path)) from None
    finally:
        db.close()
    if root is None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    return count
