"""Values of int/hex/string symbols (issue 10): from Kconfig's defaults in
all-configurations mode, from --config for one configuration, in #if
comparisons, in ifeq and in Makefile words (tests/fixtures/values)."""

from pathlib import Path

import pytest

from conftest import run_kwhen
from kwhen.control import file_query, line_query, open_tree, symbol_query
from kwhen.kconfig.translate import build_model
from kwhen.logic.formula import conj, neg, var
from kwhen.logic.solver import ConfigSpace
from kwhen.logic.values import readable

TREE = Path(__file__).parent / "fixtures" / "values"
MEMORY = "mm/memory.c"
FIVE_LEVELS, MORE_THAN_TWO, TWO_LEVELS, HZ_100, MANY_CPUS, PHYS = 4, 7, 9, 12, 15, 18


@pytest.fixture(scope="module")
def tree():
    return open_tree(TREE, "x86", cache=False)


@pytest.fixture(scope="module")
def space():
    return ConfigSpace(build_model(TREE, "x86"))


def test_an_int_symbol_takes_the_values_its_defaults_allow(space):
    # PGTABLE_LEVELS: 5 with X86_5LEVEL, 4 on 64-bit, 3 with PAE, else 2
    assert space.status(var("PGTABLE_LEVELS>=5")) == "sometimes"
    assert space.equivalent(var("PGTABLE_LEVELS>=5"), var("X86_5LEVEL"))
    assert space.equivalent(var("PGTABLE_LEVELS>2"), var("X86_64") | var("X86_PAE"))
    assert space.equivalent(var("PGTABLE_LEVELS=3"), var("X86_PAE"))
    assert not space.possible(var("PGTABLE_LEVELS=6"))
    assert not space.possible(var("PGTABLE_LEVELS<2"))
    # a Kconfig dependency on a comparison is decided the same way
    assert space.certain(var("X86_64"), given=var("DEEP_TABLES"))
    # a hex symbol's one default, compared as C writes the number
    assert space.status(var("PHYS_START=16777216")) == "always"
    assert space.status(var("PHYS_START=0x1000000")) == "always"


def test_a_value_kconfig_leaves_open_stays_free(space):
    # NR_CPUS is prompted (any value in its range); LOG_SHIFT defaults to
    # another symbol's value: neither is decided, both ways stay possible
    for name in ("NR_CPUS>1", "NR_CPUS=64", "LOG_SHIFT>3"):
        assert space.status(var(name)) == "sometimes"


def test_int_comparison_in_all_configurations_mode(tree):
    answer = line_query(tree, MEMORY, FIVE_LEVELS)
    assert answer.status == "sometimes"
    assert answer.condition == "PGTABLE_LEVELS>=5"
    assert answer.witness_built.values["X86_5LEVEL"] == "y"
    assert answer.witness_built.symbol_values == {"PGTABLE_LEVELS": "5"}
    assert answer.witness_not_built.symbol_values == {"PGTABLE_LEVELS": "4"}
    assert line_query(tree, MEMORY, PHYS).status == "always"


def test_int_comparison_under_a_config(tree, tmp_path):
    fragment = tmp_path / "five.config"
    fragment.write_text("CONFIG_X86_5LEVEL=y\n")
    assert line_query(tree, MEMORY, FIVE_LEVELS, config=str(fragment)).evaluation.built == "yes"
    assert line_query(tree, MEMORY, HZ_100, config=str(fragment)).evaluation.built == "no"
    # a full .config that states the value
    full = tmp_path / "full.config"
    full.write_text("# CONFIG_X86_64 is not set\nCONFIG_X86_PAE=y\nCONFIG_PGTABLE_LEVELS=3\n"
                    "CONFIG_HZ_100=y\n# CONFIG_HZ_250 is not set\nCONFIG_HZ=100\n")
    assert line_query(tree, MEMORY, FIVE_LEVELS, config=str(full)).evaluation.built == "no"
    assert line_query(tree, MEMORY, MORE_THAN_TWO, config=str(full)).evaluation.built == "yes"
    assert line_query(tree, MEMORY, HZ_100, config=str(full)).evaluation.built == "yes"
    # NR_CPUS, not in the file, takes its default (64)
    assert line_query(tree, MEMORY, MANY_CPUS, config=str(full)).evaluation.built == "yes"


def test_a_fragment_is_completed_as_olddefconfig_would(tree, tmp_path):
    # only X86_64 off: PGTABLE_LEVELS falls to its last default, 2
    fragment = tmp_path / "frag.config"
    fragment.write_text("# CONFIG_X86_64 is not set\n")
    assert line_query(tree, MEMORY, TWO_LEVELS, config=str(fragment)).evaluation.built == "yes"
    assert line_query(tree, MEMORY, MORE_THAN_TWO, config=str(fragment)).evaluation.built == "no"


def test_ifeq_on_an_int_symbol(tree):
    answer = file_query(tree, "mm/slow.c")
    assert answer.builtin == "HZ=100"
    assert tree.space.equivalent(tree.file_condition("mm/slow.c").builtin, var("HZ_100"))


def test_a_string_symbol_names_a_directory(tree):
    # board/$(BOARD)/ with BOARD the value of SYS_BOARD: each board's
    # directory under its target, a directory no default names never
    alpha = tree.file_condition("board/alpha/alpha.c").builtin
    beta = tree.file_condition("board/beta/beta.c").builtin
    assert tree.space.equivalent(alpha, var("TARGET_ALPHA"))
    assert tree.space.equivalent(beta, var("TARGET_BETA"))
    assert tree.space.status(tree.file_condition("board/gamma/gamma.c").builtin) == "never"


def test_negated_comparisons_read_unambiguously(tree):
    assert line_query(tree, MEMORY, TWO_LEVELS).condition == "PGTABLE_LEVELS<=2"
    assert str(readable(neg(var("HZ=100")))) == "HZ!=100"
    # a name holding an operator is one operand when negated
    assert str(neg(var("FOO=m"))) == "!(FOO=m)"
    assert str(conj(neg(var("A>B")), var("C"))) == "!(A>B) && C"


def test_a_witness_relying_on_a_free_proposition_says_so(tree):
    answer = line_query(tree, MEMORY, MANY_CPUS)
    built, not_built = answer.witness_built, answer.witness_not_built
    # built: NR_CPUS at its default 64, or assumed > 1; not built: only
    # a value outside Kconfig's defaults, an assumption the witness states
    assert built.free == {"NR_CPUS>1": True} or built.symbol_values == {"NR_CPUS": "64"}
    assert not_built.free == {"NR_CPUS>1": False}
    assert built.describe() != not_built.describe()
    assert "!(NR_CPUS>1)" in not_built.describe()


@pytest.mark.parametrize("text,line", [
    ("root:x:0:0:root:/root:/bin/bash\n", 1),
    ("# a comment\n\nobj-y += foo.o\n", 3),
    ("# only comments\n", None),
    ("", None),
])
def test_what_is_not_a_configuration_is_refused(tmp_path, text, line):
    bad = tmp_path / "not-a-config"
    bad.write_text(text)
    done = run_kwhen("line", f"{MEMORY}:{FIVE_LEVELS}", "--tree", str(TREE), "--arch", "x86",
                     "--config", str(bad), "--no-cache")
    assert done.returncode == 2
    where = f"{bad}:{line}:" if line else f"{bad}:"
    assert done.stderr.startswith(f"kwhen: error: {where}"), done.stderr
    assert "root:" not in done.stderr          # the file's text is not echoed
    assert "Traceback" not in done.stderr


def test_values_survive_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path))
    for _ in range(2):
        done = run_kwhen("line", f"{MEMORY}:{FIVE_LEVELS}", "--tree", str(TREE), "--arch", "x86")
        assert done.returncode == 0, done.stderr
        assert "CONFIG_PGTABLE_LEVELS=5" in done.stdout



def test_a_makefile_line_is_shown_as_written():
    done = run_kwhen("line", f"{MEMORY}:2", "--tree", str(TREE), "--arch", "x86", "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "mm/Makefile:6: obj-y += memory.o \\\n" in done.stdout


def test_a_tools_header_is_not_part_of_the_kernel_build(tree):
    answer = symbol_query(tree, "for_each_thing", witnesses=False)
    by_path = {d.path: d for d in answer.definitions}
    assert by_path["include/linux/cpu.h"].chosen_status == "always"
    assert by_path["tools/testing/selftests/cpu.h"].chosen_status == "never"
    assert tree.file_condition("tools/testing/selftests/cpu.h").kind == "unreached"


def test_conditions_are_simplified_against_their_context(space):
    f = conj(var("X86_64"), var("X86_5LEVEL") | neg(var("X86_64")) | var("cpp(FOO)"))
    assert str(space.simplify(f)) == "X86_64 && (X86_5LEVEL || cpp(FOO))"
    g = conj(var("X86_64"), neg(var("X86_64")) | neg(var("defined(TIF_POLLING_NRFLAG)")))
    assert str(space.simplify(g)) == "X86_64 && !defined(TIF_POLLING_NRFLAG)"


def test_a_string_symbol_is_defined_where_it_takes_a_value(tree):
    # SYS_BOARD's defaults cover every target: CONFIG_SYS_BOARD is always defined
    assert line_query(tree, MEMORY, 21).status == "always"
