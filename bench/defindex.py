"""The definition index (kwhen/defindex.py): completeness and speed.

    python3 bench/defindex.py [--tree GIT_TREE] [--functions 300] [--variables 60]
                              [--macros 60] [--repeat 3] [--seed 1]

Completeness: names are sampled from the tree (functions: a random function
that `function_spans` finds in a random file; variables: a name for which
`find_definitions` reports a variable; macros: a lowercase `#define`). For
each, the exact answer is what kwhen computed before the index: the files
`git grep -w` finds mentioning the name, filtered by `find_definitions`.
A *miss* is a file with a definition that the index does not list (target
0). Names the index does not cover (an uppercase letter) are counted apart:
kwhen greps for them as before.

Speed: the cold build (git grep, parse, store) into an empty cache, and a
warm lookup in a fresh process-like state (git rev-parse and git diff, then
reading one bucket), each the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kwhen import defindex  # noqa: E402
from kwhen.cpp.definitions import find_definitions, function_spans  # noqa: E402
from kwhen.sources import CODE_GLOBS  # noqa: E402
from kwhen.sqldata import Cache  # noqa: E402

_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([a-z_][a-z0-9_]*)\b", re.M)
_ASSIGNED = re.compile(r"\b([A-Za-z_]\w*)\s*(?:\[[^\]\n]*\]\s*)*(?:=|;)")


def tracked_sources(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", *CODE_GLOBS],
                         capture_output=True, check=True).stdout
    return sorted(os.fsdecode(p) for p in out.split(b"\0") if p)


def read(root: Path, relpath: str) -> str:
    try:
        return (root / relpath).read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def sample_names(root: Path, files: list[str], rng, functions: int, variables: int,
                 macros: int) -> dict[str, str]:
    """name -> kind sampled, drawn from random files."""
    want = {"function": functions, "variable": variables, "macro": macros}
    names: dict[str, str] = {}
    tries = 0
    while any(want.values()) and tries < 200 * sum((functions, variables, macros)):
        tries += 1
        relpath = rng.choice(files)
        text = read(root, relpath)
        if not text:
            continue
        kind = rng.choice([k for k, n in want.items() if n > 0])
        pool: list[str] = []
        if kind == "function":
            pool = [n for n, _, _ in function_spans(text, relpath)]
        elif kind == "macro":
            pool = _DEFINE.findall(text)
        else:
            candidates = list(dict.fromkeys(_ASSIGNED.findall(text)))
            rng.shuffle(candidates)
            for name in candidates[:30]:
                if any(d.kind == "variable" for d in find_definitions(text, name, relpath)):
                    pool = [name]
                    break
        pool = [n for n in pool if n not in names]
        if pool:
            names[rng.choice(pool)] = kind
            want[kind] -= 1
    return names


def exact_definition_files(root: Path, names: list[str]) -> dict[str, set[str]]:
    """What kwhen did before the index: git grep -w, then find_definitions."""
    # one pass; git grep -F with hundreds of -e patterns takes many minutes
    pattern = r"\b(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")\b"
    out = subprocess.run(["git", "-C", str(root), "grep", "-z", "-o", "-a", "-P", pattern,
                          "--", *CODE_GLOBS], capture_output=True).stdout
    mentions: dict[str, set[str]] = {}
    for line in out.split(b"\n"):
        path, _, name = line.partition(b"\0")
        if name:
            mentions.setdefault(os.fsdecode(path), set()).add(name.decode())
    found: dict[str, set[str]] = {n: set() for n in names}
    for relpath, here in mentions.items():
        text = read(root, relpath)
        for name in here & set(names):
            if find_definitions(text, name, relpath):
                found[name].add(relpath)
    return found, mentions


def mention_counts(root: Path, names: list[str]) -> dict[str, int]:
    pattern = r"\b(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")\b"
    out = subprocess.run(["git", "-C", str(root), "grep", "-z", "-o", "-a", "-P", pattern,
                          "--", *CODE_GLOBS], capture_output=True).stdout
    pairs = {tuple(line.split(b"\0", 1)) for line in out.split(b"\n") if b"\0" in line}
    counts: dict[str, int] = {}
    for _, name in pairs:
        counts[name.decode()] = counts.get(name.decode(), 0) + 1
    return counts


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", default="/tmp/seedrepo")
    ap.add_argument("--functions", type=int, default=300)
    ap.add_argument("--variables", type=int, default=60)
    ap.add_argument("--macros", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-files", type=int, default=1500)
    args = ap.parse_args()
    root = Path(args.tree).resolve()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="kwhen-defindex-") as scratch:
        builds = []
        for i in range(args.repeat):
            cache = Cache(Path(scratch) / f"cold{i}")
            index = defindex.DefinitionIndex(root, cache)
            seconds, _ = timed(lambda: index.files_defining("main"))
            builds.append(seconds)
            cache.close()
        db = Path(scratch) / "cold0" / "kwhen.sqlite3"
        print(f"cold build (grep + parse + store), median of {args.repeat}: "
              f"{statistics.median(builds):.2f} s  (runs: {', '.join(f'{b:.2f}' for b in builds)}); "
              f"cache file {db.stat().st_size / 1e6:.1f} MB")

        lookups, per_name = [], []
        for _ in range(args.repeat):
            def lookup():
                cache = Cache(Path(scratch) / "cold0")
                index = defindex.DefinitionIndex(root, cache)
                files = index.files_defining("setup_per_cpu_areas")
                cache.close()
                return files
            seconds, files = timed(lookup)
            lookups.append(seconds)
        print(f"warm lookup of setup_per_cpu_areas in a fresh state (rev-parse, diff, one bucket), "
              f"median of {args.repeat}: {statistics.median(lookups) * 1000:.0f} ms -> {len(files)} files")

        files = tracked_sources(root)
        names = sample_names(root, files, rng, args.functions, args.variables, args.macros)
        # A name in thousands of files (__init, main) would cost minutes of
        # find_definitions: such names are counted and left out.
        counts = mention_counts(root, sorted(names))
        common = sorted(n for n in names if counts.get(n, 0) > args.max_files)
        for n in common:
            del names[n]
        print(f"left out, mentioned in more than {args.max_files} files: {len(common)} "
              f"({', '.join(common)})")
        seconds, (exact, mentions) = timed(lambda: exact_definition_files(root, sorted(names)))
        print(f"exact answers (git grep -w + find_definitions) for {len(names)} names: {seconds:.1f} s")

        cache = Cache(Path(scratch) / "cold0")
        index = defindex.DefinitionIndex(root, cache)
        index.files_defining("main")            # waits for git diff
        misses, uncovered = [], []
        candidates = mentioned = defining = 0
        for name, kind in sorted(names.items()):
            start = time.perf_counter()
            got = index.files_defining(name)
            per_name.append(time.perf_counter() - start)
            if got is None:
                uncovered.append((name, kind))
                continue
            candidates += len(got)
            mentioned += sum(1 for here in mentions.values() if name in here)
            defining += len(exact[name])
            for relpath in sorted(exact[name] - set(got)):
                lines = [d.line for d in find_definitions(read(root, relpath), name, relpath)]
                misses.append((kind, name, relpath, lines))
        cache.close()
        covered = len(names) - len(uncovered)
        kinds = {k: sum(1 for v in names.values() if v == k) for k in ("function", "variable", "macro")}
        print(f"sampled: {kinds}; covered by the index: {covered}, "
              f"not covered (uppercase, grepped as before): {len(uncovered)}")
        print(f"files per covered name: {mentioned / max(covered, 1):.1f} mention it, "
              f"{candidates / max(covered, 1):.1f} from the index, "
              f"{defining / max(covered, 1):.1f} define it")
        print(f"lookup per name, warm index in memory of the process: "
              f"median {statistics.median(per_name) * 1000:.2f} ms")
        print(f"misses (files): {len(misses)}, in {len({m[1] for m in misses})} names")
        by_name: dict = {}
        for kind, name, relpath, lines in misses:
            by_name.setdefault((kind, name), []).append(f"{relpath}:{','.join(map(str, lines))}")
        for (kind, name), places in sorted(by_name.items()):
            more = f" and {len(places) - 3} more files" if len(places) > 3 else ""
            print(f"  MISS {kind} {name}: {', '.join(places[:3])}{more}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
