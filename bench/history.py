"""Consecutive commits of a real history through `kwhen check`, as a
maintainer would run it on each commit as it lands: the false-alarm sample
and the speed figures of issue #14 in one run.

    KWHEN_CACHE_DIR=/tmp/kwhen-cache-hist python3 bench/history.py /tmp/ub \\
        --range A..B -o /tmp/history.json [--warm all|build]
    ... --range 6073c36b2c8 --count 300 ...       # the newest 300 up to a commit

Every non-merge commit of RANGE (oldest first) is checked out in the tree
(`git checkout --detach`, as a maintainer has the commit in hand) and
checked with default options, one after another, with one kwhen cache:
the first check of a
commit is "cold" for that commit (its own models are new; its parent's
were made by the check before it). With --warm each commit (or each that
touches Makefiles or Kconfig files) is checked a second time right after,
the "warm" figure. Results are appended to the
output file as they come (a killed run resumes where it stopped). The
summary gives medians for commits that touch Makefiles or Kconfig files
and for the others (C-only), and lists every commit with findings, for
the verdicts written by hand in bench/false_alarms.md.

The tree must be a git work tree outside kwhen's repository (for U-Boot:
`git clone --shared` of the `fetch` tool's mirror), with no local changes:
it is left at the last commit checked.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.false_alarms import check_report  # noqa: E402
from kwhen.checks.runner import is_build_file  # noqa: E402


def commits_of(tree: Path, spec: str, count: int | None = None) -> list[str]:
    """The non-merge commits of `spec`, oldest first; with `count`, the
    newest `count` of them (as `git rev-list -n` picks them)."""
    limit = ["-n", str(count)] if count else []
    out = subprocess.run(["git", "-C", str(tree), "rev-list", "--no-merges", *limit, spec],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[::-1]


def touched(tree: Path, sha: str) -> list[str]:
    return subprocess.run(["git", "-C", str(tree), "show", "--format=", "--name-only", sha],
                          capture_output=True, text=True, check=True).stdout.split()


def run_check(tree: Path, sha: str, timeout: float) -> dict:
    started = time.time()
    try:
        proc = subprocess.run([sys.executable, "-m", "kwhen", "check", sha, "--tree", str(tree),
                               "--format", "json"], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": round(time.time() - started, 2), "status": "timeout", "findings": []}
    seconds = round(time.time() - started, 2)
    data, error = check_report(proc)
    entry = {"seconds": seconds, "status": proc.returncode,
             "findings": data["findings"] if data is not None else []}
    if data is None:
        entry["error"] = error
    else:
        entry["skipped"] = data.get("skipped", [])
    return entry


def summary(results: list) -> str:
    lines = []
    for label, build in (("Makefile/Kconfig commits", True), ("C-only commits", False)):
        group = [r for r in results if r["build_files"] == build]
        if not group:
            continue
        cold = [r["cold"]["seconds"] for r in group]
        line = f"{label}: {len(group)}, cold median {statistics.median(cold):.2f} s " \
               f"(max {max(cold):.1f} s)"
        warm = [r["warm"]["seconds"] for r in group if "warm" in r]
        if warm:
            line += f", warm median {statistics.median(warm):.2f} s (max {max(warm):.1f} s)"
        lines.append(line)
    flagged = [r for r in results if r["cold"]["findings"]]
    failed = [r for r in results if r["cold"]["status"] not in (0, 1)]
    lines.append(f"{len(results)} commits, {len(flagged)} with findings, {len(failed)} failed "
                 "or timed out")
    for r in flagged:
        kinds = sorted({f["kind"] for f in r["cold"]["findings"]})
        lines.append(f"  {r['commit'][:12]} {len(r['cold']['findings'])} finding(s) "
                     f"{' '.join(kinds)}  {r['subject'][:60]}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--range", required=True, help="commits as git rev-list takes them")
    ap.add_argument("--count", type=int, help="only the newest COUNT commits of the range")
    ap.add_argument("--warm", choices=("all", "build", "none"), default="none",
                    help="check a second time every commit, those touching Makefiles or "
                         "Kconfig files, or none")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--summary", action="store_true", help="only summarise the output file")
    args = ap.parse_args(argv)
    results = json.loads(args.output.read_text()) if args.output.exists() else []
    if not args.summary:
        done = {r["commit"] for r in results}
        tree = args.tree.resolve()
        for sha in commits_of(tree, args.range, args.count):
            if sha in done:
                continue
            subprocess.run(["git", "-C", str(tree), "checkout", "-q", "--detach", sha],
                           check=True, capture_output=True)
            paths = touched(tree, sha)
            subject = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%s", sha],
                                     capture_output=True, text=True).stdout.strip()
            entry = {"commit": sha, "subject": subject,
                     "build_files": any(is_build_file(p) for p in paths),
                     "cold": run_check(tree, sha, args.timeout)}
            if args.warm == "all" or (args.warm == "build" and entry["build_files"]):
                entry["warm"] = run_check(tree, sha, args.timeout)
            results.append(entry)
            tmp = args.output.with_suffix(".tmp")
            tmp.write_text(json.dumps(results, indent=1) + "\n")
            os.replace(tmp, args.output)
            cold = entry["cold"]
            print(f"{sha[:12]} {'B' if entry['build_files'] else 'C'} {cold['seconds']:6.1f}s"
                  + (f" warm {entry['warm']['seconds']:5.1f}s" if "warm" in entry else "")
                  + f" status={cold['status']} {len(cold['findings'])} finding(s) "
                  f"{cold.get('error', '')[:160]}", flush=True)
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
