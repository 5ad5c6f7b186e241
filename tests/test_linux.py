"""Integration on Debian's linux-source-6.1: the seed's questions asked of
the real tree, and the seed's patch replayed as three commits."""

import subprocess

import pytest

from conftest import git, linux_tree, run_kwhen
from kwhen.checker import CheckOptions, check
from kwhen.control import open_tree, symbol_query
from kwhen.logic.formula import neg, var

SETUP = "arch/x86/kernel/setup.c"
PERCPU_X86 = "arch/x86/kernel/setup_percpu.c"


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

def _write(path, text):
    """Replace a file without writing through a hard link to the shared tree."""
    path.unlink()
    path.write_text(text)


RESYNC = ("\t/*\n\t * Sync back kernel address range.\n\t */\n"
          "\tsync_initial_page_table();\n")


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory):
    """linux-source-6.1 as a git repository with the seed's three commits:
    1. only setup_arch() resyncs; 2. the resync moves to setup_per_cpu_areas();
    3. it is added back to setup_arch() (the partial revert)."""
    source = linux_tree()
    repo = tmp_path_factory.mktemp("linux") / "linux"
    subprocess.run(["cp", "-al", str(source), str(repo)], check=True)
    git(repo, "init", "-q")
    git(repo, "add", "-f", "-A", ".")      # Debian's .gitignore ignores everything
    git(repo, "commit", "-qm", "linux-source-6.1")

    percpu = repo / PERCPU_X86
    text = percpu.read_text()
    start = text.index("\t/*\n\t * Sync back kernel address range again.")
    end = text.index("\tsync_initial_page_table();\n", start) + len("\tsync_initial_page_table();\n")
    without = text[:start].rstrip("\n") + "\n" + text[end:]
    _write(percpu, without)
    git(repo, "commit", "-qam", "commit 1: only setup_arch() resyncs")

    setup = repo / SETUP
    setup_text = setup.read_text()
    s = setup_text.index("\t/*\n\t * Sync back kernel address range.")
    e = setup_text.index("\tsync_initial_page_table();\n", s) + len("\tsync_initial_page_table();\n")
    _write(setup, setup_text[:s] + setup_text[e:].lstrip("\n"))
    _write(percpu, without.replace("\tsetup_cpu_local_masks();\n",
                                   "\tsetup_cpu_local_masks();\n\n" + RESYNC, 1))
    git(repo, "commit", "-qam", "commit 2: defer resyncing initial_page_table")

    _write(setup, setup_text)
    git(repo, "commit", "-qam", "commit 3: partial revert")
    return repo


def test_check_catches_the_seed_move(seed_repo):
    result = check(seed_repo, "HEAD~1", CheckOptions())
    kinds = sorted(f.kind for f in result.findings)
    assert kinds == ["alternative-definition", "moved-narrowed"], \
        [(f.kind, f.file, f.line, f.message) for f in result.findings]
    moved = next(f for f in result.findings if f.kind == "moved-narrowed")
    assert moved.file == PERCPU_X86 and moved.arches == ["x86"]
    assert "SMP=n" in moved.message
    assert moved.witness_base == "x86_64_defconfig" and moved.witness["SMP"] == "n"
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
