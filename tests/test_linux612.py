"""Integration on a current kernel, Debian's linux-source-6.12 (issue 10):
every architecture's Kconfig parses, and the seed's questions split as on
6.1. (Every test's name says linux: the real-tree tier.)"""

import pytest

from conftest import linux612_tree
from seed_replay import PERCPU_X86
from kwhen.control import open_tree, symbol_query
from kwhen.kconfig.arches import list_arches
from kwhen.kconfig.parse import load_kconfig
from kwhen.logic.formula import neg, var


@pytest.fixture(scope="module")
def x86():
    return open_tree(linux612_tree(), "x86")


def line_of(root, path, needle, after=0):
    for n, text in enumerate((root / path).read_text().splitlines(), 1):
        if n > after and needle in text:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def test_linux612_every_architecture_kconfig_parses():
    root = linux612_tree()
    arches = list_arches(root)
    assert len(arches) >= 20
    for arch in arches:
        kconf = load_kconfig(root, arch, arch)
        assert len(kconf.unique_defined_syms) > 10000, arch


def test_linux612_resync_is_built_exactly_when_smp(x86):
    n = line_of(x86.root, PERCPU_X86, "sync_initial_page_table();")
    assert x86.space.equivalent(x86.line_condition(PERCPU_X86, n), var("SMP"))


def test_linux612_uniprocessor_setup_per_cpu_areas_needs_not_smp(x86):
    first = line_of(x86.root, "mm/percpu.c", "void __init setup_per_cpu_areas(void)")
    up = line_of(x86.root, "mm/percpu.c", "void __init setup_per_cpu_areas(void)", after=first)
    assert x86.space.equivalent(x86.line_condition("mm/percpu.c", up + 2), neg(var("SMP")))


def test_linux612_symbol_setup_per_cpu_areas_splits_as_on_6_1(x86):
    answer = symbol_query(x86, "setup_per_cpu_areas", witnesses=False)
    here = [d for d in answer.definitions if d.role != "other-arch"]
    x86_def = next(d for d in here if d.path == PERCPU_X86)
    generic_smp, uniprocessor = sorted((d for d in here if d.path == "mm/percpu.c"),
                                       key=lambda d: d.line)
    assert x86_def.chosen_condition == "SMP"
    assert uniprocessor.chosen_condition == "!SMP"
    assert generic_smp.chosen_status == "never"


def test_linux612_pgtable_levels_take_their_kconfig_values(x86):
    for levels in (2, 3, 4, 5):
        assert x86.space.possible(var(f"PGTABLE_LEVELS={levels}"))
    assert x86.space.equivalent(var("PGTABLE_LEVELS>=5"), var("X86_5LEVEL"))
