"""kwhen scan on a real history: commits per second with 1 and 2 workers,
speed-up, peak memory per worker, cold and warm, and two stretches (C-only,
Makefile/Kconfig-heavy). Figures go to bench/RESULTS.md by hand.

    python3 bench/scan.py /work/uboot-scan --arch sandbox -n 1000 --out /tmp/scan-bench

Each run is the real command line (`kwhen scan`) in a process of its own,
with a fresh --db; "cold" runs get an empty kwhen cache (the workers build
their first models), "warm" runs reuse the cache of the cold run before
them (models of the range's revisions found again by content).

When a run of 1 worker and one of 2 of the same kind are both asked for,
their speed-up is printed too: from wall time, and from CPU time (the
1-worker run's CPU against the busier worker's of the 2-worker run), which
other users of a shared machine do not change.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def figures(db: Path, wall: float) -> dict:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT status, seconds, worker, notes FROM scanned_commit").fetchall()
    done = [r for r in rows if r[0] == "done"]
    failed = [r for r in rows if r[0] == "failed"]
    skipped = [r for r in rows if r[0] == "skipped"]
    peak: dict = {}
    busy: dict = {}               # worker -> CPU seconds of its commits
    for _, _, worker, notes in rows:
        data = json.loads(notes) if notes else {}
        kb = data.get("peak_rss_kb")
        if worker and kb:
            peak[worker] = max(peak.get(worker, 0), kb)
        if worker and data.get("cpu_seconds") is not None:
            busy[worker] = busy.get(worker, 0.0) + data["cpu_seconds"]
    rebuilt = sum(1 for *_, notes in done if notes and any(
        "kconfig" in m or "kbuild" in m or "built" in m
        for m in json.loads(notes).get("models", [])))
    seconds = [r[1] for r in done]
    cpu = [json.loads(r[3]).get("cpu_seconds") for r in done if r[3]]
    cpu = [c for c in cpu if c is not None]
    findings = con.execute("SELECT COUNT(*) FROM scan_finding").fetchone()[0]
    return {"commits": len(rows), "done": len(done), "failed": len(failed),
            "skipped": len(skipped), "findings": findings, "wall_s": round(wall, 1),
            "commits_per_s": round((len(done) + len(failed)) / wall, 3),
            "all_commits_per_s": round(len(rows) / wall, 3),
            "median_commit_s": round(statistics.median(seconds), 2) if seconds else None,
            "mean_commit_s": round(statistics.mean(seconds), 2) if seconds else None,
            "commits_with_model_work": rebuilt,
            "cpu_s_total": round(sum(cpu), 1) if cpu else None,
            "cpu_s_per_worker": sorted(round(v, 1) for v in busy.values()),
            "median_commit_cpu_s": round(statistics.median(cpu), 2) if cpu else None,
            "peak_rss_mb_per_worker": sorted(round(v / 1024) for v in peak.values()),
            "failures": [r[0] for r in failed][:0] or None}


def run(tree: Path, out: Path, name: str, revisions: list, args, workers: int, cache: Path,
        cold: bool) -> dict:
    db = out / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if cold and cache.exists():
        shutil.rmtree(cache)
    env = dict(os.environ, KWHEN_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "kwhen", "scan", *revisions, "--tree", str(tree), "--db", str(db),
           "--arch", args.arch, "--workers", str(workers), "--no-progress"]
    with open(os.devnull) as devnull:
        load = os.getloadavg()
        start = time.monotonic()
        done = subprocess.run(cmd, env=env, stdin=devnull, capture_output=True, text=True)
        wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: {done.stderr}")
    result = {"name": name, "workers": workers, "cold": cold, "command": " ".join(cmd[2:]),
              "load_before": [round(x, 1) for x in load],
              "load_after": [round(x, 1) for x in os.getloadavg()], **figures(db, wall)}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tree", type=Path)
    parser.add_argument("--arch", default="sandbox")
    parser.add_argument("-n", type=int, default=1000, help="the newest N non-merge commits")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kwhen-scan-bench"))
    parser.add_argument("--runs", default="1-cold,2-cold,2-warm",
                        help="WORKERS-cold|warm, in order (a warm run reuses the cache before it)")
    parser.add_argument("--stretch", action="append", default=[],
                        help="NAME=A..B: a stretch scanned with 2 workers, cold")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for spec in filter(None, args.runs.split(",")):
        workers, kind = spec.split("-")
        cache = args.out / f"cache-{workers}"
        if kind == "warm":
            cache = args.out / f"cache-{workers}"
        results.append(run(args.tree, args.out, f"range-{spec}", ["HEAD", "--max-count", str(args.n)],
                           args, int(workers), cache, kind == "cold"))
    by_name = {r["name"]: r for r in results}
    for kind in ("cold", "warm"):
        one, two = by_name.get(f"range-1-{kind}"), by_name.get(f"range-2-{kind}")
        if one and two:
            # wall time, and CPU time, which other users of the machine do
            # not change: the 2-worker run ends with its busier worker
            speedup = {"name": f"speed-up-{kind}",
                       "wall": round(one["wall_s"] / two["wall_s"], 2),
                       "cpu": round(one["cpu_s_total"] / max(two["cpu_s_per_worker"]), 2)
                       if one["cpu_s_total"] and two["cpu_s_per_worker"] else None}
            print(json.dumps(speedup), flush=True)
            results.append(speedup)
    for stretch in args.stretch:
        name, _, revs = stretch.partition("=")
        results.append(run(args.tree, args.out, f"stretch-{name}", [revs], args, 2,
                           args.out / f"cache-{name}", True))
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
