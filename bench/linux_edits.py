"""Hand-made ordinary edits of linux-source-6.1, as commits, for the
false-alarm benchmark (bench/false_alarms.md).

    python bench/linux_edits.py /tmp/linux-fa [--source /opt/kwhen-linux/linux-source-6.1]
    python bench/false_alarms.py /tmp/linux-fa --arch x86 --commits $(git -C /tmp/linux-fa rev-list --reverse HEAD~12..HEAD)

The repository is a hard-link copy of the source (as tests/seed_replay.py
makes it); every edited file is unlinked before it is written, so the shared
tree is never changed. Each edit is one commit whose subject says what kind
of ordinary change it is; none should make code vanish from a configuration.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

SOURCE = Path("/opt/kwhen-linux/linux-source-6.1")


def git(repo: Path, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=kwhen bench", "-c", "user.email=bench@example.org",
                           *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def write(repo: Path, rel: str, text: str) -> None:
    path = repo / rel
    if path.exists():
        path.unlink()           # never write through a hard link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def read(repo: Path, rel: str) -> str:
    return (repo / rel).read_text()


def sub_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"edit anchor not found exactly once: {old[:60]!r}")
    return text.replace(old, new)


def block(text: str, start: str) -> str:
    """The function starting with line `start` up to its closing brace line,
    with its preceding blank line."""
    i = text.index(start)
    j = text.index("\n}\n", i) + 3
    return text[i:j]


# -- the edits ---------------------------------------------------------------

def move_helper(repo):
    """refactor: move swap_words_32() below swap_words_64() in lib/sort.c"""
    rel = "lib/sort.c"
    t = read(repo, rel)
    fn = block(t, "static void swap_words_32(")
    t = t.replace(fn + "\n", "", 1)
    anchor = block(t, "static void swap_words_64(")
    t = sub_once(t, anchor, anchor + "\n" + fn)
    write(repo, rel, t)


def rename_static(repo):
    """rename the static is_aligned() in lib/sort.c to sort_is_aligned()"""
    rel = "lib/sort.c"
    t = re.sub(r"\bis_aligned\(", "sort_is_aligned(", read(repo, rel))
    write(repo, rel, t)


def new_driver(repo):
    """add a new misc driver with its Makefile line and Kconfig entry"""
    write(repo, "drivers/misc/kwdemo.c",
          "// SPDX-License-Identifier: GPL-2.0\n#include <linux/module.h>\n\n"
          "static int __init kwdemo_init(void)\n{\n\treturn 0;\n}\nmodule_init(kwdemo_init);\n"
          "MODULE_LICENSE(\"GPL\");\n")
    mk = read(repo, "drivers/misc/Makefile")
    write(repo, "drivers/misc/Makefile", sub_once(
        mk, "obj-$(CONFIG_AD525X_DPOT)\t+= ad525x_dpot.o\n",
        "obj-$(CONFIG_AD525X_DPOT)\t+= ad525x_dpot.o\nobj-$(CONFIG_KWDEMO)\t\t+= kwdemo.o\n"))
    kc = read(repo, "drivers/misc/Kconfig")
    write(repo, "drivers/misc/Kconfig", sub_once(
        kc, "config AD525X_DPOT\n",
        "config KWDEMO\n\ttristate \"kwhen demo driver\"\n\tdepends on I2C\n\thelp\n"
        "\t  A demo driver.\n\nconfig AD525X_DPOT\n"))


def struct_field(repo):
    """add a field to struct kthread_work"""
    rel = "include/linux/kthread.h"
    write(repo, rel, sub_once(read(repo, rel), "\tint\t\t\tcanceling;\n};\n",
                              "\tint\t\t\tcanceling;\n\tunsigned int\t\tflags;\n};\n"))


def comment(repo):
    """reword a comment in mm/percpu.c"""
    rel = "mm/percpu.c"
    t = read(repo, rel)
    i = t.index("/*", t.index("#include"))
    write(repo, rel, t[:i] + "/* (reworded) */\n" + t[i:])


def reorder_makefile(repo):
    """swap two obj- lines in lib/Makefile"""
    rel = "lib/Makefile"
    write(repo, rel, sub_once(read(repo, rel),
                              "obj-$(CONFIG_CRC16)\t+= crc16.o\nobj-$(CONFIG_CRC_T10DIF)+= crc-t10dif.o\n",
                              "obj-$(CONFIG_CRC_T10DIF)+= crc-t10dif.o\nobj-$(CONFIG_CRC16)\t+= crc16.o\n"))


def move_between_files(repo):
    """move hex_to_bin() from lib/hexdump.c to lib/kstrtox.c (both obj-y)"""
    t = read(repo, "lib/hexdump.c")
    fn = block(t, "int hex_to_bin(unsigned char ch)")
    exp = "EXPORT_SYMBOL(hex_to_bin);\n"
    t = sub_once(t, fn + exp, "")
    write(repo, "lib/hexdump.c", t)
    k = read(repo, "lib/kstrtox.c")
    k = k.rstrip("\n") + "\n\n" + fn + exp
    write(repo, "lib/kstrtox.c", k)


def ifdef_block(repo):
    """add an #ifdef CONFIG_NUMA block to kernel/fork.c"""
    rel = "kernel/fork.c"
    t = read(repo, rel)
    anchor = "void __weak arch_release_task_struct(struct task_struct *tsk)\n"
    write(repo, rel, sub_once(t, anchor,
                              "#ifdef CONFIG_NUMA\nstatic int __maybe_unused fork_numa_hint(void)\n"
                              "{\n\treturn 1;\n}\n#endif\n\n" + anchor))


def ifdef_to_is_enabled(repo):
    """new Kconfig option used with IS_ENABLED() in C"""
    kc = read(repo, "lib/Kconfig")
    write(repo, "lib/Kconfig", sub_once(kc, "config CRC_CCITT\n",
                                        "config SORT_CHECKS\n\tbool \"Extra sort() checks\"\n"
                                        "\tdefault n\n\nconfig CRC_CCITT\n"))
    rel = "lib/sort.c"
    t = read(repo, rel)
    write(repo, rel, sub_once(t, "static int do_cmp(const void *a, const void *b, cmp_r_func_t cmp, const void *priv)\n{\n",
                              "static int do_cmp(const void *a, const void *b, cmp_r_func_t cmp, const void *priv)\n{\n"
                              "\tif (IS_ENABLED(CONFIG_SORT_CHECKS))\n\t\tWARN_ON(!cmp);\n"))


def header_inline(repo):
    """add a static inline helper to a header under an existing #ifdef"""
    rel = "include/linux/kthread.h"
    t = read(repo, rel)
    write(repo, rel, sub_once(t, "struct kthread_delayed_work {\n",
                              "static inline bool kthread_work_pending(struct kthread_work *w)\n"
                              "{\n\treturn !list_empty(&w->node);\n}\n\nstruct kthread_delayed_work {\n"))


def split_makefile_line(repo):
    """add a comment line to lib/Makefile"""
    rel = "lib/Makefile"
    t = read(repo, rel)
    write(repo, rel, sub_once(t, "obj-y += string_helpers.o\n",
                              "obj-y += string_helpers.o\n# hex helpers\n"))


def rename_local(repo):
    """rename a local variable of _kstrtoull() in lib/kstrtox.c"""
    rel = "lib/kstrtox.c"
    t = read(repo, rel)
    write(repo, rel, t.replace("unsigned long long _res;", "unsigned long long res_;")
          .replace("&_res", "&res_").replace("_res >", "res_ >").replace("= _res;", "= res_;"))


EDITS = [move_helper, rename_static, new_driver, struct_field, comment, reorder_makefile,
         move_between_files, ifdef_block, ifdef_to_is_enabled, header_inline,
         split_makefile_line, rename_local]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--source", type=Path, default=SOURCE)
    args = ap.parse_args(argv)
    repo = args.repo
    if not repo.exists():
        subprocess.run(["cp", "-al", str(args.source), str(repo)], check=True)
        git(repo, "init", "-q")
        git(repo, "add", "-f", "-A", ".")
        git(repo, "commit", "-qm", "linux-source-6.1")
    for edit in EDITS:
        edit(repo)
        git(repo, "add", "-f", "-A", ".")
        git(repo, "commit", "-qm", f"{edit.__name__}: {edit.__doc__.splitlines()[0]}")
        print(git(repo, "rev-parse", "--short=12", "HEAD").strip(), edit.__name__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
