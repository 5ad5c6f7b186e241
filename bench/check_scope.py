"""Benchmark: the default scope of `kwhen check` (issue 11) on a generic
narrowing, beside scripts/checkkconfigsymbols.py -c on the same commit.

    python3 bench/check_scope.py --tree /opt/kwhen-linux/linux-source-6.1 [--repeat 3]

Builds the seed replay (tests/seed_replay.py) in a scratch directory and
commits on top of it an #endif moved one line down in init/main.c, so that
the unchanged thread_stack_cache_init() call falls inside #ifdef CONFIG_X86:
every architecture but x86 loses it. Times whole processes of
`kwhen check HEAD` with an empty cache (cold) and a filled one (warm, median
of --repeat), with each process's peak memory, then the seed commit's warm
check (HEAD~2), and checkkconfigsymbols.py -c on the new commit.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from seed_replay import git, make_seed_repo  # noqa: E402

ENDIF_ABOVE = "\t\tefi_enter_virtual_mode();\n#endif\n\tthread_stack_cache_init();\n"
ENDIF_BELOW = "\t\tefi_enter_virtual_mode();\n\tthread_stack_cache_init();\n#endif\n"


def run(cmd, env, cwd) -> tuple[float, int, subprocess.CompletedProcess]:
    """(seconds, peak resident KB, the process) of one whole process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return seconds, usage.ru_maxrss, subprocess.CompletedProcess(cmd, proc.returncode,
                                                                      out.read(), err.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=Path(os.environ.get(
        "KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1")))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    compileall.compile_dir(str(HERE.parent / "kwhen"), quiet=1)   # as pip install does
    with tempfile.TemporaryDirectory(prefix="kwhen-bench-scope-") as scratch:
        repo = make_seed_repo(args.tree, Path(scratch) / "linux")
        main_c = repo / "init/main.c"
        text = main_c.read_text()
        if text.count(ENDIF_ABOVE) != 1:
            raise SystemExit("init/main.c: the #endif to move was not found")
        main_c.unlink()                  # never write through the hard link
        main_c.write_text(text.replace(ENDIF_ABOVE, ENDIF_BELOW))
        git(repo, "commit", "-qam", "init: move the #endif below thread_stack_cache_init()")
        env = dict(os.environ, KWHEN_CACHE_DIR=str(Path(scratch) / "cache"))
        kwhen = [sys.executable, "-m", "kwhen", "check", "HEAD", "--tree", str(repo)]
        cold, cold_peak, done = run(kwhen, env, repo)
        if done.returncode != 1:
            raise SystemExit(f"kwhen check did not report the narrowing:\n{done.stdout}{done.stderr}")
        second, second_peak, _ = run(kwhen, env, repo)     # builds the definition index
        warm = [run(kwhen, env, repo) for _ in range(args.repeat)]
        seed = [run(kwhen[:3] + ["HEAD~2"] + kwhen[4:], env, repo) for _ in range(args.repeat)]
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout.strip()
        ckc, ckc_peak, ckc_done = run([sys.executable, "scripts/checkkconfigsymbols.py", "-c", sha],
                                      env, repo)
        print(done.stdout)
        print("| measurement | time | peak memory |\n|---|---|---|")
        print(f"| `kwhen check` endif commit, cold cache | {cold:.2f} s | {cold_peak // 1024} MB |")
        print(f"| `kwhen check` endif commit, second run (builds the definition index) "
              f"| {second:.2f} s | {second_peak // 1024} MB |")
        print(f"| `kwhen check` endif commit, warm (median of {args.repeat}) "
              f"| {statistics.median(w[0] for w in warm):.2f} s | "
              f"{max(w[1] for w in warm) // 1024} MB |")
        print(f"| `kwhen check` seed commit, warm (median of {args.repeat}) "
              f"| {statistics.median(s[0] for s in seed):.2f} s | "
              f"{max(s[1] for s in seed) // 1024} MB |")
        print(f"| `scripts/checkkconfigsymbols.py -c` endif commit | {ckc:.2f} s "
              f"(exit {ckc_done.returncode}) | {ckc_peak // 1024} MB |")
        print(f"\nload average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
