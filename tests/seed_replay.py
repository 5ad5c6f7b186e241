"""The seed's three commits, replayed on a copy of linux-source-6.1.

Used by tests/test_linux.py and bench/check.py. The copy is a hard-link farm
of the pristine tree; files are replaced (unlinked, then written), never
written through a link, so the shared tree is never altered.
"""

import subprocess
from pathlib import Path

SETUP = "arch/x86/kernel/setup.c"
PERCPU_X86 = "arch/x86/kernel/setup_percpu.c"
RESYNC = ("\t/*\n\t * Sync back kernel address range.\n\t */\n"
          "\tsync_initial_page_table();\n")
CALL = "\tsync_initial_page_table();\n"


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=kwhen test", "-c", "user.email=test@example.org",
                    "-c", "gc.auto=0",   # packing 70,000 objects would take minutes
                    *args], cwd=cwd, check=True, capture_output=True, text=True)


def _replace(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def make_seed_repo(source: Path, repo: Path) -> Path:
    """A git repository of `source` plus the seed's commits:
    1. only setup_arch() resyncs initial_page_table;
    2. the resync moves into setup_per_cpu_areas() (the 2017 bug);
    3. it is added back to setup_arch() (the partial revert)."""
    subprocess.run(["cp", "-al", str(source), str(repo)], check=True)
    git(repo, "init", "-q")
    git(repo, "add", "-f", "-A", ".")      # Debian's .gitignore ignores everything
    git(repo, "commit", "-qm", "linux-source-6.1")

    percpu, setup = repo / PERCPU_X86, repo / SETUP
    text = percpu.read_text()
    start = text.index("\t/*\n\t * Sync back kernel address range again.")
    end = text.index(CALL, start) + len(CALL)
    without = text[:start].rstrip("\n") + "\n" + text[end:]
    _replace(percpu, without)
    git(repo, "commit", "-qam", "commit 1: only setup_arch() resyncs")

    setup_text = setup.read_text()
    s = setup_text.index("\t/*\n\t * Sync back kernel address range.")
    e = setup_text.index(CALL, s) + len(CALL)
    _replace(setup, setup_text[:s] + setup_text[e:].lstrip("\n"))
    _replace(percpu, without.replace("\tsetup_cpu_local_masks();\n",
                                     "\tsetup_cpu_local_masks();\n\n" + RESYNC, 1))
    git(repo, "commit", "-qam", "commit 2: defer resyncing initial_page_table")

    _replace(setup, setup_text)
    git(repo, "commit", "-qam", "commit 3: partial revert")
    return repo
