"""Benchmark: storing many items in kwhen's cache (a check stores one #if
structure per file it reads: thousands on a Kconfig or Makefile commit).

    PYTHONPATH=<kwhen checkout> python3 bench/cache_puts.py [--items 3000]

Each put used to count every stored item to decide whether to evict
(quadratic in the items written); the cache now keeps a running total.
Run it with two checkouts side by side for the before/after figure.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from kwhen.sqldata import Cache


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--size", type=int, default=2000, help="bytes per item")
    args = ap.parse_args()
    directory, root = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    cache = Cache(directory)
    started = time.time()
    for i in range(args.items):
        cache.put("cpp", f"k{i}", root, [], os.urandom(args.size), time.time_ns())
    print(f"{args.items} puts of {args.size} bytes: {time.time() - started:.2f} s")


if __name__ == "__main__":
    main()
