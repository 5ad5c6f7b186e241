"""Walk a Kbuild tree from the top: source file -> (built-in, module) condition.

The rules follow Linux 6.1's scripts/Makefile.build and Makefile.lib:

- The top directory is built with need-builtin and need-modorder. A
  subdirectory listed in obj-y gets need-builtin if its parent has it, and
  need-modorder if its parent has it; one listed in obj-m gets
  need-modorder if its parent has it; every directory in obj-y, obj-m,
  subdir-y or subdir-m is descended into.
- obj-y objects are compiled (built-in) only with need-builtin; obj-m
  objects (minus those also in obj-y) are compiled as modules with
  need-modorder; lib-y (minus obj-y) and extra-y objects are compiled
  (not as modules) whenever the directory is descended into (lib.a and
  extra-y are in targets-for-builtin regardless of need-builtin).
- A composite object foo.o (foo-objs, foo-y, foo-m for obj-m, or foo-
  non-empty) is replaced by its parts; a part without a source that is
  itself composite is expanded again (kwhen's extension; 6.1 would fail).
- The root Kbuild's ``targets`` entries foo.s with a foo.c (asm-offsets,
  bounds: its ``prepare`` makes them) and extra-y linker scripts foo.lds
  with a foo.lds.S count as compiled too. A ``targets`` entry elsewhere is
  made only when a rule of its directory needs it, which is not followed:
  the objects such rules build (the vDSO's, arch/x86/realmode/rm's through
  a nested ``$(build)=``, the purgatory's) are not modelled.
- The top: arch/$(SRCARCH)/Makefile is evaluated as the top Makefile
  includes it; the root Kbuild then sees ARCH_CORE, ARCH_LIB, ARCH_DRIVERS
  and everything the arch Makefile exports (BITS on x86), as does every
  directory makefile. Without a root Kbuild that lists directories (older
  Linux, U-Boot) the top Makefile's core-y/libs-y/... lists are used
  (`Dialect.legacy_top_lists`).
- A directory or object named partly by an unknown value
  (``board/$(BOARDDIR)/`` with BOARDDIR from a string symbol) stands for
  every existing one that fits, under the unknown's free proposition.
- An object with no source beside it is built from the one source an
  explicit rule of its directory names (``$(obj)/relo_core.o:
  $(srctree)/tools/lib/bpf/relo_core.c``); the objects the link script has
  Makefile.build make (Linux: init/version-timestamp.o) are built always.
- Not modelled: a directory makefile's own ``export`` reaching its
  subdirectories, and names computed wholly from an unknown value
  (``obj-$(shell ...)``: recorded in `unknowns`, its objects dropped).

So per directory there are three conditions: B (need-builtin), M
(need-modorder) and D (descended into), and the result for a file is the
disjunction over the places that list it.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from kwhen.exceptions import KwhenError
from kwhen.kbuild.evaluate import Evaluator, Trace
from kwhen.kbuild.phases import PROPER, Phase
from kwhen.kbuild.values import Unknown, Var, flatten
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj_all, from_data, neg, var
from kwhen.logic.simplify import TristateSimplifier, disj_factored
from kwhen.readfile import read_text
from kwhen.sources import OBJECT_SOURCE_SUFFIXES

__all__ = ["KbuildResult", "kbuild_conditions", "phase_words", "unreadable_error", "Dialect", "LINUX"]


@dataclass
class KbuildResult:
    """What Kbuild says about one tree and architecture."""
    files: dict = field(default_factory=dict)      # path -> (builtin, module)
    dirs: dict = field(default_factory=dict)       # dir -> descended-into condition
    unknowns: list = field(default_factory=list)   # (path, line, reason)
    makefiles: list = field(default_factory=list)  # makefiles read, relative
    generated: list = field(default_factory=list)  # objects without a source
    missing: list = field(default_factory=list)    # dirs listed without a makefile
    # (directory, makefile, line, message): a makefile kwhen could not read;
    # nothing below the directory is modelled ("." when the top one failed)
    unreadable: list = field(default_factory=list)
    # path -> condition of a source built for the build machine (hostprogs
    # of scripts/ and of a Kbuild-style tools/), never for the target
    host: dict = field(default_factory=dict)
    # directory -> [(scope, name, body, condition)]: the -D/-U flags its
    # makefile adds with ccflags-y, asflags-y, subdir-ccflags-y and
    # subdir-asflags-y, each under its condition (`_DirLocal.flags`)
    flags: dict = field(default_factory=dict)
    # source -> the directory whose makefile compiles it, where that is not
    # the source's own (fs/xfs builds libxfs/*.c with fs/xfs's flags)
    owners: dict = field(default_factory=dict)
    # what each directory's makefile gave and asked of the tree, so that a
    # later state of the tree is walked again only where a change reaches
    # (`kbuild_conditions(previous=...)`); in memory only, never stored
    walk: "_Walk | None" = field(default=None, repr=False, compare=False)

    def condition(self, path: str) -> tuple:
        """(built-in, module) condition of a source file; FALSE, FALSE when
        Kbuild never compiles it."""
        return self.files.get(path, (FALSE, FALSE))

    def to_data(self) -> dict:
        """The result as JSON data (formulas as `Formula.to_data`), for the cache."""
        return {
            "files": {p: [b.to_data(), m.to_data()] for p, (b, m) in self.files.items()},
            "dirs": {d: f.to_data() for d, f in self.dirs.items()},
            "unknowns": [list(u) for u in self.unknowns],
            "makefiles": list(self.makefiles),
            "generated": list(self.generated),
            "missing": list(self.missing),
            "unreadable": [list(u) for u in self.unreadable],
            "host": {p: f.to_data() for p, f in self.host.items()},
            "flags": {d: [[scope, name, body, c.to_data()] for scope, name, body, c in entries]
                      for d, entries in self.flags.items()},
            "owners": dict(self.owners),
        }

    @classmethod
    def from_data(cls, data: dict) -> "KbuildResult":
        """The result `to_data` wrote."""
        # Formulas are rebuilt on first use: a query needs a handful of the
        # tree's 24,000 file conditions, and rebuilding all takes seconds.
        return cls(
            files=_Decoded(data["files"], lambda pair: (from_data(pair[0]), from_data(pair[1]))),
            dirs=_Decoded(data["dirs"], from_data),
            unknowns=[tuple(u) for u in data["unknowns"]],
            makefiles=list(data["makefiles"]),
            generated=list(data.get("generated", [])),
            missing=list(data.get("missing", [])),
            unreadable=[tuple(u) for u in data.get("unreadable", [])],
            host=_Decoded(data.get("host", {}), from_data),
            flags=_Decoded(data.get("flags", {}), lambda entries: [
                (scope, name, body, from_data(c)) for scope, name, body, c in entries]),
            owners=dict(data.get("owners", {})),
        )

    def unreadable_above(self, path: str) -> tuple | None:
        """The unreadable makefile (directory, makefile, line, message) whose
        directory holds `path`, if any: Kbuild says nothing about it."""
        for entry in self.unreadable:
            d = entry[0]
            if d == "." or path == d or path.startswith(d + "/"):
                return entry
        return None


class _Decoded(Mapping):
    """A read-only mapping whose values are decoded when first read."""

    def __init__(self, raw: dict, decode):
        self._raw = raw
        self._decode = decode
        self._done: dict = {}

    def __getitem__(self, key):
        found = self._done.get(key)
        if found is None:
            found = self._decode(self._raw[key])
            self._done[key] = found
        return found

    def __contains__(self, key):
        return key in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)

    def encoded(self) -> Mapping:
        """The values as stored, before decoding: a key whose encoded value
        is the same in two mappings has the same decoded value."""
        bulk = getattr(self._raw, "encoded", None)
        return bulk() if bulk is not None else self._raw


def differing(old: Mapping, new: Mapping):
    """The keys of `old` whose value in `new` may differ (or that `new`
    lacks), without decoding the values both store alike: a Makefile edit
    changes a few of Linux's 24,000 file conditions, and comparing the
    rest decoded costs seconds."""
    if not (isinstance(old, _Decoded) and isinstance(new, _Decoded)):
        yield from old
        return
    before, after = old.encoded(), new.encoded()
    for key, value in before.items():
        other = after.get(key)
        if other is None or other != value:
            yield key


@dataclass(frozen=True)
class Dialect:
    """How a Kbuild flavour differs (Linux now, U-Boot later)."""
    name: str
    need_builtin: bool = True   # obj-y compiled only with need-builtin
    # lists of the top Makefile used when the root Kbuild lists no obj-y
    legacy_top_lists: tuple = ("init-y", "init-m", "core-y", "core-m", "drivers-y",
                               "drivers-m", "net-y", "net-m", "libs-y", "libs-m",
                               "virt-y")
    helper_include: str = "scripts/Kbuild.include"
    # scripts that link the image and have Makefile.build make objects of
    # their own (`obj=init init/version-timestamp.o`): read as text, never run
    link_scripts: tuple = ()


LINUX = Dialect("linux", link_scripts=("scripts/link-vmlinux.sh",))

# `${MAKE} -f "${srctree}/scripts/Makefile.build" obj=DIR DIR/NAME.o` in a link script
_SCRIPT_BUILD = re.compile(r'Makefile\.build"?\s+obj=(\S+)\s+(\S+\.o)\b')

_SOURCE_RANK = {"c": 0, "S": 1, "rs": 2}
_LIST_VARS = ("obj-y", "obj-m", "lib-y", "lib-m", "always-y", "always-m", "targets",
              "subdir-y", "subdir-m", "asflags-y", "ccflags-y", "cppflags-y",
              "ldflags-y", "rustflags-y", "subdir-asflags-y", "subdir-ccflags-y")


# a -DNAME, -DNAME=value or -UNAME word of a flag list (quotes around the
# value are make's, passed to the shell: kept as cpp would see them)
_FLAG_WORD = re.compile(r"-([DU])([A-Za-z_]\w*)(?:=(.*))?")

# a directory's archive, as older top Makefiles list them
_DIR_ARCHIVES = ("/built-in.a", "/built-in.o", "/lib.a")
_KIND_INDEX = {"y": 0, "m": 1, "s": 2}
_OBJ_INDEX = {"y": 0, "m": 1, "x": 2}


def _join(d: str, w: str) -> str:
    p = w if d == "." else d + "/" + w
    if "//" in p or "./" in p or p.endswith(("/", "/.", "/..")) or p.startswith("."):
        return posixpath.normpath(p)
    return p


class _DirLocal:
    """What one directory's makefile lists, under local conditions."""
    __slots__ = ("objs", "subs", "flags")

    def __init__(self):
        self.objs: list = []   # (kind, cond, relpath-of-source); kind y|m|x
        self.subs: list = []   # (kind, cond, dir); kind y|m|s
        # (scope, name, body, cond): a -D (body: its value, "1" if none) or
        # -U (body None) of ccflags-y ("own-cc": this directory's C files),
        # asflags-y ("own-as"), subdir-ccflags-y ("below-cc": this directory
        # and those under it), subdir-asflags-y ("below-as"); ("unknown", "",
        # None, TRUE) when a flag kwhen could not read
        self.flags: list = []


class _Walk:
    """One walk's record: for the top (the top Makefile, the arch Makefile,
    the root Kbuild) and for each directory, what it gave (a `_DirLocal`,
    None for no makefile, or the unreadable entry) and its `Trace`."""

    def __init__(self, key: tuple, symbols: Mapping):
        self.key = key
        self.table = _symbol_table(symbols)
        self.top: Trace | None = None
        self.dirs: dict = {}          # directory -> (outcome, Trace)
        self.reread: list = []        # directories read (not taken over), in order

    def reusable(self, key: tuple, symbols: Mapping, changed: dict, names) -> bool:
        """Whether directories of this walk may be taken over by a walk of
        a tree that differs by `changed`: the same architecture, dialect,
        phase and symbol table, and a top the change does not reach."""
        return (self.top is not None and key == self.key
                and _symbol_table(symbols) == self.table
                and not self.top.reached_by(changed, names))


def _symbol_table(symbols: Mapping) -> dict:
    """What a walk reads of the symbols: each one's type and values (a
    string symbol's values name directories)."""
    return {name: (getattr(info, "type", None), tuple(getattr(info, "values", ()) or ()))
            for name, info in symbols.items()}


class _Walker:
    def __init__(self, tree: Path, srcarch: str, arch: str, symbols: Mapping, dialect: Dialect,
                 phase: Phase = PROPER, previous: KbuildResult | None = None,
                 changed: dict | None = None):
        self.tree = tree
        self.symbols = symbols
        self.previous = previous.walk if previous is not None else None
        self.changed = changed
        self.record = _Walk((srcarch, arch, dialect, phase), symbols)
        self.phase = phase
        self.srcarch = srcarch
        self.arch = arch
        self.dialect = dialect
        self.makefiles: list = []
        self.ev = Evaluator(tree, symbols, self.makefiles)
        self.simp = TristateSimplifier(n for n, i in symbols.items()
                                       if getattr(i, "type", None) == "tristate")
        self.generated: set = set()
        self._sources: dict = {}
        self._rule_sources: dict | None = None   # object -> source, by explicit rules
        self.missing: list = []
        self.arch_lists: dict = {}
        self._dir = "."           # the directory whose makefile is being read

    # -- environments -------------------------------------------------------

    def base_env(self) -> dict:
        ev = self.ev
        ev.env = {}
        ev.exported = set()
        for name, value in (("srctree", "."), ("objtree", "."), ("SRCARCH", self.srcarch),
                            ("ARCH", self.arch), ("KBUILD_BUILTIN", "1"),
                            ("KBUILD_MODULES", "1"), ("KBUILD_SRC", ""),
                            ("building_out_of_srctree", ""), ("KBUILD_VERBOSE", "0"),
                            ("quiet", "quiet_"), ("Q", "@"), ("KBUILD_CHECKSRC", "0"),
                            ("KBUILD_EXTRA_WARN", ""), ("KBUILD_EXTMOD", "")):
            ev.env[name] = Var(False, ((TRUE, value),) if value else ())
            ev.exported.add(name)
        # given on make's command line: U-Boot's config.mk sets ARCH from
        # the string CONFIG_SYS_ARCH, which is this architecture anyway
        ev.command_line = frozenset(("ARCH", "SRCARCH"))
        # the phase's <dir>/include/autoconf.mk: CONFIG_SPL_BUILD=y ...
        for name in self.phase.defines:
            ev.env[name] = Var(False, ((TRUE, "y"),))
            ev.exported.add(name)
        inc = self.dialect.helper_include
        if inc and ev.is_file(inc):
            ev.run_file(inc)
        # U-Boot's Makefile.build reads this before every directory's
        # makefile: symbols an earlier phase does not see (ifdef CONFIG_SPL_BUILD)
        if ev.is_file(self._UNCMD):
            ev.run_file(self._UNCMD)
        return dict(ev.env)

    _UNCMD = "scripts/Makefile.uncmd_spl"

    def top_dirs(self) -> tuple[dict, list]:
        """The environment of directory makefiles and the top obj lists."""
        ev = self.ev
        base = self.base_env()
        ev.path, ev.line = "Makefile", 0
        for name, value in (("core-y", ()), ("drivers-y", ()), ("libs-y", ((TRUE, "lib/"),))):
            ev.env[name] = Var(False, value)
        arch_mk = f"arch/{self.srcarch}/Makefile"
        if ev.is_file(arch_mk):
            ev.lenient_includes = True
            try:
                ev.run_file(arch_mk)
            finally:
                ev.lenient_includes = False
        exported = {n: ev.env[n] for n in ev.exported if n in ev.env}
        # what the arch Makefile adds to the top lists; the top Makefile
        # includes it, but only once a configured build's files exist
        # (`ifneq ($(wildcard .config),)` in U-Boot), so `legacy_top` adds
        # these itself
        self.arch_lists = {n: ev.lookup(n) for n in self.dialect.legacy_top_lists}
        dir_env = dict(base)
        dir_env.update(exported)
        ev.env["ARCH_CORE"] = Var(False, ev.lookup("core-y"))
        ev.env["ARCH_LIB"] = Var(False, ev.apply_function("filter", [((TRUE, "%/"),), ev.lookup("libs-y")]))
        ev.env["ARCH_DRIVERS"] = Var(False, ev.lookup("drivers-y") + ev.lookup("drivers-m"))
        for n in ("ARCH_CORE", "ARCH_LIB", "ARCH_DRIVERS"):
            dir_env[n] = ev.env[n]
        return dir_env

    # Variables by which a top Makefile knows it runs as the sub-make it
    # started itself (U-Boot 2025: `ifneq ($(sub_make_done),1) ... else`
    # around the whole build; `sub-make-done=1` on the sub-make's command
    # line before that).
    _FINAL_INVOCATION = ("sub_make_done", "sub-make-done")

    def legacy_top(self, env: dict) -> list:
        """Older Linux/U-Boot: the top Makefile's core-y/libs-y/... lists.

        make's own run may be two: the top Makefile re-runs itself as a
        sub-make with what it exported; the lists are those of the run that
        builds, so when the first names no directory the second is read.
        """
        subs = self.top_lists(env, {})
        if not self.phase.proper:
            # Makefile.spl/xpl includes the arch Makefile itself
            if not subs and self.unreached_top_dirs():
                raise KwhenError(f"kwhen cannot follow {self.phase.makefile}: its lists name "
                                 f"no directory for {self.phase.title}", path=self.phase.makefile)
            return subs
        if not any(kind for kind, _c, _d in subs):
            ev = self.ev
            exported = {n: ev.env[n] for n in ev.exported if n in ev.env}
            again = self.top_lists(env, exported, final=True)
            if again:
                subs = again
        if not subs and self.unreached_top_dirs():
            raise KwhenError(
                "kwhen cannot follow this top Makefile: none of "
                f"{', '.join(self.dialect.legacy_top_lists[:6])}... names a directory in the "
                "run of make it models, so every file would be reported as never built "
                f"(directories with a Makefile it never reaches: "
                f"{', '.join(self.unreached_top_dirs()[:5])})", path="Makefile")
        return subs + self.top_subs(self.arch_lists)

    def top_lists(self, env: dict, exported: dict, final: bool = False) -> list:
        """The directories the top Makefile's lists name in one run of make."""
        ev = self.ev
        ev.env = dict(env)
        ev.env.update(exported)
        ev.env["KBUILD_SRC"] = Var(False, ())
        # `make` with its default goal, run at the top of the tree (paths
        # are relative to the top: realpath/abspath keep them so)
        ev.env["MAKECMDGOALS"] = Var(False, ())
        ev.env["CURDIR"] = Var(False, ((TRUE, "."),))
        top = self.phase.makefile
        ev.env["MAKEFILE_LIST"] = Var(False, ((TRUE, top),))
        if not self.phase.proper:
            # `$(MAKE) obj=spl -f scripts/Makefile.spl`: its lists are
            # prefixed with $(obj)/, the phase's output directory, whose
            # sources are the tree's own (`.` keeps them relative to the top)
            ev.env["obj"] = Var(False, ((TRUE, "."),))
        saved_command_line = ev.command_line
        if final:
            for name in self._FINAL_INVOCATION:
                ev.env[name] = Var(False, ((TRUE, "1"),))
            ev.command_line = ev.command_line | frozenset(self._FINAL_INVOCATION)
        try:
            if ev.is_file(top):
                ev.lenient_includes = True
                try:
                    ev.run_file(top)
                finally:
                    ev.lenient_includes = False
        finally:
            ev.command_line = saved_command_line
        return self.top_subs({name: ev.lookup(name) for name in self.dialect.legacy_top_lists})

    def top_subs(self, lists: dict) -> list:
        """("y", condition, directory) of the directories named in `lists`."""
        subs = []
        for name in self.dialect.legacy_top_lists:
            for c, w in self.known_words(flatten(lists.get(name, ())), "."):
                if w.endswith("/"):
                    subs.append(("y", c, _join(".", w)))
                elif w.endswith(_DIR_ARCHIVES):
                    # `libs-y := $(patsubst %/,%/built-in.a,$(libs-y))`
                    subs.append(("y", c, _join(".", w.rsplit("/", 1)[0])))
        return subs

    # below this many top directories with a makefile, an empty model may be right
    _TOP_DIRS_EXPECTED = 3

    def unreached_top_dirs(self) -> list:
        """Top directories (not arch/ or scripts/) holding a makefile: when
        the top lists name none of them, the model is empty, not the tree."""
        found = []
        for name in sorted(self.ev.names("")):
            if name in ("arch", "scripts", "tools", "Documentation", "doc", "usr") \
                    or name.startswith("."):
                continue
            if self.ev.is_file(f"{name}/Makefile") or self.ev.is_file(f"{name}/Kbuild"):
                found.append(name + "/")
        return found if len(found) >= self._TOP_DIRS_EXPECTED else []

    # -- one directory ------------------------------------------------------

    def evaluate_dir(self, d: str, env: dict) -> _DirLocal | None:
        if not self.run_dir_makefile(d, env):
            return None
        return self.collect(d)

    def run_dir_makefile(self, d: str, env: dict) -> bool:
        """Evaluate the makefile of directory `d` (False when it has none)."""
        ev = self.ev
        prefix = "" if d == "." else d + "/"
        mk = None
        for name in ("Kbuild", "Makefile"):
            if ev.is_file(prefix + name):
                mk = prefix + name
                break
        if mk is None:
            return False
        ev.env = dict(env)
        ev.locals = {}
        ev.rules = []
        self._rule_sources = None
        self._dir = d
        for n in ("obj", "src"):
            ev.env[n] = Var(False, ((TRUE, d),))
        for n in _LIST_VARS:
            ev.env[n] = Var(False, ())
        ev.run_file(mk)
        ev.path, ev.line = mk, 0
        return True

    def words(self, name: str) -> list:
        return self.known_words(flatten(self.ev.lookup(name)), self._dir)

    def known_words(self, words: list, d: str) -> list:
        """(condition, word) pairs of a list read in directory `d`. A word
        kwhen could not compute is dropped, unless known text around it
        names directories (``board/$(BOARDDIR)/``) or objects
        (``cpu_$(X).o``): then it stands for every one that exists and
        fits, under its unknown's free proposition."""
        out = []
        for c, w in words:
            if not isinstance(w, Unknown):
                out.append((c, w))
                continue
            unknown = self.ev.note(w)
            for match in self.could_be(w, d):
                out.append((conj(c, unknown), match))
        return out

    # how deep below the known part of a partly unknown path to look
    _MATCH_DEPTH = 4

    def could_be(self, u: Unknown, d: str) -> list:
        """The existing directories ("x/y/") or objects ("x/y.o"), relative
        to `d`, that the partly known word `u` may name."""
        wants_dir = u.suffix.endswith("/")
        if not (wants_dir or u.suffix.endswith(".o")) or "/" not in u.prefix:
            return []        # no known directory to search below
        known = u.prefix.rpartition("/")[0]
        start = posixpath.normpath(_join(d, known)) if d != "." else posixpath.normpath(known)
        self.ev.below(start)
        top = os.path.join(str(self.tree), start)
        candidates = []
        for dirpath, dirnames, filenames in os.walk(top):
            rel = posixpath.relpath(Path(dirpath).as_posix(), Path(str(self.tree)).as_posix())
            depth = 0 if rel == start else rel[len(start) + 1:].count("/") + 1
            if depth >= self._MATCH_DEPTH:
                dirnames[:] = []
            local = rel if d == "." else posixpath.relpath(rel, d)
            if wants_dir:
                if depth and ("Makefile" in filenames or "Kbuild" in filenames):
                    candidates.append(local + "/")
            else:
                candidates.extend(_join(local, f[:-2] + ".o") for f in filenames
                                  if f.endswith(OBJECT_SOURCE_SUFFIXES))
        return u.matches(sorted(candidates))

    def collect(self, d: str) -> _DirLocal:
        loc = _DirLocal()
        oy = self.words("obj-y")
        om = self.words("obj-m")
        in_y: dict = {}
        for c, w in oy:
            in_y.setdefault(w, []).append(c)
        in_y_f = {w: disj_all(cs) for w, cs in in_y.items()}

        def minus_y(items):
            out = []
            for c, w in items:
                f = in_y_f.get(w)
                if f is not None:
                    c = self.simp(conj(c, neg(f)))
                    if c is FALSE:
                        continue
                out.append((c, w))
            return out

        # directories: obj-y ones get need-modorder too, so filtering them
        # out of obj-m changes nothing but the size of the formulas
        for kind, items in (("y", oy), ("m", om)):
            for c, w in items:
                if w.endswith("/"):
                    loc.subs.append((kind, c, _join(d, w)))
        om = minus_y([(c, w) for c, w in om if w.endswith(".o")])
        lib = minus_y(self.words("lib-y") + self.words("lib-m"))
        for kind, items in (("y", oy), ("m", om)):
            for c, w in items:
                if w.endswith(".o"):
                    self.add_object(loc, d, kind, c, w, kind == "m", 0)
        for name in ("subdir-y", "subdir-m"):
            for c, w in self.words(name):
                loc.subs.append(("s", c, _join(d, w)))
        for c, w in lib:
            if w.endswith(".o"):
                self.add_object(loc, d, "x", c, w, False, 0)
        for c, w in self.words("targets") if d == "." else ():
            # assembler output of a C file (asm-offsets.s, bounds.s) that
            # the root Kbuild's `prepare` makes; elsewhere a `targets` .s
            # is made only if a rule of the directory needs it
            if w.endswith(".s"):
                src = _join(d, w[:-2] + ".c")
                if self.ev.exists(src):
                    loc.objs.append(("x", c, src))
        if d != ".":
            self.rule_made(loc, d)
        self.collect_flags(loc)
        for c, w in self.words("extra-y"):
            if w.endswith(".o"):
                self.add_object(loc, d, "x", c, w, False, 0)
            elif w.endswith(".lds"):
                src = _join(d, w + ".S")
                if self.ev.exists(src):
                    loc.objs.append(("x", c, src))
        return loc

    # (scope, list): "own-cc" reaches the directory's C files, "below-as"
    # the assembly files of the directory and those under it, ...
    _FLAG_LISTS = (("own-cc", "ccflags-y"), ("own-as", "asflags-y"),
                   ("below-cc", "subdir-ccflags-y"), ("below-as", "subdir-asflags-y"))

    def collect_flags(self, loc: _DirLocal) -> None:
        """The -D and -U flags of the directory's flag lists, each under its
        condition (`ccflags-$(CONFIG_FOO_DEBUG) += -DDEBUG`)."""
        for scope, name in self._FLAG_LISTS:
            words = flatten(self.ev.lookup(name))
            pending = None          # "-D" written apart from its macro
            for c, w in words:
                if not isinstance(w, str):
                    if isinstance(w, Unknown) and (pending or "-D" in w.prefix or "-U" in w.prefix):
                        loc.flags.append(("unknown", "", None, TRUE))
                    pending = None
                    continue
                if pending is not None:
                    w, pending = pending + w, None
                if w in ("-D", "-U", "-I"):
                    pending = w
                    continue
                if w.startswith("-I") and c is TRUE:
                    # an include directory (`-I $(srctree)/$(src)`), where
                    # every configuration has it
                    where = posixpath.normpath(w[2:])
                    if not where.startswith(("/", "..")):
                        loc.flags.append(("inc-" + scope, where, None, TRUE))
                    continue
                m = _FLAG_WORD.fullmatch(w)
                if m is None:
                    continue
                if m.group(1) == "U":
                    loc.flags.append((scope, m.group(2), None, c))
                else:
                    body = m.group(3)
                    loc.flags.append((scope, m.group(2), "1" if body is None else body, c))

    def rule_made(self, loc: _DirLocal, d: str) -> None:
        """Objects of `targets` that no list of the directory names (the
        vDSO's vclock_gettime.o, linked into vdso64.so by the directory's
        own rules): made when a rule of the directory needs them, which
        kwhen does not follow, so built under the directory's free
        proposition for its rules (sometimes, never "never")."""
        listed = {src for _k, _c, src in loc.objs}
        made = []

        def by_rules() -> Formula:
            if not made:
                made.append(self.ev.note(Unknown(
                    self.ev.path, 0, "objects of `targets` and directories a recipe builds "
                    "($(build)=), made by the directory's own rules (kwhen does not follow "
                    "a rule's prerequisites)")))
            return made[0]

        for c, w in self.words("targets"):
            if not w.endswith(".o"):
                continue
            obj = _join(d, w)
            src = None if obj.startswith("../") else self.source(obj)
            if src is None or src in listed:
                continue
            listed.add(src)
            loc.objs.append(("x", conj(c, by_rules()), src))
        # arch/x86/realmode: `$(obj)/rm/realmode.bin: FORCE` runs
        # `$(MAKE) $(build)=$(obj)/rm $@`: rm/ is descended when the rule runs
        for rule in self.ev.rules:
            for text in rule.builds:
                try:
                    dirs = self.plain_words(text)
                except KwhenError:
                    continue
                for sub in dirs:
                    if sub != d and not sub.startswith("../") and (
                            self.ev.is_file(f"{sub}/Makefile") or self.ev.is_file(f"{sub}/Kbuild")):
                        loc.subs.append(("s", by_rules(), sub))

    def add_object(self, loc: _DirLocal, d: str, kind: str, c: Formula, w: str,
                   module: bool, depth: int) -> None:
        stem = w[:-2]
        suffixes = ("-objs", "-y", "-m") if module else ("-objs", "-y")
        parts = []
        comp = []
        for s in suffixes + ("-",):
            v = self.ev.env.get(stem + s)
            if v is None:
                continue
            ws = self.words(stem + s)
            if ws:
                comp.append(disj_all([pc for pc, _ in ws]))
                if s != "-":
                    parts.extend(ws)
        k = disj_all(comp) if comp else FALSE
        src = self.source(_join(d, w)) if k is FALSE or depth else None
        if k is not FALSE and (depth == 0 or src is None):
            leaf = self.simp(conj(c, neg(k)))
            if leaf is not FALSE:
                obj = _join(d, w)
                self.add_leaf(loc, kind, leaf, obj, src or self.source(obj))
            for pc, pw in parts:
                x = conj(c, pc)
                if x is FALSE or not pw.endswith(".o"):
                    continue
                if depth < 4:
                    self.add_object(loc, d, kind, x, pw, module, depth + 1)
            return
        self.add_leaf(loc, kind, c, _join(d, w), src)

    def add_leaf(self, loc, kind, c, obj: str, src: str | None):
        if obj.startswith("../") or obj == "..":
            return
        if src is None:
            self.generated.add(obj)
            if self.ev.trace is not None:
                self.ev.trace.generated.add(obj)
            return
        loc.objs.append((kind, c, src))

    def source(self, obj: str) -> str | None:
        """The source of an object: foo.o -> foo.c, else foo.S, else foo.rs."""
        d, _, base = obj.rpartition("/")
        table = self._sources.get(d)
        if table is None:
            table = {}
            for name in self.ev.names(d):
                stem, dot, ext = name.rpartition(".")
                rank = _SOURCE_RANK.get(ext)
                if rank is not None and dot:
                    old = table.get(stem)
                    if old is None or rank < old[0]:
                        table[stem] = (rank, name)
            self._sources[d] = table
        hit = table.get(base[:-2])
        if hit is None:
            return self.rule_source(obj)
        return d + "/" + hit[1] if d else hit[1]

    def rule_source(self, obj: str) -> str | None:
        """The source an explicit rule of the directory's makefile builds
        `obj` from, when it lies elsewhere in the tree (kernel/bpf's
        ``$(obj)/relo_core.o: $(srctree)/tools/lib/bpf/relo_core.c``).
        The rules are expanded once, with the directory's final variables
        (enough for $(obj), $(src) and $(srctree)); one that cannot be
        expanded names no source."""
        if self._rule_sources is None:
            self._rule_sources = {}
            for rule in self.ev.rules:
                try:
                    targets = self.plain_words(rule.targets)
                    sources = [w for w in self.plain_words(rule.prerequisites)
                               if w.endswith(OBJECT_SOURCE_SUFFIXES) and self.ev.is_file(w)]
                except KwhenError:
                    continue
                if len(sources) == 1:
                    for target in targets:
                        if target.endswith(".o"):
                            self._rule_sources.setdefault(target, sources[0])
        return self._rule_sources.get(obj)

    def plain_words(self, text: str) -> list:
        """The words `text` expands to in every case, as normalised tree paths."""
        return [posixpath.normpath(w) for _c, w in flatten(self.ev.expand(text))
                if isinstance(w, str) and w]

    def script_built(self) -> list:
        """Sources of the objects the dialect's link scripts have made into
        every image (Linux: init/version-timestamp.c), built always."""
        out = []
        for script in self.dialect.link_scripts:
            if not self.ev.is_file(script):
                continue
            text = read_text(os.path.join(self.tree, script), shown=script, what="script")
            self.makefiles.append(script)
            for _d, obj in _SCRIPT_BUILD.findall(text):
                src = self.source(posixpath.normpath(obj))
                if src is not None:
                    out.append(src)
        return out

    # -- programs for the build machine --------------------------------------

    # the lists naming host programs (Linux 6.1 and U-Boot's older spellings)
    _HOST_PROGRAM_LISTS = ("hostprogs", "hostprogs-y", "hostprogs-m", "hostprogs-always-y",
                           "hostprogs-always-m", "always", "always-y", "hostlibs-y")

    def host_roots(self) -> list:
        """Directories whose makefiles build programs for the build machine:
        scripts/, and tools/ where it is Kbuild's (U-Boot: `$(build)=tools`,
        its hostprogs chosen by CONFIG_TOOLS_*), not Linux's own makefiles."""
        roots = ["scripts"] if (self.tree / "scripts").is_dir() else []
        if self.ev.is_file("tools/Makefile"):
            try:
                text = read_text(self.tree / "tools/Makefile", shown="tools/Makefile",
                                 what="Makefile")
            except KwhenError:
                text = ""
            if "hostprogs" in text:
                roots.append("tools")
        return roots

    def host_programs(self, env: dict) -> dict:
        """source path -> condition under which it is compiled for the build
        machine. Every directory with a makefile below a host root is read
        (the top Makefile descends them by rules kwhen does not follow), so a
        directory's own condition is not modelled: only its lists'."""
        found: dict = {}
        for root in self.host_roots():
            for dirpath, dirnames, filenames in os.walk(self.tree / root):
                dirnames.sort()
                if "Makefile" not in filenames and "Kbuild" not in filenames:
                    continue
                d = Path(dirpath).relative_to(self.tree).as_posix()
                try:
                    if not self.run_dir_makefile(d, env):
                        continue
                except KwhenError:
                    continue           # said nothing of: its files stay unreached
                self._dir = d
                for c, program in (w for name in self._HOST_PROGRAM_LISTS
                                   for w in self.words(name)):
                    for source, condition in self.host_parts(d, program, c):
                        found.setdefault(source, []).append(condition)
        return {source: self.simp(disj_all(conditions)) for source, conditions in found.items()}

    def host_parts(self, d: str, program: str, c: Formula) -> list:
        """(source, condition) of the objects a host program is linked from:
        `prog-objs`/`prog-y` (`prog-cxxobjs`), or prog.o alone."""
        parts = [(conj(c, pc), w) for name in ("-objs", "-y", "-cxxobjs")
                 for pc, w in self.words(program + name)]
        if not parts and "/" not in program and not program.endswith(".o"):
            parts = [(c, program + ".o")]
        out = []
        for condition, obj in parts:
            if obj.endswith(".o") and condition is not FALSE:
                source = self.source(_join(d, obj))
                if source is not None:
                    out.append((source, condition))
        return out

    # -- the walk -----------------------------------------------------------

    def unreadable_entry(self, d: str, error: KwhenError) -> tuple:
        return (d, error.path or "", error.line or 0, error.message)

    def run(self) -> KbuildResult:
        try:
            return self.walk()
        except KwhenError as error:
            # the top (or the arch Makefile it includes) cannot be read:
            # nothing of the tree is modelled, and the result says so
            entry = self.unreadable_entry(".", error)
            result = KbuildResult(unreadable=[entry],
                                  unknowns=[(entry[1], entry[2],
                                             f"this makefile could not be read: {entry[3]}")])
            result.makefiles = list(self.makefiles)
            return result

    def _untraced_names(self, d: str) -> frozenset:
        saved, self.ev.trace = self.ev.trace, None
        try:
            return self.ev.names(d)
        finally:
            self.ev.trace = saved

    def _directory(self, d: str, dir_env: dict, reuse: dict) -> tuple:
        """(outcome, trace) of directory `d`: taken over from the previous
        walk when the change does not reach what its makefile asked, else
        read. outcome: a `_DirLocal`, None (no makefile), or ("unreadable",
        entry)."""
        ev = self.ev
        found = reuse.get(d)
        if found is not None and not found[1].reached_by(self.changed, self._untraced_names):
            outcome, trace = found
            for rel in trace.files:                  # as reading them would have
                if rel not in ev._files_seen:
                    ev._files_seen.add(rel)
                    ev.files_read.append(rel)
            for key, reason in trace.unknowns.items():
                ev.unknowns.setdefault(key, reason)
            self.generated |= trace.generated
            return outcome, trace
        self.record.reread.append(d)
        ev.trace = trace = Trace()
        try:
            outcome = self.evaluate_dir(d, dir_env)
        except KwhenError as error:
            # a makefile that cannot be read leaves its directory
            # out, said so, rather than failing the whole tree
            outcome = ("unreadable", self.unreadable_entry(d, error))
        finally:
            ev.trace = None
        return outcome, trace

    def walk(self) -> KbuildResult:
        ev = self.ev
        locals_: dict = {}
        unreadable: list = []
        ev.trace = self.record.top = Trace()
        try:
            dir_env = self.top_dirs()
            root = self.evaluate_dir(".", dir_env) if ev.is_file("Kbuild") else None
            if root is None or not any(k in ("y", "m") for k, _, _ in root.subs):
                subs = self.legacy_top(dir_env)
                root = root or _DirLocal()
                root.subs.extend(subs)
        finally:
            ev.trace = None
        previous = self.previous
        reuse = previous.dirs if previous is not None and self.changed is not None and \
            previous.reusable(self.record.key, self.symbols, self.changed,
                              self._untraced_names) else {}
        locals_["."] = root
        # 1. discover the directories (each makefile is evaluated once) and
        #    the edges between them, grouped per (parent, child) so that the
        #    parent's condition is factored out: b && (c1 || c2 ...)
        edges: dict = {}          # dir -> {sub: (cy, cm, cs)}
        order = ["."]
        queue = ["."]
        seen = {"."}
        while queue:
            d = queue.pop()
            loc = locals_.get(d)
            if loc is None and d not in locals_:
                outcome, trace = self._directory(d, dir_env, reuse)
                self.record.dirs[d] = (outcome, trace)
                if isinstance(outcome, tuple):
                    unreadable.append(outcome[1])
                    locals_[d] = None
                    continue
                loc = locals_[d] = outcome
                if loc is None:
                    self.missing.append(d)
                    continue
                order.append(d)
            if loc is None:
                continue
            out: dict = {}
            for kind, c, sub in loc.subs:
                if sub.startswith("..") or sub == "." or c is FALSE:
                    continue
                out.setdefault(sub, ([], [], []))[_KIND_INDEX[kind]].append(c)
            edges[d] = out
            for sub in out:
                if sub not in seen:
                    seen.add(sub)
                    queue.append(sub)
        # 2. parents before children (Kahn); directories on a cycle are
        #    iterated a few times after that
        indeg = {d: 0 for d in seen}
        for d, out in edges.items():
            for sub in out:
                indeg[sub] += 1
        topo = []
        ready = sorted(d for d, n in indeg.items() if n == 0)
        while ready:
            d = ready.pop()
            topo.append(d)
            for sub in edges.get(d, ()):
                indeg[sub] -= 1
                if indeg[sub] == 0:
                    ready.append(sub)
        cyclic = [d for d in sorted(seen) if indeg[d] > 0]
        # an earlier phase's image is made only when its symbol is set
        top = TRUE if self.phase.proper else var(self.phase.symbol)
        B: dict = {".": {None: top}}
        M: dict = {".": {None: top}}
        D: dict = {".": {None: top}}
        done_b: dict = {}
        done_m: dict = {}
        done_d: dict = {}
        simp = self.simp
        need_builtin = self.dialect.need_builtin
        c2 = simp.conj2
        for d in topo + cyclic * 4:
            b = disj_factored(B.get(d, {}).values())
            m = disj_factored(M.get(d, {}).values())
            dd = disj_factored(D.get(d, {}).values())
            done_b[d], done_m[d], done_d[d] = b, m, dd
            bb = b if need_builtin else dd
            for sub, (cy, cm, cs) in edges.get(d, {}).items():
                if cy:
                    B.setdefault(sub, {})[d] = c2(bb, simp(disj_factored(cy)))
                if cy or cm:
                    M.setdefault(sub, {})[d] = c2(m, simp(disj_factored(cy + cm)))
                D.setdefault(sub, {})[d] = c2(dd, simp(disj_factored(cy + cm + cs)))
        order = [d for d in order if locals_.get(d) is not None]
        result = KbuildResult()
        builtin: dict = {}
        module: dict = {}
        for d in order:
            loc = locals_[d]
            b, m, dd = done_b[d], done_m[d], done_d[d]
            if not self.dialect.need_builtin:
                b = dd
            here: dict = {}
            for kind, c, src in loc.objs:
                here.setdefault(src, ([], [], []))[_OBJ_INDEX[kind]].append(c)
                if (posixpath.dirname(src) or ".") != d:
                    result.owners.setdefault(src, d)
            simp = self.simp
            c2 = simp.conj2
            for src, (ys, ms, xs) in here.items():
                parts = []
                if ys:
                    parts.append(c2(b, simp(disj_factored(ys))))
                if xs:
                    parts.append(c2(dd, simp(disj_factored(xs))))
                if parts:
                    builtin.setdefault(src, []).append(disj_factored(parts))
                if ms:
                    module.setdefault(src, []).append(c2(m, simp(disj_factored(ms))))
        for src in sorted(set(builtin) | set(module)):
            bf = disj_factored(builtin.get(src, ()))
            mf = disj_factored(module.get(src, ()))
            if bf is FALSE and mf is FALSE:
                continue
            result.files[src] = (bf, mf)
        for d in sorted(done_d):
            result.dirs[d] = done_d[d]
        for d in order:
            if locals_[d].flags:
                result.flags[d] = list(locals_[d].flags)
        for src in self.script_built():
            result.files.setdefault(src, (TRUE, FALSE))
        result.unknowns = sorted((p, ln, r) for (p, ln), r in ev.unknowns.items())
        result.makefiles = list(self.makefiles)
        result.generated = sorted(self.generated)
        result.missing = sorted(self.missing)
        result.unreadable = sorted(unreadable)
        # (programs for the build machine belong to no phase: proper's answer)
        hosts = self.host_programs(dir_env) if self.phase.proper else {}
        result.host = {path: condition for path, condition in
                       sorted(hosts.items()) if path not in result.files}
        result.makefiles = list(self.makefiles)      # the host makefiles too
        # --explain finds the ?make: proposition of an unreadable makefile
        result.unknowns = sorted(set(result.unknowns) | {
            (mk, line, f"this makefile could not be read: {message}")
            for _d, mk, line, message in result.unreadable})
        result.walk = self.record
        return result


def phase_words(tree: Path | str, srcarch: str, arch: str, symbols: Mapping,
                phase: Phase, names) -> dict:
    """The value of each make variable of `names` ($(SPL_), $(PHASE_)...)
    that every directory makefile sees in `phase`, where it is one word
    (or empty) whatever the configuration; None where it is not."""
    walker = _Walker(Path(tree), srcarch, arch, symbols, LINUX, phase)
    try:
        walker.base_env()
    except KwhenError:
        return {name: None for name in names}
    found = {}
    for name in names:
        words = [w for c, w in flatten(walker.ev.lookup(name))]
        conditions = [c for c, _w in flatten(walker.ev.lookup(name))]
        if not words:
            found[name] = ""
        elif len(words) == 1 and conditions[0] is TRUE and isinstance(words[0], str):
            found[name] = words[0]
        else:
            found[name] = None
    return found


def kbuild_conditions(tree: Path | str, srcarch: str, arch: str,
                      symbols: Mapping, dialect: Dialect = LINUX,
                      partial: bool = False, phase: Phase = PROPER,
                      previous: KbuildResult | None = None,
                      changed: dict | None = None) -> KbuildResult:
    """Conditions under which each source file of `tree` is compiled.

    `symbols` maps Kconfig symbol names (no CONFIG_ prefix) to SymbolInfo;
    a CONFIG_ variable of a name not in it is empty. A makefile that cannot
    be read raises KwhenError, unless `partial`: then the result models the
    rest and lists it in `unreadable`. `phase` (`kwhen.kbuild.phases`):
    the image whose build is walked, from its own top makefile.

    `previous`, the result of this walk on another state of the tree that
    differs by `changed` (path -> git status letter: A, D, M, T), lets
    the walk take over each directory whose makefile, the files it
    includes and the directory listings it looked at the change does not
    reach; the result is the one a walk from scratch gives.
    """
    tree = Path(tree)
    if not tree.is_dir():
        raise KwhenError(f"not a directory: {tree}")
    result = _Walker(tree, srcarch, arch, symbols, dialect, phase, previous, changed).run()
    if result.unreadable and not partial:
        raise unreadable_error(result.unreadable[0])
    return result


def unreadable_error(entry: tuple) -> KwhenError:
    """The error of an `unreadable` entry, naming its makefile and line."""
    _d, makefile, line, message = entry
    return KwhenError(message, path=makefile or None, line=line or None)
