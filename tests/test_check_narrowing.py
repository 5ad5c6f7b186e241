"""Narrowing anywhere in the touched files (issue 11 B) and one finding per
cause (issue 11 C), on generic files that two fixture architectures build
(tests/fixtures/check-narrowing): HOTPLUG is always y on x86 and follows SMP
on arm64, and CONFIG_X86 exists on x86 only, so each shape loses code on
arm64 alone."""

from pathlib import Path

import pytest

from conftest import committed_fixture, git, marker_line
from kwhen.checks.messages import (MovedNarrowed, NarrowedFile, NarrowedLines, NarrowedSymbol,
                                   Place)
from kwhen.control import CheckOptions, check
from kwhen.logic.formula import TRUE, neg, var

BOTH = CheckOptions(arches=["x86", "arm64"])

AFTER_ENDIF = "\tthread_stack_cache_init();\t\t/* @after-endif */\n"
CORE_EXIT = "\tcore_teardown();\t\t\t/* @core-exit */\n"
PLAIN = "\tboot_cpu_state_init();\t\t\t/* @plain-1 */\n\tpage_alloc_init_late();\t\t\t/* @plain-2 */\n"


@pytest.fixture
def tree(tmp_path):
    return committed_fixture(tmp_path, "check-narrowing")


def change(tree: Path, edits: dict, options=BOTH) -> list:
    """Commit {path: [(old, new), ...] replacements} and check the commit."""
    for path, replacements in edits.items():
        text = (tree / path).read_text()
        for old, new in replacements:
            assert old in text, f"{old!r} not in {path}"
            text = text.replace(old, new, 1)
        (tree / path).write_text(text)
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "edit")
    return check(tree, "HEAD", options).findings


def line_of(tree: Path, path: str, marker: str) -> int:
    return marker_line(tree / path, marker)


def only_narrowed(findings, kind=NarrowedLines):
    assert [f.kind for f in findings] == ["narrowed"]
    (found,) = findings
    assert isinstance(found, kind) and found.arches == ["arm64"]
    assert found.witness is not None
    return found


# -- each shape, on one architecture of two -------------------------------------

def test_an_endif_moved_down(tree):
    found = only_narrowed(change(tree, {"init/main.c": [("#endif\n" + AFTER_ENDIF,
                                                         AFTER_ENDIF + "#endif\n")]}))
    line = line_of(tree, "init/main.c", "after-endif")
    assert (found.file, found.line, found.last) == ("init/main.c", line, line)
    # CONFIG_X86 is never set on arm64: every configuration loses it
    assert found.before is TRUE and found.losing is TRUE and found.others == []


def test_an_else_removed(tree):
    found = only_narrowed(change(tree, {"init/main.c": [("#else\n", "")]}))
    assert (found.file, found.line) == ("init/main.c", line_of(tree, "init/main.c", "else-branch"))
    assert found.losing is TRUE


def test_an_if_wrapped_around_old_code(tree):
    found = only_narrowed(change(tree, {"init/main.c": [(PLAIN, "#ifdef CONFIG_HOTPLUG\n" + PLAIN
                                                         + "#endif\n")]}))
    # one finding for the contiguous region
    assert (found.line, found.last) == (line_of(tree, "init/main.c", "plain-1"),
                                        line_of(tree, "init/main.c", "plain-2"))
    assert found.losing is neg(var("HOTPLUG"))
    assert found.witness_changes["SMP"] == "n"      # HOTPLUG follows SMP on arm64


def test_code_reindented_into_a_condition_is_narrowed_where_it_stands(tree):
    reindented = "\t" + PLAIN.replace("\n\t", "\n\t\t")
    findings = change(tree, {"init/main.c": [(PLAIN, "\tif (1) {\n#ifdef CONFIG_HOTPLUG\n"
                                              + reindented + "#endif\n\t}\n")]})
    found = only_narrowed(findings)                  # not a "move" within its own hunk
    assert (found.line, found.last) == (line_of(tree, "init/main.c", "plain-1"),
                                        line_of(tree, "init/main.c", "plain-2"))


def test_a_makefile_line_made_conditional(tree):
    found = only_narrowed(change(tree, {"kernel/Makefile": [("obj-y += cpu.o",
                                                             "obj-$(CONFIG_HOTPLUG) += cpu.o")]}),
                          NarrowedFile)
    assert found.file == "kernel/cpu.c" and found.losing is neg(var("HOTPLUG"))
    assert found.witness_changes["SMP"] == "n"


def test_a_file_dropped_from_the_build(tree):
    findings = change(tree, {"kernel/Makefile": [("obj-$(CONFIG_TRACE) += trace.o\n", "")]})
    assert [(f.kind, f.file, f.arches, f.losing) for f in findings] == [
        ("narrowed", "kernel/trace.c", ["x86", "arm64"], TRUE)]
    assert findings[0].witness_changes == {"TRACE": "y"}


def test_a_subdirectory_made_conditional_is_one_finding(tree):
    found = only_narrowed(change(tree, {"drivers/Makefile": [("obj-y += cpu/",
                                                              "obj-$(CONFIG_HOTPLUG) += cpu/")]}),
                          NarrowedFile)
    assert found.file == "drivers/cpu/freq.c" and found.losing is neg(var("HOTPLUG"))
    assert found.others == [Place("drivers/cpu/idle.c")]
    assert [r["file"] for r in found.related] == ["drivers/cpu/idle.c"]


def test_a_kconfig_dependency_added(tree):
    findings = change(tree, {"Kconfig": [('\tbool "An optional feature"\n',
                                          '\tbool "An optional feature"\n\tdepends on X86 || SMP\n')]})
    found = only_narrowed(findings, NarrowedSymbol)
    assert found.symbol == "FEATURE" and found.files == ["kernel/feature.c"]
    assert found.losing is neg(var("SMP"))
    assert found.witness_changes.get("SMP") == "n" and found.witness_changes.get("FEATURE") == "y"


# -- what is no narrowing --------------------------------------------------------

@pytest.mark.parametrize("edits", [
    # widening: the #endif moved up, a Makefile line and a dependency made unconditional
    {"init/main.c": [("\tefi_enter_virtual_mode();\n#endif\n", "#endif\n\tefi_enter_virtual_mode();\n")]},
    {"kernel/Makefile": [("obj-$(CONFIG_FEATURE) += feature.o", "obj-y += feature.o")]},
    {"init/main.c": [("#ifdef CONFIG_X86\n\tefi_enter_virtual_mode();\n#endif\n",
                      "\tefi_enter_virtual_mode();\n")]},
    # re-ordering: Makefile lines, functions, a whole #ifdef block
    {"kernel/Makefile": [("obj-y += core.o\nobj-y += cpu.o\n", "obj-y += cpu.o\nobj-y += core.o\n")]},
    {"kernel/core.c": [("void core_init(void)\n{\n\tcore_setup_one();\t\t\t/* @core-1 */\n"
                        "\tcore_setup_two();\n}\n\n", ""),
                       ("\tcore_teardown();\t\t\t/* @core-exit */\n}\n",
                        "\tcore_teardown();\t\t\t/* @core-exit */\n}\n\nvoid core_init(void)\n{\n"
                        "\tcore_setup_one();\t\t\t/* @core-1 */\n\tcore_setup_two();\n}\n")]},
    # same-condition moves: an #ifdef block with its directives, code between files built alike
    {"init/main.c": [("#ifdef CONFIG_X86\n\tefi_enter_virtual_mode();\n#endif\n", ""),
                     ("\trest_init();\n", "#ifdef CONFIG_X86\n\tefi_enter_virtual_mode();\n"
                      "#endif\n\trest_init();\n")]},
    {"kernel/core.c": [(CORE_EXIT, "")],
     "kernel/cpu.c": [("\tcpu_bringup_secondary();\n", "\tcpu_bringup_secondary();\n\tcore_teardown();\n")]},
], ids=["endif-up", "makefile-unconditional", "if-removed", "makefile-reordered",
        "functions-reordered", "block-moved", "moved-between-alike-files"])
def test_widening_reordering_and_same_condition_moves_are_silent(tree, edits):
    assert change(tree, edits) == []


def test_a_dependency_removed_is_silent(tree):
    change(tree, {"Kconfig": [('\tbool "Tracing"\n', '\tbool "Tracing"\n\tdepends on SMP\n')]})
    assert change(tree, {"Kconfig": [("\tdepends on SMP\n", "")]}) == []


# -- one finding per cause ---------------------------------------------------------

def test_a_feature_made_conditional_on_purpose_is_one_finding(tree):
    findings = change(tree, {
        "init/main.c": [(PLAIN, "#ifdef CONFIG_HOTPLUG\n" + PLAIN + "#endif\n"),
                        # re-indented under IS_ENABLED in the same commit
                        ("\tasync_synchronize_full();\t\t/* @init-2 */\n",
                         "#ifdef CONFIG_HOTPLUG\n\t\tasync_synchronize_full();\t\t/* @init-2 */\n"
                         "#endif\n")],
        "kernel/core.c": [(CORE_EXIT, "#ifdef CONFIG_HOTPLUG\n" + CORE_EXIT + "#endif\n")],
        "kernel/Makefile": [("obj-y += cpu.o", "obj-$(CONFIG_HOTPLUG) += cpu.o")]})
    found = only_narrowed(findings)
    assert (found.file, found.line) == ("init/main.c", line_of(tree, "init/main.c", "plain-1"))
    assert found.others == [Place("init/main.c", *[line_of(tree, "init/main.c", "init-2")] * 2),
                            Place("kernel/core.c", *[line_of(tree, "kernel/core.c", "core-exit")] * 2),
                            Place("kernel/cpu.c")]
    assert len(found.related) == 3
    # a second, different cause in the same commit stays a finding of its own
    findings = change(tree, {"init/main.c": [(AFTER_ENDIF, ""), ("#endif\n", AFTER_ENDIF + "#endif\n")],
                             "kernel/Makefile": [("obj-y += core.o", "obj-$(CONFIG_SMP) += core.o")]})
    assert sorted((f.file, f.losing) for f in findings) == [
        ("init/main.c", TRUE), ("kernel/core.c", neg(var("SMP")))]


def test_one_hunk_guarding_lines_with_different_symbols_is_one_finding(tree):
    # as a driver guards each entry of its match table with its SoC's option
    first, second = PLAIN.splitlines(keepends=True)
    findings = change(tree, {"init/main.c": [(PLAIN, "#ifdef CONFIG_HOTPLUG\n" + first + "#endif\n"
                                              "#ifdef CONFIG_X86\n" + second + "#endif\n")]})
    found = only_narrowed(findings)
    plain_2 = line_of(tree, "init/main.c", "plain-2")
    assert found.line == found.last == line_of(tree, "init/main.c", "plain-1")
    assert found.losing is neg(var("HOTPLUG"))
    # the other line is lost under its own condition: every arm64 configuration
    assert found.others == [Place("init/main.c", plain_2, plain_2, losing=TRUE)]
    assert found.related[0]["message"] == (f"line {plain_2} is also no longer built in any "
                                           "configuration (same cause)")


def test_one_dependency_added_to_two_symbols_is_one_finding(tree):
    findings = change(tree, {"Kconfig": [
        ('\tbool "An optional feature"\n', '\tbool "An optional feature"\n\tdepends on X86 || SMP\n'),
        ('\tbool "Tracing"\n', '\tbool "Tracing"\n\tdepends on X86 || SMP\n')]})
    found = only_narrowed(findings, NarrowedSymbol)
    assert found.symbol == "FEATURE" and found.losing is neg(var("SMP"))
    trace = line_of(tree, "Kconfig", "trace")
    assert found.others == [Place("Kconfig", trace, symbol="TRACE")]
    assert found.related[0]["message"] == ("TRACE, and the files built with it, is also no "
                                           "longer built then (same cause)")


def test_identical_code_in_unrelated_boards_files_is_no_move(tree):
    # board beta's setup lines go, board alpha gets the same lines: the
    # boards are a choice, no configuration builds both files
    lines = "\tgd->bd->bi_boot_params = PHYS_SDRAM + 0x100;\n\tenable_caches_and_mmu();\n"
    assert change(tree, {"board/beta/board.c": [(lines, "")],
                         "board/alpha/board.c": [("\treturn 0;", lines + "\treturn 0;")]}) == []


def test_generic_code_moved_into_one_architecture_is_lost_by_the_other(tree):
    # related through arm64 (the new place's owner), even when only x86 is checked
    findings = change(tree, {"kernel/core.c": [(CORE_EXIT, "")],
                             "arch/arm64/setup.c": [("{\n", "{\n\tcore_teardown();\n")]},
                      CheckOptions(arches=["x86"]))
    assert [(f.kind, f.file, f.source_file, f.arches) for f in findings] == [
        ("moved-narrowed", "arch/arm64/setup.c", "kernel/core.c", ["x86"])]
    assert isinstance(findings[0], MovedNarrowed) and findings[0].losing is TRUE


def test_fuzzy_pairs_go_to_the_most_similar_line_whatever_their_order():
    """An edited line pairs with the removed line it carries most nearly:
    `dram[2]` added first must not take `dram[1]`'s old line from the
    added `dram[1]` line below it (which reads as code narrowed in place)."""
    from kwhen.checks.lines import ChangedLine, normalize
    from kwhen.checks.moved import match_moves

    def line(n, text, hunk=(0, 0)):
        return ChangedLine("f.c", n, text, normalize(text), hunk)

    old = line(10, "\t\tif (gd->dram[1].size >=")
    added = [line(11, "\t    gd->dram[2].size >="), line(20, "\t\t    gd->dram[1].size >=")]
    assert [(r.line, a.line) for r, a in match_moves([old], added)] == [(10, 20)]
