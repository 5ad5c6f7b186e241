"""A small git history for `kwhen scan` tests, built from the seed example
(examples/seed): 36 commits written by hand below, each one a situation a
scan meets:

- C-only commits, most with nothing to report (the models are kept);
- the seed's 2017 bug (the resync moved into an SMP-only file): a
  moved-narrowed finding, and later the same move again (already present);
- a new symbol in Kconfig and a new object in a Makefile (models updated);
- dead code added, a reference to a symbol no Kconfig defines;
- a documentation-only commit (skipped) and a merge (not checked; its
  side branch's commit is);
- a commit that breaks the Kconfig syntax and the one that repairs it:
  the broken commit is recorded as failed and the scan goes on;
- a makefile left unreadable for a commit: what lies below it is skipped.

Commit dates are fixed, so the ids are the same on every run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed"

RESYNC = ("\n#ifdef CONFIG_X86_32\n\t/* the GDT must be mapped before other CPUs start */\n"
          "\tsync_initial_page_table();\n#endif\n")


def _git(repo: Path, *args: str, when: int = 0) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="Example Developer", GIT_AUTHOR_EMAIL="dev@example.org",
               GIT_COMMITTER_NAME="Example Developer", GIT_COMMITTER_EMAIL="dev@example.org",
               GIT_AUTHOR_DATE=f"{1767225600 + when * 3600} +0000",
               GIT_COMMITTER_DATE=f"{1767225600 + when * 3600} +0000")
    return subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "gc.auto=0",
                           "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout


def _edit(repo: Path, path: str, old: str | None, new: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    if old is None:
        file.write_text(new if not file.exists() else file.read_text() + new)
    else:
        text = file.read_text()
        assert old in text, (path, old)
        file.write_text(text.replace(old, new, 1))


def _helper(n: int) -> str:
    return f"\nint init_helper_{n}(void)\n{{\n\treturn {n};\n}}\n"


def build_history(repo: Path) -> Path:
    """Make `repo` a git repository holding the history; returns it."""
    shutil.copytree(SEED, repo)
    _git(repo, "init", "-q")
    step = [0]

    def commit(title: str, *edits) -> None:
        for edit in edits:
            _edit(repo, *edit)
        step[0] += 1
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", title, when=step[0])

    commit("the seed example")
    for n in range(1, 7):          # C-only commits with nothing to report
        commit(f"init: helper {n}", ("init/main.c", None, _helper(n)))
    commit("docs: a note", ("Documentation/notes.txt", None, "Notes on the seed.\n"))
    commit("x86/boot/32: defer resyncing initial_page_table",
           ("arch/x86/kernel/setup.c", RESYNC.lstrip("\n").replace("\n\tsync", "\n\tsync"), ""),
           ("arch/x86/kernel/setup_percpu.c", "\tswitch_to_new_gdt(0);\n",
            "\tswitch_to_new_gdt(0);\n" + RESYNC))
    commit("x86: resync in setup_arch again",
           ("arch/x86/kernel/setup_percpu.c", RESYNC, ""),
           ("arch/x86/kernel/setup.c", "\tpaging_init();\n", RESYNC.lstrip("\n") + "\tpaging_init();\n"))
    for n in range(7, 11):
        commit(f"init: helper {n}", ("init/main.c", None, _helper(n)))
    commit("debug: a DEBUG_PERCPU option",
           ("Kconfig", "config HAVE_SETUP_PER_CPU_AREA\n",
            "config DEBUG_PERCPU\n\tbool \"Check per-cpu areas\"\n\nconfig HAVE_SETUP_PER_CPU_AREA\n"))
    commit("mm: percpu debugging object",
           ("mm/Makefile", None, "obj-$(CONFIG_DEBUG_PERCPU) += percpu-debug.o\n"),
           ("mm/percpu-debug.c", None, "/* per-cpu checks */\nvoid percpu_debug(void)\n{\n}\n"))
    commit("mm: dead code in percpu-debug",
           ("mm/percpu-debug.c", None,
            "\n#if defined(CONFIG_SMP) && !defined(CONFIG_SMP)\nvoid never_built(void)\n{\n}\n#endif\n"))
    commit("mm: a check under an unknown option",
           ("mm/percpu.c", None,
            "\n#ifdef CONFIG_PERCPU_PARANOIA\nvoid percpu_paranoia(void)\n{\n}\n#endif\n"))
    commit("Kconfig: a typo", ("Kconfig", "config DEBUG_PERCPU\n\tbool", "config DEBUG_PERCPU\n\tbool bool ("))
    commit("Kconfig: fix the typo", ("Kconfig", "config DEBUG_PERCPU\n\tbool bool (", "config DEBUG_PERCPU\n\tbool"))
    # a makefile kwhen cannot read: the commit is checked, its files below
    # the makefile are not, and the commit's notes say so
    commit("mm: an ifeq without its endif",
           ("mm/Makefile", None, "ifeq ($(CONFIG_SMP),y)\n"),
           ("mm/percpu.c", None, "\nint percpu_unread(void)\n{\n\treturn 1;\n}\n"))
    commit("mm: close the ifeq", ("mm/Makefile", None, "endif\n"))
    for n in range(11, 14):
        commit(f"init: helper {n}", ("init/main.c", None, _helper(n)))
    # a side branch merged back: its commit is scanned, the merge is not
    _git(repo, "checkout", "-q", "-b", "side", "HEAD~1")
    commit("mm: side-branch helper", ("mm/percpu.c", None, "\nint percpu_side(void)\n{\n\treturn 0;\n}\n"))
    _git(repo, "checkout", "-q", "main")
    step[0] += 1
    _git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side", when=step[0])
    commit("x86/boot/32: defer resyncing initial_page_table, again",
           ("arch/x86/kernel/setup.c", RESYNC.lstrip("\n"), ""),
           ("arch/x86/kernel/setup_percpu.c", "\tswitch_to_new_gdt(0);\n",
            "\tswitch_to_new_gdt(0);\n" + RESYNC))
    for n in range(14, 22):
        commit(f"init: helper {n}", ("init/main.c", None, _helper(n)))
    return repo
