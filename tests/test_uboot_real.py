"""Integration on Debian's U-Boot 2023.01 sources (KWHEN_UBOOT_TREE,
unpacked by .ci/run): the real tier, as every test name says uboot_real."""

import pytest

from conftest import uboot_tree
from kwhen.logic.formula import var
from kwhen.presence import Tree


@pytest.fixture(scope="module")
def sandbox():
    return Tree(uboot_tree(), "sandbox")


def test_uboot_real_kbuild_of_sandbox_is_whole(sandbox):
    kbuild = sandbox.kbuild
    assert len(kbuild.files) > 2000 and kbuild.unreadable == []
    assert sandbox.file_condition("drivers/core/device.c").kind == "source"


def test_uboot_real_tools_are_host_programs_with_their_conditions(sandbox):
    mkimage = sandbox.file_condition("tools/mkimage.c")
    assert mkimage.kind == "host"
    logo = sandbox.file_condition("tools/bmp_logo.c")
    assert logo.kind == "host" and "VIDEO_LOGO" in logo.builtin.variables()
    assert sandbox.space.possible(~var("VIDEO_LOGO"))
    assert sandbox.file_condition("scripts/dtc/dtc.c").kind == "host"


@pytest.fixture(scope="module")
def arm():
    return Tree(uboot_tree(), "arm")


def test_uboot_real_phases_of_2023_01(arm):
    assert [p.name for p in arm.phases] == ["proper", "spl", "tpl", "vpl"]
    spl = arm.in_phase("spl")
    assert spl.phase.defines == ("CONFIG_SPL_BUILD",)
    assert arm.in_phase("tpl").phase.defines == ("CONFIG_SPL_BUILD", "CONFIG_TPL_BUILD")


def test_uboot_real_spl_framework_is_built_only_before_proper(arm):
    # common/spl/spl.c: no Makefile of U-Boot proper names it; Makefile.spl
    # descends common/spl/ and obj-$(CONFIG_$(SPL_TPL_)FRAMEWORK) builds it
    assert arm.file_condition("common/spl/spl.c").kind == "unreached"
    for name, symbol in (("spl", "SPL_FRAMEWORK"), ("tpl", "TPL_FRAMEWORK")):
        phase = arm.in_phase(name)
        built = phase.file_condition("common/spl/spl.c").built
        assert phase.space.possible(built)
        assert not phase.space.possible(built & ~var(symbol))
    # U-Boot proper's main loop is not in any earlier phase
    for name in ("spl", "tpl", "vpl"):
        assert arm.in_phase(name).file_condition("common/main.c").kind == "unreached"


def test_uboot_real_config_is_enabled_line_decided_per_phase(sandbox):
    # (sandbox: its two boards' headers are read, so a CONFIG_ name no
    # Kconfig defines is decided; arm's hundreds leave such names free)
    arm = sandbox
    path = "drivers/core/device.c"
    text = (arm.root / path).read_text().splitlines()
    line = text.index("#if CONFIG_IS_ENABLED(DEVRES)") + 2
    proper = arm.line_condition(path, line)
    assert "DEVRES" in proper.variables() and arm.space.possible(proper)
    # there is no SPL_DEVRES (nor TPL_, VPL_): never built before proper
    for name in ("spl", "tpl", "vpl"):
        phase = arm.in_phase(name)
        assert not phase.space.possible(phase.line_condition(path, line))
    # a symbol with an SPL twin: CONFIG_IS_ENABLED(OF_PLATDATA) is SPL_OF_PLATDATA in SPL
    line = text.index("#if CONFIG_IS_ENABLED(OF_PLATDATA)") + 2
    spl = arm.in_phase("spl")
    assert spl.cpp(path).condition_at(line).variables() == {"SPL_OF_PLATDATA"}
    assert spl.space.possible(spl.line_condition(path, line))
    # (and U-Boot proper has no OF_PLATDATA: never there)
    assert not arm.space.possible(arm.line_condition(path, line))


def _patch(path: str, line: int, context: list, added: list) -> str:
    """A one-hunk patch adding `added` after the `context` lines at `line`."""
    body = "".join(f" {c}\n" for c in context) + "".join(f"+{a}\n" for a in added)
    n = len(context)
    return (f"From: kwhen test <test@example.org>\nSubject: [PATCH] {path}\n\n---\n"
            f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -{line},{n} +{line},{n + len(added)} @@\n{body}")


def test_uboot_real_check_of_spl_only_code_finds_nothing(arm, tmp_path):
    from kwhen.control import CheckOptions, check

    # common/spl/spl.c is built in SPL/TPL/VPL only: an added line is not dead
    path = "common/spl/spl.c"
    text = (arm.root / path).read_text().splitlines()
    at = text.index("DECLARE_GLOBAL_DATA_PTR;") + 1
    patch = tmp_path / "spl.patch"
    patch.write_text(_patch(path, at, text[at - 1:at + 1], ["static int spl_boot_count;"]))
    result = check(arm.root, str(patch), CheckOptions(arches=["arm"]))
    assert result.findings == []


def test_uboot_real_bool_symbols_have_no_module_macro(arm):
    # common/spl/spl.c includes a board's header (which may #define any
    # CONFIG_ name), but CONFIG_SPL_BANNER_PRINT_MODULE, which
    # CONFIG_IS_ENABLED asks for, only Kconfig writes, and only for a tristate
    path = "common/spl/spl.c"
    line = (arm.root / path).read_text().splitlines().index(
        "#if CONFIG_IS_ENABLED(BANNER_PRINT)") + 2
    spl = arm.in_phase("spl")
    assert spl.cpp(path).condition_at(line).variables() == {"SPL_BANNER_PRINT"}


def test_uboot_real_check_names_a_missing_phase_twin_and_a_doubled_prefix(arm, tmp_path):
    from kwhen.control import CheckOptions, check

    # drivers/core/device.c is built in every phase (DM, SPL_DM, ...), and
    # DEVRES has no SPL_/TPL_/VPL_ twin: false there whatever the board
    path = "drivers/core/device.c"
    text = (arm.root / path).read_text().splitlines()
    at = text.index("DECLARE_GLOBAL_DATA_PTR;") + 1
    patch = tmp_path / "devres.patch"
    patch.write_text(_patch(path, at, text[at - 1:at + 1], [
        "static int kwhen_devres(void)", "{",
        "\treturn CONFIG_IS_ENABLED(DEVRES) ? 1 : CONFIG_IS_ENABLED(CONFIG_DM);", "}"]))
    found = check(arm.root, str(patch), CheckOptions(arches=["arm"])).findings
    assert sorted((f.kind, f.argument, f.problem, tuple(f.phases), f.fix) for f in found) == [
        ("config-test-argument", "CONFIG_DM", "doubled-prefix", (), "CONFIG_IS_ENABLED(DM)"),
        ("config-test-argument", "DEVRES", "no-twin", ("SPL", "TPL", "VPL"),
         "IS_ENABLED(CONFIG_DEVRES)")]


def test_uboot_real_witness_starts_from_the_board_given_as_base(arm, tmp_path, monkeypatch):
    import difflib

    from kwhen.control import CheckOptions, check

    # display_options() prints the banner in every build; wrapping the print
    # in an #ifdef loses it where FIT=n. The witness is the board's
    # defconfig (the tree's own configs/, named from another directory) as
    # `make qemu_arm_defconfig` completes it, plus that one setting.
    path = "lib/display_options.c"
    text = (arm.root / path).read_text()
    new = text.replace('\tprintf("%s", buf);\n',
                       '#ifdef CONFIG_FIT\n\tprintf("%s", buf);\n#endif\n', 1)
    patch = tmp_path / "narrow.patch"
    patch.write_text("".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                  f"a/{path}", f"b/{path}")))
    monkeypatch.chdir(tmp_path)
    found = check(arm.root, str(patch), CheckOptions(
        arches=["arm"], base="configs/qemu_arm_defconfig")).findings
    narrowed = [f for f in found if f.kind == "narrowed"]
    assert len(narrowed) == 1, [f.message for f in found]
    f = narrowed[0]
    assert (f.witness_base, f.witness_recipe) == ("qemu_arm_defconfig", "make qemu_arm_defconfig")
    assert f.witness_changes == {"FIT": "n"}
    assert f.witness_phase == f.phases[0]


def test_uboot_real_board_directories_are_reached(arm):
    # board/$(VENDOR)/$(BOARD)/ and board/$(VENDOR)/common/: SYS_VENDOR and
    # SYS_BOARD take hundreds of values, too many to multiply out, so each
    # existing board directory stands under the unknown word; never "never"
    for path in ("board/xilinx/zynqmp/zynqmp.c", "board/xilinx/common/board.c",
                 "board/emulation/qemu-arm/qemu-arm.c"):
        assert arm.space.status(arm.file_condition(path).built) == "sometimes", path
