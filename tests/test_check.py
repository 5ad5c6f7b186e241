"""kwhen check on the seed example made into a git repository: each finding
kind, and the ordinary edits that must stay silent."""

import json
from pathlib import Path

import pytest

from conftest import committed, git, run_kwhen
from kwhen.checks.messages import (AlternativeDefinition, DeadAdded, MovedNarrowed, NarrowedFile,
                                   NarrowedLines, NarrowedSymbol, UndefinedReference,
                                   UndefinedSymbol)
from kwhen.control import CheckOptions, check
from kwhen.logic.formula import conj, neg, var

MOVE_PATCH = Path(__file__).resolve().parent.parent / "examples" / "seed-move-resync.patch"


@pytest.fixture
def repo(example):
    return committed(example)


def commit(repo: Path, message: str, edits: dict) -> None:
    """Apply {path: new text or (old, new) replacement or None to delete}."""
    for path, edit in edits.items():
        target = repo / path
        if edit is None:
            target.unlink()
        elif isinstance(edit, tuple):
            old, new = edit
            text = target.read_text()
            assert old in text, f"{old!r} not in {path}"
            target.write_text(text.replace(old, new, 1))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def kinds(repo, target="HEAD", **options):
    result = check(repo, target, CheckOptions(**options))
    return sorted(f.kind for f in result.findings), result.findings


RESYNC = "#ifdef CONFIG_X86_32\n\t/* the GDT must be mapped before other CPUs start */\n" \
         "\tsync_initial_page_table();\n#endif\n"


def test_the_seed_move_and_its_partial_revert(repo):
    git(repo, "apply", str(MOVE_PATCH))
    git(repo, "commit", "-qam", "move the resync into setup_per_cpu_areas")
    found, findings = kinds(repo)
    assert found == ["alternative-definition", "moved-narrowed"]
    moved = next(f for f in findings if f.kind == "moved-narrowed")
    assert isinstance(moved, MovedNarrowed)
    assert (moved.file, moved.line) == ("arch/x86/kernel/setup_percpu.c", 15)
    assert (moved.source_file, moved.source_line) == ("arch/x86/kernel/setup.c", 13)
    assert moved.before is var("X86_32") and moved.after is conj(var("SMP"), var("X86_32"))
    assert moved.losing is neg(var("SMP"))             # no longer built when SMP=n
    assert moved.witness_changes["SMP"] == "n" and moved.witness_base == "x86_64_defconfig"
    alternative = next(f for f in findings if f.kind == "alternative-definition")
    assert isinstance(alternative, AlternativeDefinition)
    assert alternative.function == "setup_per_cpu_areas"
    assert alternative.alternatives == [("mm/percpu.c", 12, neg(var("SMP")))]

    # the partial revert: the call is back in setup_arch() as well
    commit(repo, "partial revert", {"arch/x86/kernel/setup.c": (
        "\tpaging_init();", RESYNC + "\tpaging_init();")})
    assert kinds(repo) == ([], [])
    # and a range checks both commits in order
    result = check(repo, "HEAD~2..HEAD", CheckOptions())
    assert len(result.changes) == 2
    assert {f.change for f in result.findings} == {result.changes[0]}


def test_moving_to_an_equal_or_wider_condition_is_silent(repo):
    # from an X86_32 block in setup.c to an X86_32 block in init/main.c (always built)
    commit(repo, "move to main", {
        "arch/x86/kernel/setup.c": (RESYNC, ""),
        "init/main.c": ("\tsetup_arch(0);\n", "\tsetup_arch(0);\n" + RESYNC)})
    assert kinds(repo)[0] == []
    # and out of the #ifdef entirely: wider
    commit(repo, "widen", {"init/main.c": (RESYNC, "\tsync_initial_page_table();\n")})
    assert kinds(repo)[0] == []


def test_renamed_file_with_its_makefile_is_silent(repo):
    text = (repo / "mm/percpu.c").read_text()
    commit(repo, "rename", {"mm/percpu.c": None, "mm/percpu-generic.c": text,
                            "mm/Makefile": "obj-y += percpu-generic.o\n"})
    assert kinds(repo)[0] == []


def test_reformatted_function_is_silent(repo):
    commit(repo, "reformat", {"arch/x86/kernel/setup_percpu.c": (
        "\tfor_each_possible_cpu(cpu)\n\t\tsetup_cpu_area(cpu);",
        "\tfor_each_possible_cpu(cpu)\n\t\tsetup_cpu_area( cpu );  /* each */")})
    assert kinds(repo)[0] == []


def test_reordered_makefile_lines_are_silent(repo):
    commit(repo, "reorder", {"arch/x86/kernel/Makefile": (
        "obj-y\t\t\t+= setup.o\nobj-y\t\t\t+= head_$(BITS).o\n",
        "obj-y\t\t\t+= head_$(BITS).o\nobj-y\t\t\t+= setup.o\n")})
    assert kinds(repo)[0] == []


def test_new_file_under_an_existing_symbol_is_silent(repo):
    commit(repo, "new smp file", {
        "arch/x86/kernel/smpboot.c": "/* bring up secondary CPUs */\nvoid smp_boot(void)\n{\n\tstart_cpus();\n}\n",
        "arch/x86/kernel/Makefile": ("obj-$(CONFIG_SMP)\t+= setup_percpu.o\n",
                                     "obj-$(CONFIG_SMP)\t+= setup_percpu.o\nobj-$(CONFIG_SMP)\t+= smpboot.o\n")})
    assert kinds(repo)[0] == []


def test_comment_only_change_is_silent(repo):
    commit(repo, "comment", {"mm/percpu.c": ("up_setup_area();", "up_setup_area(); /* one CPU */")})
    assert kinds(repo)[0] == []


def test_narrowed_by_an_edited_ifdef(repo):
    commit(repo, "narrow", {"arch/x86/kernel/setup.c": ("#ifdef CONFIG_X86_32\n",
                                                        "#if defined(CONFIG_X86_32) && defined(CONFIG_SMP)\n")})
    found, findings = kinds(repo)
    assert found == ["narrowed"]
    (narrowed,) = findings
    assert isinstance(narrowed, NarrowedLines) and narrowed.file == "arch/x86/kernel/setup.c"
    assert narrowed.losing is neg(var("SMP")) and narrowed.witness_changes["SMP"] == "n"


def test_narrowed_by_an_edited_makefile(repo):
    commit(repo, "narrow mk", {"mm/Makefile": "obj-$(CONFIG_SMP) += percpu.o\n"})
    found, findings = kinds(repo)
    assert "narrowed" in found
    narrowed = next(f for f in findings if f.kind == "narrowed")
    assert isinstance(narrowed, NarrowedFile)
    assert narrowed.file == "mm/percpu.c" and narrowed.losing is neg(var("SMP"))


def test_narrowed_by_a_kconfig_dependency(repo):
    commit(repo, "smp needs 64-bit", {"Kconfig": ('\tbool "Symmetric multi-processing support"\n',
                                                  '\tbool "Symmetric multi-processing support"\n'
                                                  '\tdepends on X86_64\n')})
    found, findings = kinds(repo)
    assert found == ["narrowed"]
    (narrowed,) = findings
    assert (narrowed.file, narrowed.line) == ("Kconfig", 10)     # config SMP
    assert isinstance(narrowed, NarrowedSymbol) and narrowed.symbol == "SMP"
    assert narrowed.losing is neg(var("X86_64"))      # no longer enabled when X86_64=n
    assert narrowed.files == ["arch/x86/kernel/setup_percpu.c"]
    # a configuration that built it before: 32-bit with SMP
    changes = narrowed.witness_changes
    assert changes.get("64BIT") == "n" and changes.get("SMP", "y") == "y"


def test_widened_or_unrelated_kconfig_edits_are_silent(repo):
    commit(repo, "new option", {"Kconfig": ("config HAVE_SETUP_PER_CPU_AREA\n",
                                            'config EXTRA\n\tbool "extra"\n\tdepends on SMP\n\n'
                                            "config HAVE_SETUP_PER_CPU_AREA\n")})
    assert kinds(repo)[0] == []
    commit(repo, "smp narrowed", {"Kconfig": ('\tbool "Symmetric multi-processing support"\n',
                                              '\tbool "Symmetric multi-processing support"\n'
                                              '\tdepends on X86_64\n')})
    commit(repo, "and widened again", {"Kconfig": ("\tdepends on X86_64\n", "")})
    assert kinds(repo)[0] == []


def test_dead_code_under_an_undefined_symbol(repo):
    commit(repo, "dead", {"init/main.c": ("\tsetup_per_cpu_areas();\n",
                                          "\tsetup_per_cpu_areas();\n#ifdef CONFIG_SMP_TYPO\n"
                                          "\tannounce_cpus();\n#endif\n")})
    found, findings = kinds(repo)
    assert found == ["dead-added", "undefined-symbol"]
    dead = next(f for f in findings if f.kind == "dead-added")
    assert isinstance(dead, DeadAdded)
    assert (dead.reason, dead.symbols) == ("undefined", ["SMP_TYPO"])


def test_dead_code_from_a_contradiction(repo):
    # setup_percpu.c is built only with SMP; code under !SMP there is dead
    commit(repo, "contradiction", {"arch/x86/kernel/setup_percpu.c": (
        "\tswitch_to_new_gdt(0);\n", "\tswitch_to_new_gdt(0);\n#ifndef CONFIG_SMP\n\tup_only();\n#endif\n")})
    found, findings = kinds(repo)
    # the body of setup_per_cpu_areas() changed while mm/percpu.c's did not,
    # so alternative-definition is right to speak too
    assert found == ["alternative-definition", "dead-added"]
    dead = next(f for f in findings if f.kind == "dead-added")
    assert (dead.reason, dead.built, dead.cpp) == ("conflict", var("SMP"), neg(var("SMP")))


def test_dead_code_blames_the_contradiction_not_an_innocent_undefined_symbol(repo):
    # CONFIG_TYPO_XYZ is undefined, but only negated: the line is dead
    # because setup_percpu.c is compiled only with SMP
    commit(repo, "contradiction", {"arch/x86/kernel/setup_percpu.c": (
        "\tswitch_to_new_gdt(0);\n",
        "\tswitch_to_new_gdt(0);\n#if !defined(CONFIG_SMP) && !defined(CONFIG_TYPO_XYZ)\n"
        "\tup_only();\n#endif\n")})
    found, findings = kinds(repo)
    dead = next(f for f in findings if f.kind == "dead-added")
    assert (dead.reason, dead.built, dead.symbols) == ("conflict", var("SMP"), [])
    assert "undefined-symbol" in found        # the typo is still reported as such


def test_undefined_symbol_in_makefile_and_kconfig(repo):
    commit(repo, "undefined", {
        "mm/Makefile": "obj-y += percpu.o\nobj-$(CONFIG_PERCPU_STATS_TYPO) += stats.o\n",
        "Kconfig": ("config HAVE_SETUP_PER_CPU_AREA\n\tbool\n",
                    "config HAVE_SETUP_PER_CPU_AREA\n\tbool\n\tdepends on NO_SUCH_SYMBOL\n")})
    found, findings = kinds(repo)
    symbols = {(f.file, s) for f in findings if f.kind == "undefined-symbol" for s in f.symbols}
    assert symbols == {("mm/Makefile", "PERCPU_STATS_TYPO"), ("Kconfig", "NO_SUCH_SYMBOL")}


def test_removing_a_definition_leaves_references_dangling(repo):
    commit(repo, "drop symbol", {"Kconfig": ("config HAVE_SETUP_PER_CPU_AREA\n\tbool\n\n", "")})
    found, findings = kinds(repo)
    dangling = {f.file: f.references for f in findings if f.kind == "undefined-symbol"}
    # #if ... CONFIG_HAVE_SETUP_PER_CPU_AREA
    assert dangling["mm/percpu.c"] == [UndefinedReference("HAVE_SETUP_PER_CPU_AREA",
                                                          removed_at="Kconfig:14")]


def test_cli_formats_and_exit_status(repo, tmp_path):
    git(repo, "apply", str(MOVE_PATCH))
    git(repo, "commit", "-qam", "move")
    done = run_kwhen("check", "--tree", repo)
    assert done.returncode == 1
    assert "arch/x86/kernel/setup_percpu.c:15: warning: [moved-narrowed]" in done.stdout
    done = run_kwhen("check", "--tree", repo, "--format", "json")
    findings = json.loads(done.stdout)["findings"]
    for key in ("kind", "file", "line", "arches", "condition_before", "condition_after",
                "witness", "message"):
        assert all(key in f for f in findings)
    commit(repo, "comment", {"init/main.c": ("setup_arch(0);", "setup_arch(0); /* first */")})
    done = run_kwhen("check", "--tree", repo)
    assert done.returncode == 0 and "no findings" in done.stdout


@pytest.mark.parametrize("target, fragment", [
    ("no-such-revision", "unknown revision"),
])
def test_check_bad_targets(repo, target, fragment):
    done = run_kwhen("check", target, "--tree", repo)
    assert done.returncode == 2 and fragment in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_check_bad_patches(repo, tmp_path):
    cases = {
        "empty.mbox": "",
        "garbage.patch": "this is not a patch\n",
        "outside.patch": "--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-x\n+y\n",
        "binary.patch": "diff --git a/x.bin b/x.bin\nindex 1..2 100644\nBinary files a/x.bin and b/x.bin differ\n",
        "stale.patch": "--- a/mm/percpu.c\n+++ b/mm/percpu.c\n@@ -1,1 +1,1 @@\n-no such line\n+new\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        done = run_kwhen("check", path, "--tree", repo)
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, name


def test_undefined_symbol_in_a_renamed_file(repo):
    # checkkconfigsymbols compares the files that name a symbol: a file
    # renamed with an undefined reference is a new one, though git -M
    # shows no added line.
    body = "".join(f"int filler_{i};\n" for i in range(20))
    commit(repo, "undefined", {"mm/stats.c": "#ifdef CONFIG_NO_SUCH_STATS\n#endif\n" + body})
    commit(repo, "rename", {"mm/stats.c": None, "mm/percpu_stats.c":
                            "#ifdef CONFIG_NO_SUCH_STATS\n#endif\n" + body})
    found, findings = kinds(repo)
    hits = [f for f in findings if f.kind == "undefined-symbol"]
    assert [(f.file, f.line) for f in hits] == [("mm/percpu_stats.c", 1)]
    assert hits[0].references == [UndefinedReference("NO_SUCH_STATS", renamed_from="mm/stats.c")]


def test_undefined_symbol_on_a_kconfig_continuation_line(repo):
    commit(repo, "continued", {"Kconfig": ("config HAVE_SETUP_PER_CPU_AREA\n\tbool\n",
                                           "config HAVE_SETUP_PER_CPU_AREA\n\tbool\n"
                                           "\tdepends on SMP || \\\n\t\tNO_SUCH_CONTINUED\n")})
    found, findings = kinds(repo)
    hits = [(f.file, f.line) for f in findings if f.kind == "undefined-symbol"
            and "NO_SUCH_CONTINUED" in f.symbols]
    assert hits == [("Kconfig", 17)]


def test_definition_followed_by_a_comment(repo):
    # U-Boot's boards write `config BOARD_SPECIFIC_OPTIONS # dummy`.
    commit(repo, "define", {"Kconfig": ("config SMP\n", "config DUMMY_OPTIONS # dummy\n\tbool\n\n"
                                                      "config SMP\n"),
                            "init/dummy.c": "#ifdef CONFIG_DUMMY_OPTIONS\n#endif\n"})
    assert "undefined-symbol" not in kinds(repo)[0]
    commit(repo, "drop", {"Kconfig": ("config DUMMY_OPTIONS # dummy\n\tbool\n\n", "")})
    found, findings = kinds(repo)
    hits = [(f.file, f.line) for f in findings if f.kind == "undefined-symbol"]
    assert hits == [("init/dummy.c", 1)]


def test_two_undefined_symbols_on_one_line(repo):
    # checkkconfigsymbols names both; kwhen check keeps one finding per line.
    commit(repo, "two", {"Kconfig": ("config HAVE_SETUP_PER_CPU_AREA\n\tbool\n",
                                     "config HAVE_SETUP_PER_CPU_AREA\n\tbool\n"
                                     "\tdepends on NO_SUCH_FIRST || NO_SUCH_SECOND\n")})
    found, findings = kinds(repo)
    hits = [f for f in findings if f.kind == "undefined-symbol"]
    assert [(f.file, f.line) for f in hits] == [("Kconfig", 16)]
    assert isinstance(hits[0], UndefinedSymbol)
    assert hits[0].symbols == ["NO_SUCH_FIRST", "NO_SUCH_SECOND"]


def test_function_like_config_macros_are_not_symbols():
    from kwhen.checks.undefined import references
    # U-Boot's CONFIG_IS_ENABLED(X) and CONFIG_VAL(X) are macros, X the symbol
    assert references("drivers/a.c", "#if CONFIG_IS_ENABLED(DM_MMC) && CONFIG_VAL (SYS_X)") == []
    assert references("drivers/a.c", "#if defined(CONFIG_DM_MMC) || CONFIG_SYS_X > 2") == \
        ["DM_MMC", "SYS_X"]


def test_a_second_check_of_a_kconfig_commit_builds_no_model(repo, tmp_path, monkeypatch):
    """The models of a commit that edits Kconfig are made from a scratch
    copy of each side; a second check of the commit (another scratch
    directory) finds them in the cache, and says the same."""
    from kwhen.kconfig import translate

    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "cache"))
    commit(repo, "smp needs 64-bit", {"Kconfig": ('\tbool "Symmetric multi-processing support"\n',
                                                  '\tbool "Symmetric multi-processing support"\n'
                                                  '\tdepends on X86_64\n')})
    first = kinds(repo, cache=True)[0]
    built = []
    real = translate.build_model
    monkeypatch.setattr(translate, "build_model", lambda *a, **k: built.append(a) or real(*a, **k))
    assert kinds(repo, cache=True)[0] == first == ["narrowed"]
    assert built == []
    # a commit back to Kconfig files modelled before (as the first check's
    # pre-image) finds that model: the cache files models by content
    commit(repo, "and widened again", {"Kconfig": ("\tdepends on X86_64\n", "")})
    assert kinds(repo, cache=True)[0] == []
    assert built == []
    # new Kconfig content is modelled anew, and judged by its own model
    commit(repo, "narrowed otherwise", {"Kconfig": ('\tbool "Symmetric multi-processing support"\n',
                                                    '\tbool "Symmetric multi-processing support"\n'
                                                    '\tdepends on X86_32\n')})
    found = kinds(repo, cache=True)[1]
    assert built and [(f.kind, f.symbol) for f in found] == [("narrowed", "SMP")]
    assert found[0].losing is neg(var("X86_32"))
