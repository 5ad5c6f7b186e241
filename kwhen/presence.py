"""Presence conditions: the three layers of a tree together.

A line of C is built in a configuration when Kconfig admits the
configuration, Kbuild compiles the file in it, and the preprocessor keeps
the line. `Tree` answers `file_condition` and `line_condition` for one
architecture, from the models of `kwhen.models` (loaded once, cached across
runs) and the #if structure of the file.
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kwhen.cpp.expression import PHASE_PREFIX
from kwhen.exceptions import KwhenError
from kwhen.git import toplevel
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, conj_all, disj, neg, var
from kwhen.logic.names import MODULE, make_unknown
from kwhen.models import ArchModels, resolved
from kwhen.readfile import read_text
from kwhen.sources import ASSEMBLY_SUFFIXES, HEADER_SUFFIXES, SOURCE_SUFFIXES
from kwhen.sqldata import Cache


@dataclass
class FileCondition:
    """When a file is compiled on one architecture.

    kind: "source" (a Makefile compiles it), "host" (compiled for the build
    machine, a host program of scripts/ or tools/: `builtin` says when),
    "header" (compiled wherever it is included; its own condition is TRUE),
    "included" (a C or assembly file no Makefile compiles, built through
    the #include lines `through`: `kwhen.inclusion.Route`s), "unreached" (a
    C or assembly file no Makefile on this architecture compiles and no
    includer was found for).
    """
    path: str
    kind: str
    builtin: Formula
    module: Formula
    through: tuple = ()

    @property
    def built(self) -> Formula:
        """When the file is compiled at all (built in or as a module)."""
        return disj(self.builtin, self.module)


def compile_facts(relpath: str, host_program: bool = False) -> dict:
    """Macros whose value is known for every compilation of the file, on
    any architecture."""
    assembly = relpath.endswith(ASSEMBLY_SUFFIXES)
    facts = {"__KERNEL__": 1, "__cplusplus": None}
    if host_program:
        # a host program: compiled by HOSTCC, not the kernel's compiler
        # (U-Boot's tools see USE_HOSTCC)
        facts["__KERNEL__"] = None
        facts["USE_HOSTCC"] = 1
    if not relpath.endswith(HEADER_SUFFIXES):
        facts["__ASSEMBLY__"] = 1 if assembly else None
        facts["__ASSEMBLER__"] = 1 if assembly else None     # (the compiler's)
    return facts


def find_tree(start: Path | None = None) -> Path:
    """The tree to analyse when --tree is not given: the git top level of
    the working directory, or the working directory itself."""
    start = Path(start or os.getcwd())
    return toplevel(start) or start


class Tree:
    """One Kconfig/Kbuild tree seen from one architecture.

    `Tree(root, arch)` loads its models when first needed;
    `with_state(state)` is another Tree on the same models whose C files are
    read from a patch state.
    """

    def __init__(self, root: Path | None = None, arch: str | None = None,
                 trust_tree: bool = False, cache: Cache | None = None, state=None, *,
                 models: ArchModels | None = None, partial: bool = False, phase=None,
                 identity: str | None = None, origin=None):
        self.models = models if models is not None else ArchModels(root, arch, trust_tree, cache,
                                                                   identity, origin)
        # the image whose build is asked about (`kwhen.kbuild.phases.Phase`):
        # None is the tree's proper one (Linux's only)
        self.phase = None if phase is None or phase.proper else phase
        # below a makefile kwhen cannot read, a question is an error (the
        # makefile named), unless the Tree is `partial` (kwhen check: the
        # file's Kbuild condition is then a free ?make: proposition)
        self.partial = partial
        # A patch state (kwhen.patch.target.TreeState) whose files override
        # the directory's: C files are read through it, so the pre- and
        # post-image of a patch that changes only C files share one model.
        self.state = state
        self._cpp: dict[tuple, object] = {}
        self._routes: dict[str, list] = {}
        self._values_memo: dict[tuple, tuple | None] = {}

    def with_state(self, state) -> "Tree":
        """The same tree and architecture, with C files read from `state`.

        The Kconfig and Kbuild layers are shared, so `state` must not change
        Kconfig files or Makefiles (materialize such states instead).
        """
        return Tree(models=self.models, state=state, partial=self.partial, phase=self.phase)

    # -- phases (U-Boot's SPL, TPL, VPL: kwhen.kbuild.phases) ----------------------

    @property
    def phases(self) -> tuple:
        """The tree's phases, proper first (Linux: proper alone)."""
        return self.models.phases

    @property
    def has_phases(self) -> bool:
        """Whether the tree builds more than one image (U-Boot with SPL...)."""
        return len(self.phases) > 1

    def in_phase(self, phase) -> "Tree":
        """The same tree, state and models, asked about `phase` (a `Phase`
        or its name); the phase's Kbuild model is built when first needed."""
        if isinstance(phase, str):
            phase = self.models.phase(phase)
        return Tree(models=self.models, state=self.state, partial=self.partial, phase=phase)

    @property
    def phase_name(self) -> str:
        """proper, spl, tpl, vpl."""
        return self.phase.name if self.phase is not None else "proper"

    @property
    def phase_title(self) -> str:
        """U-Boot proper, SPL, TPL, VPL."""
        return self.phase.title if self.phase is not None else "U-Boot proper"

    def phase_facts(self) -> dict:
        """The phase's macros (CONFIG_SPL_BUILD...) and the prefix its
        CONFIG_IS_ENABLED/CONFIG_VAL add, read from the tree's kconfig.h."""
        key = f"_phase_facts:{self.phase_name}"
        found = self.models.__dict__.get(key)
        if found is not None:
            return found
        found = {}
        phase = self.phase or next(iter(p for p in self.phases if p.proper), None)
        if phase is not None and self.has_phases:
            for name in phase.undefined:
                found[name] = None
            for name in phase.defines:
                found[name] = 1
            found[PHASE_PREFIX] = self._config_prefix(found)
        self.models.__dict__[key] = found
        return found

    def _config_prefix(self, facts: dict) -> str | None:
        from kwhen.cpp.headers import MacroEnvironment
        from kwhen.cpp.phase import KCONFIG_HEADER, config_prefix

        context = {"__KERNEL__": 1, "USE_HOSTCC": None, "__ASSEMBLY__": None, **facts}
        env = MacroEnvironment(self.include_path, self.symbol_types, context, self.read_text)
        try:
            env.read(KCONFIG_HEADER, TRUE)
        except KwhenError:
            return None
        return config_prefix(env)

    # -- what the models hold (see kwhen.models) -------------------------------

    @property
    def root(self) -> Path:
        """The tree's directory (symbolic links resolved)."""
        return self.models.root

    @property
    def arch(self) -> str:
        """The ARCH asked for (x86_64, i386, arm64, ...)."""
        return self.models.arch

    @property
    def srcarch(self) -> str:
        """Its directory under arch/ (SRCARCH: x86 for x86_64)."""
        return self.models.srcarch

    @property
    def trust_tree(self) -> bool:
        """Whether Kconfig macros run as the kernel would (--trust-tree)."""
        return self.models.trust_tree

    @property
    def cache(self) -> Cache:
        """The cache the models are loaded from and stored in."""
        return self.models.cache

    @property
    def model(self):
        """The Kconfig model (`KconfigModel`)."""
        return self.models.model

    @property
    def symbol_types(self) -> dict[str, str]:
        """Symbol name -> Kconfig type."""
        return self.models.symbol_types

    @property
    def space(self):
        """The configuration space (`ConfigSpace`) of the Kconfig model."""
        return self.models.space

    @property
    def kbuild(self):
        """The Kbuild conditions of the files (`KbuildResult`) in the phase."""
        return self.models.kbuild_of(self.phase)

    # -- paths ----------------------------------------------------------------

    def relpath(self, path: str | os.PathLike) -> str:
        """`path` (absolute, or relative to the working directory or to the
        tree) as a path relative to the tree; it must exist inside it."""
        p = Path(path)
        if p.is_absolute():
            candidates = [p]
        elif resolved(Path.cwd()).is_relative_to(self.root):
            candidates = [Path.cwd() / p, self.root / p]     # (from a subdirectory)
        else:
            # from outside the tree (another checkout, with --tree): the
            # path is the tree's, even where the working directory has it too
            candidates = [self.root / p, Path.cwd() / p]
        outside = False
        for candidate in candidates:
            real = resolved(candidate, shown=str(path))
            if real.exists():
                if real.is_relative_to(self.root):
                    return real.relative_to(self.root).as_posix()
                outside = True
        if outside:
            raise KwhenError(f"path is outside the tree {self.root}", path=str(path))
        raise KwhenError("no such file", path=str(path))

    def read_text(self, relpath: str) -> str:
        """The text of a file of the tree (of its patch state, if any)."""
        if self.state is not None:
            text = self.state.read(relpath)
            if text is None:
                raise KwhenError("no such file in this state of the tree", path=relpath)
            return text
        return read_text(self.root / relpath, shown=relpath)

    # -- conditions -----------------------------------------------------------

    # Top-level directories of programs that are not the kernel (user-space
    # tools and selftests, build helpers run on the host): their headers
    # are not compiled into the kernel unless Kbuild builds objects beside
    # them (in their directory, above or below it).
    OUTSIDE_THE_BUILD = ("tools/", "scripts/")

    def _outside_the_build(self, relpath: str) -> bool:
        if not relpath.startswith(self.OUTSIDE_THE_BUILD):
            return False
        key = f"_built_outside:{self.phase_name}"
        built = self.models.__dict__.get(key)
        if built is None:
            built = self.models.__dict__[key] = {
                p.rsplit("/", 1)[0] + "/" for p in self.kbuild.files
                if p.startswith(self.OUTSIDE_THE_BUILD)}
        here = relpath.rsplit("/", 1)[0] + "/"
        return not any(here.startswith(d) or d.startswith(here) for d in built)

    def _outside_the_phase(self, relpath: str) -> bool:
        """Whether `relpath`, a driver's own header (not under an include/
        directory), is out of an earlier phase's reach: the phase compiles
        nothing in its directory, below it or in its parent (SPL builds no
        drivers/usb/mtu3/*.c, so mtu3_dr.h is no SPL code)."""
        if self.phase is None or "include/" in relpath or relpath.startswith("include"):
            return False
        key = f"_built_dirs:{self.phase_name}"
        built = self.models.__dict__.get(key)
        if built is None:
            built = self.models.__dict__[key] = {
                (p.rsplit("/", 1)[0] if "/" in p else "") + "/" for p in self.kbuild.files}
        here = (relpath.rsplit("/", 1)[0] if "/" in relpath else "") + "/"
        parent = (here[:-1].rsplit("/", 1)[0] + "/") if here.count("/") > 1 else "/"
        return not any(d.startswith(here) or d == parent for d in built)

    def file_condition(self, relpath: str, follow_includes: bool = True) -> FileCondition:
        """When the file is compiled; a C file no Makefile names is looked
        for among the files that #include it (unless `follow_includes` is
        false)."""
        if relpath.endswith(HEADER_SUFFIXES):
            if self._outside_the_build(relpath) or self._outside_the_phase(relpath):
                return FileCondition(relpath, "unreached", FALSE, FALSE)
            return FileCondition(relpath, "header", TRUE, FALSE)
        found = self.kbuild.files.get(relpath)
        if found is not None:
            return FileCondition(relpath, "source", found[0], found[1])
        host = self.kbuild.host.get(relpath)
        if host is not None:
            return FileCondition(relpath, "host", host, FALSE)
        unread = self.unreadable_makefile(relpath)
        if unread is not None and relpath.endswith(SOURCE_SUFFIXES):
            if not self.partial:
                from kwhen.kbuild.tree import unreadable_error
                raise unreadable_error(unread)
            # Kbuild's answer is unknown: a free proposition, never a
            # false "not built"
            _d, makefile, line, _message = unread
            return FileCondition(relpath, "source", var(make_unknown(makefile, line)), FALSE)
        if relpath.endswith(SOURCE_SUFFIXES):
            routes = self.routes(relpath) if follow_includes else []
            if routes:
                from kwhen.inclusion import either

                builtin, module = either(routes)
                return FileCondition(relpath, "included", builtin, module, tuple(routes))
            return FileCondition(relpath, "unreached", FALSE, FALSE)
        raise KwhenError("kwhen answers for C and assembly sources (.c, .S) and headers (.h)",
                         path=relpath)

    def unreadable_makefile(self, relpath: str) -> tuple | None:
        """(directory, makefile, line, message) of the makefile kwhen could
        not read above `relpath`, if there is one."""
        return self.kbuild.unreadable_above(relpath)

    def routes(self, relpath: str) -> list:
        """The #include lines through which a file no Makefile names is
        built (`kwhen.inclusion.routes_of`), found once per process."""
        found = self._routes.get(relpath)
        if found is None:
            from kwhen.inclusion import routes_of

            found = self._routes[relpath] = routes_of(self, relpath)
        return found

    @staticmethod
    def route_condition(relpath: str, route) -> FileCondition:
        """The file's condition through one of its routes alone."""
        return FileCondition(relpath, "included", route.builtin, route.module, (route,))

    def variants(self, relpath: str) -> list:
        """(FileCondition, CppStructure) of each way the file is compiled:
        one for most files, one per route for an included file (its #if
        lines read with that includer's macros)."""
        file = self.file_condition(relpath)
        if file.kind == "included":
            return [(self.route_condition(relpath, r), self.cpp(relpath, r.macros))
                    for r in file.through]
        from kwhen.inclusion import also_included

        own = [(file, self.cpp(relpath))]
        if also_included(file):
            own += [(self.route_condition(relpath, r), self.cpp(relpath, r.macros))
                    for r in self.routes(relpath)]
        return own

    def facts(self, relpath: str) -> dict:
        """Macros whose value is known for every compilation of the file."""
        facts = compile_facts(relpath, host_program=self.kbuild.host.get(relpath) is not None)
        if facts["__KERNEL__"]:
            facts.update(self.phase_facts())
        return facts

    def cpp(self, relpath: str, macros: Mapping | None = None, contexts: bool = False):
        """The #if structure of a file (scanned once per process, and kept
        in the cache with the headers it read), with `macros` (name -> when
        defined, or the `MacroEnvironment` of an includer) defined before
        its first line. With `contexts`, its #include lines keep the macros
        in force (`Include.macros`), which a cached structure lacks."""
        from kwhen.cpp.headers import MacroEnvironment

        if not macros:
            found = self._cpp.get((relpath, ()))
            if found is not None and (not contexts or all(i.macros is not None
                                                          for i in found.includes)):
                return found
            if not contexts:
                found = self._cached_cpp(relpath)
                if found is not None:
                    self._cpp[(relpath, ())] = found
                    return found
        text = None
        env = None
        if isinstance(macros, MacroEnvironment):
            # the headers' macros where an includer #includes this file
            key = (relpath, id(macros))
            env, macros = macros.snapshot(), None
        else:
            if macros:
                text = self.read_text(relpath)
                macros = {name: f for name, f in macros.items() if name in text}
            key = (relpath, tuple(sorted(macros.items())) if macros else ())
        found = self._cpp.get(key)
        if found is None or (contexts and any(i.macros is None for i in found.includes)):
            from kwhen.cpp.directives import scan

            started = time.time_ns()
            if env is None:
                env = self.macro_environment(relpath)
            found = scan(text if text is not None else self.read_text(relpath), relpath,
                         self.symbol_types, self.facts(relpath), macros, env)
            self._cpp[key] = found
            if key == (relpath, ()):
                self._store_cpp(relpath, found, env, started)
        return found

    def _cpp_key(self, relpath: str) -> str:
        import hashlib

        free, line, dirs = self.compile_context(relpath)
        flags = hashlib.blake2b(
            (" ".join(sorted(free)) + "|" + repr([(n, b, c.to_data()) for n, b, c in line])
             + "|" + " ".join(dirs)).encode(),
            digest_size=8).hexdigest()
        # a file a patch state changes is its own item, named by its text
        own = ("|" + hashlib.blake2b(self.read_text(relpath).encode("utf-8", "surrogateescape"),
                                     digest_size=16).hexdigest()
               if relpath in self._state_changes else "")
        return (f"{self.models.model_kbuild_key()}|{flags}|"
                f"{self.phase_name}|cpp|{relpath}{own}")

    @cached_property
    def source_includes(self):
        """The tree's quoted #includes of .c and .S files, for includers
        beyond a file's own directory (`kwhen.cpp.includes.SourceIncludes`;
        the same for every architecture and phase of the tree)."""
        from kwhen.cpp.includes import SourceIncludes

        key = ("source-includes", self._state_changes)
        found = self.models.__dict__.get(key)
        if found is None:
            found = self.models.__dict__[key] = SourceIncludes(
                self.root, self.cache if self.cache.enabled else None, self.read_text,
                self._state_changes, self.models.origin and self.models.origin[0])
        return found

    @cached_property
    def _state_changes(self) -> frozenset:
        """The files this tree's patch state changes (none without a state)."""
        return frozenset(self.state.changed_paths()) if self.state is not None else frozenset()

    def _read_elsewhere(self, relpath: str, read) -> bool:
        """Whether a structure of `relpath` that read the files `read` sees
        other text in this tree's patch state than in the directory, which
        the cache checks items against: a header the state changes (or
        adds where an #include looked for one)."""
        return bool(self._state_changes.difference({relpath}).intersection(read))

    def _cached_cpp(self, relpath: str):
        """A file's #if structure as an earlier process computed it, if
        neither it nor any header it read has changed since."""
        import json

        from kwhen.cpp.directives import CppStructure

        if not self.cache.enabled:
            return None
        blob = self.cache.get("cpp", self._cpp_key(relpath), self.root)
        if blob is None:
            return None
        try:
            data = json.loads(blob)
            if self._read_elsewhere(relpath, data["read"]):
                return None
            return CppStructure.from_data(data["structure"])
        except (ValueError, KeyError, TypeError):
            return None

    def _store_cpp(self, relpath: str, structure, env, started: int) -> None:
        import json

        if not self.cache.enabled:
            return
        read = env.files_read()
        if self._read_elsewhere(relpath, read):
            return
        # the file's own text is in the key when the state changes it
        deps = read if relpath in self._state_changes else [relpath, *read]
        self.cache.put("cpp", self._cpp_key(relpath), self.root, deps,
                       json.dumps({"structure": structure.to_data(), "read": read}).encode(),
                       started)

    def macro_environment(self, relpath: str):
        """The headers' macros for preprocessing `relpath`
        (`kwhen.cpp.headers`): the forced includes read first; a header
        asked about directly starts in an unknown context."""
        from kwhen.cpp.compiler import predefined
        from kwhen.cpp.headers import FORCED_INCLUDES, MacroEnvironment

        # (a host program of scripts/ or tools/ sees the build machine's
        # headers, not Kbuild's path: its context is unknown too)
        header = relpath.endswith(HEADER_SUFFIXES) or relpath.startswith(self.OUTSIDE_THE_BUILD)
        free, flags, dirs = self.compile_context(relpath)
        env = MacroEnvironment(self.include_path, self.symbol_types, self.facts(relpath),
                               self.read_text, free, taint=TRUE if header else FALSE,
                               fixed=self.space.fixed_value, value_cases=self.value_cases,
                               include_dirs=dirs)
        if self.kbuild.host.get(relpath) is None and not relpath.startswith(
                self.OUTSIDE_THE_BUILD):
            env.predefine(predefined(self.srcarch, self.symbol_types,
                                     not self._own_target(relpath)))
        if flags:
            env.command_line(flags)
        if not header:
            forced = FORCED_INCLUDES[:1] if relpath.endswith((".S", ".s")) else FORCED_INCLUDES
            for path in forced:
                env.read(path, TRUE)
        return env

    def compile_context(self, relpath: str) -> tuple[frozenset, list, list]:
        """What the file's compile command says to the preprocessor:
        (the macros some flag may define or undefine, kwhen not knowing
        when; the -D/-U flags of the flag lists that reach it, in the
        command's order ((name, body or None, when)): subdir-ccflags-y from
        the top down, then the directory's ccflags-y, asflags for assembly;
        their -I directories, searched after Kbuild's include path: `-I
        $(srctree)/$(src)` in fs/xfs). A flag list kwhen could not read
        leaves its macros free instead."""
        directory = self.flags_directory(relpath)
        found = self._flag_lists(relpath, directory)
        free = self.flag_macros.for_file(relpath, listed_too=found is None, directory=directory)
        return (free, [], []) if found is None else (free, *found)

    def _flag_lists(self, relpath: str, directory: str) -> tuple | None:
        if relpath.endswith(HEADER_SUFFIXES) or self.kbuild.host.get(relpath) is not None:
            return [], []
        kind = "as" if relpath.endswith((".S", ".s")) else "cc"
        chain = [directory]
        while chain[-1] != ".":
            chain.append(posixpath.dirname(chain[-1]) or ".")
        out: list = []
        own: list = []
        dirs: list = []
        own_dirs: list = []
        for d in reversed(chain):
            for scope, name, body, condition in self.kbuild.flags.get(d, ()):
                if scope == "unknown":
                    return None
                if scope == f"below-{kind}":
                    out.append((name, body, condition))
                elif scope == f"own-{kind}" and d == directory:
                    own.append((name, body, condition))
                elif scope == f"inc-below-{kind}":
                    dirs.append(name)
                elif scope == f"inc-own-{kind}" and d == directory:
                    own_dirs.append(name)
        return out + own, list(dict.fromkeys(dirs + own_dirs))

    def flags_directory(self, relpath: str) -> str:
        """The directory whose makefile compiles the file (its flags are
        that directory's: fs/xfs/libxfs/*.c are fs/xfs's objects)."""
        return self.kbuild.owners.get(relpath) or posixpath.dirname(relpath) or "."

    def _own_target(self, relpath: str) -> bool:
        """Whether a Makefile between the file and arch/$(SRCARCH) (or the
        top) may compile it for a target of its own (-m16, -m32, fresh
        KBUILD_CFLAGS: `kwhen.cpp.compiler.own_target_flags`)."""
        from kwhen.cpp.compiler import own_target_flags

        memo = self.models.__dict__.setdefault("_own_target", {})
        directory = os.path.dirname(relpath)
        stop = ("", f"arch/{self.srcarch}")
        found = False
        seen = []
        while directory not in stop:
            if directory in memo:
                found = memo[directory]
                break
            seen.append(directory)
            for name in ("Makefile", "Kbuild"):
                path = self.root / directory / name
                if path.is_file():
                    try:
                        text = read_text(path, shown=f"{directory}/{name}")
                    except KwhenError:
                        continue
                    if own_target_flags(text):
                        found = True
                    break
            if found:
                break
            directory = os.path.dirname(directory)
        for d in seen:
            memo[d] = found
        return found

    @cached_property
    def include_path(self):
        from kwhen.cpp.headers import IncludePath

        return IncludePath(self.root, self.srcarch, self.read_text, self._string_values)

    def value_cases(self, symbol: str) -> tuple | None:
        """((value proposition, int), ...) of an int/hex symbol that Kconfig
        gives one of its constant defaults' values in every configuration
        of this architecture (arm64's ARM64_PAGE_SHIFT: 12, 14 or 16), for
        arithmetic in #if; None otherwise (a user's value, none at all)."""
        from kwhen.logic.values import number, value_var

        key = ("cases", symbol)
        if key in self._values_memo:
            return self._values_memo[key]
        domain = getattr(self.model, "domains", {}).get(symbol)
        found = None
        if domain is not None and domain.type in ("int", "hex") and 0 < len(domain.values) <= 16:
            props = [var(value_var(symbol, v)) for v in domain.values]
            numbers = [number(domain.type, v) for v in domain.values]
            if None not in numbers and not self.space.possible(conj_all(neg(p) for p in props)):
                found = tuple(zip(props, numbers))
        self._values_memo[key] = found
        return found

    def _string_values(self, symbol: str, most: int) -> tuple | None:
        """(values, open) of a string symbol on this architecture, for the
        headers the build generates from them: the values its Kconfig
        defaults give that some configuration takes (at most `most`; None
        when there are more), and whether it can hold another (a user's).
        None for a symbol that is not a string."""
        from kwhen.logic.values import value_var

        key = (symbol, most)
        if key in self._values_memo:
            return self._values_memo[key]
        info = self.model.symbols.get(symbol)
        found = None
        if info is not None and info.type == "string":
            values = []
            for v in info.values:
                if self.space.possible(var(value_var(symbol, v))):
                    values.append(v)
                    if len(values) > most:
                        values = None
                        break
            props = [var(value_var(symbol, v)) for v in info.values]
            open_case = info.prompt and self.space.possible(conj_all(neg(p) for p in props))
            found = (tuple(values) if values is not None else None, open_case)
        self._values_memo[key] = found
        return found

    @cached_property
    def flag_macros(self):
        """Macros the tree's Makefiles pass with -D or -U, by the files they
        reach (`kwhen.cpp.headers.FlagMacros`; kept in the cache while no
        Makefile changes)."""
        import json

        from kwhen.cpp.headers import FlagMacros, flag_macros

        key = self.models.model_kbuild_key()
        blob = self.cache.get("cppflags", key, self.root)
        if blob is not None:
            try:
                return FlagMacros.from_data(json.loads(blob))
            except (ValueError, KeyError, TypeError):
                pass
        started = time.time_ns()
        makefiles = list(self.kbuild.makefiles)
        texts = []
        for makefile in makefiles:
            try:
                texts.append((makefile, read_text(self.root / makefile, shown=makefile)))
            except KwhenError:
                pass
        found = flag_macros(texts, set(self.kbuild.dirs))
        self.cache.put("cppflags", key, self.root, makefiles,
                       json.dumps(found.to_data()).encode(), started)
        return found

    def line_condition(self, relpath: str, line: int) -> Formula:
        """When line `line` of the file is compiled on this architecture."""
        return disj(*(self.combine(file, structure.condition_at(line))
                      for file, structure in self.variants(relpath)))

    @staticmethod
    def combine(file: FileCondition, cpp_condition: Formula) -> Formula:
        """Kbuild and preprocessor conditions together.

        MODULE is defined exactly when the file is compiled as a module, so
        it is resolved here rather than left free.
        """
        if file.kind == "header":
            return cpp_condition
        builtin = conj(file.builtin, cpp_condition.substitute({MODULE: FALSE}))
        module = conj(file.module, cpp_condition.substitute({MODULE: TRUE}))
        return disj(builtin, module)
