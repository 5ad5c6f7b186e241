"""The Kbuild layer: makefile parsing, symbolic make, and the tree walk.

Conditions are compared by equivalence on every assignment Kconfig can
produce (a tristate's ``X`` and ``X=m`` are never both true), never by text.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from kwhen.exceptions import KwhenError
from kwhen.kbuild.makefile import Assign, Cond, parse_makefile
from kwhen.kbuild.tree import KbuildResult, kbuild_conditions
from kwhen.kconfig.model import SymbolInfo
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, neg, var

FIXTURES = Path(__file__).parent / "fixtures"


def syms(**types) -> dict:
    return {n: SymbolInfo(t) for n, t in types.items()}


def run(name: str, symbols: dict | None = None, arch: str = "foo", tree: Path | None = None):
    return kbuild_conditions(tree or FIXTURES / name, arch, arch, symbols or {})


def equivalent(f: Formula, g: Formula, symbols: dict | None = None) -> bool:
    """f and g agree on every assignment where no tristate is both y and m."""
    names = sorted(f.variables() | g.variables())
    if len(names) > 16:
        raise AssertionError(f"too many variables to enumerate: {names}")
    for bits in itertools.product((False, True), repeat=len(names)):
        a = dict(zip(names, bits))
        if any(n.endswith("=m") and a[n] and a.get(n[:-2]) for n in names):
            continue
        if f.evaluate(a) != g.evaluate(a):
            return False
    return True


def check(result: KbuildResult, path: str, builtin: Formula, module: Formula = FALSE):
    got_b, got_m = result.condition(path)
    assert equivalent(got_b, builtin), f"{path}: built-in {got_b} is not {builtin}"
    assert equivalent(got_m, module), f"{path}: module {got_m} is not {module}"


def never(result: KbuildResult, path: str):
    check(result, path, FALSE, FALSE)


A, B, C, D, T, U, V, X, Y, Z = (var(n) for n in "ABCDTUVXYZ")


def m(name: str) -> Formula:
    return var(name + "=m")


# ---------------------------------------------------------------------------
# fixtures

def test_composite_objects():
    r = run("kbuild-composite", syms(X="bool", Y="bool", Z="bool", BAR="tristate"))
    check(r, "drv/a.c", TRUE)
    check(r, "drv/b.c", X)
    check(r, "drv/c.c", var("BAR"), m("BAR"))
    check(r, "drv/d.S", var("BAR"), m("BAR"))
    check(r, "drv/e.c", conj(var("BAR"), Y), conj(m("BAR"), Y))
    # obj-m composite: foo-m parts count (Makefile.lib: -objs -y -m)
    check(r, "drv/f.c", FALSE, TRUE)
    check(r, "drv/g.c", FALSE, TRUE)
    # nested composite: inner.o has no source and is itself composite
    check(r, "drv/deep.c", TRUE)
    check(r, "drv/plain.c", TRUE)
    check(r, "drv/h.c", Z)
    # noparts- (CONFIG_Z=n) still makes noparts.o composite: noparts.c never built
    never(r, "drv/noparts.c")
    check(r, "drv/sub/part/one.c", TRUE)
    check(r, "drv/sub/two.c", TRUE)
    assert "drv/foo.o" not in r.generated  # composites are not objects to find


def test_conditional_subdirectories_and_need_builtin():
    r = run("kbuild-subdirs", syms(B="tristate", C="tristate"))
    check(r, "a/ay.c", TRUE)
    # b/ reached through obj-y only when B=y: its obj-y objects need it
    check(r, "b/by.c", B)
    check(r, "b/bm.c", FALSE, disj(B, m("B")))
    check(r, "b/bc.c", conj(B, C), conj(disj(B, m("B")), m("C")))
    check(r, "b/sub/deep.c", B)
    check(r, "b/sub/deepm.c", FALSE, disj(B, m("B")))
    # subdir-y: descended, but obj-y objects are not compiled
    never(r, "s/sy.c")
    assert equivalent(r.dirs["s"], TRUE)
    # obj-m directory: modules only
    never(r, "m/my.c")
    check(r, "m/mm.c", FALSE, TRUE)
    assert equivalent(r.dirs["b"], disj(B, m("B")))


def test_conditionals_on_config_variables():
    s = syms(A="bool", B="bool", T="tristate", HZ="int")
    r = run("kbuild-conditionals", s)
    hz100, hz250 = var("HZ=100"), var("HZ=250")
    check(r, "cond/a.c", A)
    check(r, "cond/b.c", conj(neg(A), B))
    check(r, "cond/hz.c", conj(neg(A), neg(B), neg(hz100)))
    check(r, "cond/other.c", conj(neg(A), neg(B), hz100))
    check(r, "cond/tm.c", m("T"))
    check(r, "cond/nota.c", neg(A))
    check(r, "cond/hz250.c", hz250)
    check(r, "cond/quoted.c", B)
    check(r, "cond/tset.c", disj(T, m("T")))
    check(r, "cond/undef.c", TRUE)
    check(r, "cond/ab.c", conj(A, B))
    check(r, "cond/one.c", neg(A))
    check(r, "cond/two.c", A)
    check(r, "cond/three.c", TRUE)


def test_file_reached_by_two_paths():
    r = run("kbuild-twopaths", syms(A="bool", B="bool", C="tristate", D="tristate"))
    check(r, "common/shared.c", disj(A, B))
    # a part of two composites is compiled for each: C=y, D=m builds it twice
    check(r, "comp/part.c", disj(C, D), disj(m("C"), m("D")))


def test_tristate_y_and_m():
    r = run("kbuild-tristate", syms(T="tristate", U="tristate", V="tristate", BOOL="bool"))
    check(r, "t/t.c", T, m("T"))
    # listed by two tristates: built-in wins over module
    check(r, "t/u.c", disj(U, V), conj(disj(m("U"), m("V")), neg(U), neg(V)))
    check(r, "t/b.c", var("BOOL"))
    check(r, "t/forced.c", disj(T, m("T")))


def test_lib_y():
    r = run("kbuild-lib", syms(A="bool", M="bool"))
    check(r, "lib/l.c", TRUE)
    check(r, "lib/la.c", A)
    check(r, "lib/o.c", TRUE)
    check(r, "arch/foo/lib/memcpy.S", TRUE)
    check(r, "mod/ml.c", var("M"))


def test_exported_variables_from_arch_makefile():
    r = run("kbuild-exported", syms(**{"64BIT": "bool", "D": "tristate"}))
    b64 = var("64BIT")
    check(r, "arch/foo/kernel/setup_64.c", b64)
    check(r, "arch/foo/kernel/setup_32.c", neg(b64))
    never(r, "arch/foo/kernel/bad.c")      # not exported
    check(r, "arch/foo/kernel/also.c", TRUE)
    check(r, "arch/foo/core/core.c", TRUE)
    # ARCH_DRIVERS := $(drivers-y) $(drivers-m), all in obj-y
    check(r, "arch/foo/drv/d.c", disj(D, m("D")))
    assert "arch/foo/Makefile" in r.makefiles
    assert "Kbuild" in r.makefiles


def test_shell_is_never_run(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "kbuild-shell", tree)
    cwd = os.getcwd()
    os.chdir(tree / "sh")
    try:
        r = run("", tree=tree)
    finally:
        os.chdir(cwd)
    for name in ("PWNED", "PWNED2", "PWNED3"):
        for where in (tree, tree / "sh", Path(cwd)):
            assert not (where / name).exists(), f"{where / name} was created"
    check(r, "sh/always.c", TRUE)
    check(r, "sh/u.c", var("?make:sh/Makefile:5"))
    assert ("sh/Makefile", 5, "$(shell ...) is not run") in r.unknowns


def test_unknown_constructs_become_free_variables():
    r = run("kbuild-unknown", syms(A="bool"))
    check(r, "unk/ccopt.c", var("?make:unk/Makefile:4"))
    check(r, "unk/gcc.c", conj(A, var("?make:unk/Makefile:7")))
    check(r, "unk/frob.c", var("?make:unk/Makefile:10"))
    check(r, "unk/known.c", TRUE)
    never(r, "unk/evald.c")
    where = {(p, ln) for p, ln, _ in r.unknowns}
    assert {("unk/Makefile", 4), ("unk/Makefile", 7), ("unk/Makefile", 10),
            ("unk/Makefile", 13)} <= where
    reasons = {ln: why for p, ln, why in r.unknowns if p == "unk/Makefile"}
    assert "cc-option" in reasons[4]
    assert "eval" in reasons[13]
    # $(error) in a branch that is never taken is not an unknown
    assert 15 not in reasons


def test_make_functions():
    r = run("kbuild-functions", syms(A="bool", B="bool"))
    always = ["alpha", "beta", "gamma", "delta", "subst", "keep", "kept", "pre_fix", "nd",
              "bn", "w2", "fw", "lw", "f1", "f2", "c1", "c2", "s1", "s2", "st", "wild1",
              "wild2", "lz", "qm", "ov", "fs", "3", "line"]
    for n in always:
        check(r, f"fn/{n}.c", TRUE)
    for n in ("drop", "notqm", "defined", "multi"):
        never(r, f"fn/{n}.c")
    check(r, "fn/ifa.c", A)
    check(r, "fn/ifnota.c", neg(A))
    check(r, "fn/y.c", disj(A, B))
    check(r, "fn/orn.c", conj(neg(A), neg(B)))
    check(r, "fn/andab.c", conj(A, B))
    check(r, "fn/ya.c", A)


def test_legacy_top_makefile_without_root_kbuild():
    r = run("kbuild-legacy", syms(D="bool"))
    check(r, "kernel/k.c", TRUE)
    check(r, "lib/l.c", TRUE)
    check(r, "drivers/d.c", var("D"))


def test_directories_named_by_string_symbols_are_reached_under_an_unknown():
    # board/$(BOARDDIR)/ cannot be computed (a string symbol): every board
    # directory that exists stands for it, under the unknown's proposition
    strings = syms(SYS_ARCH="string", SYS_CPU="string", SYS_BOARD="string",
                   SYS_VENDOR="string")
    r = run("kbuild-legacy-boards", strings)
    check(r, "lib/l.c", TRUE)
    for path in ("board/acme/rocket/rocket.c", "board/other/thing/thing.c",
                 "board/acme/common/common.c", "arch/foo/cpu/fast/fast.c"):
        builtin, module = r.condition(path)
        assert builtin is not FALSE and builtin is not TRUE, path
        assert any(v.startswith("?make:") for v in builtin.variables()), path
    # config.mk's `ARCH := $(CONFIG_SYS_ARCH...)` did not undo the arch
    assert "arch/foo/Makefile" in r.makefiles


def test_includes():
    r = run("kbuild-include", syms(A="bool"))
    check(r, "inc/base.c", TRUE)
    check(r, "inc/extra.c", A)
    assert "inc/extra.mk" in r.makefiles


@pytest.mark.parametrize("kind,line", [
    ("unterminated-if", 3),
    ("endif-without-if", 4),
    ("else-without-if", 3),
    ("unterminated-ref", 3),
    ("missing-include", 4),
    ("unterminated-define", 2),
])
def test_malformed_makefiles(kind, line):
    with pytest.raises(KwhenError) as exc:
        run(f"kbuild-malformed-{kind}")
    e = exc.value
    assert e.path == "bad/Makefile"
    assert e.line == line
    assert "\n" not in str(e)
    assert str(e).startswith(f"bad/Makefile:{line}: ")


def test_fixture_comments_say_what_they_model():
    for mk in FIXTURES.glob("kbuild-*/**/*"):
        if mk.name in ("Makefile", "Kbuild") or mk.suffix == ".mk":
            assert "Models" in mk.read_text(), mk


def test_result_round_trips_through_json():
    r = run("kbuild-conditionals", syms(A="bool", B="bool", T="tristate", HZ="int"))
    data = json.loads(json.dumps(r.to_data()))
    back = KbuildResult.from_data(data)
    assert back.files == r.files
    assert back.dirs == r.dirs
    assert back.unknowns == r.unknowns
    assert back.makefiles == r.makefiles


# ---------------------------------------------------------------------------
# the evaluator alone

def words_of(text: str, setup: str = "", symbols: dict | None = None, tmp=None) -> dict:
    """Expand `text` after running the makefile text `setup`: word -> condition."""
    from kwhen.kbuild.evaluate import Evaluator
    from kwhen.kbuild.values import Unknown, flatten
    from kwhen.kbuild.makefile import parse_makefile as parse
    ev = Evaluator(tmp or FIXTURES, symbols or {})
    ev.path = "M"
    ev.run(parse(setup, "M"), TRUE)
    out: dict = {}
    for c, w in flatten(ev.expand(text)):
        key = "?" if isinstance(w, Unknown) else w
        out[key] = disj(out.get(key, FALSE), c)
    return out


def test_evaluator_functions():
    assert list(words_of("$(join a b,.c .d)")) == ["a.c", "b.d"]
    assert list(words_of("$(dir x/y.c z.c) $(suffix a.c b)")) == ["x/", "./", ".c"]
    assert list(words_of("$(wordlist 2,3,a b c d) $(words $(empty))")) == ["b", "c", "0"]
    assert list(words_of("$(findstring x,abc)$(findstring b,abc)")) == ["b"]
    assert list(words_of("$(sort b a b)")) == ["a", "b"]
    assert list(words_of("$(origin R) $(origin S) $(origin NOPE) $(flavor R) $(flavor S)",
                         "R = 1\nS := 2\n")) == ["file", "undefined", "recursive", "simple"]
    assert list(words_of("$(value R)", "R = $(X) y\n")) == ["$(X)", "y"]
    assert list(words_of("$(call outer,z)", "inner = <$(1)>\nouter = $(call inner,$(1))$(1)\n")) \
        == ["<z>z"]


def test_evaluator_conditions_in_values():
    s = syms(A="bool", T="tristate", HZ="int")
    got = words_of("$(foreach x,$(L),$(x).o)", "L := one\nifdef CONFIG_A\nL += two\nendif\n", s)
    assert got["one.o"] is TRUE and equivalent(got["two.o"], A)
    got = words_of("$(subst m,y,$(CONFIG_T))", "", s)
    assert equivalent(got["y"], disj(T, m("T")))
    got = words_of("x_$(CONFIG_T)_$(CONFIG_A)", "", s)
    assert equivalent(got["x_m_y"], conj(m("T"), A))
    assert equivalent(got["x__"], conj(neg(T), neg(m("T")), neg(A)))
    # int symbols: comparable, but unknown as text
    assert "?" in words_of("hz$(CONFIG_HZ).o", "", s)
    # a recursive variable that references itself is unknown, not a hang
    assert "?" in words_of("$(R)", "R = $(R) x\n")
    # $(if) on an unknown: both branches, each under the free variable
    got = words_of("$(if $(shell true),yes,no)")
    assert got["yes"] == var("?make:M:0") and got["no"] == neg(var("?make:M:0"))


# ---------------------------------------------------------------------------
# the parser alone

def test_parser_statements_and_lines():
    text = ("# comment \\\n  still comment\n"
            "a := 1 # trailing\n"
            "b += x \\\n   y\n"
            "foo: bar\n\tifeq (x,y)\n\techo $(\n"
            "ifeq ($(a),1)\nc = 2\nelse ifdef b\nc = 3\nelse\nc = 4\nendif\n"
            "pound := \\#x\n")
    st = parse_makefile(text, "M")
    assigns = [s for s in st if isinstance(s, Assign)]
    assert [(s.name, s.op, s.value, s.line) for s in assigns] == [
        ("a", ":=", "1", 3), ("b", "+=", "x y", 4), ("pound", ":=", "#x", 16)]
    cond = next(s for s in st if isinstance(s, Cond))
    assert cond.line == 9 and len(cond.branches) == 2 and cond.orelse is not None
    assert cond.branches[1][0].kind == "ifdef" and cond.branches[1][0].line == 11


# ---------------------------------------------------------------------------
# Linux

LINUX = Path(os.environ.get("KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1"))

_SOURCE = re.compile(r'^\s*(source|osource|rsource|orsource)\s+"([^"]+)"', re.M)
_CONFIG = re.compile(r"^\s*(?:menu)?config\s+(\w+)\s*$")
_TYPE = re.compile(r"^\s+(bool|tristate|int|hex|string|def_bool|def_tristate)\b")


@functools.lru_cache(maxsize=None)
def kconfig_types(tree: Path, srcarch: str) -> dict:
    """Symbol types of one architecture, read from the Kconfig files that
    `source` reaches (a regex scan that runs nothing; the Kconfig layer is
    tested elsewhere). Kept for the test session, nowhere on disk."""
    types: dict = {}
    seen: set = set()

    def visit(rel: str):
        if rel in seen:
            return
        seen.add(rel)
        try:
            text = (tree / rel).read_text(errors="replace")
        except OSError:
            return
        cur = None
        for line in text.splitlines():
            mm = _CONFIG.match(line)
            if mm:
                cur = mm.group(1)
                continue
            if cur:
                t = _TYPE.match(line)
                if t:
                    types.setdefault(cur, t.group(1).replace("def_", ""))
                    cur = None
        for kw, path in _SOURCE.findall(text):
            path = path.replace("$(SRCARCH)", srcarch)
            if kw in ("rsource", "orsource"):
                path = os.path.normpath(os.path.join(os.path.dirname(rel), path))
            if any(ch in path for ch in "*?["):
                for p in sorted(tree.glob(path)):
                    visit(str(p.relative_to(tree)))
            else:
                visit(path)

    visit("Kconfig")
    return types


@pytest.fixture(scope="module")
def linux_x86():
    if not (LINUX / "Makefile").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the Linux tree is missing at {LINUX}")
        pytest.skip(f"no Linux tree at {LINUX} (set KWHEN_LINUX_TREE)")
    types = kconfig_types(LINUX, "x86")
    symbols = {n: SymbolInfo(t) for n, t in types.items()}
    return kbuild_conditions(LINUX, "x86", "x86", symbols)


def test_linux_x86_known_files(linux_x86):
    r = linux_x86
    smp, x32 = var("SMP"), var("X86_32")
    check(r, "arch/x86/kernel/setup_percpu.c", smp)
    check(r, "mm/percpu.c", TRUE)
    check(r, "kernel/smp.c", smp)
    check(r, "lib/string.c", TRUE)
    # obj-y += head_$(BITS).o with BITS exported by arch/x86/Makefile
    check(r, "arch/x86/kernel/head_64.S", neg(x32))
    check(r, "arch/x86/kernel/head_32.S", x32)
    check(r, "arch/x86/kernel/ftrace_64.S", conj(var("FUNCTION_TRACER"), neg(x32)))
    # drivers-$(CONFIG_PCI) += arch/x86/pci/ in the arch Makefile
    check(r, "arch/x86/pci/common.c", var("PCI"))
    # libs-y += arch/x86/lib/ (lib-y objects)
    check(r, "arch/x86/lib/memcpy_64.S", neg(x32))
    check(r, "fs/ext4/inode.c", var("EXT4_FS"), var("EXT4_FS=m"))
    e1000 = conj(var("ETHERNET"), var("NET_VENDOR_INTEL"))
    check(r, "drivers/net/ethernet/intel/e1000/e1000_main.c",
          conj(e1000, var("E1000")), conj(e1000, var("E1000=m")))
    # the linker script is extra-y (preprocessed, always)
    check(r, "arch/x86/kernel/vmlinux.lds.S", TRUE)
    # not built for x86
    assert "arch/arm/kernel/setup.c" not in r.files


def test_linux_x86_scale(linux_x86):
    r = linux_x86
    assert 15000 < len(r.files) < 40000
    assert len(r.dirs) > 1000
    assert "arch/x86/Makefile" in r.makefiles and "Kbuild" in r.makefiles
    assert len(r.unknowns) < 100
    for path, line, reason in r.unknowns:
        assert isinstance(line, int) and reason


def test_assembler_outputs_of_the_root_kbuild_only():
    r = run("kbuild-asm-offsets", syms(A="bool"))
    check(r, "kernel/bounds.c", TRUE)
    check(r, "kernel/fork.c", TRUE)
    check(r, "drv/d.c", A)
    never(r, "drv/d-offsets.c")


def test_objects_built_from_sources_elsewhere(tmp_path):
    """An explicit rule's source outside the directory, and the objects the
    link script makes, are compiled as their Makefile or script says; the
    script is read, never run."""
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "kbuild-elsewhere", tree)
    r = run("", syms(A="tristate", B="bool"), tree=tree)
    check(r, "lib/bpf/relo.c", A, m("A"))
    check(r, "kernel/bpf/local.c", B)
    check(r, "init/stamp.c", TRUE)
    check(r, "init/main.c", TRUE)
    never(r, "lib/bpf/other.c")
    assert "scripts/link-vmlinux.sh" in r.makefiles
    assert not (tree / "PWNED").exists() and not Path("PWNED").exists()


# -- walking a changed tree again where the change reaches ------------------------------

def same_result(a: KbuildResult, b: KbuildResult) -> None:
    """Every file's condition and everything else a walk gives, equal."""
    for name in ("files", "dirs", "host"):
        assert dict(getattr(a, name)) == dict(getattr(b, name)), name
    for name in ("unknowns", "makefiles", "generated", "missing", "unreadable"):
        assert getattr(a, name) == getattr(b, name), name


def test_a_changed_tree_is_walked_again_only_where_the_change_reaches(tmp_path):
    """kwhen scan updates Kbuild from the parent commit's walk: each step
    below (a makefile edited, a source added, a new directory, an include
    file edited, a source removed, the top Kbuild edited) gives exactly
    the conditions of a walk from scratch, reading again only the
    directories whose makefiles, includes or listings the change reaches."""
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "kbuild-subdirs", tree)
    symbols = syms(B="tristate", C="tristate")
    before = kbuild_conditions(tree, "foo", "foo", symbols)

    def step(changes: dict, status: dict) -> list:
        nonlocal before
        for path, text in changes.items():
            if text is None:
                (tree / path).unlink()
            else:
                (tree / path).parent.mkdir(parents=True, exist_ok=True)
                (tree / path).write_text(text)
        again = kbuild_conditions(tree, "foo", "foo", symbols, previous=before, changed=status)
        same_result(again, kbuild_conditions(tree, "foo", "foo", symbols))
        before = again
        return again.walk.reread

    sub_mk = (tree / "b/sub/Makefile").read_text()
    assert step({"b/sub/Makefile": sub_mk + "obj-$(CONFIG_C) += later.o\n"},
                {"b/sub/Makefile": "M"}) == ["b/sub"]
    assert "b/sub/later.o" in before.generated
    assert step({"b/sub/later.c": "int later;\n"}, {"b/sub/later.c": "A"}) == ["b/sub"]
    check(before, "b/sub/later.c", conj(B, C), conj(disj(B, m("B")), m("C")))
    b_mk = (tree / "b/Makefile").read_text()
    assert sorted(step({"b/Makefile": b_mk + "obj-y += new/\n", "b/new/Makefile": "obj-y += n.o\n",
                        "b/new/n.c": "int n;\n"},
                       {"b/Makefile": "M", "b/new/Makefile": "A", "b/new/n.c": "A"})) \
        == ["b", "b/new"]
    check(before, "b/new/n.c", B)
    a_mk = (tree / "a/Makefile").read_text()
    assert step({"a/Makefile": a_mk + "include $(src)/frag.mk\n", "a/frag.mk": "obj-y += f.o\n",
                 "a/f.c": "int f;\n"},
                {"a/Makefile": "M", "a/frag.mk": "A", "a/f.c": "A"}) == ["a"]
    assert step({"a/frag.mk": "obj-$(CONFIG_C) += f.o\n"}, {"a/frag.mk": "M"}) == ["a"]
    check(before, "a/f.c", C, m("C"))
    assert step({"m/mm.c": None}, {"m/mm.c": "D"}) == ["m"]
    assert "m/mm.o" in before.generated
    assert step({"b/by.c": "int by2;\n"}, {"b/by.c": "M"}) == []
    kbuild = (tree / "Kbuild").read_text()
    assert len(step({"Kbuild": kbuild.replace("subdir-y += s/\n", "")}, {"Kbuild": "M"})) \
        == len(before.walk.dirs)
    never(before, "s/sy.c")


def test_differing_file_conditions_are_found_without_decoding_the_rest(tmp_path):
    """A Makefile edit is compared file by file as stored: only the files
    whose stored condition differs (or that are gone) are decoded."""
    from kwhen.kbuild.tree import differing
    from kwhen.logic.formula import var
    from kwhen.models import _CachedParts
    from kwhen.sqldata import Cache

    def result(**files):
        return KbuildResult(files={p: (var(s), var(s + "_m")) for p, s in files.items()}).to_data()

    before = result(**{"a.c": "A", "b.c": "B", "c.c": "C"})
    after = result(**{"a.c": "A", "b.c": "B2"})
    cache = Cache(tmp_path / "cache")
    stored = {}
    for name, data in (("before", before), ("after", after)):
        cache.put("kbuild", name, tmp_path, [], b"{}", 0,
                  parts={p: json.dumps(pair).encode() for p, pair in data["files"].items()})
        assert cache.get("kbuild", name, tmp_path) is not None
        data = dict(data, files=_CachedParts(cache, "kbuild", name, None))
        stored[name] = KbuildResult.from_data(data).files
    decoded = []
    for files in stored.values():
        real = files._decode
        files._decode = lambda raw, real=real: decoded.append(raw) or real(raw)
    assert sorted(differing(stored["before"], stored["after"])) == ["b.c", "c.c"]
    assert decoded == []
    # mappings made in this process (not from the cache) compare alike
    fresh = [KbuildResult.from_data(d).files for d in (before, after)]
    assert sorted(differing(*fresh)) == ["b.c", "c.c"]
