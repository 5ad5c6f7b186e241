"""The Kconfig layer: parsing safely, the tristate CNF encoding, .config files.

Fixture trees under tests/fixtures/kconfig-*/ model one situation each (see
the comment at the top of each Kconfig). The encoding is checked two ways:
configurations kconfiglib computes must satisfy the clauses, and questions a
user relies on must get the kernel's answer.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import kconfiglib
import pytest
from pysat.solvers import Solver

from conftest import linux_tree
from kwhen.exceptions import KwhenError
from kwhen.kconfig.arches import defconfig_path, list_arches, resolve_arch
from kwhen.kconfig.dotconfig import read_dotconfig, values_for_model
from kwhen.kconfig.model import KconfigModel
from kwhen.kconfig.parse import load_kconfig, rewrite_kconfig_text, shell_marker
from kwhen.kconfig.translate import (build, build_model, free_values, kconfig_values,
                                     satisfies, violated_constraints)
from kwhen.logic.formula import conj, disj, neg, var
from kwhen.logic.solver import ConfigSpace

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_NAMES = ["tristate", "select", "choice", "promptless", "menus", "compare",
                 "shell", "rewrite"]


def fixture(name: str) -> Path:
    return FIXTURES / f"kconfig-{name}"


def space(name: str):
    model = build_model(fixture(name), "test")
    return model, ConfigSpace(model)


def v(name):
    return var(name)


def m(name):
    return var(name + "=m")


def off(model: KconfigModel, name: str):
    return model.symbol_value_formula(name, "n")


# -- randomized agreement with kconfiglib ------------------------------------

def _random_configs(built, seeds, rounds=3):
    """Yield after setting random user values (kconfiglib computes the rest)."""
    kconf = built.kconf
    syms = [s for s in kconf.unique_defined_syms
            if s.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE)]
    # allnoconfig, allyesconfig, allmodconfig, defaults
    for value in (0, 2, 1, None):
        kconf.unset_values()
        if value is not None:
            for s in syms:
                if value != 1 or s.orig_type is kconfiglib.TRISTATE:
                    s.set_value(value)
            for c in kconf.unique_choices:
                c.set_value(value)
        yield f"all-{value}"
    for seed in seeds:
        rnd = random.Random(seed)
        kconf.unset_values()
        for _ in range(rounds):
            for s in rnd.sample(syms, max(1, len(syms) // 3)):
                if s.assignable:
                    s.set_value(rnd.choice(s.assignable))
            for c in kconf.unique_choices:
                if rnd.random() < 0.5:
                    c.set_value(rnd.choice((0, 1, 2)))
        yield f"seed {seed}"


def assert_kconfiglib_configs_satisfy(built, seeds):
    for label in _random_configs(built, seeds):
        values = kconfig_values(built.kconf)
        free = free_values(built)
        if not satisfies(built.model, values, free):
            bad = violated_constraints(built, values, free)
            raise AssertionError(f"{label}: kconfiglib's configuration breaks "
                                 f"{[(o, str(f)[:200]) for o, f in bad[:5]]}")


def _choice_var(choice):
    node = choice.nodes[0]
    return f"<choice:{choice.name}>" if choice.name else f"<choice@{node.filename}:{node.linenr}>"


def _kconfiglib_promotes_implied(sym, want: str, got: str) -> bool:
    """kconfiglib 14.1.0 turns an m into y when a y implies the symbol;
    Linux's kconfig (the truth kwhen follows) keeps the m."""
    return (want, got) == ("m", "y") and kconfiglib.expr_value(sym.weak_rev_dep) == 2


def assert_solutions_reproducible(built, seeds):
    """Every solution of the clauses is a configuration kconfiglib computes
    (exactness; only for trees without free propositions)."""
    model, kconf = built.model, built.kconf
    names = model.var_names
    named = [i for i, n in enumerate(names) if n is not None]
    with Solver(name="glucose4", bootstrap_with=model.clauses) as solver:
        for seed in seeds:
            rnd = random.Random(seed)
            solver.set_phases([i if rnd.random() < 0.5 else -i for i in named])
            assert solver.solve()
            asg = {names[abs(l)]: l > 0 for l in solver.get_model()
                   if abs(l) < len(names) and names[abs(l)] is not None}
            want = model.values_of(asg)
            kconf.unset_values()
            for c in kconf.unique_choices:
                cname = _choice_var(c)
                c.set_value(2 if asg.get(cname) else 1 if asg.get(cname + "=m") else 0)
            for s in kconf.unique_defined_syms:
                if s.name in want and any(n.prompt for n in s.nodes):
                    s.set_value(want[s.name])
            for _ in range(3):  # a default may exceed an m visibility: unset
                got = kconfig_values(kconf)
                diff = [n for n in want if want[n] != got[n] and
                        not _kconfiglib_promotes_implied(kconf.syms[n], want[n], got[n])]
                for n in diff:
                    if kconf.syms[n].choice is None:
                        kconf.syms[n].unset_value()
            assert not diff, f"seed {seed}: {[(n, want[n], got[n]) for n in diff]}"


def assert_slices_agree_with_whole_model(model, names, pairs=0, seed=0):
    """Questions answered on a slice of the model (ConfigSpace loads only
    the clauses the question's symbols reach) get the answer the whole
    model gives, and a witness found on a slice extends to a configuration
    of the whole model."""
    ids = {n: i for i, n in enumerate(model.var_names) if n is not None}
    rnd = random.Random(seed)
    queries = [[(n, value)] for n in names for value in ("y", "n")]
    queries += [[(a, rnd.choice("yn")), (b, rnd.choice("yn"))]
                for a, b in (rnd.sample(names, 2) for _ in range(pairs))]
    with Solver(name="glucose4", bootstrap_with=model.clauses) as whole:
        for query in queries:
            f = conj(*(model.symbol_value_formula(n, value) for n, value in query))
            lits = [ids[n] if value == "y" else -ids[n] for n, value in query]
            lits += [-ids[n + "=m"] for n, value in query if value == "n" and n + "=m" in ids]
            expected = whole.solve(assumptions=lits)
            sliced = ConfigSpace(model)
            assert sliced.possible(f) == expected, query
            if not expected:
                continue
            witness = sliced.witness(f)
            assumptions = []
            for name, value in witness.values.items():
                assumptions.append(ids[name] if value == "y" else -ids[name])
                if name + "=m" in ids:
                    assumptions.append(ids[name + "=m"] if value == "m" else -ids[name + "=m"])
            for name, value in witness.free.items():
                assumptions.append(ids[name] if value else -ids[name])
            assert whole.solve(assumptions=assumptions), f"witness of {query} does not extend"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_slices_agree_with_whole_model(name):
    model = build_model(fixture(name), "test")
    names = [n for n, info in model.symbols.items() if info.type in ("bool", "tristate")]
    assert_slices_agree_with_whole_model(model, names, pairs=20)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_consistent_and_agrees_with_kconfiglib(name):
    built = build(fixture(name), "test")
    assert ConfigSpace(built.model).consistent()
    assert satisfies(built.model, built.model.base, free_values(built))
    assert_kconfiglib_configs_satisfy(built, range(20))
    if not built.model.free:
        assert_solutions_reproducible(built, range(20))


# -- tristate and modules ---------------------------------------------------

def test_tristate_m_only_with_modules():
    model, cs = space("tristate")
    assert model.symbols["FOO"].type == "tristate"
    assert "FOO=m" in model.var_names and "BOOLSYM=m" not in model.var_names
    assert cs.possible(m("FOO"))
    assert cs.certain(v("MODULES"), given=m("FOO"))          # FOO=m only with MODULES
    assert not cs.possible(m("FOO"), neg(v("MODULES")))
    assert cs.possible(v("FOO"), neg(v("MODULES")))


def test_tristate_bounded_by_dependency():
    model, cs = space("tristate")
    assert not cs.possible(v("BAR"), m("FOO"))               # BAR <= FOO
    assert cs.possible(m("BAR"), m("FOO"))
    assert cs.certain(off(model, "BAR"), given=off(model, "FOO"))
    # a bool depending on an m symbol can be y
    assert cs.possible(v("BOOLSYM"), m("FOO"))
    # 'depends on m' allows m only
    assert not cs.possible(v("MDEP"))
    assert cs.possible(m("MDEP"))


# -- select and imply ---------------------------------------------------------

def test_select_forces_past_unmet_dependencies():
    model, cs = space("select")
    assert cs.certain(v("BAR"), given=v("FOO"))
    # BAR forced y when FOO=y although BAR's depends on (DEP) is false
    assert cs.possible(conj(v("FOO"), neg(v("DEP")), v("BAR")))
    assert not cs.possible(conj(neg(v("FOO")), neg(v("DEP")), v("BAR")))


def test_select_tristate_gives_at_least_selector_value():
    model, cs = space("select")
    assert cs.certain(disj(v("U"), m("U")), given=m("T"))
    assert cs.possible(v("U"), m("T"))
    assert cs.certain(v("U"), given=v("T"))


def test_imply_is_soft_for_visible_and_a_default_for_hidden():
    model, cs = space("select")
    assert cs.possible(v("IMPLIER"), off(model, "IMPLIED"))   # visible: not forced
    assert cs.certain(v("HIDDEN_IMPLIED"), given=v("IMPLIER"))
    assert cs.certain(m("HIDDEN_IMPLIED"), given=m("IMPLIER"))
    # implied by y, a visible symbol may still be set to m (Linux's kconfig;
    # kconfiglib would promote it to y)
    assert cs.possible(v("IMPLIER"), m("IMPLIED"))


# -- choices --------------------------------------------------------------------

def test_bool_choice_exactly_one_visible_member():
    model, cs = space("choice")
    assert cs.certain(disj(v("A"), v("B"), v("C")))
    assert not cs.possible(v("A"), v("B"))
    assert not cs.possible(v("C"), neg(v("X")))              # C depends on X
    assert cs.possible(v("C"), v("X"))


def test_tristate_choice_modes():
    model, cs = space("choice")
    assert not cs.possible(v("TA"), v("TB"))
    assert cs.possible(m("TA"), m("TB"))                     # m mode: several m
    assert not cs.possible(v("TA"), m("TB"))
    assert not cs.possible(m("TA"), neg(v("MODULES")))
    # without modules the choice is in y mode: one member is y
    assert cs.certain(disj(v("TA"), v("TB")), given=neg(v("MODULES")))
    # in m mode, members may all be n (kconfiglib: no user value, n)
    assert cs.possible(off(model, "TA"), off(model, "TB"))


def test_optional_choice_may_be_n():
    model, cs = space("choice")
    assert cs.possible(neg(v("OA")), neg(v("OB")))
    assert not cs.possible(v("OA"), v("OB"))


# -- promptless symbols -------------------------------------------------------

def test_promptless_symbols_are_functions():
    model, cs = space("promptless")
    assert not model.symbols["P"].prompt
    assert cs.equivalent(v("P"), v("X"))                          # def_bool y if X
    assert cs.equivalent(m("Q"), m("T"))                          # def_tristate T
    assert cs.equivalent(v("Q"), v("T"))
    # first default whose condition holds wins: n if X, else y if T
    assert cs.equivalent(v("R"), conj(neg(v("X")), disj(v("T"), m("T"))))
    # default m if X (m stays m with MODULES, rounds to y without), else y
    assert cs.equivalent(m("S"), conj(v("X"), v("MODULES")))


# -- if blocks, menus, visible if ------------------------------------------------

def test_if_blocks_menus_visible_if():
    model, cs = space("menus")
    assert cs.certain(v("IFC"), given=v("IN_IF"))
    assert cs.certain(v("MENUDEP"), given=v("IN_MENU"))
    # 'visible if' hides the prompt only: hidden, the default y applies
    assert cs.certain(v("HIDDEN_DEFAULT_Y"), given=neg(v("V")))
    assert cs.possible(neg(v("HIDDEN_DEFAULT_Y")), v("V"))


# -- comparisons ------------------------------------------------------------------

def test_comparisons_with_int_and_string_symbols_are_free():
    model, cs = space("compare")
    assert {"NR>4", "NR<=4", "NAME=foo"} <= set(model.free)
    assert cs.certain(v("NR>4"), given=v("BIG"))
    assert cs.certain(v("NAME=foo"), given=v("NAMED"))
    assert cs.equivalent(v("NR>4"), neg(v("NR<=4")))           # tied
    assert not cs.possible(v("BIG"), v("NOT_BIG"))
    assert model.notes


def test_comparisons_of_tristates_are_exact():
    model, cs = space("compare")
    assert cs.equivalent(v("ONLY_IF_T_M"), conj(v("ONLY_IF_T_M"), m("T")))
    assert cs.certain(m("T"), given=v("ONLY_IF_T_M"))
    assert not cs.possible(v("T_NOT_Y"), v("T"))
    assert cs.possible(v("T_NOT_Y"), off(model, "T"))


# -- safety: nothing from the tree runs ---------------------------------------------

def test_shell_does_not_run_by_default(tmp_path, monkeypatch):
    target = tmp_path / "created-by-kconfig"
    monkeypatch.setenv("KWHEN_TEST_FILE", str(target))
    model = build_model(fixture("shell"), "test")
    assert not target.exists()
    shells = [n for n in model.free if n.startswith("?shell:")]
    assert len(shells) == 1 and "touch" in shells[0]
    cs = ConfigSpace(model)
    assert cs.equivalent(v("SH"), v(shells[0]))
    assert cs.certain(v(shells[0]), given=v("USER"))


def test_shell_runs_when_trusted(tmp_path, monkeypatch):
    target = tmp_path / "created-by-kconfig"
    monkeypatch.setenv("KWHEN_TEST_FILE", str(target))
    model = build_model(fixture("shell"), "test", trust_tree=True)
    assert target.exists()
    assert not model.free
    assert ConfigSpace(model).certain(v("SH"))


def test_shell_marker_is_stable_symbol_name():
    a = shell_marker("echo y")
    assert a == shell_marker("echo y") != shell_marker("echo n")
    assert a.startswith("KWHEN_SHELL_") and len(a) == len("KWHEN_SHELL_") + 10


def test_kconfigfunctions_module_in_tree_is_not_imported(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    (tree / "arch" / "test").mkdir(parents=True)
    (tree / "arch" / "test" / "Kconfig").write_text("")
    (tree / "Kconfig").write_text('config A\n\tbool "a"\n')
    flag = tmp_path / "imported"
    (tree / "kconfigfunctions.py").write_text(f"open({str(flag)!r}, 'w')\nfunctions = {{}}\n")
    monkeypatch.chdir(tree)
    monkeypatch.syspath_prepend(str(tree))
    build_model(tree, "test")
    assert not flag.exists()


def test_environment_restored():
    before = dict(os.environ)
    load_kconfig(fixture("tristate"), "test", "test")
    assert dict(os.environ) == before


# -- the rewrite layer -----------------------------------------------------------

def test_rewrite_layer():
    built = build(fixture("rewrite"), "test")
    model, kconf = built.model, built.kconf
    cs = ConfigSpace(model)
    assert kconf.modules.name == "MODULES"                    # 'modules' understood
    assert cs.certain(v("MODULES"), given=m("T"))
    assert "OLD_NAME" in kconf.kwhen_transitional and not model.symbols["OLD_NAME"].prompt
    # a transitional symbol never reaches the build, but other symbols
    # take the value an old .config gives it
    assert not cs.possible(v("OLD_NAME"))
    assert cs.possible(v("HIDDEN_NEW")) and cs.possible(neg(v("HIDDEN_NEW")))
    assert cs.equivalent(v("HIDDEN_NEW"), v("?oldconfig:OLD_NAME"))
    # depends on X if Y: X needed only when Y
    assert cs.certain(v("X"), given=conj(v("COND"), v("Y")))
    assert cs.possible(v("COND"), neg(v("X")), neg(v("Y")))
    # ... and when Y is m (Linux: X || Y = n, not X || !Y)
    assert not cs.possible(m("TCOND"), m("T"), neg(v("X")))
    assert cs.possible(m("TCOND"), off(model, "T"), neg(v("X")))
    # lines keep their numbers
    assert model.symbols["COND"].locations == ["Kconfig:19"]


def test_rewrite_text_line_for_line():
    text = ("config A\n\tbool \"a\"\n\tmodules\n\thelp\n\t  modules\n\n"
            "config B\n\tbool\n\ttransitional\n\tdepends on X if Y # a comment if any\n")
    seen = set()
    out = rewrite_kconfig_text(text, seen)
    lines = out.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert lines[2] == "\toption modules"
    assert lines[4] == "\t  modules"                          # help text untouched
    assert lines[8] == "" and seen == {"B"}
    assert lines[9] == "\tdepends on (X) || (Y = n)# a comment if any"


def test_depends_if_reads_as_the_kernel_kconfig_does():
    # Y = n, pushed through the operators, since !(Y) is m for an m Y
    assert rewrite_kconfig_text("\tdepends on X if A && !B\n") == \
        "\tdepends on (X) || ((A = n) || (B = y))\n"
    assert rewrite_kconfig_text("\tdepends on X if A || B != 3\n") == \
        "\tdepends on (X) || ((A = n) && (B = 3))\n"


def test_option_env_reads_what_kwhen_passes_never_the_users_environment(tmp_path, monkeypatch):
    # U-Boot and Linux before 2018: `option env=` bounce symbols
    (tmp_path / "Kconfig").write_text(
        'config SRCARCH\n\tstring\n\toption env="SRCARCH"\n\n'
        'config SECRET\n\tstring\n\toption env="KWHEN_TEST_SECRET"\n')
    monkeypatch.setenv("KWHEN_TEST_SECRET", "from-the-user")
    kconf = load_kconfig(tmp_path, "x86", "x86")
    assert kconf.syms["SRCARCH"].str_value == "x86"
    assert kconf.syms["SECRET"].str_value == ""
    assert rewrite_kconfig_text('\toption env="A"\n\toption env="B"\n', environment={"A": 'q"\\'}) \
        == '\tdefault "q\\"\\\\"\n\n'


# -- errors ---------------------------------------------------------------------

def test_malformed_kconfig_names_file_and_line():
    with pytest.raises(KwhenError) as info:
        build_model(fixture("malformed"), "test")
    err = info.value
    assert err.path.endswith("sub/Kconfig") and err.line == 4
    assert "\n" not in err.message


def test_not_a_kconfig_tree(tmp_path):
    with pytest.raises(KwhenError, match="not a Kconfig tree"):
        resolve_arch(tmp_path, None)
    with pytest.raises(KwhenError, match="not a Kconfig tree"):
        load_kconfig(tmp_path, "x86", "x86")


def test_unknown_arch():
    with pytest.raises(KwhenError, match=r"unknown architecture 'foo' \(this tree has: test\)"):
        resolve_arch(fixture("tristate"), "foo")


# -- .config files ------------------------------------------------------------------

def test_read_dotconfig(tmp_path):
    path = tmp_path / ".config"
    path.write_text("#\n# Automatically generated\nCONFIG_A=y\nCONFIG_B=m\n"
                    "# CONFIG_C is not set\nCONFIG_S=\"a b\"\nCONFIG_N=0x10\nCONFIG_I=-3\n\n"
                    "# just a comment\nCONFIG_PORT=34c\n")
    assert read_dotconfig(path) == {"A": "y", "B": "m", "C": "n", "S": '"a b"',
                                    "N": "0x10", "I": "-3", "PORT": "34c"}
    path.write_text("CONFIG_A=y\nCONFIG_B y\n")
    with pytest.raises(KwhenError) as info:
        read_dotconfig(path)
    assert info.value.line == 2 and info.value.path == str(path)


def test_values_for_model(tmp_path):
    model = build_model(fixture("tristate"), "test")
    values = values_for_model(model, {"FOO": "m", "BOOLSYM": "y", "NOPE": "y"})
    assert values == {"MODULES": "n", "FOO": "m", "BAR": "n", "BOOLSYM": "y", "MDEP": "n"}


def test_base_config_and_sources():
    model = build_model(fixture("tristate"), "test")
    assert model.base_name == "defaults"
    assert set(model.base) == {"MODULES", "FOO", "BAR", "BOOLSYM", "MDEP"}
    assert model.sources[:2] == ["Kconfig", "arch/test/Kconfig"]
    roundtrip = KconfigModel.from_bytes(model.to_bytes())
    assert roundtrip.clauses == model.clauses


# -- Linux ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def linux_x86():
    return build(linux_tree(), "x86_64")


def test_linux_arches_and_defconfigs():
    tree = linux_tree()
    arches = list_arches(tree)
    assert "x86" in arches and "arm64" in arches
    assert resolve_arch(tree, "x86_64") == ("x86_64", "x86")
    assert resolve_arch(tree, "i386") == ("i386", "x86")
    assert resolve_arch(tree, "sparc64") == ("sparc64", "sparc")
    assert defconfig_path(tree, "x86_64", "x86").name == "x86_64_defconfig"
    assert defconfig_path(tree, "i386", "x86").name == "i386_defconfig"
    assert defconfig_path(tree, "arm64", "arm64").name == "defconfig"
    assert defconfig_path(tree, "arm", "arm").name == "multi_v7_defconfig"
    assert defconfig_path(tree, "sparc64", "sparc").name == "sparc64_defconfig"
    assert defconfig_path(tree, "sparc", "sparc").name == "sparc32_defconfig"
    with pytest.raises(KwhenError, match="unknown architecture 'foo'"):
        resolve_arch(tree, "foo")


def test_linux_x86_defconfig_satisfies_clauses(linux_x86):
    model = linux_x86.model
    assert model.base_name == "x86_64_defconfig"
    assert model.base["X86_64"] == "y" and model.base["MODULES"] == "y"
    assert satisfies(model, model.base, free_values(linux_x86))
    cs = ConfigSpace(model)
    assert cs.consistent()
    assert cs.certain(v("MODULES"), given=m("E1000"))
    assert cs.certain(v("X86_64"))
    assert any(n.startswith("?shell:") for n in model.free)


def test_linux_x86_slices_agree_with_whole_model(linux_x86):
    model = linux_x86.model
    names = sorted(n for n, info in model.symbols.items() if info.type in ("bool", "tristate"))
    sample = random.Random(1).sample(names, 150)
    assert_slices_agree_with_whole_model(model, sample, pairs=60, seed=1)


def test_linux_x86_kconfiglib_configs_satisfy_clauses(linux_x86):
    assert_kconfiglib_configs_satisfy(linux_x86, range(3))


def test_linux_every_arch_parses_consistently():
    tree = linux_tree()
    for srcarch in list_arches(tree):
        built = build(tree, srcarch)
        model = built.model
        assert ConfigSpace(model).consistent(), srcarch
        assert satisfies(model, model.base, free_values(built)), srcarch


def test_base_config_given(tmp_path):
    config = tmp_path / "my.config"
    config.write_text("CONFIG_MODULES=y\nCONFIG_FOO=m\n# CONFIG_BOOLSYM is not set\n")
    model = build_model(fixture("tristate"), "test", base_config=config)
    assert model.base_name == "my.config"
    assert model.base == {"MODULES": "y", "FOO": "m", "BAR": "n", "BOOLSYM": "n", "MDEP": "n"}
    assert satisfies(model, model.base)
