"""Benchmark: `kwhen check` on the seed commit, cold and warm, beside the
kernel's own scripts/checkkconfigsymbols.py -c on the same commit.

    python3 bench/check.py --tree /opt/kwhen-linux/linux-source-6.1 [--repeat 5]

Builds the seed replay (tests/seed_replay.py) in a scratch directory, then
times whole processes: `kwhen check HEAD~1` with an empty cache (cold), a
second time (it builds the definition index the cold run left out), and
again with the cache filled (warm, median of --repeat), and
`python3 scripts/checkkconfigsymbols.py -c HEAD~1` run in the same tree.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from seed_replay import make_seed_repo  # noqa: E402

sys.path.insert(0, str(HERE))
from model import timed  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=Path(os.environ.get(
        "KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1")))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    compileall.compile_dir(str(HERE.parent / "kwhen"), quiet=1)   # as pip install does
    with tempfile.TemporaryDirectory(prefix="kwhen-bench-check-") as scratch:
        repo = make_seed_repo(args.tree, Path(scratch) / "linux")
        env = dict(os.environ, KWHEN_CACHE_DIR=str(Path(scratch) / "cache"))
        kwhen = [sys.executable, "-m", "kwhen", "check", "HEAD~1", "--tree", str(repo)]
        cold, done = timed(kwhen, env, repo)
        cold_cpu = timed.cpu
        if done.returncode != 1:
            raise SystemExit(f"kwhen check did not report the seed:\n{done.stdout}{done.stderr}")
        # the first run after the cold one builds the definition index (a
        # cold run leaves it: it has the models to build); then warm runs
        second, _ = timed(kwhen, env, repo)
        second_cpu = timed.cpu
        warm, warm_cpu = [], []
        for _ in range(args.repeat):
            warm.append(timed(kwhen, env, repo)[0])
            warm_cpu.append(timed.cpu)
        # it refuses symbolic refs such as HEAD~1: give it the commit id
        sha = subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout.strip()
        ckc, ckc_done = timed([sys.executable, "scripts/checkkconfigsymbols.py", "-c", sha],
                              env, repo)
        print(done.stdout)
        print("| measurement | result |\n|---|---|")
        print(f"| `kwhen check` seed commit, cold cache | {cold:.2f} s (CPU {cold_cpu:.2f} s) |")
        print(f"| `kwhen check` seed commit, second run (builds the definition index) "
              f"| {second:.2f} s (CPU {second_cpu:.2f} s) |")
        print(f"| `kwhen check` seed commit, warm cache (median of {args.repeat}) "
              f"| {statistics.median(warm):.2f} s (CPU {statistics.median(warm_cpu):.2f} s; "
              f"fastest {min(warm):.2f} s) |")
        print(f"| `scripts/checkkconfigsymbols.py -c` same commit | {ckc:.2f} s "
              f"(exit {ckc_done.returncode}) |")
        print(f"\nload average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
