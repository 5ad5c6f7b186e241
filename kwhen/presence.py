"""Presence conditions: the three layers of a tree together.

A line of C is built in a configuration when Kconfig admits the
configuration, Kbuild compiles the file in it, and the preprocessor keeps
the line. `Tree` answers `file_condition` and `line_condition` for one
architecture, from the models of `kwhen.models` (loaded once, cached across
runs) and the #if structure of the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.git import toplevel
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, var
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
    "header" (compiled wherever it
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
        """When the file is compiled at all (built in or as a module)."""
        return disj(self.builtin, self.module)


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
                 models: ArchModels | None = None, partial: bool = False):
        self.models = models if models is not None else ArchModels(root, arch, trust_tree, cache)
        # below a makefile kwhen cannot read, a question is an error (the
        # makefile named), unless the Tree is `partial` (kwhen check: the
        # file's Kbuild condition is then a free ?make: proposition)
        self.partial = partial
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
        return Tree(models=self.models, state=state, partial=self.partial)

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
        """The Kbuild conditions of the files (`KbuildResult`)."""
        return self.models.kbuild

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
        built = self.models.__dict__.get("_built_outside")
        if built is None:
            built = self.models.__dict__["_built_outside"] = {
                p.rsplit("/", 1)[0] + "/" for p in self.kbuild.files
                if p.startswith(self.OUTSIDE_THE_BUILD)}
        here = relpath.rsplit("/", 1)[0] + "/"
        return not any(here.startswith(d) or d.startswith(here) for d in built)

    def file_condition(self, relpath: str) -> FileCondition:
        """When the file is compiled on this architecture (KwhenError if it
        is not a C or assembly file)."""
        if relpath.endswith(HEADER_SUFFIXES):
            if self._outside_the_build(relpath):
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
            return FileCondition(relpath, "unreached", FALSE, FALSE)
        raise KwhenError("kwhen answers for C and assembly sources (.c, .S) and headers (.h)",
                         path=relpath)

    def unreadable_makefile(self, relpath: str) -> tuple | None:
        """(directory, makefile, line, message) of the makefile kwhen could
        not read above `relpath`, if there is one."""
        return self.kbuild.unreadable_above(relpath)

    def facts(self, relpath: str) -> dict:
        """Macros whose value is known for every compilation of the file."""
        assembly = relpath.endswith(ASSEMBLY_SUFFIXES)
        facts = {"__KERNEL__": 1, "__cplusplus": None}
        if self.kbuild.host.get(relpath) is not None:
            # a host program: compiled by HOSTCC, not the kernel's compiler
            # (U-Boot's tools see USE_HOSTCC)
            facts["__KERNEL__"] = None
            facts["USE_HOSTCC"] = 1
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
        builtin = conj(file.builtin, cpp_condition.substitute({MODULE: FALSE}))
        module = conj(file.module, cpp_condition.substitute({MODULE: TRUE}))
        return disj(builtin, module)
