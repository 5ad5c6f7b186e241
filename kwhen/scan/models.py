"""A worker's Kconfig and Kbuild models, per architecture, carried from one
commit to the next.

Models always describe the revision being looked at: a commit is checked
with models of its parent (the pre-image) and of itself (the post-image),
never with models of another state of the tree unless the files they were
computed from are identical. Between two revisions the models are updated
only where the change reaches them:

- the Kconfig model is rebuilt when a Kconfig file it read changed, a
  Kconfig file was added or removed, or the top Makefile (the kernel
  version Kconfig sees) or the defconfig it takes its base from changed;
- the Kbuild conditions are rebuilt when a Makefile they read changed, a
  Makefile, Kbuild or Kconfig file or a C or assembly source was added or
  removed (Kbuild looks for each object's source), or the Kconfig symbol
  table changed;
- anything else (a commit touching only C files, another architecture's
  Kconfig, a board's defconfig) keeps the models as they are, in memory.

A layer that must be rebuilt is first looked up by content (`ModelStore`):
the git blob ids of the files it was computed from. A history comes back
to the same Kconfig files often (topic branches forked from one release,
a change and its revert), and the store is in the kwhen cache, so the
workers of a machine share it and a resumed scan starts warm.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from kwhen import git
from kwhen.models import ArchModels
from kwhen.presence import Tree
from kwhen.sqldata import Cache, Unreadable

_ADDED_OR_REMOVED = ("A", "D")


_LAYERS = ("model", "symbol_types", "space", "kbuild")


@dataclass
class Held:
    """One architecture's models, valid for the files of revision `rev`."""
    arch: str
    rev: str
    models: ArchModels

    @property
    def tree(self) -> Tree:
        return Tree(models=self.models, partial=True)   # as kwhen check reads it

    @property
    def kconfig_files(self) -> set[str]:
        files = set(self.models.model.sources)
        files.add("Makefile")
        return files

    @property
    def makefiles(self) -> set[str]:
        return set(self.models.kbuild.makefiles)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def reaches(held: Held, changed: dict[str, str]) -> tuple[bool, bool]:
    """Whether changes (path -> git status letter) reach the Kconfig model
    and the Kbuild conditions of `held`."""
    kconfig_files = held.kconfig_files
    base = held.models.model.base_name
    kconfig = kbuild = False
    for path, status in changed.items():
        name = _name(path)
        if path in kconfig_files or (name == base and "configs/" in path):
            kconfig = True
        if name.startswith("Kconfig") and status in _ADDED_OR_REMOVED:
            kconfig = True
    makefiles = held.makefiles
    for path, status in changed.items():
        name = _name(path)
        if path in makefiles:
            kbuild = True
        elif status in _ADDED_OR_REMOVED and (
                name.startswith(("Makefile", "Kbuild", "Kconfig")) or name.endswith(".mk")
                or name.endswith((".c", ".S", ".s"))):
            kbuild = True
    return kconfig, kbuild


class ModelStore:
    """Kconfig models and Kbuild conditions in the kwhen cache, keyed by
    the content of the files they were computed from at a revision (git
    blob ids), so a model is found again whichever checkout or revision
    it was built for."""

    KCONFIG, KBUILD = "scan-kconfig", "scan-kbuild"

    def __init__(self, cache: Cache, root: Path):
        self.cache = cache
        self.root = Path(root)
        self._listings: dict[str, dict[str, str]] = {}

    def listing(self, rev: str) -> dict[str, str]:
        """path -> blob id of every file of `rev`."""
        found = self._listings.get(rev)
        if found is None:
            out = git.run(self.root, "ls-tree", "-r", "-z", "--full-tree", rev)
            found = {}
            for entry in out.decode("utf-8", "surrogateescape").split("\0"):
                meta, _, path = entry.partition("\t")
                if path:
                    found[path] = meta.rsplit(" ", 1)[-1]
            if len(self._listings) > 4:
                self._listings.clear()
            self._listings[rev] = found
        return found

    @staticmethod
    def _digest(*parts) -> str:
        import hashlib
        import json

        return hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(),
                               digest_size=16).hexdigest()

    def kconfig_key(self, arch: str, rev: str, sources, base_name: str, trusted: bool) -> str:
        files = self.listing(rev)
        read = sorted(set(sources) | {"Makefile"})
        bases = sorted(p for p in files if p.rsplit("/", 1)[-1] == base_name and "configs/" in p)
        return self._digest(arch, trusted, [(p, files.get(p)) for p in read + bases])

    def kbuild_key(self, arch: str, rev: str, makefiles, types: dict) -> str:
        files = self.listing(rev)
        # Kbuild also looks at which files exist (foo.c or foo.S; a
        # directory's Makefile): the names of all of them are in the key
        return self._digest(arch, sorted(types.items()),
                            [(p, files.get(p)) for p in sorted(set(makefiles))],
                            self._digest(sorted(files)))

    def get_model(self, key: str):
        from kwhen.kconfig.arches import pin_arch_symbol
        from kwhen.kconfig.model import KconfigModel

        blob = self.cache.get(self.KCONFIG, key, self.root)
        if blob is None:
            return None
        try:
            enable = self.cache.get_part(self.KCONFIG, key, "enable")
        except Unreadable:
            return None
        if enable is None:
            return None
        model = KconfigModel.from_bytes(blob)
        model.enable_data = enable
        pin_arch_symbol(model)
        return model

    def put_model(self, key: str, model) -> None:
        import time

        self.cache.put(self.KCONFIG, key, self.root, [], model.to_bytes(), time.time_ns(),
                       parts={"enable": model.enable_data})

    def get_kbuild(self, key: str):
        import json

        from kwhen.kbuild.tree import KbuildResult

        blob = self.cache.get(self.KBUILD, key, self.root)
        if blob is None:
            return None
        return KbuildResult.from_data(json.loads(blob))

    def put_kbuild(self, key: str, kbuild) -> None:
        import json
        import time

        self.cache.put(self.KBUILD, key, self.root, [], json.dumps(kbuild.to_data()).encode(),
                       time.time_ns())


def new_models(root: Path, arch: str, options: dict, cache: Cache) -> ArchModels:
    """Models for the scan. Kbuild is computed in the worker's own process:
    `ArchModels` would fork a process for it while Kconfig is translated,
    which a Dask worker (a daemonic process) may not do, and which would
    only compete with the other workers for the cores."""
    models = ArchModels(root, arch, trust_tree=bool(options.get("trust_tree")), cache=cache)
    models._start_kbuild = lambda symbols: None
    return models


def derived(held: Held, root: Path, rev: str, changed: dict[str, str], options: dict,
            store: ModelStore) -> tuple[Held, str]:
    """Models of revision `rev`, whose files are in `root`, from `held`
    of another revision that differs by `changed`; and what was done:
    "kept", or the layers rebuilt ("kconfig", "kbuild"), or found by
    content ("kconfig stored", "kbuild stored")."""
    kconfig, kbuild = reaches(held, changed)
    if not kconfig and not kbuild and Path(root).resolve() == held.models.root:
        return Held(held.arch, rev, held.models), "kept"
    # (the cache is the store's: these models keep nothing by path)
    models = new_models(root, held.arch, options, Cache(enabled=False))
    old = held.models
    trusted = bool(options.get("trust_tree"))
    done = []
    if kconfig:
        key = store.kconfig_key(held.arch, rev, old.model.sources, old.model.base_name, trusted)
        model = store.get_model(key)
        if model is not None:
            models.__dict__["model"] = model
            done.append("kconfig stored")
        else:
            model = models.model
            store.put_model(store.kconfig_key(held.arch, rev, model.sources, model.base_name,
                                              trusted), model)
            done.append("kconfig")
    else:
        for name in ("model", "symbol_types", "space"):
            models.__dict__[name] = getattr(old, name)
    if kbuild or models.symbol_types != old.symbol_types:
        key = store.kbuild_key(held.arch, rev, old.kbuild.makefiles, models.symbol_types)
        result = updated_kbuild(old, models, changed)
        if result is not None:
            models.__dict__["kbuild"] = result
            store.put_kbuild(store.kbuild_key(held.arch, rev, result.makefiles,
                                              models.symbol_types), result)
            done.append(f"kbuild updated ({len(result.walk.reread)} of "
                        f"{len(result.walk.dirs)} directories read again)")
        elif (result := store.get_kbuild(key)) is not None:
            models.__dict__["kbuild"] = result
            done.append("kbuild stored")
        else:
            result = models.kbuild
            store.put_kbuild(store.kbuild_key(held.arch, rev, result.makefiles,
                                              models.symbol_types), result)
            done.append("kbuild")
    else:
        models.__dict__["kbuild"] = old.kbuild
        models._phase_kbuild = dict(old._phase_kbuild)    # (SPL's... as unchanged)
    load(models)
    return Held(held.arch, rev, models), "+".join(done) or "moved"


def updated_kbuild(old: ArchModels, models: ArchModels, changed: dict[str, str]):
    """The Kbuild conditions of `models`' files from those of `old`, whose
    files differ by `changed`, walking again only the directories the
    change reaches (`kbuild_conditions(previous=...)`); None when `old`'s
    walk is not in memory (read from the cache) or the symbol tables differ."""
    from kwhen.kbuild.tree import kbuild_conditions

    previous = old.kbuild
    if previous.walk is None or models.model.kbuild_table() != old.model.kbuild_table():
        return None
    return kbuild_conditions(models.root, models.srcarch, models.arch, models.model.symbols,
                             partial=True, previous=previous, changed=changed)


def fresh(arch: str, root: Path, rev: str, options: dict, cache: Cache) -> Held:
    """Models of revision `rev` (in `root`) built without a predecessor
    (from the cache when it holds them for these files)."""
    models = new_models(root, arch, options, cache)
    load(models)
    return Held(arch, rev, models)


def load(models: ArchModels) -> None:
    """Compute (or read) every layer now, so that the models answer from
    memory whatever happens to their directory afterwards."""
    models.model, models.kbuild, models.space
    model = models.model
    if model.enable_data is None and model.enable_loader is not None:
        model.enable_data = model.enable_loader()
    kbuilds = [models.kbuild]
    # U-Boot's earlier phases too (SPL, TPL, VPL): their Kbuild models are
    # otherwise walked when a question first reaches them
    kbuilds += [models.kbuild_of(phase) for phase in models.phases if not phase.proper]
    for kbuild in kbuilds:
        files = kbuild.files
        if not isinstance(files, dict):
            kbuild.files = {path: files[path] for path in files}


def rehome(held: Held, root: Path, rev: str) -> Held:
    """The same models (all in memory: `load`) for the same files found in
    another directory."""
    if held.models.root == Path(root).resolve():
        return Held(held.arch, rev, held.models)
    models = ArchModels(root, held.arch, trust_tree=held.models.trust_tree,
                        cache=held.models.cache)
    for name in _LAYERS:
        models.__dict__[name] = getattr(held.models, name)
    models.__dict__["phases"] = held.models.phases
    models._phase_kbuild = dict(held.models._phase_kbuild)
    return Held(held.arch, rev, models)


class Later:
    """Stands for an `ArchModels` made by `make()` when first asked for
    anything: models a check may never read are never built."""

    def __init__(self, make):
        self.__dict__["_make"] = make
        self.__dict__["_made"] = None

    def __getattr__(self, name):
        made = self.__dict__["_made"]
        if made is None:
            made = self.__dict__["_made"] = self.__dict__["_make"]()
        return getattr(made, name)


def remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
