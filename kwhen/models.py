"""The models of one tree on one architecture, each loaded once and cached
across runs: the Kconfig model, the Kbuild conditions of the files, the
configuration space. `presence.Tree` asks them its questions.

Loading stays lazy: a question that needs no Kbuild condition never reads
one, and a warm start decodes only the cache items it asks for.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from kwhen import __version__, progress
from kwhen.exceptions import KwhenError
from kwhen.kconfig.model import KconfigModel
from kwhen.sqldata import Cache, Unreadable

__all__ = ["ArchModels", "resolved"]


def resolved(path: Path, shown: str | None = None) -> Path:
    """`path` with symbolic links resolved; a loop is bad input."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError):     # RuntimeError before Python 3.13
        raise KwhenError("symbolic link loop", path=shown or str(path)) from None


class ArchModels:
    """The Kconfig and Kbuild models of the tree `root` on one architecture.

    `model`, `kbuild` and `space` are loaded when first asked for, from the
    cache when it holds them for the current files. `built_model` says
    whether this process had to build the Kconfig model (a cold cache).
    """

    def __init__(self, root: Path, arch: str | None = None, trust_tree: bool = False,
                 cache: Cache | None = None, identity: str | dict | None = None, origin=None):
        from kwhen.kconfig.arches import resolve_arch

        root = resolved(root)
        if not root.is_dir():
            raise KwhenError("no such directory", path=str(root))
        self.root = root
        # What the cache files this tree's items under: its path, or for a
        # tree materialised in a scratch directory the state it holds (so a
        # later process finds them; every item still checks the content of
        # the files it was made from, whatever its key says).
        # (a dict gives each layer its own: "kconfig", and the rest)
        self.identity = identity or str(root)
        # (work tree, TreeState) a scratch tree was materialised from: its
        # files are the work tree's but where the state differs, so indexes
        # of the work tree serve it too
        self.origin = origin
        self.arch, self.srcarch = resolve_arch(root, arch)
        self.trust_tree = trust_tree
        self.cache = cache if cache is not None else Cache(enabled=False)
        self.built_model = False
        self._phase_kbuild: dict = {}

    def _cache_key(self, *parts, layer: str = "kbuild") -> str:
        # (the cache itself holds only items of this kwhen's code: sqldata)
        identity = self.identity if isinstance(self.identity, str) else self.identity[layer]
        return "|".join([__version__, identity, self.arch,
                         "trusted" if self.trust_tree else "untrusted", *parts])

    # -- Kconfig ----------------------------------------------------------------

    @cached_property
    def model(self) -> KconfigModel:
        """The Kconfig model (with the architecture's own symbol pinned)."""
        from kwhen.kconfig.arches import pin_arch_symbol

        key = self._cache_key(layer="kconfig")
        blob = self.cache.get("kconfig", key, self.root)
        if blob is not None and self.cache.has_parts("kconfig", key):
            model = KconfigModel.from_bytes(blob)
            model.enable_loader = lambda: self._enable_data(key)
        else:
            started = time.time_ns()
            model = self._build_model()
            self.cache.put("kconfig", key, self.root, model.sources, model.to_bytes(),
                           started, parts={"enable": model.enable_data})
        pin_arch_symbol(model)
        return model

    def _build_model(self) -> KconfigModel:
        from kwhen.kconfig.translate import build_model

        self.built_model = True
        progress.note(f"no cached {self.arch} Kconfig model for {self.root} (or a Kconfig file "
                      "changed): building it")
        try:
            with progress.step(f"building the {self.arch} Kconfig model"):
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

    @cached_property
    def symbol_types(self) -> dict[str, str]:
        """Symbol name -> Kconfig type."""
        return {name: info.type for name, info in self.model.symbols.items()}

    @cached_property
    def space(self):
        """The `ConfigSpace` of the model: what the solver answers."""
        from kwhen.logic.solver import ConfigSpace

        return ConfigSpace(self.model)

    # -- Kbuild -----------------------------------------------------------------

    # Kbuild needs only the symbol table, which exists seconds before the
    # Kconfig translation is done: on a cold start it is computed meanwhile
    # in a forked process, on the machine's other core.
    def _kbuild_key(self, types: dict) -> str:
        import hashlib
        import json

        table = hashlib.blake2b(json.dumps(sorted(types.items())).encode(),
                                digest_size=12).hexdigest()
        return self._cache_key(table)

    def model_kbuild_key(self) -> str:
        """`_kbuild_key` of the loaded model's symbol table, computed once
        per model (hashing ~15,000 symbols costs 25 ms, and a check asks
        it for every file it reads)."""
        model = self.model
        memo = self.__dict__.get("_model_kbuild_key")
        if memo is None or memo[0] is not model:
            memo = self.__dict__["_model_kbuild_key"] = (model, self._kbuild_key(model.kbuild_table()))
        return memo[1]

    # Whether a cold start forks the walks of the earlier phases too (SPL,
    # TPL, VPL), beside U-Boot proper's: set for the trees a check looks at
    # first, whose every phase it asks about.
    fork_phases = False

    def _start_kbuild(self, symbols: dict) -> None:
        """Fork the Kbuild walks the cache does not hold: U-Boot proper's
        (Linux's only one) and, with `fork_phases`, SPL's, TPL's and VPL's,
        each in its own process, so that on a cold start they run beside the
        Kconfig translation and one another (a U-Boot commit that edits a
        Makefile needs all four walks of each side it changes). Each child
        writes its result to a file and exits, whether or not it is ever
        collected."""
        import multiprocessing
        import tempfile

        if "kbuild" in self.__dict__ or (os.cpu_count() or 1) < 2:
            return
        from kwhen.kbuild.phases import tree_phases
        from kwhen.kconfig.model import kbuild_table

        types = kbuild_table(symbols)
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            return
        phases = tree_phases(self.root, symbols) if self.fork_phases else (None,)
        for phase in phases:
            proper = phase is None or phase.proper
            key = self._kbuild_key(types) if proper else self._phase_key(phase, types)
            if self.cache.get("kbuild", key, self.root) is not None:
                continue
            fd, spool = tempfile.mkstemp(prefix="kwhen-kbuild-")
            os.close(fd)
            _SPOOLS.add(spool)
            job = ctx.Process(target=_kbuild_child, daemon=True,
                              args=(self.root, self.srcarch, self.arch, symbols, spool,
                                    os.getpid(), None if proper else phase))
            job.start()
            self._kbuild_jobs["proper" if proper else phase.name] = (
                job, spool, types, time.time_ns(), key)

    @cached_property
    def _kbuild_jobs(self) -> dict:
        """phase name -> (process, result file, symbol table, start, cache
        key) of each forked walk not collected yet."""
        return {}

    def _stop_kbuild(self) -> None:
        for job, spool, *_rest in self._kbuild_jobs.values():
            job.kill()
            job.join()
            _unspool(spool)
        self._kbuild_jobs.clear()

    def _collect_kbuild(self, phase_name: str = "proper"):
        """The forked Kbuild result of a phase, or None to compute it here."""
        import json
        import pickle

        from kwhen.kbuild.tree import KbuildResult

        found = self._kbuild_jobs.pop(phase_name, None)
        if found is None:
            return None
        job, spool, types, started, key = found
        job.join()
        try:
            with open(spool, "rb") as f:
                kind, payload = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            kind, payload = "lost", None
        finally:
            _unspool(spool)
        if kind == "error":
            raise KwhenError(*payload)
        if kind != "ok" or types != self.model.kbuild_table():
            return None
        data = json.loads(payload)
        self._store_kbuild(key, data, started)
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
    def kbuild(self):
        """The `KbuildResult`: each source file's built-in and module condition."""
        import json

        from kwhen.kbuild.tree import KbuildResult, kbuild_conditions

        # Kbuild conditions depend on the symbol table (which CONFIG_ names
        # exist, and which are tristate), not on the rest of the model.
        key = self.model_kbuild_key()
        if "proper" in self._kbuild_jobs:
            with progress.step(f"computing the {self.arch} Kbuild conditions"):
                result = self._collect_kbuild()
            if result is not None:
                return result
        blob = self.cache.get("kbuild", key, self.root)
        if blob is not None:
            data = json.loads(blob)
            if self.cache.has_parts("kbuild", key):
                def recompute():
                    fresh = kbuild_conditions(self.root, self.srcarch, self.arch,
                                              self.model.symbols, partial=True)
                    return fresh.to_data()["files"]
                data["files"] = _CachedParts(self.cache, "kbuild", key, recompute)
                return KbuildResult.from_data(data)
        started = time.time_ns()
        progress.note(f"no cached {self.arch} Kbuild conditions (or a Makefile changed): "
                      "reading the Makefiles")
        with progress.step(f"computing the {self.arch} Kbuild conditions"):
            result = kbuild_conditions(self.root, self.srcarch, self.arch, self.model.symbols,
                                       partial=True)
        self._store_kbuild(key, result.to_data(), started)
        return result


    # -- phases (U-Boot: proper, SPL, TPL, VPL) ------------------------------------

    @cached_property
    def phases(self) -> tuple:
        """The tree's phases (`kwhen.kbuild.phases.Phase`), proper first;
        Linux has proper alone."""
        from kwhen.kbuild.phases import tree_phases

        return tree_phases(self.root, self.model.symbols)

    def phase(self, name: str):
        """The phase called `name` (proper, spl, tpl, vpl); bad input if
        the tree has none of that name."""
        for phase in self.phases:
            if phase.name == name.lower():
                return phase
        have = ", ".join(p.name for p in self.phases)
        raise KwhenError(f"this tree has no phase '{name}' (it has: {have})")

    def kbuild_of(self, phase):
        """The `KbuildResult` of one phase, computed when first asked for
        (a question about U-Boot proper never walks SPL's makefiles)."""
        if phase is None or phase.proper:
            return self.kbuild
        found = self._phase_kbuild.get(phase.name)
        if found is not None:
            return found
        import json

        from kwhen.kbuild.tree import KbuildResult, kbuild_conditions

        if phase.name in self._kbuild_jobs:
            with progress.step(f"computing the {self.arch} Kbuild conditions of {phase.title}"):
                found = self._collect_kbuild(phase.name)
            if found is not None:
                self._phase_kbuild[phase.name] = found
                return found
        key = self._phase_key(phase)
        blob = self.cache.get("kbuild", key, self.root)
        if blob is not None and self.cache.has_parts("kbuild", key):
            data = json.loads(blob)

            def recompute():
                return kbuild_conditions(self.root, self.srcarch, self.arch, self.model.symbols,
                                         partial=True, phase=phase).to_data()["files"]
            data["files"] = _CachedParts(self.cache, "kbuild", key, recompute)
            found = KbuildResult.from_data(data)
        else:
            started = time.time_ns()
            with progress.step(f"computing the {self.arch} Kbuild conditions of {phase.title}"):
                found = kbuild_conditions(self.root, self.srcarch, self.arch, self.model.symbols,
                                          partial=True, phase=phase)
            self._store_kbuild(key, found.to_data(), started)
        self._phase_kbuild[phase.name] = found
        return found

    def _phase_key(self, phase, types: dict | None = None) -> str:
        base = self.model_kbuild_key() if types is None else self._kbuild_key(types)
        return "|".join([base, "phase", phase.name, *phase.defines, phase.makefile,
                         phase.symbol or ""])


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

    def encoded(self) -> dict:
        """name -> the part as stored (bytes), all read in one query; the
        recomputed mapping's values when the cache failed."""
        if self._fresh is None:
            try:
                return self._cache.get_parts(self._kind, self._key)
            except Unreadable:
                pass
        return self._fallback()

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


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux's
    PR_SET_PDEATHSIG), so a killed kwhen leaves no Kbuild child computing on."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass                                         # not Linux: the pipe's EOF still ends it
    if os.getppid() != parent:                       # the parent died before prctl
        os._exit(0)


# result files of forked Kbuild walks not read yet: removed at exit
_SPOOLS: set = set()


def _unspool(spool: str) -> None:
    _SPOOLS.discard(spool)
    try:
        os.unlink(spool)
    except OSError:
        pass


@atexit.register
def _remove_spools() -> None:
    for spool in list(_SPOOLS):
        _unspool(spool)


def _kbuild_child(root, srcarch, arch, symbols, spool, parent=None, phase=None) -> None:
    """Body of the forked Kbuild process: write the result or the error to
    the file `spool`."""
    import json
    import pickle

    from kwhen.kbuild.tree import kbuild_conditions

    if parent is not None:
        _die_with_parent(parent)
    try:
        try:
            result = kbuild_conditions(root, srcarch, arch, symbols, partial=True, phase=phase)
            outcome = ("ok", json.dumps(result.to_data()))
        except KwhenError as e:
            outcome = ("error", (e.message, e.path, e.line))
        except Exception as e:  # reported by the parent computing it again itself
            outcome = ("failed", repr(e))
        with open(spool, "wb") as f:
            pickle.dump(outcome, f, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        os._exit(0)   # no atexit handlers, no flushing of the parent's SQLite
