"""The headers a C file includes, read as the preprocessor reads them.

`#if PAGE_SIZE < 8192`, `#ifdef __ARCH_WANT_SYS_GETPGRP`, `#ifdef PCI_IOBASE`:
the macros a file tests are mostly defined (or #undef'd) by the headers it
includes. `MacroEnvironment` follows a file's #include lines along the
include path Kbuild gives the architecture, in order, and records every
#define and #undef under the condition of its line (the header's own #if
nesting, within the condition of the #include that brought it in), so a
macro's value is a set of guarded bodies that `kwhen.cpp.expression`
evaluates symbolically: BITS_PER_LONG is 64 when CONFIG_64BIT, else 32.

What kwhen cannot read stays free, never guessed:

- a macro the compiler predefines (``__x86_64__``, ``__GNUC__``) or a
  Makefile passes with ``-D`` (`EXTERNAL`), always;
- any macro not yet defined, once an #include kwhen cannot follow has been
  met (a header Kbuild generates, like generated/bounds.h; a computed
  #include; a header not on the path): `taint` is the condition under
  which such an #include was read, and a macro no file of the tree
  defines or #undefs is free under `taint`. kwhen assumes that a header it
  cannot follow (generated, or not on the path) does not define or #undef
  a macro that a file of the tree defines or #undefs (`written`): cpp
  would warn about the redefinition, and a `#ifndef X` default after it
  (lib/crc32defs.h's CRC_LE_BITS) is the tree's own choice;
- beyond `MAX_HEADERS` headers read for one file, the rest count as
  headers kwhen cannot follow.

Include guards need nothing special: a header with a guard is read again
only under the condition its guard macro is still undefined.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, disj_all, neg, var
from kwhen.logic.names import cpp_value, defined_macro
from kwhen.logic.values import plain_string, value_var

__all__ = ["IncludePath", "MacroEnvironment", "MAX_HEADERS", "FORCED_INCLUDES"]

MAX_HEADERS = 3000      # headers read for one file (Linux: a few hundred to ~1,500)
MAX_DEPTH = 60          # nested #include levels
_MAX_INCLUDE_VARIABLES = 3   # a header included under a longer condition is not read
_MAX_READS = 3                 # a guarded header is read at most this often
_MAX_MACRO_VARIABLES = 16    # a macro defined under longer conditions becomes free
_TABLE_VARIABLES = 6    # formulas over at most this many variables are decided by truth table

# Every C file is compiled with these first (-include in the top Makefile
# and scripts/Makefile.lib); assembly files with the first only.
FORCED_INCLUDES = ("include/linux/kconfig.h", "include/linux/compiler_types.h")

# Predefined by gcc (all of the __X__ form but these), or given by Kbuild
# on the command line for every file.
_PREDEFINED = re.compile(r"__\w*__|_LP64|_ILP32|linux|unix|i386|__linux|__unix|__i386|"
                         r"__x86_64|__amd64|__aarch64|__arm|__riscv|__mips|__powerpc|"
                         r"KBUILD_\w+|__KBUILD_\w+")
_DEFINE_FLAG = re.compile(r"(?:^|[\s'\"=(])-[DU]\s*([A-Za-z_]\w*)")
_KBUILD_LIST = re.compile(r"^\s*(generic-y|mandatory-y|generated-y)\s*[+:]?=\s*(.*)$", re.M)
_DEFINE_HEAD = re.compile(r"([A-Za-z_]\w*)(\([^)]*\))?")


# Headers Kbuild generates, and the macros each can define: a pattern of
# names, or the generator's source, the pattern of the names it reads there
# (DEFINE() lines) and how a generated macro's name is made from each.
# An #include of one of these frees those names only; any other generated
# header (or one kwhen cannot find) frees every macro not yet seen (`taint`).
_SYSCALL_NAMES = r"__NR\w*|__ARM_NR\w*|_UAPI_ASM_\w+|_ASM_\w+|__SYSCALL\w*|__X32_SYSCALL_BIT"
GENERATED = {
    "generated/bounds.h": ("kernel/bounds.c", r"\bDEFINE\(\s*(\w+)", r"__LINUX_BOUNDS_H__"),
    "generated/asm-offsets.h": ("arch/{srcarch}/kernel/asm-offsets*.c",
                                r"\b(?:DEFINE|OFFSET)\(\s*(\w+)", r"__ASM_OFFSETS_H__"),
    "generated/timeconst.h": (None, None, r"(?:HZ|MSEC|USEC|NSEC)_TO_\w+|KERNEL_TIMECONST_H"),
    "generated/autoksyms.h": (None, None, r"__KSYM_\w+"),
    "generated/utsrelease.h": (None, None, r"UTS_RELEASE"),
    "generated/utsversion.h": (None, None, r"UTS_VERSION"),
    "generated/compile.h": (None, None, r"UTS_\w+|LINUX_COMPILE\w*|LINUX_COMPILER"),
    "generated/uapi/linux/version.h": (None, None, r"LINUX_VERSION_\w+|KERNEL_VERSION"),
    "linux/version.h": (None, None, r"LINUX_VERSION_\w+|KERNEL_VERSION"),
    # arm64's awk generators: ARM64_<cap> for each line of tools/cpucaps;
    # REG_<reg>, SYS_<reg>..., <reg>_<field>... for each register of tools/sysreg
    "asm/cpucaps.h": ("arch/{srcarch}/tools/cpucaps", r"(?m)^([A-Z][A-Z0-9_]*)\s*$",
                      r"ARM64_NCAPS|__ASM_CPUCAPS_H", "ARM64_{}"),
    "asm/sysreg-defs.h": ("arch/{srcarch}/tools/sysreg", r"(?m)^(?:Sysreg|SysregFields)\s+(\w+)",
                          r"__ASM_SYSREG_DEFS_H", r"(?:REG_|SYS_)?{}(?:_\w+)?"),
}
_SYSCALL_HEADER = re.compile(r"(?:uapi/)?asm/(?:unistd|syscalls)_\w+\.h")


# a makefile line whose flags reach the directories below as well as its own
_SUBTREE_FLAGS = re.compile(r"^\s*(?:subdir-(?:cc|as|cpp)flags|KBUILD_(?:CPP|C|A)FLAGS)\b")


class FlagMacros:
    """Macros the Makefiles pass with ``-D``/``-U``, by where they reach, that
    the Kbuild walk does not give with their condition (each left free where
    it reaches). A directory's own makefile reaches its directory
    (``CFLAGS_foo.o``) or, with ``KBUILD_CFLAGS``, the directories below
    too; any other makefile (the architecture's, included fragments,
    scripts/) reaches every file. The flag lists the walk reads exactly
    (``ccflags-y``, ``subdir-ccflags-y``...: `KbuildResult.flags`) are kept
    apart (`listed`): free only where the walk could not read them."""

    def __init__(self, everywhere=frozenset(), own=None, below=None, listed=None):
        self.everywhere = frozenset(everywhere)
        self.own = {d: frozenset(n) for d, n in (own or {}).items()}
        self.below = {d: frozenset(n) for d, n in (below or {}).items()}
        self.listed = {d: frozenset(n) for d, n in (listed or {}).items()}

    def __bool__(self):
        return bool(self.everywhere or self.own or self.below)

    def for_file(self, relpath: str, listed_too: bool = False,
                 directory: str | None = None) -> frozenset:
        """The macros a flag may define or undefine when `relpath` is
        compiled by the makefile of `directory` (by default its own),
        kwhen not knowing when (with `listed_too`, those of the flag lists
        too)."""
        directory = directory or posixpath.dirname(relpath) or "."
        names = set(self.everywhere) | self.own.get(directory, frozenset())
        d = directory
        while True:
            names |= self.below.get(d, frozenset())
            if listed_too:
                names |= self.listed.get(d, frozenset())
            if d == ".":
                break
            d = posixpath.dirname(d) or "."
        return frozenset(names)

    def to_data(self) -> dict:
        return {"everywhere": sorted(self.everywhere),
                "own": {d: sorted(n) for d, n in self.own.items()},
                "below": {d: sorted(n) for d, n in self.below.items()},
                "listed": {d: sorted(n) for d, n in self.listed.items()}}

    @classmethod
    def from_data(cls, data: dict) -> "FlagMacros":
        return cls(data["everywhere"], data["own"], data["below"], data["listed"])


# the flag lists the Kbuild walk reads with their conditions (kwhen.kbuild.tree)
_LISTED_FLAGS = re.compile(r"^\s*(?:subdir-)?(?:cc|as)flags-")


def flag_macros(makefiles, directories) -> FlagMacros:
    """Where the ``-D``/``-U`` flags of `makefiles` (``(path, text)`` pairs)
    reach, `directories` being those Kbuild descends (``.`` the top): a
    directory's makefile is its Kbuild, else its Makefile."""
    paths = {path for path, _ in makefiles}
    everywhere: set = set()
    own: dict = {}
    below: dict = {}
    listed: dict = {}
    for path, text in makefiles:
        directory, name = posixpath.split(path)
        directory = directory or "."
        kbuild = "Kbuild" if directory == "." else f"{directory}/Kbuild"
        local = directory in directories and (
            name == "Kbuild" or (name == "Makefile" and kbuild not in paths))
        lines = [line.split("#", 1)[0] for line in text.replace("\\\n", " ").splitlines()]
        if not local:
            everywhere.update(n for line in lines for n in _DEFINE_FLAG.findall(line))
            continue
        for line in lines:
            found = _DEFINE_FLAG.findall(line)
            if found:
                where = listed if _LISTED_FLAGS.match(line) else \
                    below if _SUBTREE_FLAGS.match(line) else own
                where.setdefault(directory, set()).update(found)
    return FlagMacros(everywhere, own, below, listed)


class IncludePath:
    """Where `#include` finds a header for one architecture, in Kbuild's
    order (LINUXINCLUDE): arch/$(SRCARCH)/include, its generated/ wrappers,
    include, arch/$(SRCARCH)/include/uapi, its generated/uapi wrappers,
    include/uapi. A wrapper Kbuild generates for an asm header an
    architecture lists as generic-y (or misses from include/asm-generic's
    mandatory-y) is ``#include <asm-generic/X.h>``, and read as such."""

    def __init__(self, root: Path, srcarch: str, read_text, string_values=None):
        self.root = Path(root)
        self.srcarch = srcarch
        self._read = read_text
        # symbol -> (its string values, whether a user may set another):
        # what a generated header's $(CONFIG_FOO) can be
        self._string_values = string_values
        self._exists: dict[str, bool] = {}
        self._recipes: dict[str, list | None] = {}
        self.recipes_read: set[str] = set()
        self._config_names: dict[str, tuple] = {}
        arch = f"arch/{srcarch}/include"
        self.wrappers = self._wrappers(f"{arch}/asm", "include/asm-generic")
        self.uapi_wrappers = self._wrappers(f"{arch}/uapi/asm", "include/uapi/asm-generic")
        self.places = [(arch, None), (None, self.wrappers), ("include", None),
                       (f"{arch}/uapi", None), (None, self.uapi_wrappers), ("include/uapi", None)]

    def _exists_file(self, relpath: str) -> bool:
        found = self._exists.get(relpath)
        if found is None:
            found = self._exists[relpath] = os.path.isfile(self.root / relpath)
        return found

    def _kbuild_lists(self, directory: str) -> dict[str, list[str]]:
        lists: dict[str, list[str]] = {}
        path = f"{directory}/Kbuild"
        if not self._exists_file(path):
            return lists
        try:
            text = self._read(path)
        except KwhenError:
            return lists
        for kind, names in _KBUILD_LIST.findall(text):
            lists.setdefault(kind, []).extend(n for n in names.split() if n.endswith(".h"))
        return lists

    def _wrappers(self, asm_dir: str, generic_dir: str) -> dict[str, str | None]:
        """asm/X.h -> the asm-generic header its generated wrapper includes,
        or None for a header Kbuild generates otherwise (generated-y)."""
        own = self._kbuild_lists(asm_dir)
        mandatory = self._kbuild_lists(generic_dir).get("mandatory-y", [])
        table: dict[str, str | None] = {}
        for name in mandatory:
            if not self._exists_file(f"{asm_dir}/{name}"):
                table[f"asm/{name}"] = f"asm-generic/{name}"
        for name in own.get("generic-y", []):
            table[f"asm/{name}"] = f"asm-generic/{name}"
        for name in own.get("generated-y", []):
            table[f"asm/{name}"] = None
        return table

    def recipe(self, name: str) -> list | None:
        """What a header the build generates (`RECIPES`) holds, as
        directives: ("include", [(condition, header)], open case, text,
        glob) for each #include it writes (one alternative per value of a
        string symbol its name uses; the open case where the value is none
        of them, a header among those `glob` matches), ("define", name, body), or ("unknown", text) for a line
        kwhen cannot read (a shell loop, a make variable it does not know).
        None when the tree has no such recipe."""
        name = posixpath.normpath(name)
        if name in self._recipes:
            return self._recipes[name]
        found = None
        where = RECIPES.get(name)
        if where is not None and self._exists_file(where[0]):
            try:
                text = self._read(where[0])
            except KwhenError:
                text = ""
            self.recipes_read.add(where[0])
            lines = _recipe_lines(text, where[1])
            if lines is not None:
                found = [self._recipe_directive(line) for line in lines if "echo" in line
                         and "\\#" in line or "$$" in line]
        self._recipes[name] = found
        return found

    def _recipe_directive(self, line: str) -> tuple:
        m = _RECIPE_LINE.search(line)
        if m is None or "$$" in line:       # a shell loop's output
            return ("unknown", line.strip())
        keyword, rest = m.group(1), m.group(2).replace("\\<", "<").replace("\\>", ">")
        if keyword == "define":
            name, _, body = rest.partition(" ")
            return ("define", name, body.strip())
        header = rest.strip()
        if not (header.startswith("<") and header.endswith(">")):
            return ("unknown", line.strip())
        header = header[1:-1]
        alternatives = [(TRUE, "")]
        open_case = FALSE
        position = 0
        for ref in _MAKE_REFERENCE.finditer(header):
            symbol = ref.group(1) or ""
            values = (self._string_values(symbol[7:], MAX_GENERATED_ALTERNATIVES)
                      if symbol.startswith("CONFIG_") and self._string_values else None)
            if values is None:
                return ("unknown", line.strip())
            text = header[position:ref.start()]
            position = ref.end()
            choices, other = values
            if choices is None:
                # more boards than kwhen reads for every file: which one's
                # header is included stays unknown
                return ("include", [], TRUE, line.strip(), _glob_of(header))
            props = [var(value_var(symbol[7:], v)) for v in choices]
            if other:
                # where a user may type a name: a header kwhen cannot name
                open_case = disj(open_case, neg(disj_all(props)))
            alternatives = [(conj(c, p), h + text + plain_string(v))
                            for c, h in alternatives for p, v in zip(props, choices)]
        tail = header[position:]
        return ("include", [(c, h + tail) for c, h in alternatives], open_case, line.strip(),
                _glob_of(header))

    def config_names(self, pattern: str) -> tuple[frozenset, list]:
        """The CONFIG_ names the headers matching `pattern` (``configs/*.h``)
        or any header beside them #define, and those headers: all a header
        kwhen cannot name among them can define (a board's, chosen by a
        string a user types)."""
        found = self._config_names.get(pattern)
        if found is None:
            import glob

            names: set = set()
            paths = []
            for where in ("include", f"arch/{self.srcarch}/include"):
                base = self.root / where
                directory = posixpath.dirname(pattern)
                for path in sorted(glob.glob(str(base / directory / "**" / "*.h"), recursive=True)):
                    relpath = os.path.relpath(path, self.root)
                    try:
                        text = self._read(relpath)
                    except KwhenError:
                        continue
                    paths.append(relpath)
                    names.update(_CONFIG_DEFINE.findall(text))
            found = self._config_names[pattern] = (frozenset(names), paths)
        return found

    def resolve(self, name: str, angled: bool, includer: str, extra=()) -> str | None:
        """The tree-relative header `#include` finds from `includer`, or
        None when kwhen cannot read it (generated, or nowhere on the path).
        ``generated/autoconf.h`` is "kconfig": the CONFIG_ macros, which
        kwhen models from Kconfig itself."""
        name = posixpath.normpath(name)
        if name.startswith(("/", "../")) and angled:
            return None
        if name in ("generated/autoconf.h", "linux/kconfig.h") and angled:
            return "kconfig" if name == "generated/autoconf.h" else "include/linux/kconfig.h"
        if not angled:
            beside = posixpath.normpath(posixpath.join(posixpath.dirname(includer), name))
            if not beside.startswith("../") and self._exists_file(beside):
                return beside
        for directory, wrappers in self.places:
            if directory is not None:
                candidate = f"{directory}/{name}"
                if self._exists_file(candidate):
                    return candidate
            elif name in wrappers or (wrappers is self.wrappers and name.startswith("uapi/")
                                      and name[5:] in self.uapi_wrappers):
                # (arch/$(SRCARCH)/include/generated holds uapi/asm/X.h too)
                generic = wrappers[name] if name in wrappers else self.uapi_wrappers[name[5:]]
                if generic is None:
                    return None
                return self.resolve(generic, True, includer)
        for directory in extra:
            candidate = posixpath.normpath(f"{directory}/{name}")
            if not candidate.startswith("../") and self._exists_file(candidate):
                return candidate
        return None


# Headers the build generates from a recipe of `echo` lines in a makefile
# (U-Boot's include/config.h: ``echo \#include \<configs/$(CONFIG_SYS_CONFIG_NAME).h\>``):
# #include name -> (makefile, the make variable holding the recipe).
RECIPES = {"config.h": ("scripts/Makefile.autoconf", "filechk_config_h")}
# A name made of a string symbol's values is read for each value some
# configuration of the architecture takes, up to this many (sandbox: 2);
# past it (arm: hundreds of boards), the header is unknown: the CONFIG_
# macros no other header defines are free.
MAX_GENERATED_ALTERNATIVES = 16
_RECIPE_LINE = re.compile(r"echo\s+\\#\s*(include|define)\s+(.*?)\s*;?\s*\\?\s*\)?\s*$")
_MAKE_REFERENCE = re.compile(r"\$\(([^()]*)\)|\$\$")


# a #define of a CONFIG_ name, at the start of a line
_CONFIG_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(CONFIG_\w+)", re.MULTILINE)


def _glob_of(header: str) -> str:
    """``configs/$(CONFIG_SYS_CONFIG_NAME).h`` -> ``configs/*.h``."""
    return _MAKE_REFERENCE.sub("*", header)


def _recipe_lines(text: str, variable: str) -> list | None:
    """The lines of ``define VARIABLE ... endef`` in a makefile's text."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.split() == ["define", variable]:
            body = []
            for other in lines[i + 1:]:
                if other.strip() == "endef":
                    return body
                body.append(other)
    return None


# `MacroEnvironment.values` of a macro kwhen gave up following (its value
# is an opaque term, its definedness free).
OPAQUE = None


class MacroEnvironment:
    """The macros in force while one file is preprocessed, with the headers
    it includes followed (see the module docstring).

    `defined`: name -> when the macro is defined; `values`: name -> the
    definitions in force, ``((guard, params, body), ...)`` with `params`
    None for an object-like macro; `first`: name -> when it was defined
    before kwhen saw a #define or #undef of it (`outside` at that time).
    """

    def __init__(self, path: IncludePath, symbols, facts, read_text, external=frozenset(),
                 taint: Formula = FALSE, fixed=None, value_cases=None, include_dirs=()):
        self.path = path
        # the -I directories the file's makefile adds, searched after Kbuild's
        self.include_dirs = tuple(include_dirs)
        # symbol -> ((value proposition, int), ...) covering every
        # configuration, or None (`presence.Tree.value_cases`): an int
        # symbol in arithmetic other than + and - (``1 << PAGE_SHIFT``)
        self.value_cases = value_cases
        # symbol -> TRUE/FALSE where Kconfig gives it one value on the
        # architecture (CONFIG_HAVE_ARCH_COMPILER_H, never on x86), else
        # None: an #include under such a symbol is settled, not carried
        # as a condition into every macro after it
        self.fixed = fixed
        self.symbols = symbols
        self.facts = facts
        self.read_text = read_text
        self.external = external
        self.taint = taint
        # when a header that may define CONFIG_ macros kwhen does not know
        # was included (a board header a user names): CONFIG_ names come
        # from Kconfig or the tree's headers, never from the compiler's
        # or the system's headers that `taint` stands for
        self.config_taint: Formula = FALSE
        self.config_taint_names: frozenset = frozenset()   # the CONFIG_ names it may define
        self._taint_headers: list = []
        self.defined: dict[str, Formula] = {}
        self.values: dict[str, tuple] = {}
        self.first: dict[str, Formula] = {}
        self.unknowns: dict[str, str] = {}     # what kwhen could not follow: text -> where
        # macros a file of the tree defines or #undefs: none of them comes
        # from a header kwhen cannot follow (`outside`)
        self.written: set[str] = set()
        self.reasons: dict[str, str] = {}      # macro -> why kwhen left it free
        self.generated: list[re.Pattern] = []  # names the generated headers read may define
        self._generated_seen: set[str] = set()
        self.read_count = 0
        self._once: dict[str, Formula] = {}    # guarded header -> condition it was read under
        self._lexed: dict[str, tuple] = {}
        self._depth = 0
        self._abstracted = 0
        self._reads: dict[str, int] = {}        # guarded header -> times read

    def predefine(self, macros: dict) -> None:
        """The compiler's own macros (`kwhen.cpp.compiler.predefined`:
        name -> ((condition, body or None), ...)), in force before the
        first line; a fact of the file (__KERNEL__) is left as it is."""
        for name, cases in macros.items():
            if name in self.facts:
                continue
            self.defined[name] = disj(*(cond for cond, _ in cases))
            self.first[name] = FALSE
            if any(body is None for _, body in cases):
                self.values[name] = OPAQUE
            else:
                self.values[name] = tuple((cond, None, body) for cond, body in cases)

    def command_line(self, flags) -> None:
        """The -D and -U flags of the file's compile command, in order
        (``(name, body or None for -U, condition)``): each defines or
        undefines its macro where its condition holds, before the first
        line."""
        for name, body, condition in flags:
            if name in self.facts or condition is FALSE:
                continue
            old = self.defined.get(name)
            if old is None:
                old = self.first.setdefault(name, self.outside(name))
            kept = tuple((conj(g, neg(condition)), p, b) for g, p, b in self.values.get(name) or ())
            if name in self.values and self.values[name] is OPAQUE:
                kept = OPAQUE
            if body is None:
                self.defined[name] = conj(old, neg(condition))
                self.values[name] = kept
            else:
                self.defined[name] = disj(conj(old, neg(condition)), condition)
                self.values[name] = OPAQUE if kept is OPAQUE else kept + ((condition, None, body),)
            self.written.add(name)

    def files_read(self) -> list[str]:
        """The headers read (or looked for: a header created later changes
        what an #include finds), for the cache's dependencies."""
        return sorted(set(self._lexed) | self.path.recipes_read | set(self._taint_headers)
                      | {p for p, found in self.path._exists.items() if not found
                         and p.endswith(".h")})

    def snapshot(self) -> "MacroEnvironment":
        """A copy of the state, for reading a file included here (a .c
        built through another) in its includer's context."""
        other = MacroEnvironment.__new__(MacroEnvironment)
        other.__dict__.update(self.__dict__)
        for name in ("defined", "values", "first", "unknowns", "reasons", "_once", "_reads"):
            setattr(other, name, dict(getattr(self, name)))
        other.written = set(self.written)
        other.generated = list(self.generated)
        other._taint_headers = list(self._taint_headers)
        other._generated_seen = set(self._generated_seen)
        return other

    # -- what the expression evaluator asks -------------------------------------

    def outside(self, name: str) -> Formula:
        """When `name`, of which kwhen has read no #define or #undef, is
        defined by something kwhen did not read."""
        if name.startswith("CONFIG_"):
            # from Kconfig or a header of the tree, never the compiler's
            if self.config_taint is FALSE or name not in self.config_taint_names:
                return FALSE
            return conj(self.config_taint, var(defined_macro(name)))
        if name in self.external or _PREDEFINED.fullmatch(name) or any(
                pattern.fullmatch(name) for pattern in self.generated):
            return var(defined_macro(name))
        if self.taint is FALSE or name in self.written:
            return FALSE
        return conj(self.taint, var(defined_macro(name)))

    def _generated_names(self, name: str) -> re.Pattern | None:
        """The names generated header `name` can define, or None when
        kwhen does not know the header."""
        if _SYSCALL_HEADER.fullmatch(name):
            return re.compile(_SYSCALL_NAMES)
        entry = GENERATED.get(name)
        if entry is None:
            return None
        source, define, pattern, *template = entry
        template = template[0] if template else "{}"
        names = [pattern]
        if source is not None:
            import glob

            where = source.format(srcarch=self.path.srcarch)
            for path in sorted(glob.glob(str(self.path.root / where))):
                relpath = os.path.relpath(path, self.path.root)
                try:
                    names += [template.format(re.escape(n))
                              for n in re.findall(define, self.read_text(relpath))]
                except KwhenError:
                    return None
        return re.compile("|".join(names))

    def computed_include(self, body: str) -> tuple[str, bool] | None:
        """(name, angled) of a computed ``#include body``, if kwhen can
        expand it (`expand_include`)."""
        return expand_include(self, body)

    def first_outside(self, name: str) -> Formula:
        found = self.first.get(name)
        return found if found is not None else self.outside(name)

    # -- what the directive walk reports ----------------------------------------

    def record(self, name: str, keyword: str, rest: str | None, condition: Formula) -> None:
        """A #define (`rest`: what follows the name) or #undef of `name` on
        a line compiled under `condition`. A macro whose conditions grow
        past `_MAX_MACRO_VARIABLES` symbols becomes free (defined or not,
        value opaque) from then on."""
        defined = self.defined.get(name, FALSE)
        if defined.op in ("and", "or") and len(defined.args) > 2:
            defined = self.defined[name] = decided(defined)
        if len(defined.variables()) > _MAX_MACRO_VARIABLES:
            # (its definedness stays as computed: kwhen.cpp.directives
            # bounds the size of that formula)
            self.values[name] = OPAQUE
            self.reasons.setdefault(name, f"defined under conditions over more than "
                                          f"{_MAX_MACRO_VARIABLES} symbols")
            return
        old = self.values.get(name, ())
        if old is OPAQUE:
            return
        if not old:
            kept = ()
        elif condition is TRUE:
            kept = ()
        else:
            kept = tuple((g2, p, b) for g, p, b in old
                         if (g2 := decided(conj(g, neg(condition)))) is not FALSE)
        if keyword == "define":
            params, body = _parameters(rest or "")
            kept += ((condition, params, body),)
        self.values[name] = kept

    def settled(self, condition: Formula) -> Formula:
        """`condition` with the symbols Kconfig fixes on the architecture
        replaced by their value (`fixed`)."""
        if self.fixed is None or condition.is_const():
            return condition
        names = [n for n in condition.variables() if n in self.symbols]
        if not names:
            return condition
        values = {n: f for n in names if (f := self.fixed(n)) is not None}
        return condition.substitute(values) if values else condition

    def unknown(self, what: str, includer: str, line: int, condition: Formula) -> None:
        """An #include kwhen does not follow: any macro not yet seen may
        come from it."""
        condition = self.settled(condition)
        if condition is FALSE:
            return
        self.unknowns.setdefault(what, f"{includer}:{line}")
        self.taint = decided(disj(self.taint, condition))
        if len(self.taint.variables()) > _MAX_MACRO_VARIABLES:
            self.taint = TRUE          # (larger: the same over-approximation, cheaper)

    def include(self, name: str, angled: bool, includer: str, condition: Formula) -> None:
        condition = self.settled(condition)
        if condition is FALSE:
            return
        found = self.path.resolve(name, angled, includer, self.include_dirs)
        if found == "kconfig":
            return
        if found is None:
            recipe = self.path.recipe(name)
            if recipe is not None:
                self._generated(name, recipe, condition)
                return
            self.not_followed(name, angled, includer, condition)
            return
        self.read(found, condition, includer)

    def _generated(self, name: str, recipe: list, condition: Formula) -> None:
        """A header the build generates from `recipe` (`IncludePath.recipe`),
        read as its lines say: each #include under the condition of its
        alternative (the value of the string symbol its name uses), whose
        value a user cannot set: where none of its values holds, no default
        applies and the build has no such header to read. Where a user
        may set it (a prompt), the header is unknown, and it alone may
        define CONFIG_ macros no header kwhen reads defines
        (`config_taint`)."""
        where = f"include/{name} (generated)"
        for directive in recipe:
            if directive[0] == "include":
                _kind, alternatives, open_case, text, pattern = directive
                for alternative, header in alternatives:
                    self.include(header, True, where, conj(condition, alternative))
                if open_case is not FALSE:
                    unknown = conj(condition, open_case)
                    self.config_taint = disj(self.config_taint, unknown)
                    names, headers = self.path.config_names(pattern)
                    self.config_taint_names |= names
                    self._taint_headers.extend(headers)
                    self.unknown(text, where, 0, unknown)
            elif directive[0] == "define":
                # its body names make variables (CONFIG_BOARDDIR): opaque
                self.defined[directive[1]] = decided(disj(
                    self.defined.get(directive[1], FALSE), condition))
                self.values[directive[1]] = OPAQUE
            else:
                self.unknown(directive[1], where, 0, condition)

    def not_followed(self, name: str, angled: bool, includer: str, condition: Formula) -> None:
        """An #include of a header kwhen does not read: a generated header
        kwhen knows frees the names it can define, any other the rest (a
        quoted name not found beside its includer is looked for on the
        path as an angled one is)."""
        names = self._generated_names(posixpath.normpath(name))
        if names is not None:
            if names.pattern not in self._generated_seen:
                self._generated_seen.add(names.pattern)
                self.generated.append(names)
            return
        self.unknown(f"#include {'<' + name + '>' if angled else chr(34) + name + chr(34)}",
                     includer, 0, condition)

    def read(self, relpath: str, condition: Formula, includer: str = "") -> None:
        """Preprocess header `relpath` under `condition` (its #include's).

        Reading a header again under every chain of conditions that
        reaches it grows without bound, so the work is bounded, always
        towards more freedom, never a wrong answer:

        - a condition over more than `_MAX_INCLUDE_VARIABLES` symbols is
          replaced by a fresh free proposition ("this #include is
          compiled"): either value is considered;
        - a guarded header is read again where its guard is still
          undefined, up to `_MAX_READS` times and while that condition
          stays small; past that, every macro the header (and what it
          includes) may define or #undef becomes free (`_skim`)."""
        from kwhen.cpp.directives import walk

        lexed = self._lex(relpath, includer, condition)
        if lexed is None:
            return
        directives, guarded, _, _ = lexed
        if guarded:
            before = self._once.get(relpath)
            if before is not None:
                fresh = decided(conj(condition, neg(before)))
                if fresh is FALSE:
                    return
                reads = self._reads.get(relpath, 1)
                if len(fresh.variables()) > _MAX_INCLUDE_VARIABLES * 2 or reads >= _MAX_READS:
                    self._once[relpath] = TRUE
                    self._skim(relpath, fresh)
                    return
                self._reads[relpath] = reads + 1
                self._once[relpath] = decided(disj(before, fresh))
                condition = fresh
        if self.read_count >= MAX_HEADERS or self._depth >= MAX_DEPTH:
            self._skim(relpath, condition)
            return
        if len(condition.variables()) > _MAX_INCLUDE_VARIABLES:
            self._abstracted += 1
            condition = var(cpp_value(f"#include {relpath} #{self._abstracted}"))
        if guarded and relpath not in self._once:
            self._once[relpath] = condition
        self.read_count += 1
        self._depth += 1
        try:
            walk(directives, relpath, self.symbols, self.facts, None, self, base=condition,
                 record=False)
        except KwhenError as e:
            # a header kwhen cannot parse: what it defines is unknown
            self.unknown(f"{relpath} (unreadable: {e.message})", includer, 0, condition)
        finally:
            self._depth -= 1

    def _lex(self, relpath: str, includer: str, condition: Formula):
        """(directives, guarded, names it #defines/#undefs, headers it
        #includes) of a header, once per environment; None if unreadable."""
        from kwhen.cpp.directives import _guard_of, lex

        lexed = self._lexed.get(relpath)
        if lexed is None:
            try:
                directives = lex(self.read_text(relpath))[0]
            except KwhenError:
                self.unknown(f"#include of unreadable {relpath}", includer, 0, condition)
                return None
            names = {d.body.split(None, 1)[0].split("(")[0] for d in directives
                     if d.keyword in ("define", "undef") and d.body}
            includes = [d for d in directives if d.keyword in ("include", "include_next")]
            lexed = self._lexed[relpath] = (directives, _guard_of(directives) is not None,
                                            names, includes)
        return lexed

    def _live_includes(self, path: str, directives) -> list:
        """The #include lines of a header skimmed (`_skim`) that some
        configuration may compile: those whose #if lines, read with the
        file's facts and the symbols Kconfig fixes alone (no macro of a
        header), are not false (``#ifndef __KERNEL__``, ``#elif
        defined(CONFIG_ARM)`` on arm64)."""
        from kwhen.cpp.expression import condition_of

        def test(d) -> Formula:
            try:
                if d.keyword in ("ifdef", "ifndef"):
                    f = condition_of(f"defined({d.body.split()[0]})", self.symbols, path,
                                     d.line, self.facts)
                    return neg(f) if d.keyword == "ifndef" else f
                return condition_of(d.body, self.symbols, path, d.line, self.facts)
            except (KwhenError, IndexError):
                return var(f"cpp(#{d.keyword} {path}:{d.line})")

        live, frames, current = [], [], TRUE
        for d in directives:
            kw = d.keyword
            if kw in ("if", "ifdef", "ifndef"):
                c = self.settled(test(d))
                frames.append((current, c))
                current = conj(current, c)
            elif kw == "elif" and frames:
                outer, taken = frames[-1]
                c = self.settled(test(d))
                current = conj(outer, neg(taken), c)
                frames[-1] = (outer, disj(taken, c))
            elif kw == "else" and frames:
                outer, taken = frames[-1]
                current = conj(outer, neg(taken))
                frames[-1] = (outer, TRUE)
            elif kw == "endif" and frames:
                current = frames.pop()[0]
            elif kw in ("include", "include_next") and current is not FALSE:
                live.append(d)
        return live

    def _skim(self, relpath: str, condition: Formula) -> None:
        """What header `relpath` and the headers it includes might define or
        #undef becomes free under `condition` (their #if lines unread)."""
        from kwhen.cpp.directives import _INCLUDE_NAME

        seen: set[str] = set()
        todo = [relpath]
        names: set[str] = set()
        while todo and len(seen) < MAX_HEADERS:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            lexed = self._lex(path, relpath, condition)
            if lexed is None or (lexed[1] and path != relpath
                                 and self._once.get(path) is TRUE):
                continue        # (a guarded header already read everywhere adds nothing)
            names |= lexed[2]
            for d in self._live_includes(path, lexed[0]):
                m = _INCLUDE_NAME.match(d.body)
                found = self.path.resolve(m.group(1) or m.group(2), m.group(2) is not None, path,
                                          self.include_dirs) \
                    if m and d.keyword == "include" else None
                if found is None:
                    if m and d.keyword == "include":
                        self.not_followed(m.group(1) or m.group(2), m.group(2) is not None,
                                          path, condition)
                    else:
                        self.unknown(f"#{d.keyword} {d.body}", path, d.line, condition)
                elif found != "kconfig":
                    todo.append(found)
        if todo:
            self.unknown(f"headers under {relpath} (beyond kwhen's bound)", relpath, 0, condition)
        small = len(condition.variables()) <= _TABLE_VARIABLES
        for name in names - set(self.facts):
            old = self.defined.get(name)
            if old is None:
                old = self.first[name] = self.outside(name)
            free = var(defined_macro(name))
            # free under `condition` (everywhere when that is too costly)
            self.defined[name] = decided(disj(conj(neg(condition), old), conj(condition, free))) \
                if small else free
            if len(self.defined[name].variables()) > _MAX_MACRO_VARIABLES:
                self.defined[name] = free
            self.values[name] = OPAQUE
            self.reasons.setdefault(name, f"{relpath}, which may define it, is included under "
                                          f"a condition kwhen does not follow ({condition})")


_decided: dict[Formula, Formula] = {}


def decided(f: Formula) -> Formula:
    """`f` in a canonical, compact form when it has few enough variables
    to try every assignment (a header's conditions repeat a handful of
    symbols: X86_32 && !(A || !A && X86_32) is FALSE): the Shannon
    expansion of its truth table, so equal functions are one formula."""
    if f.is_const():
        return f
    found = _decided.get(f)
    if found is not None:
        return found
    names = sorted(f.variables())
    result = f
    if len(names) <= _TABLE_VARIABLES:
        size = 1 << len(names)
        masks = {n: _VARIABLE_MASKS[i] & ((1 << size) - 1) for i, n in enumerate(names)}
        bits = _truth_mask(f, masks, (1 << size) - 1, {})
        table = tuple(bits >> b & 1 for b in range(size))
        result = _expand(names, table, 0, 0)
    _decided[f] = result
    return result


# Variable i's truth over the 2**_TABLE_VARIABLES assignments, as bits.
_VARIABLE_MASKS = [sum(1 << b for b in range(1 << _TABLE_VARIABLES) if b >> i & 1)
                   for i in range(_TABLE_VARIABLES)]


def _truth_mask(f: Formula, masks: dict, full: int, memo: dict) -> int:
    """The truth table of `f`, one bit per assignment (all at once)."""
    if f is TRUE:
        return full
    if f is FALSE:
        return 0
    if f.op == "var":
        return masks[f.name]
    found = memo.get(f)
    if found is not None:
        return found
    if f.op == "not":
        result = full ^ _truth_mask(f.args[0], masks, full, memo)
    elif f.op == "and":
        result = full
        for arg in f.args:
            result &= _truth_mask(arg, masks, full, memo)
    else:
        result = 0
        for arg in f.args:
            result |= _truth_mask(arg, masks, full, memo)
    memo[f] = result
    return result


def _expand(names: list, table: tuple, depth: int, offset: int) -> Formula:
    """The formula of `table` (truth values indexed by assignment bits)
    restricted to assignments whose first `depth` variables give
    `offset`."""
    step = 1 << depth
    values = table[offset::step]
    if all(values):
        return TRUE
    if not any(values):
        return FALSE
    key = (tuple(names[depth:]), values)
    found = _expanded.get(key)
    if found is not None:
        return found
    found = _expanded[key] = _shannon(names, table, depth, offset, step)
    return found


_expanded: dict = {}


def _shannon(names, table, depth, offset, step) -> Formula:
    low = _expand(names, table, depth + 1, offset)
    high = _expand(names, table, depth + 1, offset + step)
    x = var(names[depth])
    if low is FALSE:
        return conj(x, high)
    if high is FALSE:
        return conj(neg(x), low)
    if high is TRUE:
        return disj(x, low)
    if low is TRUE:
        return disj(neg(x), high)
    return disj(conj(x, high), conj(neg(x), low))


def _parameters(rest: str) -> tuple[tuple | None, str]:
    """(parameters or None, body) of the text after a #define's name: a
    function-like macro has its ``(`` right after the name."""
    if rest.startswith("("):
        close = rest.find(")")
        if close < 0:
            return (), ""
        params = tuple(p.strip() for p in rest[1:close].split(",") if p.strip())
        return params, rest[close + 1:].strip()
    return None, rest.strip()


# -- computed #include -----------------------------------------------------------
#
# ``#include TRACE_INCLUDE(TRACE_INCLUDE_FILE)`` (include/trace/define_trace.h,
# reached from every file that defines CREATE_TRACE_POINTS) names its header
# through macros. cpp's own expansion is needed to follow it; no library
# offers a C preprocessor that runs on kwhen's guarded macro table, so the
# small part an #include line needs is written here: object- and
# function-like macros with one definition in force everywhere, `#`
# stringizing and `##` pasting. Anything else leaves the include unfollowed.

_PP_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z_]\w*|##|\s+|.', re.S)
_MAX_INCLUDE_EXPANSIONS = 64


def expand_include(env: "MacroEnvironment", body: str) -> tuple[str, bool] | None:
    """(name, angled) that a computed ``#include body`` names where every
    macro it goes through has one definition in force (`env.values`);
    None when kwhen cannot tell."""
    budget = [_MAX_INCLUDE_EXPANSIONS]
    tokens = _expand_tokens(env, _PP_TOKEN.findall(body), frozenset(), budget)
    if tokens is None:
        return None
    text = "".join(tokens).strip()
    if len(text) > 2 and text[0] == '"' and text[-1] == '"' and '"' not in text[1:-1]:
        return text[1:-1], False
    if len(text) > 2 and text[0] == "<" and text[-1] == ">":
        return text[1:-1].strip(), True
    return None


def _definition(env, name: str):
    """(params, body) of the one definition of `name` in force everywhere."""
    entries = [e for e in env.values.get(name) or () if e[0] is not FALSE]
    if not entries or any(e[1:] != entries[0][1:] for e in entries):
        return None
    # (one text under guards that together hold everywhere: TRACE_SYSTEM
    # defined alike on both sides of an #if)
    if decided(disj(*(e[0] for e in entries))) is not TRUE:
        return None
    return entries[0][1], entries[0][2]


def _expand_tokens(env, tokens: list, hidden: frozenset, budget: list) -> list | None:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not (tok[0].isalpha() or tok[0] == "_") or tok in hidden:
            out.append(tok)
            continue
        found = _definition(env, tok)
        if found is None:
            if tok in env.values or env.first_outside(tok) is not FALSE:
                return None         # defined otherwise, or maybe by something unread
            out.append(tok)
            continue
        budget[0] -= 1
        if budget[0] < 0:
            return None
        params, body = found
        if params is None:
            replaced = _PP_TOKEN.findall(body)
        else:
            j = i
            while j < len(tokens) and tokens[j].isspace():
                j += 1
            if j >= len(tokens) or tokens[j] != "(":
                out.append(tok)      # a function-like name without a call
                continue
            args, i = _arguments(tokens, j + 1)
            if args is None:
                return None
            replaced = _substituted(env, params, body, args, hidden, budget)
            if replaced is None:
                return None
        expanded = _expand_tokens(env, replaced, hidden | {tok}, budget)
        if expanded is None:
            return None
        out.extend(expanded)
    return out


def _arguments(tokens: list, i: int) -> tuple[list | None, int]:
    """The arguments of a call whose "(" ends before `i`, and where it ends."""
    args: list[list[str]] = [[]]
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok == "(":
            depth += 1
        elif tok == ")":
            if depth == 0:
                return args, i
            depth -= 1
        elif tok == "," and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    return None, i


def _substituted(env, params: tuple, body: str, args: list, hidden, budget) -> list | None:
    """`body` with the parameters replaced: `#p` by the spelling of the
    argument, `p` next to `##` by the argument as written, else by the
    argument fully expanded; GNU's ``x...`` and ``...`` take the rest."""
    names = [p[:-3].strip() or "__VA_ARGS__" if p.endswith("...") else p for p in params]
    variadic = bool(params) and params[-1].endswith("...")
    if variadic and len(args) >= len(names):
        args = args[:len(names) - 1] + [sum(([","] + a for a in args[len(names) - 1:]), [])[1:]]
    if len(args) != len(names) and not (not names and args == [[]]):
        return None
    table = {n: a for n, a in zip(names, args)}
    body_tokens = _PP_TOKEN.findall(body)
    out: list[str] = []
    k = 0
    while k < len(body_tokens):
        tok = body_tokens[k]
        if tok == "#":
            n = k + 1
            while n < len(body_tokens) and body_tokens[n].isspace():
                n += 1
            if n < len(body_tokens) and body_tokens[n] in table:
                spelled = re.sub(r"\s+", " ", "".join(table[body_tokens[n]]).strip())
                out.append('"' + spelled.replace("\\", "\\\\").replace('"', '\\"') + '"')
                k = n + 1
                continue
            return None
        if tok in table:
            near_paste = any(t == "##" for t in body_tokens[max(0, k - 2):k + 3] if not t.isspace())
            if near_paste:
                out.extend(table[tok])
            else:
                expanded = _expand_tokens(env, table[tok], hidden, budget)
                if expanded is None:
                    return None
                out.extend(expanded)
        elif tok == "##":
            while out and out[-1].isspace():
                out.pop()
            k += 1
            while k < len(body_tokens) and body_tokens[k].isspace():
                k += 1
            continue
        else:
            out.append(tok)
        k += 1
    return _PP_TOKEN.findall("".join(out))
