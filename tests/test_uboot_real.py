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
