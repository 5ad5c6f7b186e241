"""Which architectures `kwhen check` models by default (kwhen.checks.scope):
the change's effect on #if conditions is reasoned on with every symbol free,
and only architectures that can lose a line are modelled."""

import shutil
from pathlib import Path

import pytest

from conftest import committed
from kwhen.checks.scope import cpp_losses
from kwhen.control import CheckOptions, check
from test_check import commit

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "check-two-arches"

ENDIF_ABOVE = "#endif\n\tthread_stack_cache_init();\n"
ENDIF_BELOW = "\tthread_stack_cache_init();\n#endif\n"


@pytest.fixture
def two_arches(tmp_path):
    dest = tmp_path / "two-arches"
    shutil.copytree(FIXTURE, dest)
    return committed(dest)


def scope_of(report):
    (only,) = report.scopes
    return only


def test_an_endif_moved_down_narrows_the_other_architecture_only(two_arches):
    commit(two_arches, "endif below", {"init/main.c": (ENDIF_ABOVE, ENDIF_BELOW)})
    report = check(two_arches, "HEAD", CheckOptions())
    assert [(f.kind, f.file, f.line, f.arches) for f in report.findings] == [
        ("narrowed", "init/main.c", 7, ["arm64"])]
    scope = scope_of(report)
    assert scope["checked"] == ["arm64"]
    assert list(scope["ruled_out"]) == ["x86"]          # X86 is y there: the line stays
    # --arch still narrows the scope: x86 alone sees nothing
    assert check(two_arches, "HEAD", CheckOptions(arches=["x86"])).findings == []


def test_an_endif_moved_down_reads_as_narrowed_whichever_way_the_diff_shows_it(
        two_arches, tmp_path):
    """The same edit as a diff that shows the call removed below the #endif
    and added above it (difflib's choice, and sometimes git's): the call
    did not move, its #if changed, so it is `narrowed`, not code moved."""
    patch = tmp_path / "endif.patch"
    patch.write_text("--- a/init/main.c\n+++ b/init/main.c\n@@ -5,5 +5,5 @@\n"
                     " #ifdef CONFIG_X86\n \tefi_enter_virtual_mode();\n"
                     "+\tthread_stack_cache_init();\n #endif\n"
                     "-\tthread_stack_cache_init();\n \trest_init();\n")
    report = check(two_arches, str(patch), CheckOptions())
    assert [(f.kind, f.file, f.line, f.arches) for f in report.findings] == [
        ("narrowed", "init/main.c", 7, ["arm64"])]


def test_widening_and_same_condition_edits_model_no_other_architecture(two_arches):
    commit(two_arches, "widen", {"init/main.c": ("\tefi_enter_virtual_mode();\n#endif\n",
                                                 "#endif\n\tefi_enter_virtual_mode();\n")})
    report = check(two_arches, "HEAD", CheckOptions())
    assert report.findings == []
    scope = scope_of(report)
    assert scope["checked"] == ["x86"]                  # the host, for the other checks
    assert list(scope["ruled_out"]) == ["arm64"]


def test_cpp_losses_are_read_with_every_symbol_free(two_arches):
    commit(two_arches, "endif below", {"init/main.c": (ENDIF_ABOVE, ENDIF_BELOW)})
    from kwhen.patch.target import resolve_target

    (change,) = resolve_target("HEAD", two_arches)
    losses, undecided = cpp_losses(change)
    assert not undecided
    (run,) = losses["init/main.c"]
    assert run[:2] == (7, 7) and "X86" in {v for v in run[2].variables()}


def test_a_range_groups_findings_under_each_commit_and_names_each_scope(two_arches):
    """`kwhen check A..B`: the findings under each commit's id and subject,
    in the range's order, and per commit which architectures were checked
    and which were ruled out without modelling, and why."""
    import subprocess

    from kwhen.report.text import format_text

    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=two_arches, capture_output=True,
                          text=True, check=True).stdout.strip()
    commit(two_arches, "init: move the #endif down", {"init/main.c": (ENDIF_ABOVE, ENDIF_BELOW)})
    commit(two_arches, "kernel: core_setup_two() for SMP only", {"kernel/core.c": (
        "\tcore_setup_two();\n", "#ifdef CONFIG_SMP\n\tcore_setup_two();\n#endif\n")})
    report = check(two_arches, f"{base}..HEAD", CheckOptions())
    first, second = report.changes
    lines = format_text(report).splitlines()
    heads = [i for i, line in enumerate(lines) if not line.startswith(" ") and ": warning:" in line]
    assert lines.index(f"{first}: init: move the #endif down") == heads[0] - 1
    assert lines[heads[0]].startswith("init/main.c:7: warning: [narrowed]")
    assert lines.index(f"{second}: kernel: core_setup_two() for SMP only") == heads[1] - 1
    assert lines[heads[1]].startswith("kernel/core.c:6: warning: [narrowed]")
    assert "  witness on arm64: make ARCH=arm64 defconfig, as it is" in lines
    assert lines[-2] == (f"kwhen: {first}: checked on arm64; ruled out without modelling: x86 "
                         "(its Kconfig never meets the #if condition under which lines are lost)")
    assert lines[-1] == (f"kwhen: {second}: checked on x86; losing by the #if alone, "
                         "not modelled: arm64")
    assert [s["checked"] for s in report.summary["scopes"]] == [["arm64"], ["x86"]]


def test_dead_generic_code_is_explained_where_its_file_is_compiled(two_arches):
    """kernel/armonly.c is compiled on arm64 only; checked on the host's
    architecture (x86) by default. A line under an #if that never holds is
    dead for that reason everywhere; a line whose #if contradicts the
    file's own condition is confirmed on arm64 and gets arm64's reason,
    not x86's (no Makefile there compiles the file)."""
    commit(two_arches, "arm64-only generic file", {
        "kernel/Makefile": ("obj-y += core.o\n",
                            "obj-y += core.o\nobj-$(CONFIG_ARM64_ONLY) += armonly.o\n"),
        "kernel/armonly.c": "void armonly(void)\n{\n"
                            "#if defined(CONFIG_FEATURE) && !defined(CONFIG_FEATURE)\n"
                            "\tnever();\n#endif\n"
                            "#if defined(CONFIG_FEATURE) && !defined(CONFIG_ARM64_ONLY)\n"
                            "\tnot_with_arm64_only();\n#endif\n}\n"})
    report = check(two_arches, "HEAD", CheckOptions())
    dead = {f.line: f for f in report.findings if f.kind == "dead-added"}
    assert sorted(dead) == [4, 7]
    assert dead[4].message.endswith(
        "#if defined(CONFIG_FEATURE) && !defined(CONFIG_FEATURE) never holds")
    assert dead[7].arches == ["arm64"] and "no Makefile" not in dead[7].message
    assert "compiled only when ARM64_ONLY" in dead[7].message


def test_code_under_a_symbol_nothing_can_set_is_dead_without_other_models(two_arches,
                                                                         monkeypatch):
    """A hidden symbol the commit adds that nothing selects (a prompt, a
    default or a select would let it be set) leaves the code under it dead
    on every architecture: known from the Kconfig text, without modelling
    the architectures not checked. Once something selects it, it is not."""
    from kwhen.kconfig import translate

    commit(two_arches, "hidden", {
        "Kconfig": ("config FEATURE\n", "config PREPARED\n\tbool\n\nconfig FEATURE\n"),
        "kernel/core.c": "void core(void)\n{\n#ifdef CONFIG_PREPARED\n\tprepared();\n#endif\n}\n"})
    built = []
    real = translate.build_model
    monkeypatch.setattr(translate, "build_model",
                        lambda root, arch, **k: built.append(arch) or real(root, arch, **k))
    report = check(two_arches, "HEAD", CheckOptions())
    assert [(f.kind, f.file, f.line) for f in report.findings] == [
        ("dead-added", "kernel/core.c", 4)]
    assert "arm64" not in built
    commit(two_arches, "a user", {
        "Kconfig": ("config FEATURE\n\tbool \"An optional feature\"\n",
                    "config FEATURE\n\tbool \"An optional feature\"\n\tselect PREPARED\n")})
    commit(two_arches, "more", {"kernel/core.c": ("\tprepared();\n", "\tprepared();\n\tagain();\n")})
    assert check(two_arches, "HEAD", CheckOptions()).findings == []
