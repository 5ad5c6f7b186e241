"""Historic U-Boot trees as their own scripts/kconfig read them, and checks
that go on past a Kconfig file or makefile kwhen cannot read (issue 14,
item 1): what is skipped is named with its repository path and commit."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import committed, git, run_kwhen
from kwhen.control import CheckOptions, check
from kwhen.logic.formula import var
from kwhen.presence import Tree

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_select_of_a_constant_and_a_stray_brace_are_read_as_old_kconfig_did(tmp_path):
    tree = tmp_path / "historic"
    shutil.copytree(FIXTURES / "uboot-historic", tree)
    t = Tree(tree, "sandbox")
    symbols = t.model.symbols
    assert "PANTHER" in symbols and "AFTER_HELP" in symbols
    # `select n` selects nothing; the symbol after the brace keeps its select
    assert t.space.possible(~var("PANTHER") & var("AFTER_HELP"))
    assert not t.space.possible(var("AFTER_HELP") & ~var("IMPLIED"))


@pytest.fixture
def repo(tmp_path) -> Path:
    tree = tmp_path / "uboot"
    shutil.copytree(FIXTURES / "uboot-mini", tree)
    return committed(tree)


def _append(repo, path, text):
    with open(repo / path, "a") as f:
        f.write(text)


def _commit(repo):
    git(repo, "commit", "-qam", "edit")
    return git_head(repo)


def git_head(repo):
    import subprocess
    return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_an_unreadable_makefile_skips_its_directory_and_checks_the_rest(repo):
    _append(repo, "lib/Makefile", "\nifeq ($(CONFIG_FOO),y)\nobj-y += x.o\n")   # no endif
    _append(repo, "lib/foo.c", "int x;\n")
    _append(repo, "drivers/drv.c", "#if 0\nint never;\n#endif\n")
    head = _commit(repo)
    report = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    # the rest of the change is checked: the dead line in drivers/
    assert [(f.kind, f.file) for f in report.findings] == [("dead-added", "drivers/drv.c")]
    # lib/ is not judged against an unknown, and the report says so
    [skipped] = report.skipped
    assert (skipped.path, skipped.line, skipped.change) == ("lib/Makefile", 4, head)
    assert "lib/foo.c" in skipped.unchecked
    assert "kwhen-check-" not in skipped.message and head in skipped.message


def test_an_unreadable_kconfig_is_named_with_its_commit_not_an_abort(repo):
    # (and the JSON summary lists it under "skipped")
    _append(repo, "Kconfig", "\nconfig BAZ\n\tbool \"baz\"\n\tdepends on (FOO\n")
    head = _commit(repo)
    done = run_kwhen("check", "HEAD", "--arch", "sandbox", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert f"Kconfig:24 at {head} cannot be read" in done.stdout
    assert "kwhen-check-" not in done.stdout + done.stderr
    data = json.loads(run_kwhen("check", "HEAD", "--arch", "sandbox", "--format", "json",
                                cwd=repo).stdout)
    [skipped] = data["summary"]["skipped"]
    assert (skipped["file"], skipped["line"], skipped["change"]) == ("Kconfig", 24, head)


def test_bad_command_line_input_is_still_an_error(repo):
    done = run_kwhen("check", "no-such-revision", cwd=repo)
    assert done.returncode == 2


def test_a_query_below_an_unreadable_makefile_is_an_error_naming_it(repo):
    _append(repo, "lib/Makefile", "\nifeq ($(CONFIG_FOO),y)\n")
    done = run_kwhen("file", "lib/foo.c", "--arch", "sandbox", cwd=repo)
    assert done.returncode == 2 and "lib/Makefile:4:" in done.stderr
    # a file elsewhere is answered
    assert run_kwhen("file", "drivers/drv.c", "--arch", "sandbox", cwd=repo).returncode == 0


# -- item 2: a model that cannot be right says so ----------------------------------

def test_the_build_run_of_a_top_makefile_that_runs_itself_again_is_read(tmp_path):
    tree = tmp_path / "submake"
    shutil.copytree(FIXTURES / "uboot-submake", tree)
    t = Tree(tree, "sandbox")
    assert t.file_condition("lib/foo.c").kind == "source"
    assert t.file_condition("drivers/drv.c").kind == "source"
    assert t.file_condition("arch/sandbox/cpu/cpu.c").kind == "source"


def test_a_top_makefile_kwhen_cannot_follow_stops_it_with_a_message(tmp_path):
    tree = tmp_path / "unfollowed"
    shutil.copytree(FIXTURES / "uboot-unfollowed", tree)
    done = run_kwhen("file", "drivers/drv.c", "--arch", "sandbox", "--tree", tree)
    assert done.returncode == 2
    assert "Makefile: kwhen cannot follow this top Makefile" in done.stderr
    assert "common/" in done.stderr and "Traceback" not in done.stderr


# -- item 3: programs for the build machine ----------------------------------------

@pytest.fixture
def hostprogs(tmp_path) -> Path:
    tree = tmp_path / "hostprogs"
    shutil.copytree(FIXTURES / "uboot-hostprogs", tree)
    return tree


def test_host_programs_are_host_builds_with_their_own_conditions(hostprogs):
    t = Tree(hostprogs, "sandbox")
    mkimage = t.file_condition("tools/mkimage.c")
    assert mkimage.kind == "host" and mkimage.builtin is var("TOOLS_MKIMAGE")
    assert t.file_condition("tools/imagetool.c").builtin is var("TOOLS_MKIMAGE")
    assert t.file_condition("tools/envtool.c").kind == "host"
    assert t.file_condition("scripts/basic/fixdep.c").kind == "host"
    # compiled by HOSTCC: U-Boot's USE_HOSTCC is defined there
    assert t.line_condition("tools/imagetool.c", 2) is var("TOOLS_MKIMAGE")


def test_a_line_added_to_a_host_program_is_not_dead_target_code(hostprogs):
    repo = committed(hostprogs)
    _append(repo, "tools/envtool.c", "int added_to_a_tool;\n")
    _commit(repo)
    report = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    assert [f.kind for f in report.findings] == []
