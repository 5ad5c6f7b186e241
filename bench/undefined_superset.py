"""undefined-symbol against the kernel's scripts/checkkconfigsymbols.py.

    python bench/undefined_superset.py /tmp/uboot --arch sandbox -n 30 -o ckc.json
    python bench/undefined_superset.py /tmp/uboot --commits sha1 sha2 ... -o ckc.json

Issue #3 asks that on the same commits kwhen finds at least what the tree's
own scripts/checkkconfigsymbols.py (ckc) finds. For each commit this runs
`checkkconfigsymbols.py -c SHA` and then `kwhen check SHA --format json`,
strictly one after the other (ckc `git reset --hard`s the tree to the
commit's parent and to the commit, then back), and compares the symbols:

- misses: symbols ckc reports that kwhen does not (the target is none);
- extras: symbols kwhen reports that ckc does not, each with a reason found
  mechanically (see `_extra_reason`), "unexplained" when none applies.

The tree must be a clean git work tree with scripts/checkkconfigsymbols.py.
Its HEAD is recorded first and restored (`git reset --hard`) at the end,
also when something fails midway. -n picks a spread of the newest
non-merge commits whose added lines mention CONFIG_; --commits adds more.
--markdown writes the per-commit table for bench/undefined_superset.md.
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

from kwhen.checks.undefined import references

CKC = "scripts/checkkconfigsymbols.py"
MESSAGE_SYMBOL = re.compile(r"CONFIG_(\w+)")
# Where ckc does not look (its get_files()): such paths neither reference
# nor define symbols for it.
CKC_SKIPPED = re.compile(r"\.git|ChangeLog|\.log|^tools/")


def git(tree: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True,
                          errors="replace", check=check).stdout


def pick_commits(tree: Path, rev: str, count: int, window: int) -> list[str]:
    """`count` commits spread evenly over the newest `window` non-merge
    commits below `rev` whose diff adds or removes a CONFIG_ name."""
    shas = git(tree, "log", "--no-merges", "-G", "CONFIG_[A-Z0-9_]+", "--format=%H",
               "-n", str(window), rev).split()
    if count >= len(shas):
        return shas
    step = len(shas) / count
    return [shas[int(i * step)] for i in range(count)]


def parse_ckc(output: str) -> dict[str, list[str]]:
    """symbol -> referencing files, from ckc's (uncoloured) report."""
    found, symbol = {}, None
    for line in output.splitlines():
        if line.startswith("Referencing files:") and symbol:
            found[symbol] = [f.strip() for f in line.split(":", 1)[1].split(",") if f.strip()]
        elif line.startswith(("Similar symbols:", "Commits changing symbol:", "\t")):
            continue
        elif line.strip():
            symbol = line.strip()
    return found


def run_ckc(tree: Path, sha: str, nice: list[str]) -> tuple[dict, float, str]:
    started = time.time()
    done = subprocess.run([*nice, sys.executable, CKC, "-c", sha, "--no-color"], cwd=tree,
                          capture_output=True, text=True, errors="replace")
    elapsed = time.time() - started
    if done.returncode != 0:
        raise RuntimeError(f"ckc failed on {sha}: {done.stdout[-500:]}{done.stderr[-500:]}")
    return parse_ckc(done.stdout), elapsed, done.stdout


def run_kwhen(tree: Path, sha: str, arch: str, nice: list[str],
              env: dict) -> tuple[dict, float, list]:
    started = time.time()
    done = subprocess.run([*nice, "kwhen", "check", sha, "--tree", str(tree), "--arch", arch,
                           "--format", "json"], capture_output=True, text=True, env=env)
    elapsed = time.time() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"kwhen failed on {sha} ({done.returncode}): {done.stderr[-800:]}")
    findings = [f for f in json.loads(done.stdout)["findings"] if f["kind"] == "undefined-symbol"]
    found: dict[str, set] = {}
    for f in findings:
        for symbol in MESSAGE_SYMBOL.findall(f["message"]):
            found.setdefault(symbol, set()).add(f["file"])
    return {s: sorted(files) for s, files in found.items()}, elapsed, findings


def _referenced_at(tree: Path, rev: str, path: str, symbol: str) -> bool:
    text = subprocess.run(["git", "-C", str(tree), "show", f"{rev}:{path}"], capture_output=True,
                          text=True, errors="replace").stdout
    return any(symbol in references(path, line) for line in text.splitlines())


def _extra_reason(tree: Path, sha: str, symbol: str, files: list[str], findings: list) -> str:
    """Why ckc does not report a symbol kwhen reports, when a known
    difference explains it."""
    messages = [m for f in findings for m in f["message"].split("; ")
                if f"CONFIG_{symbol} " in m]
    if messages and all("still used here" in m for m in messages):
        return "dangling: the commit removed its definition (kwhen greps the tree)"
    if all(CKC_SKIPPED.search(p) for p in files):
        return "path ckc skips (.git/.log/ChangeLog/tools)"
    if re.match(r"[0-9]", symbol):
        return "Kconfig word starting with a digit (ckc drops it as numeric)"
    if all(_referenced_at(tree, f"{sha}~", p, symbol) for p in files):
        return "file already referenced it before the commit (ckc compares files per symbol)"
    return "unexplained"


def _miss_reason(tree: Path, sha: str, symbol: str) -> str:
    defs = git(tree, "grep", "-l", "-E", rf"^\s*(menu)?config\s+{symbol}\b", sha, "--",
               "*Kconfig*", check=False).split()
    defs = [d.split(":", 1)[1] for d in defs]
    if defs and all(CKC_SKIPPED.search(d) for d in defs):
        return "defined only in " + ", ".join(defs) + " (ckc does not read it)"
    return "kwhen misses it"


def compare(tree: Path, sha: str, ckc: dict, kwhen: dict, findings: list) -> dict:
    misses = {s: _miss_reason(tree, sha, s) for s in sorted(set(ckc) - set(kwhen))}
    file_misses = sorted(f"{s}:{p}" for s, files in ckc.items() if s in kwhen
                         for p in files if p not in kwhen[s])
    extras = {s: _extra_reason(tree, sha, s, kwhen[s], findings)
              for s in sorted(set(kwhen) - set(ckc))}
    return {"misses": misses, "file_misses": file_misses, "extras": extras}


def restore(tree: Path, head: str) -> None:
    if git(tree, "rev-parse", "HEAD").strip() != head:
        git(tree, "reset", "-q", "--hard", head)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--arch", default="sandbox")
    ap.add_argument("-n", "--count", type=int, default=0, help="commits picked from history")
    ap.add_argument("--window", type=int, default=200, help="newest commits to pick from")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--commits", nargs="*", default=[], help="further commits to check")
    ap.add_argument("--cache-dir", default="/tmp/kwc-ckc", help="KWHEN_CACHE_DIR")
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--markdown", type=Path, help="write the per-commit table here")
    args = ap.parse_args(argv)

    tree = args.tree.resolve()
    if not (tree / CKC).is_file():
        ap.error(f"{tree} has no {CKC}")
    if git(tree, "status", "--porcelain", "--untracked-files=no").strip():
        ap.error(f"{tree} is dirty; ckc would refuse it")
    head = git(tree, "rev-parse", "HEAD").strip()
    env = dict(os.environ, KWHEN_CACHE_DIR=args.cache_dir)
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    commits = pick_commits(tree, args.rev, args.count, args.window) if args.count else []
    commits += [git(tree, "rev-parse", c).strip() for c in args.commits]

    rows = []
    try:
        for sha in commits:
            ckc, ckc_time, _ = run_ckc(tree, sha, nice)
            restore(tree, head)
            kwhen, kwhen_time, findings = run_kwhen(tree, sha, args.arch, nice, env)
            row = {"commit": sha, "title": git(tree, "show", "-s", "--format=%s", sha).strip(),
                   "ckc": ckc, "kwhen": kwhen, "ckc_seconds": round(ckc_time, 1),
                   "kwhen_seconds": round(kwhen_time, 1),
                   **compare(tree, sha, ckc, kwhen, findings)}
            rows.append(row)
            print(f"{sha[:12]} ckc={sorted(ckc)} kwhen={sorted(kwhen)} misses={row['misses']} "
                  f"extras={row['extras']} ({ckc_time:.0f}s / {kwhen_time:.0f}s)", flush=True)
            args.output.write_text(json.dumps({"tree": str(tree), "head": head, "arch": args.arch,
                                               "commits": rows}, indent=1) + "\n")
    finally:
        restore(tree, head)
    if args.markdown:
        args.markdown.write_text(markdown(rows))
    return 0


def markdown(rows: list) -> str:
    out = ["| commit | ckc symbols | kwhen symbols | misses | extras (reason) | ckc s | kwhen s |",
           "| --- | --- | --- | --- | --- | ---: | ---: |"]
    for r in rows:
        extras = "; ".join(f"{s} ({why})" for s, why in r["extras"].items()) or "-"
        misses = "; ".join(f"{s} ({why})" for s, why in r["misses"].items()) or "-"
        out.append(f"| {r['commit'][:12]} | {', '.join(sorted(r['ckc'])) or '-'} | "
                   f"{', '.join(sorted(r['kwhen'])) or '-'} | {misses} | {extras} | "
                   f"{r['ckc_seconds']} | {r['kwhen_seconds']} |")
    ckc = sum(len(r["ckc"]) for r in rows)
    kw = sum(len(r["kwhen"]) for r in rows)
    misses = sum(len(r["misses"]) for r in rows)
    extras = sum(len(r["extras"]) for r in rows)
    out.append(f"| **{len(rows)} commits** | {ckc} | {kw} | {misses} | {extras} | "
               f"{sum(r['ckc_seconds'] for r in rows):.0f} | "
               f"{sum(r['kwhen_seconds'] for r in rows):.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
