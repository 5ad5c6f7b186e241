"""The oracle harness in its reduced mode (bench/oracle/: one architecture,
two configurations the kernel makes, three files for the line layer):
kwhen's Kconfig, Kbuild and #if conditions against Linux's own make and
gcc. The full run is a benchmark (bench/oracle/README.md)."""

import shutil
import sys

import pytest

from conftest import REPO, linux_tree

sys.path.insert(0, str(REPO))
from bench.oracle.harness import reduced_run  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tree = linux_tree()
    for tool in ("make", "gcc", "nice"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed to ask the kernel's own build")
    return reduced_run(tree, tmp_path_factory.mktemp("oracle"))


def test_kernel_made_configurations_satisfy_kconfig(results):
    for r in results:
        assert r["kconfig"]["accepted"], r["config"]


def test_files_agree_with_make(results):
    for r in results:
        files = r["files"]
        assert r["make"]["compiled"] > 300, r["make"]     # make really said something
        # undecided only where kwhen says it cannot know: objects a
        # directory's own rules make (the vDSO, realmode/rm), a free
        # proposition of a makefile
        free = files["undecided_free"]
        assert len(free) == files["undecided"] <= 0.002 * files["pairs"], free
        assert all(any(v.startswith("?make:") for v in names) for names in free.values()), free
        assert files["agree"] >= 0.995 * files["pairs"], (r["config"], files["missed"],
                                                          files["extra"])


def test_kept_branches_agree_with_gcc(results):
    blanked = [r for r in results if "lines" in r]
    assert sum(r["lines"]["pairs"] for r in blanked) > 0
    differ = [d for r in blanked for d in r["lines"]["differ"]]
    assert not differ, differ


def test_branches_with_headers_agree_with_gcc(results):
    """Every observable #if branch, the headers read on both sides: kwhen
    never decides one wrong, and leaves few undecided (a miss)."""
    scored = [r["branches"] for r in results if "branches" in r]
    assert scored and all(b["cpp_failed"] == 0 for b in scored)
    branches = sum(b["branches"] for b in scored)
    assert branches > 20
    assert sum(b["included_branches"] for b in scored) > 0     # kernel/sched/ and the like
    assert [d for b in scored for d in b["wrong_list"]] == []
    assert sum(b["right"] for b in scored) >= 0.95 * branches, [
        d for b in scored for d in b["unknown_list"]]
