"""Recall of `kwhen check` on real U-Boot configuration bugs.

    python3 bench/uboot_bugs.py mine TREE -o candidates.json   # the mechanical selection
    python3 bench/uboot_bugs.py run TREE --cases bench/uboot_bugs.md -o results.json

`mine` lists the candidates of a U-Boot history by a mechanical criterion
on the fix commit (bench/uboot_bugs.md says which and why):

1. the fix is a non-merge commit whose message has a `Fixes: <sha>` line
   naming a commit of the history (the bug-introducing commit);
2. its message names a configuration matter: a phase (SPL, TPL, VPL, xPL),
   `CONFIG_IS_ENABLED`/`IS_ENABLED`/`CONFIG_VAL`, `$(SPL_)`-style make
   variables, Kconfig, a Makefile, `#if`/`#ifdef`, a symbol's name
   (typo, misspelt, wrong, missing, undefined symbol/option/config), or
   code never built/compiled/dead;
3. its diff changes (adds or removes) a C/assembly/Makefile/Kconfig line
   that is a preprocessor conditional, names a `CONFIG_` symbol, an
   `obj-` list or a Kconfig dependency.

Reading each candidate and keeping the real configuration bugs is done by
hand; the kept cases, with their class and why, are the table of
bench/uboot_bugs.md (fix sha, introducing sha, class).

`run` checks out each introducing commit in TREE (a clone of its own: the
command moves its HEAD) and runs `python3 -m kwhen check SHA --tree TREE
--format json` as a user would (default options), one at a time under
`nice -n 10` and a timeout, and writes each case's findings, exit status
and time. Whether a finding points at the defect the fix repaired is
judged by hand (bench/uboot_bugs.md): `run` only lists, per finding, the
files and lines it names next to the files the fix touches.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from false_alarms import check_report

FIXES = re.compile(r"^\s*Fixes:\s*([0-9a-f]{7,40})\b", re.M | re.I)
MESSAGE = re.compile(
    r"\b(SPL|TPL|VPL|xPL|CONFIG_IS_ENABLED|IS_ENABLED|CONFIG_VAL|\$\((SPL|SPL_TPL|PHASE|XPL)_\)"
    r"|Kconfig|Makefile|#if|#ifdef|#ifndef|ifdef|typo|misspel\w*|mis-spel\w*|dead code"
    r"|never (?:be )?(?:built|compiled|enabled|selected|called|reached)"
    r"|(?:wrong|missing|undefined|non-existent|nonexistent|unknown) (?:config|symbol|option|kconfig)\w*)",
    re.I)
BUILD_LINE = re.compile(
    r"^[+-](?![+-])\s*(#\s*(if|ifdef|ifndef|elif|else|endif)\b|.*\bCONFIG_\w|.*\bobj-|.*IS_ENABLED"
    r"|\s*(depends on|select|imply|default|config)\b)")
SOURCE = re.compile(r"(\.(c|h|S)|(^|/)(Makefile|Kconfig[\w.]*|Kbuild)|\.mk)$")


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True,
                          check=True).stdout


def build_lines(tree: Path, sha: str) -> list[str]:
    """The changed lines of `sha` that criterion 3 looks for, with their files."""
    out, path, hits = git(tree, "show", "--format=", "-U0", "--no-color", sha), None, []
    for line in out.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("--- "):
            continue
        elif path and SOURCE.search(path) and BUILD_LINE.match(line):
            hits.append(f"{path}: {line[:120]}")
    return hits


def mine(tree: Path) -> list[dict]:
    log = git(tree, "log", "--no-merges", "-E", "-i", "--grep=^Fixes: *[0-9a-f]{7,}",
              "--format=%H%x00%s%x00%B%x01")
    found = []
    for record in log.split("\x01"):
        if not record.strip():
            continue
        sha, subject, body = record.strip("\n").split("\x00", 2)
        if not MESSAGE.search(body):
            continue
        introduced = []
        for short in FIXES.findall(body):
            try:
                full = git(tree, "rev-parse", "--verify", "-q", short + "^{commit}").strip()
            except subprocess.CalledProcessError:
                continue
            introduced.append(full)
        if not introduced:
            continue
        lines = build_lines(tree, sha)
        if not lines:
            continue
        found.append({"fix": sha, "subject": subject, "introduced": introduced,
                      "keywords": sorted({m.group(0) for m in MESSAGE.finditer(body)}),
                      "build_lines": lines[:20]})
    return found


CASE = re.compile(r"^\|\s*(\d+)\s*\|\s*([0-9a-f]{10,40})\s*\|\s*([0-9a-f]{10,40})\s*\|\s*([\w-]+)\s*\|")


def read_cases(md: Path) -> list[dict]:
    """The table of bench/uboot_bugs.md: | n | fix | introduced | class | ..."""
    cases = []
    for line in md.read_text().splitlines():
        m = CASE.match(line)
        if m:
            cases.append({"n": int(m.group(1)), "fix": m.group(2), "introduced": m.group(3),
                          "class": m.group(4)})
    return cases


def fix_files(tree: Path, sha: str) -> list[str]:
    return git(tree, "show", "--format=", "--name-only", sha).split()


def run_case(tree: Path, case: dict, timeout: int, label: str | None) -> dict:
    sha = case["introduced"]
    git(tree, "checkout", "-q", "--force", "--detach", sha)
    started = time.time()
    cmd = ["nice", "-n", "10", sys.executable, "-m", "kwhen", "check", sha, "--tree", str(tree),
           "--format", "json"]
    entry = dict(case, kwhen=label, fix_files=fix_files(tree, case["fix"]), findings=[])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        entry.update(status="timeout", seconds=timeout)
        return entry
    entry.update(status=proc.returncode, seconds=round(time.time() - started, 1))
    data, error = check_report(proc)
    if data is not None:
        entry["findings"] = data["findings"]
        entry["summary"] = data.get("summary")
    else:
        entry["error"] = error
    return entry


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("mine")
    p.add_argument("tree", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p = sub.add_parser("run")
    p.add_argument("tree", type=Path)
    p.add_argument("--cases", type=Path, default=Path(__file__).with_name("uboot_bugs.md"))
    p.add_argument("--only", type=int, nargs="*", help="case numbers")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--label", help="which kwhen ran (a commit id), kept with each case")
    p.add_argument("--again", action="store_true", help="run cases already in the output again")
    p.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.command == "mine":
        found = mine(args.tree)
        args.output.write_text(json.dumps(found, indent=1) + "\n")
        print(f"{len(found)} candidates")
        return 0
    cases = read_cases(args.cases)
    if args.only:
        cases = [c for c in cases if c["n"] in args.only]
    done = json.loads(args.output.read_text()) if args.output.exists() else []
    seen = set() if args.again else {(e["fix"], e["introduced"]) for e in done}
    for case in cases:
        if (case["fix"], case["introduced"]) in seen:
            continue
        entry = run_case(args.tree, case, args.timeout, args.label)
        done = [e for e in done if (e["fix"], e["introduced"]) != (case["fix"], case["introduced"])]
        done.append(entry)
        args.output.write_text(json.dumps(done, indent=1) + "\n")
        where = sorted({f"{f.get('file')}:{f.get('line')}" for f in entry["findings"]})
        print(f"#{case['n']} {sha_short(case['introduced'])} {entry['status']} {entry['seconds']}s "
              f"{len(entry['findings'])} finding(s) {' '.join(where)[:300]} "
              f"{entry.get('error', '')[:200]}", flush=True)
    return 0


def sha_short(sha: str) -> str:
    return sha[:12]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
