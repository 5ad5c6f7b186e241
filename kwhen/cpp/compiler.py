"""The macros the kernel's compiler predefines, per architecture.

`#if BITS_PER_LONG == 64` is decided by headers; `#ifdef __x86_64__`,
`#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__`, `#ifdef __LP64__` are decided
by the compiler itself, from the target the arch Makefile selects. The
table below is what ``gcc -dM -E`` prints for each target the kernel
compiles for (gcc 12: ``-m64``/``-m32`` on x86, aarch64 in either byte
order), reduced to the macros whose value follows from the architecture
and its Kconfig (the word size on x86 is CONFIG_64BIT, the byte order on
arm64 is CONFIG_CPU_BIG_ENDIAN), plus the few every compiler the kernel
accepts defines whatever its version (``__GNUC__``: gcc and clang both;
its value stays unknown).

A macro not in the table (``__SSE__``, ``__ARM_FEATURE_*``, which follow
-m/-march flags) stays free, as do the target's macros in a directory
whose Makefile compiles with flags of its own (`own_target_flags`: the
real-mode code with -m16, the 32-bit vDSO with -m32): there kwhen does
not know the target.
"""

from __future__ import annotations

import re

from kwhen.logic.formula import TRUE, Formula, neg, var

__all__ = ["predefined", "own_target_flags"]

# (macro, condition, body): body None means defined with a value kwhen
# does not know (the compiler's version). A condition is "" (always) or a
# Kconfig symbol, "!" for its negation; an entry whose symbol the
# architecture does not define is left out (the macro stays free).
_ANY_TARGET = [
    ("__GNUC__", "", None), ("__GNUC_MINOR__", "", None),
    ("__GNUC_PATCHLEVEL__", "", None), ("__STDC__", "", "1"),
    ("__STDC_VERSION__", "", None), ("__CHAR_BIT__", "", "8"),
    ("__SIZEOF_SHORT__", "", "2"), ("__SIZEOF_INT__", "", "4"),
    ("__SIZEOF_LONG_LONG__", "", "8"),
    ("__ORDER_LITTLE_ENDIAN__", "", "1234"), ("__ORDER_BIG_ENDIAN__", "", "4321"),
    ("__ORDER_PDP_ENDIAN__", "", "3412"),
    # (not __linux__: a bare-metal toolchain, as U-Boot's may be, lacks it)
    ("__ELF__", "", "1"),
    # the kernel is always built optimised (-O2, -Os or -O3)
    ("__OPTIMIZE__", "", "1"), ("__OPTIMIZE_SIZE__", "CC_OPTIMIZE_FOR_SIZE", "1"),
    ("__clang__", "CC_IS_CLANG", "1"),
]

_TARGET = {
    "x86": [
        ("__x86_64__", "64BIT", "1"), ("__x86_64", "64BIT", "1"),
        ("__amd64__", "64BIT", "1"), ("__amd64", "64BIT", "1"),
        ("__LP64__", "64BIT", "1"), ("_LP64", "64BIT", "1"),
        ("__SIZEOF_INT128__", "64BIT", "16"),
        ("__i386__", "!64BIT", "1"), ("__i386", "!64BIT", "1"), ("i386", "!64BIT", "1"),
        ("__ILP32__", "!64BIT", "1"), ("_ILP32", "!64BIT", "1"),
        ("__SIZEOF_LONG__", "64BIT", "8"), ("__SIZEOF_LONG__", "!64BIT", "4"),
        ("__SIZEOF_POINTER__", "64BIT", "8"), ("__SIZEOF_POINTER__", "!64BIT", "4"),
        ("__SIZEOF_SIZE_T__", "64BIT", "8"), ("__SIZEOF_SIZE_T__", "!64BIT", "4"),
        ("__BYTE_ORDER__", "", "__ORDER_LITTLE_ENDIAN__"),
    ],
    "arm64": [
        ("__aarch64__", "", "1"), ("__LP64__", "", "1"), ("_LP64", "", "1"),
        ("__SIZEOF_INT128__", "", "16"), ("__SIZEOF_LONG__", "", "8"),
        ("__SIZEOF_POINTER__", "", "8"), ("__SIZEOF_SIZE_T__", "", "8"),
        ("__CHAR_UNSIGNED__", "", "1"),
        ("__AARCH64EL__", "!CPU_BIG_ENDIAN", "1"), ("__AARCH64EB__", "CPU_BIG_ENDIAN", "1"),
        ("__ARM_BIG_ENDIAN", "CPU_BIG_ENDIAN", "1"),
        ("__BYTE_ORDER__", "CPU_BIG_ENDIAN", "__ORDER_BIG_ENDIAN__"),
        ("__BYTE_ORDER__", "!CPU_BIG_ENDIAN", "__ORDER_LITTLE_ENDIAN__"),
    ],
}


# The macros by which other targets' compilers name themselves: never
# defined where the target is known to be another (`#ifdef __sparc__` in
# kernel/printk/printk.c on x86).
_OTHER_TARGETS = ("__alpha__", "__arc__", "__arm__", "__thumb__", "__csky__", "__hexagon__",
                  "__ia64__", "__loongarch__", "__m68k__", "__microblaze__", "__mips__",
                  "__nios2__", "__or1k__", "__hppa__", "__powerpc__", "__powerpc64__",
                  "__PPC__", "__PPC64__", "__riscv", "__s390__", "__s390x__", "__sh__",
                  "__sparc__", "__sparc", "__sparc_v9__", "__sparc64__", "__xtensa__",
                  "__ARMEB__", "__ARMEL__", "__MIPSEB__", "__MIPSEL__")
# (not __LITTLE_ENDIAN__: clang defines it on x86 and arm64, gcc does not)


def _condition(text: str, symbols) -> Formula | None:
    if not text:
        return TRUE
    name = text.lstrip("!")
    if name not in symbols:
        return None
    return neg(var(name)) if text.startswith("!") else var(name)


def predefined(srcarch: str, symbols, target_known: bool = True) -> dict:
    """{macro: ((condition, body), ...)} the compiler predefines when it
    compiles for `srcarch` (a body None: defined, value unknown; no
    cases: never defined, another target's macro); with `target_known`
    false, only the macros every target defines."""
    out: dict = {}
    entries = list(_ANY_TARGET)
    if target_known:
        entries += _TARGET.get(srcarch, [])
    names_left_out = set()
    for name, text, body in entries:
        cond = _condition(text, symbols)
        if cond is None:
            names_left_out.add(name)
            continue
        out.setdefault(name, []).append((cond, body))
    for name in names_left_out:
        out.pop(name, None)       # partly known: the whole macro stays free
    if target_known and srcarch in _TARGET:
        # another target's own macros (__aarch64__ on x86): never defined
        for other, table in _TARGET.items():
            for name, _text, _body in table:
                if name not in out and name not in names_left_out:
                    out[name] = []
        for name in _OTHER_TARGETS:
            out.setdefault(name, [])
    return {name: tuple(cases) for name, cases in out.items()}


# A Makefile that gives its directory's objects a target of their own:
# KBUILD_CFLAGS (or the arch's c_flags) set afresh, or a -m16/-m32/-m64.
_OWN_FLAGS = re.compile(r"^\s*(?:KBUILD_CFLAGS|KBUILD_AFLAGS|c_flags|a_flags)\s*:?=|"
                        r"(?<![\w-])-m(?:16|32|64)\b|REALMODE_CFLAGS|CROSS_COMPILE_COMPAT",
                        re.M)


def own_target_flags(makefile_text: str) -> bool:
    """Whether a directory's Makefile may compile for another target than
    the architecture's (`predefined` then keeps the target's macros free)."""
    return _OWN_FLAGS.search(makefile_text) is not None
