"""Benchmark: the default scope of `kwhen check` (issue 11) on a generic
narrowing, beside scripts/checkkconfigsymbols.py -c on the same commit.

    python3 bench/check_scope.py --tree /opt/kwhen-linux/linux-source-6.1 [--repeat 3]

Builds the seed replay (tests/seed_replay.py) in a scratch directory and
commits on top of it an #endif moved one line down in init/main.c, so that
the unchanged thread_stack_cache_init() call falls inside #ifdef CONFIG_X86:
every architecture but x86 loses it. Times whole processes of
`kwhen check HEAD` with an empty cache (cold) and a filled one (warm, median
of --repeat), with each process's CPU time (its own and its children's) and
peak memory, then the seed commit's warm check (HEAD~2), and Linux's
scripts/checkkconfigsymbols.py -c on both commits. That script is code from
the tree (kwhen never runs it): the bench runs it explicitly, in a clone of
the scratch repository (it resets the work tree to each commit), never in
the tree given.
"""

from __future__ import annotations

import argparse
import compileall
import json
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


class Timed(tuple):
    """(seconds, peak resident KB, the process), and `cpu`: user + system
    seconds of the process and the children it waited for."""
    cpu: float


def run(cmd, env, cwd) -> Timed:
    """(seconds, peak resident KB, the process) of one whole process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        timed = Timed((seconds, usage.ru_maxrss, subprocess.CompletedProcess(
            cmd, proc.returncode, out.read(), err.read())))
        timed.cpu = usage.ru_utime + usage.ru_stime
        return timed


def median_row(label: str, runs: list) -> str:
    return (f"| {label} (median of {len(runs)}) | {statistics.median(r[0] for r in runs):.2f} s "
            f"| {statistics.median(r.cpu for r in runs):.2f} s | {max(r[1] for r in runs) // 1024} MB |")


def row(label: str, timed: Timed, note: str = "") -> str:
    return f"| {label} | {timed[0]:.2f} s{note} | {timed.cpu:.2f} s | {timed[1] // 1024} MB |"


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
        load_before = os.getloadavg()
        kwhen = [sys.executable, "-m", "kwhen", "check", "HEAD", "--tree", str(repo)]
        cold = run(kwhen, env, repo)
        if cold[2].returncode != 1:
            raise SystemExit(f"kwhen check did not report the narrowing:\n"
                             f"{cold[2].stdout}{cold[2].stderr}")
        second = run(kwhen, env, repo)     # builds the definition index
        warm = [run(kwhen, env, repo) for _ in range(args.repeat)]
        seed_check = kwhen[:4] + ["HEAD~2"] + kwhen[5:]
        seed_cold = run(seed_check, env, repo)     # models x86: the endif commit did not
        if seed_cold[2].returncode != 1:
            raise SystemExit(f"kwhen check did not report the seed's move:\n"
                             f"{seed_cold[2].stdout}{seed_cold[2].stderr}")
        run(seed_check, env, repo)                  # untimed too: whatever the first left
        seed = [run(seed_check, env, repo) for _ in range(args.repeat)]
        found = json.loads(run(kwhen + ["--format", "json"], env, repo)[2].stdout)
        losing = {a for f in found["findings"] for a in f["arches"] + f["arches_unmodelled"]}
        if ("x86" in losing or not losing
                or any(f["file"] != "init/main.c" for f in found["findings"])
                or "x86" not in found["summary"]["arches_ruled_out"]):
            raise SystemExit(f"not a narrowing of init/main.c off x86 only:\n{found}")
        shas = subprocess.run(["git", "rev-parse", "HEAD", "HEAD~2"], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.split()
        copy = Path(scratch) / "checkkconfigsymbols"
        git(Path(scratch), "clone", "-q", "--shared", str(repo), str(copy))
        ckc = [run([sys.executable, "scripts/checkkconfigsymbols.py", "-c", sha], env, copy)
               for sha in shas]
        print(cold[2].stdout)
        print(f"architectures losing the line: {', '.join(sorted(losing))}")
        print("| measurement | wall | CPU | peak memory |\n|---|---|---|---|")
        print(row("`kwhen check` endif commit, cold cache", cold))
        print(row("`kwhen check` endif commit, second run (builds the definition index)", second))
        print(median_row("`kwhen check` endif commit, warm", warm))
        print(row("`kwhen check` seed commit (HEAD~2), first run (models x86)", seed_cold))
        print(median_row("`kwhen check` seed commit (HEAD~2), warm", seed))
        for name, timed in zip(("endif commit", "seed commit"), ckc):
            print(row(f"`scripts/checkkconfigsymbols.py -c` {name}", timed,
                      f" (exit {timed[2].returncode})"))
        print(f"\nload average before: {load_before}, after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
