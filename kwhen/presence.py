"""Presence conditions: the three layers of a tree together.

A line of C is built in a configuration when Kconfig admits the
configuration, Kbuild compiles the file in it, and the preprocessor keeps
the line. `Tree` loads each layer once (from the cache when it can) and
answers `file_condition` and `line_condition` for one architecture.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kwhen import __version__
from kwhen.exceptions import KwhenError
from kwhen.kconfig.model import KconfigModel
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj
from kwhen.readfile import read_text
from kwhen.sqldata import Cache, Unreadable

SOURCE_SUFFIXES = (".c", ".S", ".s")
HEADER_SUFFIXES = (".h",)


@dataclass
class FileCondition:
    """When a file is compiled on one architecture.

    kind: "source" (a Makefile compiles it), "header" (compiled wherever it
    is included; its own condition is TRUE), "unreached" (a C or assembly
    file no Makefile on this architecture compiles; it may still be
    #included by another file).
    """
    path: str
    kind: str
    builtin: Formula
    module: Formula

    @property
    def built(self) -> Formula:
        return disj(self.builtin, self.module)


def find_tree(start: Path | None = None) -> Path:
    """The tree to analyse when --tree is not given: the git top level of
    the working directory, or the working directory itself."""
    from kwhen.git import toplevel

    start = Path(start or os.getcwd())
    return toplevel(start) or start


def _resolved(path: Path, shown: str | None = None) -> Path:
    """`path` with symbolic links resolved; a loop is bad input."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):     # RuntimeError before Python 3.13
        raise KwhenError("symbolic link loop", path=shown or str(path)) from None


class Tree:
    """One Kconfig/Kbuild tree seen from one architecture."""

    def __init__(self, root: Path, arch: str | None = None, trust_tree: bool = False,
                 cache: Cache | None = None, state=None):
        from kwhen.kconfig.arches import resolve_arch

        root = _resolved(Path(root))
        if not root.is_dir():
            raise KwhenError("no such directory", path=str(root))
        self.root = root
        self.arch, self.srcarch = resolve_arch(root, arch)
        self.trust_tree = trust_tree
        self.cache = cache if cache is not None else Cache(enabled=False)
        # A patch state (kwhen.patch.target.TreeState) whose files override
        # the directory's: C files are read through it, so the pre- and
        # post-image of a patch that changes only C files share one model.
        self.state = state
        self._cpp: dict[str, object] = {}

    def with_state(self, state) -> "Tree":
        """The same tree and architecture, with C files read from `state`.

        The Kconfig and Kbuild layers are shared, so `state` must not change
        Kconfig files or Makefiles (materialize such states instead).
        """
        other = Tree.__new__(Tree)
        other.__dict__.update(self.__dict__)
        other.state = state
        other._cpp = {}
        return other

    # -- the layers, each loaded once and cached across runs ----------------

    def _cache_key(self, *parts) -> str:
        # (the cache itself holds only items of this kwhen's code: sqldata)
        return "|".join([__version__, str(self.root), self.arch,
                         "trusted" if self.trust_tree else "untrusted", *parts])

    @cached_property
    def model(self) -> KconfigModel:
        key = self._cache_key()
        blob = self.cache.get("kconfig", key, self.root)
        from kwhen.kconfig.arches import pin_arch_symbol

        self.model_was_cached = blob is not None and self.cache.has_parts("kconfig", key)
        if self.model_was_cached:
            model = KconfigModel.from_bytes(blob)
            model.enable_loader = lambda: self._enable_data(key)
            pin_arch_symbol(model)
            return model
        model = self._build_model()
        self.cache.put("kconfig", key, self.root, model.sources, model.to_bytes(),
                       self._model_started, parts={"enable": model.enable_data})
        pin_arch_symbol(model)
        return model

    def _build_model(self) -> KconfigModel:
        from kwhen.kconfig.translate import build_model

        self._model_started = time.time_ns()
        try:
            return build_model(self.root, self.arch, trust_tree=self.trust_tree,
                               on_symbols=self._start_kbuild)
        except BaseException:
            self._stop_kbuild()
            raise

    def _enable_data(self, key: str) -> bytes:
        """The model's enabling conditions, from the cache (or rebuilt)."""
        try:
            found = self.cache.get_part("kconfig", key, "enable")
        except Unreadable:
            found = None
        if found is None:
            from kwhen.kconfig.translate import build_model

            found = build_model(self.root, self.arch, trust_tree=self.trust_tree).enable_data
        return found

    # Kbuild needs only the symbol table, which exists seconds before the
    # Kconfig translation is done: on a cold start it is computed meanwhile
    # in a forked process, on the machine's other core.
    _kbuild_job = None

    def _kbuild_key(self, types: dict) -> str:
        import hashlib
        import json

        table = hashlib.blake2b(json.dumps(sorted(types.items())).encode(),
                                digest_size=12).hexdigest()
        return self._cache_key(table)

    def _start_kbuild(self, symbols: dict) -> None:
        import multiprocessing

        if "kbuild" in self.__dict__ or (os.cpu_count() or 1) < 2:
            return
        types = {name: info.type for name, info in symbols.items()}
        if self.cache.get("kbuild", self._kbuild_key(types), self.root) is not None:
            return
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            return
        receiver, sender = ctx.Pipe(duplex=False)
        job = ctx.Process(target=_kbuild_child, daemon=True,
                          args=(self.root, self.srcarch, self.arch, symbols, sender))
        job.start()
        sender.close()
        self._kbuild_job = (job, receiver, types, time.time_ns())

    def _stop_kbuild(self) -> None:
        if self._kbuild_job is not None:
            self._kbuild_job[0].kill()
            self._kbuild_job = None

    def _collect_kbuild(self):
        """The forked Kbuild result, or None to compute it here."""
        import json

        from kwhen.kbuild.tree import KbuildResult

        job, receiver, types, started = self._kbuild_job
        self._kbuild_job = None
        try:
            kind, payload = receiver.recv()
        except (EOFError, OSError):
            kind, payload = "lost", None
        job.join()
        if kind == "error":
            raise KwhenError(*payload)
        if kind != "ok" or types != self.symbol_types:
            return None
        data = json.loads(payload)
        self._store_kbuild(self._kbuild_key(types), data, started)
        return KbuildResult.from_data(data)

    def _store_kbuild(self, key: str, data: dict, started: int) -> None:
        """Kbuild conditions (`KbuildResult.to_data`) go in the cache one
        file each, beside the rest, so a warm query decodes the file it asks
        about and not 24,000."""
        import json

        rest = {name: value for name, value in data.items() if name != "files"}
        parts = {path: json.dumps(pair).encode() for path, pair in data["files"].items()}
        self.cache.put("kbuild", key, self.root, data["makefiles"],
                       json.dumps(rest).encode(), started, parts=parts)

    @cached_property
    def symbol_types(self) -> dict[str, str]:
        return {name: info.type for name, info in self.model.symbols.items()}

    @cached_property
    def space(self):
        from kwhen.logic.solver import ConfigSpace

        return ConfigSpace(self.model)

    @cached_property
    def kbuild(self):
        import json

        from kwhen.kbuild.tree import KbuildResult, kbuild_conditions

        # Kbuild conditions depend on the symbol table (which CONFIG_ names
        # exist, and which are tristate), not on the rest of the model.
        key = self._kbuild_key(self.symbol_types)
        if self._kbuild_job is not None:
            result = self._collect_kbuild()
            if result is not None:
                return result
        blob = self.cache.get("kbuild", key, self.root)
        if blob is not None:
            data = json.loads(blob)
            if self.cache.has_parts("kbuild", key):
                def recompute():
                    fresh = kbuild_conditions(self.root, self.srcarch, self.arch,
                                              self.model.symbols)
                    return fresh.to_data()["files"]
                data["files"] = _CachedParts(self.cache, "kbuild", key, recompute)
                return KbuildResult.from_data(data)
        started = time.time_ns()
        result = kbuild_conditions(self.root, self.srcarch, self.arch, self.model.symbols)
        self._store_kbuild(key, result.to_data(), started)
        return result

    # -- paths ----------------------------------------------------------------

    def relpath(self, path: str | os.PathLike) -> str:
        """`path` (absolute, or relative to the working directory or to the
        tree) as a path relative to the tree; it must exist inside it."""
        p = Path(path)
        candidates = [p] if p.is_absolute() else [Path.cwd() / p, self.root / p]
        for candidate in candidates:
            resolved = _resolved(candidate, shown=str(path))
            if resolved.exists():
                try:
                    return resolved.relative_to(self.root).as_posix()
                except ValueError:
                    raise KwhenError(f"path is outside the tree {self.root}", path=str(path))
        raise KwhenError("no such file", path=str(path))

    def read_text(self, relpath: str) -> str:
        if self.state is not None:
            text = self.state.read(relpath)
            if text is None:
                raise KwhenError("no such file in this state of the tree", path=relpath)
            return text
        return read_text(self.root / relpath, shown=relpath)

    # -- conditions -----------------------------------------------------------

    def file_condition(self, relpath: str) -> FileCondition:
        if relpath.endswith(HEADER_SUFFIXES):
            return FileCondition(relpath, "header", TRUE, FALSE)
        found = self.kbuild.files.get(relpath)
        if found is not None:
            return FileCondition(relpath, "source", found[0], found[1])
        if relpath.endswith(SOURCE_SUFFIXES):
            return FileCondition(relpath, "unreached", FALSE, FALSE)
        raise KwhenError("kwhen answers for C and assembly sources (.c, .S) and headers (.h)",
                         path=relpath)

    def facts(self, relpath: str) -> dict:
        """Macros whose value is known for every compilation of the file."""
        assembly = relpath.endswith((".S", ".s"))
        facts = {"__KERNEL__": 1, "__cplusplus": None}
        if not relpath.endswith(HEADER_SUFFIXES):
            facts["__ASSEMBLY__"] = 1 if assembly else None
        return facts

    def cpp(self, relpath: str):
        """The #if structure of a file (scanned once per process)."""
        found = self._cpp.get(relpath)
        if found is None:
            from kwhen.cpp.directives import scan

            found = scan(self.read_text(relpath), relpath, self.symbol_types, self.facts(relpath))
            self._cpp[relpath] = found
        return found

    def line_condition(self, relpath: str, line: int) -> Formula:
        """When line `line` of the file is compiled on this architecture."""
        return self.combine(self.file_condition(relpath), self.cpp(relpath).condition_at(line))

    @staticmethod
    def combine(file: FileCondition, cpp_condition: Formula) -> Formula:
        """Kbuild and preprocessor conditions together.

        MODULE is defined exactly when the file is compiled as a module, so
        it is resolved here rather than left free.
        """
        if file.kind == "header":
            return cpp_condition
        builtin = conj(file.builtin, cpp_condition.substitute({"MODULE": FALSE}))
        module = conj(file.module, cpp_condition.substitute({"MODULE": TRUE}))
        return disj(builtin, module)


class _CachedParts(Mapping):
    """name -> decoded JSON of an item's parts, read from the cache one at a
    time when asked. If a part cannot be trusted (damaged, or another kwhen
    replaced the item meanwhile), the whole mapping is computed afresh by
    `recompute` and used from then on: never a guess."""

    def __init__(self, cache: Cache, kind: str, key: str, recompute):
        self._cache, self._kind, self._key = cache, kind, key
        self._recompute = recompute
        self._fresh = None       # the recomputed mapping, once needed
        self._names = None

    def _fallback(self):
        if self._fresh is None:
            self._fresh = self._recompute()
        return self._fresh

    def _raw(self, name):
        if self._fresh is None:
            try:
                return self._cache.get_part(self._kind, self._key, name)
            except Unreadable:
                pass
        return self._fallback().get(name)

    def __getitem__(self, name):
        import json

        raw = self._raw(name)
        if raw is None:
            raise KeyError(name)
        return json.loads(raw) if isinstance(raw, bytes) else raw

    def __contains__(self, name):
        return self._raw(name) is not None

    def _all_names(self) -> list:
        if self._names is None:
            try:
                names = self._cache.part_names(self._kind, self._key) \
                    if self._fresh is None else self._fresh
            except Unreadable:
                names = self._fallback()
            self._names = sorted(names)
        return self._names

    def __iter__(self):
        return iter(self._all_names())

    def __len__(self):
        return len(self._all_names())


def _kbuild_child(root, srcarch, arch, symbols, sender) -> None:
    """Body of the forked Kbuild process: send the result or the error."""
    import json

    from kwhen.kbuild.tree import kbuild_conditions

    try:
        result = kbuild_conditions(root, srcarch, arch, symbols)
        sender.send(("ok", json.dumps(result.to_data())))
    except KwhenError as e:
        sender.send(("error", (e.message, e.path, e.line)))
    except Exception as e:  # reported by the parent computing it again itself
        sender.send(("failed", repr(e)))
    finally:
        sender.close()
        os._exit(0)   # no atexit handlers, no flushing of the parent's SQLite
