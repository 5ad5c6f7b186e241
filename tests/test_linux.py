"""Integration on Debian's linux-source-6.1: the seed's questions asked of
the real tree, and the seed's patch replayed as three commits."""

import json

import pytest

from conftest import linux_tree, run_kwhen
from seed_replay import PERCPU_X86, make_seed_repo
from kwhen.control import CheckOptions, check, line_query, open_tree, symbol_query
from kwhen.logic.formula import neg, var



@pytest.fixture(scope="module")
def x86():
    return open_tree(linux_tree(), "x86")


def line_of(tree_root, path, needle, after=0):
    for n, text in enumerate((tree_root / path).read_text().splitlines(), 1):
        if n > after and needle in text:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def test_resync_in_setup_percpu_is_built_exactly_when_smp(x86):
    n = line_of(x86.root, PERCPU_X86, "sync_initial_page_table();")
    cond = x86.line_condition(PERCPU_X86, n)
    assert x86.space.equivalent(cond, var("SMP"))
    assert x86.space.certain(var("X86"))


def test_uniprocessor_setup_per_cpu_areas_needs_not_smp(x86):
    up = line_of(x86.root, "mm/percpu.c", "void __init setup_per_cpu_areas(void)", after=3404)
    assert x86.space.equivalent(x86.line_condition("mm/percpu.c", up + 2), neg(var("SMP")))


def test_symbol_setup_per_cpu_areas_splits_as_the_thread_found(x86):
    answer = symbol_query(x86, "setup_per_cpu_areas", witnesses=False)
    here = {(d.path, d.line): d for d in answer.definitions if d.role != "other-arch"}
    x86_def = next(d for (p, _), d in here.items() if p == PERCPU_X86)
    percpu = sorted((d for (p, _), d in here.items() if p == "mm/percpu.c"), key=lambda d: d.line)
    generic_smp, uniprocessor = percpu
    assert x86_def.chosen_condition == "SMP"
    assert uniprocessor.chosen_condition == "!SMP"
    assert generic_smp.chosen_status == "never"
    assert any(d.role == "other-arch" for d in answer.definitions)


def test_line_command_on_linux(x86):
    n = line_of(x86.root, PERCPU_X86, "sync_initial_page_table();")
    done = run_kwhen("line", f"{PERCPU_X86}:{n}", "--tree", x86.root, "--arch", "x86")
    assert done.returncode == 0, done.stderr
    assert "built sometimes on x86" in done.stdout
    assert "# CONFIG_SMP is not set" in done.stdout


# -- the seed replayed -----------------------------------------------------------

@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory):
    return make_seed_repo(linux_tree(), tmp_path_factory.mktemp("linux") / "linux")


def test_check_catches_the_seed_move(seed_repo):
    result = check(seed_repo, "HEAD~1", CheckOptions())
    kinds = sorted(f.kind for f in result.findings)
    assert kinds == ["alternative-definition", "moved-narrowed"], \
        [(f.kind, f.file, f.line, f.message) for f in result.findings]
    moved = next(f for f in result.findings if f.kind == "moved-narrowed")
    assert moved.file == PERCPU_X86 and moved.arches == ["x86"]
    assert neg(var("SMP")) in moved.losing.literals_of_conjunction()   # lost when SMP=n
    assert moved.witness_base == "x86_64_defconfig" and moved.witness_changes["SMP"] == "n"
    alternative = next(f for f in result.findings if f.kind == "alternative-definition")
    assert [r["file"] for r in alternative.related] == ["mm/percpu.c"]


def test_check_is_silent_on_the_partial_revert(seed_repo):
    result = check(seed_repo, "HEAD", CheckOptions())
    assert result.findings == [], [(f.kind, f.file, f.message) for f in result.findings]


def test_check_finds_a_generic_narrowing_on_the_other_architectures(seed_repo, tmp_path):
    """An #endif moved one line down in init/main.c puts an unchanged call
    under #ifdef CONFIG_X86: every other architecture loses it. The default
    check models one of them and rules x86 out without modelling it."""
    import difflib

    before = (seed_repo / "init/main.c").read_text()
    endif_above = "\t\tefi_enter_virtual_mode();\n#endif\n\tthread_stack_cache_init();\n"
    after = before.replace(endif_above, "\t\tefi_enter_virtual_mode();\n"
                           "\tthread_stack_cache_init();\n#endif\n")
    assert after != before
    patch = tmp_path / "endif.patch"
    patch.write_text("".join(difflib.unified_diff(
        before.splitlines(True), after.splitlines(True), "a/init/main.c", "b/init/main.c")))
    report = check(seed_repo, str(patch), CheckOptions())
    (found,) = report.findings
    assert (found.kind, found.file) == ("narrowed", "init/main.c")
    assert "x86" not in found.arches and "x86" not in found.unmodelled_arches
    assert len(found.arches) == 1 and "arm64" in found.arches + found.unmodelled_arches
    (scope,) = report.scopes
    assert scope["checked"] == found.arches and "x86" in scope["ruled_out"]


def test_compiler_probes_are_free_not_evaluated(x86):
    """cc-option and friends are not run: what depends on them stays open."""
    probes = [name for name in x86.model.free if name.startswith("?shell:")]
    assert len(probes) > 20
    # CC_IS_GCC rests on running the compiler; kwhen leaves it open
    assert x86.space.status(var("CC_IS_GCC")) == "sometimes"


def test_verify_runs_olddefconfig_on_the_witness(seed_repo):
    """--verify: the kernel's own Kconfig keeps SMP off in the witness."""
    result = check(seed_repo, "HEAD~1", CheckOptions(verify=True))
    moved = next(f for f in result.findings if f.kind == "moved-narrowed")
    assert moved.verified is True, moved.related


# -- values of int symbols, and --config as kernel developers pass it (issue 10) -

def test_linux_pgtable_levels_five_is_decided_by_kconfig(x86):
    # arch/x86/mm/pgtable.c: #if CONFIG_PGTABLE_LEVELS > 4 (5-level paging)
    n = line_of(x86.root, "arch/x86/mm/pgtable.c", "#if CONFIG_PGTABLE_LEVELS > 4") + 2
    cond = x86.line_condition("arch/x86/mm/pgtable.c", n)
    assert x86.space.status(cond) == "sometimes"
    assert x86.space.equivalent(cond, var("X86_5LEVEL"))
    # PGTABLE_LEVELS is 2, 3, 4 or 5 on x86, as its defaults allow
    for levels in (2, 3, 4, 5):
        assert x86.space.possible(var(f"PGTABLE_LEVELS={levels}"))
    assert not x86.space.possible(var("PGTABLE_LEVELS=6"))
    assert not x86.space.possible(var("PGTABLE_LEVELS>=5"), neg(var("X86_64")))


def test_linux_pgtable_levels_under_a_config(x86, tmp_path):
    n = line_of(x86.root, "arch/x86/mm/pgtable.c", "#if CONFIG_PGTABLE_LEVELS > 4") + 2
    five = tmp_path / "five.config"
    five.write_text("CONFIG_64BIT=y\nCONFIG_X86_5LEVEL=y\nCONFIG_PGTABLE_LEVELS=5\n")
    done = run_kwhen("line", f"arch/x86/mm/pgtable.c:{n}", "--tree", x86.root, "--arch", "x86",
                     "--config", five, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["built"] == "yes"
    four = tmp_path / "four.config"
    four.write_text("CONFIG_64BIT=y\n# CONFIG_X86_5LEVEL is not set\n")
    done = run_kwhen("line", f"arch/x86/mm/pgtable.c:{n}", "--tree", x86.root, "--arch", "x86",
                     "--config", four, "--json")
    assert json.loads(done.stdout)["config"]["built"] == "no"


def test_linux_defconfig_is_completed_as_olddefconfig_would(x86):
    # MMU is def_bool y: absent from the defconfig, yet set, so mm/memory.c
    # is compiled; line 100 is under #ifndef CONFIG_NUMA, which the
    # defconfig sets
    defconfig = x86.root / "arch/x86/configs/x86_64_defconfig"
    done = run_kwhen("line", "mm/memory.c:100", "--tree", x86.root, "--arch", "x86",
                     "--config", defconfig, "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)["config"]
    assert (verdict["built"], verdict["excluded_by"]) == ("no", "cpp")
    assert "CONFIG_NUMA" in verdict["reason"]
    n = line_of(x86.root, "mm/memory.c", "static vm_fault_t do_anonymous_page(")
    done = run_kwhen("line", f"mm/memory.c:{n}", "--tree", x86.root, "--arch", "x86",
                     "--config", defconfig, "--json")
    assert json.loads(done.stdout)["config"]["built"] == "yes"


def test_linux_refuses_what_is_not_a_config(x86):
    done = run_kwhen("line", "mm/memory.c:100", "--tree", x86.root, "--arch", "x86",
                     "--config", x86.root / "mm/Makefile")
    assert done.returncode == 2
    assert done.stderr.startswith(f"kwhen: error: {x86.root / 'mm/Makefile'}:")


# -- answers people can read (issue 10) ------------------------------------------

def test_linux_mremap_witnesses_differ_and_read_unambiguously(x86):
    n = line_of(x86.root, "mm/mremap.c", "static inline bool move_normal_pud(")
    answer = line_query(x86, "mm/mremap.c", n)
    assert answer.status == "sometimes"
    assert "!PGTABLE_LEVELS" not in answer.condition
    assert answer.witness_built.describe() != answer.witness_not_built.describe()


def test_linux_a_selftest_header_is_not_the_definition_built(x86):
    answer = symbol_query(x86, "for_each_possible_cpu", witnesses=False)
    for d in answer.definitions:
        if d.path.startswith("tools/"):
            assert d.chosen_status == "never", d.path
    assert any(d.path == "include/linux/cpumask.h" and d.chosen_status != "never"
               for d in answer.definitions)


def test_linux_objects_built_from_elsewhere_by_rule_or_link_script(x86):
    relo = x86.file_condition("tools/lib/bpf/relo_core.c")
    assert relo.kind == "source"
    assert x86.space.equivalent(relo.builtin, var("BPF_SYSCALL"))
    stamp = x86.file_condition("init/version-timestamp.c")
    assert stamp.kind == "source" and x86.space.certain(stamp.builtin)
