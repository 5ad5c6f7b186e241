"""False-alarm benchmark: run `kwhen check` on ordinary commits of a real
Kconfig/Kbuild history and collect every finding for review.

    python bench/false_alarms.py /tmp/uboot --arch sandbox -n 30 -o findings.json
    python bench/false_alarms.py /tmp/uboot --commits sha1 sha2 ...

The tree must be a git work tree (for U-Boot: the `fetch` tool's bare
mirror cloned with `git clone --shared` outside kwhen's repository); it is
left as it is (`kwhen check` reads each commit's pre- and post-image from
git). Commits are the newest non-merge commits below --rev that touch C,
assembly, Makefiles or Kconfig files, skipping those that touch only
documentation, device trees and defconfigs. The output lists, per commit,
the findings as `kwhen check --format json` reports them, the exit status,
and the time taken; verdicts are written by hand (bench/false_alarms.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CODE = ("*.c", "*.h", "*.S", "Makefile", "*/Makefile", "Kconfig", "*/Kconfig*", "*.mk",
        "Kbuild", "*/Kbuild")


def code_paths(tree: Path, sha: str) -> list[str]:
    out = subprocess.run(["git", "-C", str(tree), "show", "--format=", "--name-only", sha],
                         capture_output=True, text=True, check=True).stdout.split()
    keep = []
    for p in out:
        name = p.rsplit("/", 1)[-1]
        if p.startswith(("doc/", "Documentation/", "dts/upstream/")) or p.endswith((".dts", ".dtsi")):
            continue
        if p.startswith("tools/") or p.startswith("configs/"):
            continue
        if name.endswith((".c", ".h", ".S")) or name.startswith(("Makefile", "Kconfig", "Kbuild")) \
                or name.endswith(".mk"):
            keep.append(p)
    return keep


def pick_commits(tree: Path, rev: str, count: int) -> list[str]:
    shas = subprocess.run(["git", "-C", str(tree), "log", "--no-merges", "--format=%H",
                           "-n", str(count * 4), rev, "--", *CODE],
                          capture_output=True, text=True, check=True).stdout.split()
    picked = []
    for sha in shas:
        if code_paths(tree, sha):
            picked.append(sha)
        if len(picked) == count:
            break
    return picked


def check_one(tree: Path, sha: str, arch: str) -> dict:
    started = time.time()
    scope = [] if arch == "default" else ["--arch", arch]
    proc = subprocess.run([sys.executable, "-m", "kwhen", "check", sha, "--tree", str(tree),
                           *scope, "--format", "json"],
                          capture_output=True, text=True)
    subject = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%s", sha],
                             capture_output=True, text=True).stdout.strip()
    entry = {"commit": sha[:12], "subject": subject, "status": proc.returncode,
             "seconds": round(time.time() - started, 1), "findings": []}
    data, error = check_report(proc)
    if data is not None:
        entry["findings"] = data["findings"]
    else:
        entry["error"] = error
    return entry


def check_report(proc: subprocess.CompletedProcess) -> tuple[dict | None, str | None]:
    """(report, None) from a finished `kwhen check --format json` that
    gave its JSON report (exit 0 or 1), else (None, the end of what it
    printed instead)."""
    if proc.returncode not in (0, 1):
        return None, proc.stderr.strip()[-2000:]
    try:
        data = json.loads(proc.stdout)
        data["findings"]
    except (ValueError, KeyError, TypeError):
        return None, proc.stdout[-2000:]
    return data, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--arch", default="sandbox",
                    help="the architecture checked; 'default': kwhen's default scope (no --arch)")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--commits", nargs="*")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    commits = args.commits or pick_commits(args.tree, args.rev, args.n)
    results = []
    for sha in commits:
        entry = check_one(args.tree, sha, args.arch)
        results.append(entry)
        kinds = [f["kind"] for f in entry["findings"]]
        print(f"{entry['commit']} {entry['seconds']:6.1f}s status={entry['status']} "
              f"{len(kinds)} finding(s) {' '.join(kinds)} {entry.get('error', '')[:200]}",
              flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=1) + "\n")
    total: dict = {}
    for entry in results:
        for f in entry["findings"]:
            total[f["kind"]] = total.get(f["kind"], 0) + 1
    print(f"{len(results)} commits, {sum(total.values())} findings: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
