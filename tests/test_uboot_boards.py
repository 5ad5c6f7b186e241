"""U-Boot's boards (issue 14): legacy CONFIG_ macros of the board headers
that the generated include/config.h includes by SYS_CONFIG_NAME, board
directories chosen by string symbols, and witnesses close to a board's
defconfig (tests/fixtures/uboot-boards)."""

import shutil
from pathlib import Path

import pytest

from conftest import committed, git, marker_line, uboot_tree
from kwhen.control import CheckOptions, check
from kwhen.logic.formula import iff, implies, var
from kwhen.logic.values import value_var
from kwhen.presence import Tree

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "uboot-boards"
LEGACY = FIXTURE / "lib" / "legacy.c"


def _status(tree: Tree, marker: str) -> str:
    return tree.space.status(tree.line_condition("lib/legacy.c", marker_line(LEGACY, marker)))


def test_a_board_header_decides_its_legacy_macros():
    sandbox = Tree(FIXTURE, "sandbox")
    # sandbox's header is the one config.h includes on sandbox
    assert _status(sandbox, "sandbox") == "sometimes"      # (FOO builds the file)
    assert sandbox.space.certain(iff(sandbox.line_condition(
        "lib/legacy.c", marker_line(LEGACY, "sandbox")),
        sandbox.file_condition("lib/legacy.c").builtin))
    assert _status(sandbox, "fast") == "never"
    assert _status(sandbox, "shared") == "never"           # SHARED is 1 there
    arm = Tree(FIXTURE, "arm")
    assert _status(arm, "sandbox") == "never"
    # a macro under a Kconfig #if in the Rocket's header: both decide
    fast = arm.line_condition("lib/legacy.c", marker_line(LEGACY, "fast"))
    assert arm.space.certain(implies(fast, var("ROCKET_FAST") & var("TARGET_ROCKET")))
    assert arm.space.possible(fast)
    # a value compared in #if: the Rocket's 2
    shared = arm.line_condition("lib/legacy.c", marker_line(LEGACY, "shared"))
    rocket = var(value_var("SYS_CONFIG_NAME", '"rocket"'))
    assert arm.space.certain(iff(shared, var("FOO") & rocket))
    assert arm.space.certain(iff(var("TARGET_ROCKET"), rocket))
    # defined by no header and no Kconfig: never
    assert _status(arm, "nowhere") == "never" and _status(sandbox, "nowhere") == "never"


@pytest.fixture
def repo(tmp_path) -> Path:
    tree = tmp_path / "uboot"
    shutil.copytree(FIXTURE, tree)
    return committed(tree)


def test_a_board_headers_macro_is_no_undefined_symbol(repo):
    path = repo / "lib" / "legacy.c"
    path.write_text(path.read_text() + "\n#ifdef CONFIG_SYS_LEGACY_COMET\nint comet;\n#endif\n"
                    "\n#ifdef CONFIG_SYS_LEGACY_TYPO\nint typo;\n#endif\n")
    git(repo, "commit", "-qam", "legacy options")
    report = check(repo, "HEAD", CheckOptions(arches=["arm"]))
    undefined = [s for f in report.findings if f.kind == "undefined-symbol" for s in f.symbols]
    assert undefined == ["SYS_LEGACY_TYPO"]
    # the Comet's line is built on the Comet: not dead
    typo = path.read_text().splitlines().index("int typo;") + 1
    assert [f.line for f in report.findings if f.kind == "dead-added"] == [typo]


def test_uboot_real_sandbox_header_decides_a_legacy_macro():
    tree = Tree(uboot_tree(), "sandbox")
    # common/board_f.c: #ifdef CONFIG_SYS_SDRAM_BASE, which
    # include/configs/sandbox.h defines
    text = (uboot_tree() / "common" / "board_f.c").read_text().splitlines()
    line = text.index("#ifdef CONFIG_SYS_SDRAM_BASE") + 2
    assert tree.space.status(tree.line_condition("common/board_f.c", line)) == "always"


def test_a_board_directory_is_built_exactly_when_its_symbols_name_it():
    # board/$(VENDOR)/$(BOARD)/, or board/$(BOARD)/ where SYS_VENDOR has no
    # value: a string no default gives is empty, as .config leaves it
    sandbox = Tree(FIXTURE, "sandbox")
    built = sandbox.file_condition("board/sandbox/sandbox.c")
    assert built.kind == "source" and sandbox.space.status(built.builtin) == "always"
    for other in ("board/acme/rocket/rocket.c", "board/acme/comet/comet.c"):
        assert sandbox.space.status(sandbox.file_condition(other).builtin) == "never"
    arm = Tree(FIXTURE, "arm")
    assert arm.space.status(arm.file_condition("board/sandbox/sandbox.c").builtin) == "never"
    for board, target in (("rocket", "TARGET_ROCKET"), ("comet", "TARGET_COMET")):
        built = arm.file_condition(f"board/acme/{board}/{board}.c").builtin
        assert arm.space.certain(iff(built, var(target)))
    # a directory no value names is never built
    assert arm.space.status(arm.file_condition("board/acme/common/common.c").builtin) == "never"


def test_an_architectures_base_is_its_own_board_or_its_qemu_board():
    from kwhen.kconfig.arches import defconfig_path

    assert defconfig_path(FIXTURE, "sandbox", "sandbox").name == "sandbox_defconfig"
    assert defconfig_path(FIXTURE, "arm", "arm").name == "qemu_arm_defconfig"
    arm = Tree(FIXTURE, "arm")
    assert arm.model.base_name == "qemu_arm_defconfig"
    # the witness that builds the Rocket's board starts from the QEMU board's
    # configuration (the Comet) and names it
    rocket = arm.file_condition("board/acme/rocket/rocket.c").builtin
    witness = arm.space.witness(rocket)
    assert witness.values["TARGET_ROCKET"] == "y"
    assert witness.base_name == "qemu_arm_defconfig"


def test_uboot_real_default_bases():
    from kwhen.kconfig.arches import defconfig_path

    tree = uboot_tree()
    assert defconfig_path(tree, "sandbox", "sandbox").name == "sandbox_defconfig"
    assert defconfig_path(tree, "arm", "arm").name == "qemu_arm_defconfig"
    assert defconfig_path(tree, "x86", "x86").name == "qemu-x86_defconfig"
    assert defconfig_path(tree, "riscv", "riscv").name == "qemu-riscv32_defconfig"
