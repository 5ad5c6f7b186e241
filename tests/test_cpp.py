"""The C preprocessor layer: #if expressions, file structure, definitions."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from kwhen.cpp.definitions import find_definitions, function_spans
from kwhen.cpp.directives import scan
from kwhen.cpp.expression import condition_of
from kwhen.exceptions import KwhenError
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, neg, var

FIXTURES = Path(__file__).parent / "fixtures"
LINUX = Path(os.environ.get("KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1"))

FACTS_C = {"__KERNEL__": 1, "__ASSEMBLY__": 0, "__cplusplus": None}
SYMBOLS = {
    "A": "bool", "B": "bool", "C": "bool", "D": "bool", "E": "bool",
    "SMP": "bool", "FOO": "tristate", "PGTABLE_LEVELS": "int",
    "PHYS_OFFSET": "hex", "CMDLINE": "string",
}


def equivalent(f: Formula, g: Formula) -> bool:
    names = sorted(f.variables() | g.variables())
    for values in itertools.product((False, True), repeat=len(names)):
        a = dict(zip(names, values))
        if f.evaluate(a) != g.evaluate(a):
            return False
    return True


def fixture(rel: str) -> tuple[str, str]:
    path = FIXTURES / rel
    return path.read_text(), str(path)


def marker_line(text: str, marker: str) -> int:
    """The line carrying the comment ``/* @marker`` in a fixture."""
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(r"/\* @" + re.escape(marker) + r"\b", line):
            return number
    raise AssertionError(f"no marker {marker}")


def conditions(rel: str, symbols=SYMBOLS, facts=FACTS_C):
    text, path = fixture(rel)
    s = scan(text, path, symbols, facts)
    return (lambda marker: s.condition_at(marker_line(text, marker))), s, text


def cond(expr: str, symbols=SYMBOLS, facts=FACTS_C) -> Formula:
    return condition_of(expr, symbols, "test.c", 1, facts)


A, B, C, D, E = (var(n) for n in "ABCDE")
FOO, FOO_M, SMP, MODULE = var("FOO"), var("FOO=m"), var("SMP"), var("MODULE")


# ---------------------------------------------------------------- expressions

class TestExpression:
    def test_constants_and_arithmetic(self):
        assert cond("0") is FALSE
        assert cond("1") is TRUE
        assert cond("(3 > 2)") is TRUE
        assert cond("2 * 3 + 1 == 7 && -1 < 0 && ~0 == -1") is TRUE
        assert cond("0x10 == 16 && 010 == 8 && 0b11 == 3 && 10ULL % 4 == 2") is TRUE
        assert cond("'A' == 65 && '\\n' == 10 && '\\x41' == 'A'") is TRUE
        assert cond("1 ? 0 : 1") is FALSE
        assert cond("(1 << 3) >> 1 == 4 && (6 & 3) == 2 && (6 | 1) == 7 && (6 ^ 2) == 4") is TRUE
        assert cond("-7 / 2 == -3 && -7 % 2 == -1") is TRUE

    def test_precedence(self):
        # && binds tighter than ||; == tighter than &; ?: lowest.
        assert equivalent(cond("defined(CONFIG_A) || defined(CONFIG_B) && defined(CONFIG_C)"),
                          disj(A, conj(B, C)))
        assert cond("1 + 2 * 3 == 7") is TRUE
        assert cond("(1 & 2 == 2)") is TRUE          # 1 & (2 == 2)
        assert equivalent(cond("CONFIG_A ? CONFIG_B : CONFIG_C"),
                          disj(conj(A, B), conj(neg(A), C)))

    def test_defined_forms(self):
        assert cond("defined CONFIG_SMP") is SMP
        assert cond("defined(CONFIG_SMP)") is SMP
        assert cond("defined ( CONFIG_FOO )") is FOO
        assert cond("!defined(CONFIG_SMP)") is neg(SMP)

    def test_kconfig_helpers(self):
        assert cond("IS_ENABLED(CONFIG_FOO)") is disj(FOO, FOO_M)
        assert cond("IS_BUILTIN(CONFIG_FOO)") is FOO
        assert cond("IS_MODULE(CONFIG_FOO)") is FOO_M
        assert equivalent(cond("IS_REACHABLE(CONFIG_FOO)"), disj(FOO, conj(FOO_M, MODULE)))
        assert cond("IS_ENABLED(CONFIG_SMP)") is SMP      # bool: no =m
        assert cond("IS_MODULE(CONFIG_SMP)") is FALSE
        assert cond("IS_ENABLED(CONFIG_NOT_A_SYMBOL)") is FALSE

    def test_symbol_info_values(self):
        from kwhen.kconfig.model import SymbolInfo
        table = {"FOO": SymbolInfo("tristate"), "N": SymbolInfo("int")}
        assert cond("IS_ENABLED(CONFIG_FOO) && CONFIG_N > 3", table) is \
            conj(disj(FOO, FOO_M), var("N>3"))

    def test_module_variants(self):
        assert cond("defined(CONFIG_FOO_MODULE)") is FOO_M
        assert cond("CONFIG_FOO_MODULE") is FOO_M
        assert cond("defined(CONFIG_SMP_MODULE)") is FALSE
        # A symbol really named FOO_MODULE wins.
        assert cond("defined(CONFIG_FOO_MODULE)", {"FOO": "tristate", "FOO_MODULE": "bool"}) \
            is var("FOO_MODULE")
        assert cond("defined(MODULE)") is MODULE

    def test_no_symbol_table(self):
        assert cond("defined(CONFIG_ANY)", None) is var("ANY")
        assert cond("CONFIG_ANY", None) is var("ANY")
        assert cond("defined(CONFIG_ANY_MODULE)", None) is var("ANY=m")
        assert cond("IS_ENABLED(CONFIG_ANY)", None) is disj(var("ANY"), var("ANY=m"))

    def test_config_values(self):
        assert cond("CONFIG_SMP") is SMP
        assert cond("CONFIG_SMP == 1") is SMP
        assert cond("CONFIG_SMP == 0") is neg(SMP)
        assert cond("CONFIG_FOO + CONFIG_SMP == 2") is conj(FOO, SMP)
        assert cond("CONFIG_NOT_A_SYMBOL") is FALSE
        assert cond("defined(CONFIG_NOT_A_SYMBOL)") is FALSE

    def test_int_comparisons(self):
        assert cond("CONFIG_PGTABLE_LEVELS > 4") is var("PGTABLE_LEVELS>4")
        assert cond("4 < CONFIG_PGTABLE_LEVELS") is var("PGTABLE_LEVELS>4")
        assert cond("CONFIG_PGTABLE_LEVELS == 0x3") is var("PGTABLE_LEVELS=3")
        assert cond("CONFIG_PGTABLE_LEVELS != 2") is var("PGTABLE_LEVELS!=2")
        assert cond("CONFIG_PHYS_OFFSET >= 0x1000UL") is var("PHYS_OFFSET>=4096")
        assert cond("CONFIG_PGTABLE_LEVELS") is var("PGTABLE_LEVELS!=0")
        # Compared with a value that depends on a bool: split by its cases.
        assert equivalent(cond("CONFIG_PGTABLE_LEVELS > (CONFIG_SMP ? 4 : 3)"),
                          disj(conj(SMP, var("PGTABLE_LEVELS>4")),
                               conj(neg(SMP), var("PGTABLE_LEVELS>3"))))

    def test_free_macros(self):
        assert cond("defined(ARCH_HAS_FOO)") is var("defined(ARCH_HAS_FOO)")
        assert cond("FOO_LEVEL") is var("cpp(FOO_LEVEL)")
        assert cond("FOO_LEVEL > 4") is var("cpp(FOO_LEVEL > 4)")
        assert cond("LINUX_VERSION_CODE >= KERNEL_VERSION(5,10, 0)") is \
            var("cpp(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0))")
        assert cond("__has_include(<linux/foo.h>)") is var("cpp(__has_include(<linux/foo.h>))")
        assert equivalent(cond("defined(X) && X + 1 > 2 || !defined(CONFIG_SMP)"),
                          disj(conj(var("defined(X)"), var("cpp(X + 1 > 2)")), neg(SMP)))

    def test_facts(self):
        assert cond("defined(__KERNEL__)") is TRUE
        assert cond("!defined(__ASSEMBLY__) && __ASSEMBLY__ == 0") is TRUE
        assert cond("defined(__cplusplus)") is FALSE
        assert cond("__ASSEMBLY__", facts={"__ASSEMBLY__": 1}) is TRUE
        assert cond("defined(__KERNEL__)", facts=None) is var("defined(__KERNEL__)")

    @pytest.mark.parametrize("expr", [
        "", "1 +", "(1", "1)", "defined", "defined(", "defined(1)", "1 2", '"str"',
        "08", "1 ? 2", "IS_ENABLED(CONFIG_A, CONFIG_B)", "a = 1", "@",
    ])
    def test_malformed(self, expr):
        with pytest.raises(KwhenError) as info:
            condition_of(expr, SYMBOLS, "bad.c", 42)
        assert info.value.path == "bad.c" and info.value.line == 42
        assert "malformed #if expression" in info.value.message


# ---------------------------------------------------------------- directives

class TestDirectives:
    def test_nested_if_elif_else(self):
        at, s, _ = conditions("cpp-nested/nested.c")
        assert at("top") is TRUE and at("after") is TRUE
        assert at("a") is A and at("a_again") is A
        assert at("a_b") is conj(A, B, neg(C))
        assert equivalent(at("a_c"), conj(A, C))       # !(B && !C) && C == C
        assert equivalent(at("a_else"), conj(A, neg(B), neg(C)))
        assert at("d") is conj(neg(A), D)
        assert at("not_e") is conj(neg(A), neg(D), neg(E))
        assert at("rest") is conj(neg(A), neg(D), E)

    def test_blocks(self):
        _, s, text = conditions("cpp-nested/nested.c")
        lines = text.splitlines()
        outer = [b for b in s.blocks if b.depth == 0]
        assert [b.kind for b in outer] == ["ifdef", "elifdef", "elifndef", "else"]
        # Each branch ends where the next begins; the last one at #endif.
        for left, right in zip(outer, outer[1:]):
            assert left.end == right.start
        assert lines[outer[-1].end - 1].startswith("#endif")
        assert outer[0].text == "#ifdef CONFIG_A"
        assert outer[1].own is conj(neg(A), D)
        inner = [b for b in s.blocks if b.depth == 1]
        assert [b.kind for b in inner] == ["if", "elif", "else"]
        assert equivalent(inner[1].own, conj(C, neg(conj(B, neg(C)))))
        assert inner[1].condition is conj(A, inner[1].own)
        # Directive lines get the enclosing condition.
        assert s.condition_at(inner[0].start) is A
        assert s.condition_at(inner[1].start) is A
        assert s.condition_at(outer[0].start) is TRUE

    def test_if0_and_constants(self):
        at, _, _ = conditions("cpp-if0/if0.c")
        assert at("dead") is FALSE
        assert at("live") is TRUE
        assert at("arith") is TRUE
        assert at("one") is TRUE
        assert at("never") is FALSE

    def test_kconfig_helpers_in_a_file(self):
        at, _, _ = conditions("cpp-kconfig-tests/tests.c")
        assert at("enabled") is disj(FOO, FOO_M)
        assert at("builtin") is FOO
        assert at("module") is FOO_M
        assert equivalent(at("reachable"), disj(FOO, conj(FOO_M, MODULE)))
        assert at("foo_m") is FOO_M
        assert at("smp_m") is FALSE
        assert at("five_levels") is var("PGTABLE_LEVELS>4")
        assert at("three_levels") is var("PGTABLE_LEVELS<=3")
        assert at("phys") is var("PHYS_OFFSET=2147483648")
        assert at("smp_value") is SMP
        assert at("nothing") is FALSE
        assert at("userspace_module") is FALSE
        assert at("module_c") is MODULE

    def test_free_macros_in_a_file(self):
        at, _, _ = conditions("cpp-free-macros/free.c")
        assert at("has_foo") is var("defined(ARCH_HAS_FOO)")
        assert at("foo_level") is var("cpp(FOO_LEVEL)")
        assert at("foo_level_4") is var("cpp(FOO_LEVEL > 4)")
        assert at("version") is var("cpp(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0))")
        assert at("attribute") is var("cpp(__has_attribute(__fallthrough__))")

    def test_include_guard(self):
        at, s, _ = conditions("cpp-include-guard/guard.h")
        assert s.guard == "_GUARD_H"
        assert at("guarded") is TRUE
        assert at("smp") is SMP
        assert s.blocks[0].condition is TRUE

    def test_not_an_include_guard(self):
        at, s, _ = conditions("cpp-include-guard/not_guard.h")
        assert s.guard is None
        assert at("foo") is var("defined(HAVE_FOO)").__invert__()

    def test_comments_strings_continuations(self):
        at, s, text = conditions("cpp-lexing/lexing.c")
        assert at("top") is TRUE and at("bottom") is TRUE
        assert at("abc") is conj(A, B, C)
        assert at("not_abc") is neg(conj(A, B, C))
        assert at("d") is D
        assert [b.kind for b in s.blocks] == ["if", "else", "ifdef"]
        assert s.blocks[0].text == "#if defined(CONFIG_A) && defined(CONFIG_B) && defined(CONFIG_C)"
        # The continued #if spans three lines, all with the outer condition.
        first = s.blocks[0].start
        assert text.splitlines()[first - 1].lstrip().startswith("#")
        assert all(s.condition_at(first + k) is TRUE for k in range(3))
        # The #define continuation inside #ifdef CONFIG_D is inside the block.
        assert s.condition_at(marker_line(text, "d") + 2) is D

    def test_local_macros(self):
        at, _, _ = conditions("cpp-local-macros/local.c")
        assert at("x") is disj(A, neg(B))
        assert at("no_external") is neg(var("defined(EXTERNAL)"))
        assert at("external") is TRUE
        assert at("x_again") is FALSE

    @pytest.mark.parametrize("name, line, message", [
        ("endif_without_if.c", 3, "#endif without #if"),
        ("else_without_if.c", 2, "#else without #if"),
        ("elif_after_else.c", 4, "#elif after #else"),
        ("missing_endif.c", 2, "unterminated #ifdef"),
        ("bad_expression.c", 3, "malformed #if expression"),
    ])
    def test_malformed(self, name, line, message):
        text, path = fixture(f"cpp-malformed/{name}")
        with pytest.raises(KwhenError) as info:
            scan(text, path, SYMBOLS, FACTS_C)
        assert info.value.path == path
        assert info.value.line == line
        assert message in info.value.message

    def test_unknown_directives_ignored(self):
        text = "#pragma once\n#include <x.h>\n#if 0\n#error nope ' \" \n#warning x\n#endif\nint x;\n"
        s = scan(text, "x.h")
        assert s.condition_at(4) is FALSE and s.condition_at(7) is TRUE

    def test_empty_and_no_directives(self):
        assert scan("", "e.c").condition_at(1) is TRUE
        s = scan("int x;\n", "e.c")
        assert s.blocks == [] and s.condition_at(1) is TRUE


# ---------------------------------------------------------------- definitions

class TestDefinitions:
    def setup_method(self):
        self.text, self.path = fixture("cpp-definitions/defs.c")

    def defs(self, name):
        return find_definitions(self.text, name, self.path)

    def line(self, marker):
        return marker_line(self.text, marker)

    def test_static_definition_not_declaration_or_call(self):
        found = self.defs("setup")
        functions = [d for d in found if d.kind == "function"]
        assert [d.line for d in functions] == [self.line("static_def")]
        d = functions[0]
        assert d.static and not d.inline and not d.weak
        assert d.signature == "static int __init setup(int level)"
        assert self.text.splitlines()[d.end_line - 1] == "}"
        assert found == functions          # the struct initializer is no definition

    def test_weak(self):
        (d,) = self.defs("arch_setup")
        assert (d.kind, d.weak, d.static, d.line) == ("function", True, False, self.line("weak_def"))
        (d,) = self.defs("arch_probe")
        assert d.weak and d.line == self.line("attr_weak_def")

    def test_inline_multiline_signature(self):
        (d,) = self.defs("helper")
        assert d.kind == "function" and d.static and d.inline
        assert d.line == self.line("inline_def")
        assert d.signature == ("static inline int helper(struct device *dev, "
                               "unsigned long flags, void *data) __must_check")
        (d,) = self.defs("fast")
        assert d.inline and d.line == d.end_line == self.line("always_inline_def")

    def test_two_branches(self):
        found = self.defs("per_cpu")
        assert [d.line for d in found] == [self.line("smp_def"), self.line("up_def")]
        s = scan(self.text, self.path, SYMBOLS, FACTS_C)
        assert [s.condition_at(d.line) for d in found] == [SMP, neg(SMP)]

    def test_macros(self):
        (d,) = self.defs("per_cpu_ptr")
        assert (d.kind, d.line, d.signature) == ("macro", self.line("macro_fn"), "#define per_cpu_ptr(p)")
        (d,) = self.defs("TABLE_SIZE")
        assert (d.kind, d.signature) == ("macro", "#define TABLE_SIZE")

    def test_variables(self):
        (d,) = self.defs("counter")
        assert (d.kind, d.line, d.static) == ("variable", self.line("counter_def"), False)
        (d,) = self.defs("table")
        assert (d.kind, d.line, d.static) == ("variable", self.line("table_def"), True)
        (d,) = self.defs("my_ops")
        assert d.kind == "variable" and d.static

    def test_unbalanced_branches_and_if0(self):
        (d,) = self.defs("odd")
        assert d.line == self.line("odd_def")
        assert self.text.splitlines()[d.end_line - 1] == "}"
        (d,) = self.defs("last")
        assert d.line == d.end_line == self.line("last_def")
        assert self.defs("dead_unbalanced") == []
        assert self.defs("no_such_function") == []

    def test_function_spans(self):
        spans = function_spans(self.text, self.path)
        names = [n for n, _, _ in spans]
        assert names == ["arch_setup", "arch_probe", "setup", "helper", "fast",
                         "per_cpu", "per_cpu", "odd", "last"]
        for name, start, end in spans:
            assert start <= end


# ---------------------------------------------------------------- Linux 6.1

linux = pytest.mark.skipif(not LINUX.is_dir() and not os.environ.get("CI"),
                           reason=f"no Linux tree at {LINUX}")


@linux
def test_linux_scan_mm_and_kernel():
    files = sorted(p for d in ("mm", "kernel") for p in (LINUX / d).rglob("*.c"))
    assert len(files) > 300
    for p in files:
        scan(p.read_text(errors="replace"), str(p), None, FACTS_C)


@linux
def test_linux_percpu_setup_per_cpu_areas():
    path = LINUX / "mm/percpu.c"
    text = path.read_text()
    s = scan(text, str(path), None, FACTS_C)
    found = [d for d in find_definitions(text, "setup_per_cpu_areas", str(path))
             if d.kind == "function"]
    assert len(found) == 2
    smp_one, up_one = found
    assert all(d.signature == "void __init setup_per_cpu_areas(void)" for d in found)
    # The generic SMP version: under #ifdef CONFIG_SMP, #ifndef
    # CONFIG_HAVE_SETUP_PER_CPU_AREA; the UP version in the #else of CONFIG_SMP.
    assert s.condition_at(smp_one.line) is conj(var("SMP"), neg(var("HAVE_SETUP_PER_CPU_AREA")))
    assert s.condition_at(up_one.line) is neg(var("SMP"))
    spans = {(n, a) for n, a, _ in function_spans(text, str(path))}
    assert ("setup_per_cpu_areas", smp_one.line) in spans
    assert ("setup_per_cpu_areas", up_one.line) in spans
    # BUILD_EMBED_FIRST_CHUNK is #defined by the file itself.
    (embed,) = [d for d in find_definitions(text, "pcpu_embed_first_chunk", str(path))
                if d.kind == "function"]
    assert equivalent(s.condition_at(embed.line),
                      conj(var("SMP"), disj(var("NEED_PER_CPU_EMBED_FIRST_CHUNK"),
                                            neg(var("HAVE_SETUP_PER_CPU_AREA")))))
