"""U-Boot-shaped trees (tests/fixtures/uboot-mini) and the false alarms that
bench/false_alarms.md found on U-Boot's history: each test failed before
its fix."""

import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import committed, git
from kwhen.control import CheckOptions, check
from kwhen.checks.symbols_index import DEFINITION, SYMBOL
from kwhen.kconfig.arches import defconfig_path
from kwhen.logic.formula import TRUE, var
from kwhen.presence import Tree

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "uboot-mini"


@pytest.fixture
def uboot(tmp_path) -> Path:
    tree = tmp_path / "uboot"
    shutil.copytree(FIXTURE, tree)
    return tree


def test_top_makefile_lists_arch_makefile_and_built_in_archives(uboot):
    # no root Kbuild lists directories: libs-y of the top Makefile (an
    # in-tree default build, turned into dir/built-in.a) and of the arch
    # Makefile it includes once .config exists
    tree = Tree(uboot, "sandbox")
    assert tree.kbuild.files["arch/sandbox/cpu/cpu.c"][0] is TRUE
    assert tree.kbuild.files["drivers/drv.c"][0] is TRUE
    assert "arch/arm/lib/arm.c" not in tree.kbuild.files


def test_phase_prefix_is_empty_in_u_boot_proper(uboot):
    tree = Tree(uboot, "sandbox")
    assert tree.kbuild.files["lib/foo.c"][0] == var("FOO")


def test_config_is_enabled_means_the_symbol_in_u_boot_proper(uboot):
    tree = Tree(uboot, "sandbox")
    assert tree.line_condition("lib/foo.c", 6) == var("FOO")
    assert tree.space.possible(tree.line_condition("lib/foo.c", 6))
    assert not tree.space.possible(tree.line_condition("lib/foo.c", 13))


def test_architecture_chosen_in_kconfig_is_pinned(uboot):
    tree = Tree(uboot, "sandbox")
    assert not tree.space.possible(var("ARM"))
    assert not tree.space.possible(var("ARMONLY"))
    arm = Tree(uboot, "arm")
    assert arm.space.possible(var("ARMONLY"))


def test_defconfig_in_top_level_configs(uboot):
    assert defconfig_path(uboot, "sandbox", "sandbox") == uboot / "configs" / "sandbox_defconfig"
    assert Tree(uboot, "sandbox").model.base_name.endswith("sandbox_defconfig")


def test_definition_pattern_does_not_backtrack():
    # `(?:\w*[A-Z0-9]\w*){2,}` took minutes on this line
    started = time.time()
    # (a comment after the name still defines it: Kconfig reads it so)
    assert DEFINITION.findall("config BOARD_SPECIFIC_OPTIONS_FOR_THIS_BOARD # dummy\n") == \
        ["BOARD_SPECIFIC_OPTIONS_FOR_THIS_BOARD"]
    assert DEFINITION.findall("config BOARD_SPECIFIC_OPTIONS_FOR_THIS_board+ # dummy\n") == []
    assert time.time() - started < 1
    assert DEFINITION.findall("config SYS_BOARD\nmenuconfig A1\n") == ["SYS_BOARD", "A1"]
    assert re.fullmatch(SYMBOL, "Ab") is None and re.fullmatch(SYMBOL, "aB_c1")


@pytest.fixture
def repo(uboot):
    return committed(uboot)


def _commit(repo, path, old, new):
    p = repo / path
    p.write_text(p.read_text().replace(old, new, 1))
    git(repo, "commit", "-qam", f"edit {path}")


def test_code_of_another_architecture_is_judged_on_it(repo):
    # --arch sandbox: a line added to arch/arm/ is built on arm, not dead
    _commit(repo, "arch/arm/lib/arm.c", "\treturn 0;\n", "\tint x = 1;\n\treturn x - 1;\n")
    result = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    assert [f.kind for f in result.findings] == []


def test_header_code_hidden_from_the_assembler_is_not_narrowed(repo):
    _commit(repo, "include/foo.h", "int foo_enabled(void);\n",
            "#ifndef __ASSEMBLY__\nint foo_enabled(void);\n#endif\n")
    result = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    assert [f.kind for f in result.findings] == []
