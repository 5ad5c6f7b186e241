"""Integration on Debian's linux-source-6.1: the seed's questions asked of
the real tree, and the seed's patch replayed as three commits."""

import pytest

from conftest import linux_tree, run_kwhen
from seed_replay import PERCPU_X86, make_seed_repo
from kwhen.control import CheckOptions, check, open_tree, symbol_query
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
