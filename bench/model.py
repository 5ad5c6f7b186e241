"""Benchmark: kwhen's model of Linux x86, cold and warm, against kmax.

    python3 bench/model.py --tree /opt/kwhen-linux/linux-source-6.1 [--kmax] [--repeat 5]

Measures, each in a fresh process so that nothing is shared but the cache:
- cold Kconfig model (kconfiglib parse + CNF), cold Kbuild conditions for the
  whole tree, and a cold `kwhen line` (empty cache);
- warm `kwhen line` (model and Kbuild conditions from the cache), the whole
  process, median of --repeat runs;
- with --kmax: the peer tool kmax (kmaxall) on the same directories in the
  same run, and how far the two sets of per-file conditions agree.
Prints a Markdown table to paste into bench/RESULTS.md. Process times are
wall-clock; the CPU seconds beside them (user + system, the process and its
children) show how much of a slow figure was the machine being busy.
kwhen's modules are byte-compiled first, as `pip install` does (this
workplace sets PYTHONDONTWRITEBYTECODE, which would otherwise make every
process compile them again).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINE = "arch/x86/kernel/setup_percpu.c:246"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, env=None, cwd=None) -> tuple[float, subprocess.CompletedProcess]:
    start, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    timed.cpu = children_cpu() - cpu
    return time.perf_counter() - start, done


def python(code: str, env) -> tuple[float, str]:
    seconds, done = timed([sys.executable, "-c", code], env=env)
    if done.returncode:
        raise SystemExit(f"benchmark step failed:\n{done.stderr}")
    return seconds, done.stdout


def layer_times(tree: Path, env) -> dict:
    code = f"""
import time, json
from pathlib import Path
from kwhen.kconfig.translate import build_model
from kwhen.kbuild.tree import kbuild_conditions
t0 = time.perf_counter()
m = build_model(Path({str(tree)!r}), "x86")
t1 = time.perf_counter()
k = kbuild_conditions(Path({str(tree)!r}), "x86", "x86", m.symbols)
t2 = time.perf_counter()
print(json.dumps({{"kconfig_s": t1 - t0, "kbuild_s": t2 - t1, "symbols": len(m.symbols),
    "variables": len(m.var_names) - 1, "clauses": len(m.clauses), "files": len(k.files),
    "unknowns": len(k.unknowns), "makefiles": len(k.makefiles)}}))
"""
    _, out = python(code, env)
    return json.loads(out)


def model_as_built(tree: Path, env) -> float:
    """Kconfig model and Kbuild conditions as `kwhen` builds them on a cold
    cache (Kbuild in a forked process during the Kconfig translation)."""
    code = f"""
import time
from kwhen.control import open_tree
t0 = time.perf_counter()
tree = open_tree({str(tree)!r}, "x86")
tree.model, tree.kbuild
print(time.perf_counter() - t0)
"""
    _, out = python(code, env)
    return float(out)


def kwhen_line(tree: Path, env) -> tuple[float, float]:
    """(wall, cpu) seconds of one `kwhen line` process."""
    seconds, done = timed([sys.executable, "-m", "kwhen", "line", LINE, "--tree", str(tree),
                           "--arch", "x86"], env=env)
    if done.returncode:
        raise SystemExit(f"kwhen line failed:\n{done.stderr}")
    return seconds, timed.cpu


def kmax_run(tree: Path, dirs: list[str], out: Path) -> float:
    kmaxall = Path(sys.executable).parent / "kmaxall"
    cmd = [sys.executable, "-O", str(kmaxall), "-z", "-Dsrctree=./", "-Dsrc=./",
           "-DSRCARCH=x86", "-DARCH=x86", "-DBITS=64", "-x", str(out.with_suffix(".excludes")), *dirs]
    start = time.perf_counter()
    with open(out, "wb") as f:
        done = subprocess.run(cmd, cwd=tree, stdout=f, stderr=subprocess.DEVNULL)
    if done.returncode:
        raise SystemExit("kmaxall failed")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=Path(os.environ.get(
        "KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1")))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kmax", action="store_true", help="also run kmax (slow: many minutes)")
    args = parser.parse_args()

    compileall.compile_dir(str(HERE.parent / "kwhen"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="kwhen-bench-") as scratch:
        env = dict(os.environ, KWHEN_CACHE_DIR=str(Path(scratch) / "cache"))
        layers = layer_times(args.tree, env)                 # cold: no cache involved
        as_built = model_as_built(args.tree, dict(env, KWHEN_CACHE_DIR=str(Path(scratch) / "c2")))
        cold_line = kwhen_line(args.tree, env)               # cold: empty cache
        warm = [kwhen_line(args.tree, env) for _ in range(args.repeat)]
        wall = statistics.median(w for w, _ in warm)
        cpu = statistics.median(c for _, c in warm)
        rows = [
            ("Kconfig model, x86 (kconfiglib parse + CNF), cold", f"{layers['kconfig_s']:.2f} s"),
            ("Kbuild conditions, whole tree, cold", f"{layers['kbuild_s']:.2f} s"),
            ("x86 model as kwhen builds it (Kbuild forked during the translation), cold",
             f"{as_built:.2f} s"),
            ("`kwhen line` process, cold cache", f"{cold_line[0]:.2f} s"),
            (f"`kwhen line` process, warm cache (median of {args.repeat})",
             f"{wall:.2f} s (CPU {cpu:.2f} s; fastest {min(w for w, _ in warm):.2f} s)"),
        ]
        if args.kmax:
            from agreement import compare_with_kmax, kbuild_dirs
            dirs = kbuild_dirs(args.tree)
            pickle_path = Path(scratch) / "kmax.pickle"
            kmax_s = kmax_run(args.tree, dirs, pickle_path)
            rows.append(("kmax (kmaxall), same directories", f"{kmax_s:.2f} s"))
            rows.append(("kmax / kwhen Kbuild time", f"{kmax_s / layers['kbuild_s']:.1f}x"))
            report = compare_with_kmax(args.tree, pickle_path, env)
            print(json.dumps(report["summary"], indent=2))
        print(f"\nsizes: {json.dumps(layers)}\nload average: {os.getloadavg()}\n")
        print("| measurement | result |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
