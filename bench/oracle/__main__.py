"""The oracle harness's command line (run from the repository's top).

    python3 -m bench.oracle run --arch x86_64 --seeds 1-50 --targets all
    python3 -m bench.oracle witnesses --arch x86_64 --count 40
    python3 -m bench.oracle report

`run` does one configuration at a time and writes its result to
WORK/results/ARCH/CONFIG.json as soon as it is done; a configuration whose
result exists is skipped, so an interrupted run resumes where it stopped
and an arch or a seed range can be run on its own. `report` reads every
result and prints the agreement per layer and architecture, and writes
WORK/report.json and WORK/disagreements.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.oracle.harness import ARCHES, CONFIG_TARGETS, Oracle, Settings, check_witness, \
    compare, ground_truth, kmax_conditions, line_conditions

DEFAULT_TREE = os.environ.get("KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1")
DEFAULT_WORK = "/tmp/kwhen-oracle"
DEFAULT_KMAX = "/tmp/kmaxrun/kmax.pickle"


def seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def open_kwhen(tree: Path, arch: str, work: Path):
    os.environ.setdefault("KWHEN_CACHE_DIR", str(work / "cache"))
    from kwhen.control import open_tree

    return open_tree(tree, ARCHES[arch].kwhen_arch)


def cmd_run(args) -> int:
    """Ground truth for each configuration not yet done, then the comparison."""
    work, tree = Path(args.work), Path(args.tree)
    arch = ARCHES[args.arch]
    names = [f"randconfig-{s}" for s in seeds(args.seeds)]
    if args.targets == "all":
        names += list(CONFIG_TARGETS)
    elif args.targets:
        names += args.targets.split(",")
    truths = work / "truth" / arch.name
    results = work / "results" / arch.name
    truths.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    todo = [n for n in names if not (results / f"{n}.json").is_file()]
    print(f"{arch.name}: {len(names)} configurations, {len(todo)} to do", flush=True)
    if not todo:
        return 0
    kwhen_tree, settings = load(tree, work, args)
    oracle = Oracle(tree, work, arch)
    for name in todo:
        started = time.time()
        record_path = truths / f"{name}.json"
        if record_path.is_file():
            record = json.loads(record_path.read_text())
        else:
            try:
                record = ground_truth(oracle, name, settings)
            except RuntimeError as e:
                print(f"{arch.name} {name}: {e}", file=sys.stderr, flush=True)
                (results / f"{name}.json").write_text(json.dumps(
                    {"arch": arch.name, "config": name, "error": str(e)[-3000:]}))
                continue
            record_path.write_text(json.dumps(record))
        try:
            result = compare(kwhen_tree, record, settings)
        except Exception as e:     # kwhen failed on a kernel-made configuration
            print(f"{arch.name} {name}: kwhen failed: {e!r}", file=sys.stderr, flush=True)
            (results / f"{name}.json").write_text(json.dumps(
                {"arch": arch.name, "config": name, "error": f"kwhen: {e!r}"}))
            continue
        result["timing"].update(record["timing"])
        result["seconds"] = time.time() - started
        (results / f"{name}.json").write_text(json.dumps(result, indent=1))
        print(summary_line(result), flush=True)
    return 0


def load(tree: Path, work: Path, args):
    kwhen_tree = open_kwhen(tree, args.arch, work)
    settings = Settings(line_files=getattr(args, "line_files", 15),
                        headers=getattr(args, "headers", False),
                        includer_files=getattr(args, "includer_files", 5))
    pickle = getattr(args, "kmax_pickle", None)
    if args.arch in ("x86_64", "i386") and pickle and Path(pickle).is_file():
        settings.kmax = kmax_conditions(kwhen_tree, Path(pickle),
                                        work / "kmax" / f"{args.arch}.json")
    return kwhen_tree, settings


def cmd_compare(args) -> int:
    """The comparison again, from the recorded ground truth (no make, no
    gcc): after a change to kwhen's model."""
    work, tree = Path(args.work), Path(args.tree)
    truths = sorted((work / "truth" / args.arch).glob("*.json"))
    results = work / "results" / args.arch
    results.mkdir(parents=True, exist_ok=True)
    kwhen_tree, settings = load(tree, work, args)
    for path in truths:
        record = json.loads(path.read_text())
        started = time.time()
        result = compare(kwhen_tree, record, settings)
        result["timing"].update(record["timing"])
        result["seconds"] = time.time() - started
        (results / path.name).write_text(json.dumps(result, indent=1))
        print(summary_line(result), flush=True)
    return 0


def summary_line(r: dict) -> str:
    if "error" in r:
        return f"{r['arch']} {r['config']}: error"
    f = r["files"]
    text = (f"{r['arch']} {r['config']}: kconfig {'ok' if r['kconfig']['accepted'] else 'REJECTED'}"
            f", files {f['agree']}/{f['pairs']} (missed {len(f['missed'])}, extra {len(f['extra'])}"
            f", undecided {f['undecided']})")
    if "branches" in r:
        b = r["branches"]
        text += (f", branches right {b['right']}/{b['branches']} (wrong {b['wrong']}, unknown"
                 f" {b['unknown']}; {b['included_files']} included files)")
    else:
        text += f", lines {r['lines']['agree']}/{r['lines']['pairs']}"
    if "kmax_files" in r:
        k = r["kmax_files"]
        text += f", kmax files {k['agree']}/{k['pairs']}"
    return text + f" [{r['seconds']:.0f} s]"


def cmd_relines(args) -> int:
    """The line layer's gcc runs again for the recorded configurations and
    sampled files (after a change to how gcc's output is read)."""
    work, tree = Path(args.work), Path(args.tree)
    oracle = Oracle(tree, work, ARCHES[args.arch])
    for path in sorted((work / "truth" / args.arch).glob("*.json")):
        record = json.loads(path.read_text())
        oracle.use_config(record["dotconfig"])
        for src, seen in record["lines"].items():
            kept = oracle.kept_lines(src, seen["module"])
            seen["kept"] = sorted(kept) if kept is not None else None
        path.write_text(json.dumps(record))
        print(f"{args.arch} {record['config']}: {len(record['lines'])} files again", flush=True)
    return 0


def cmd_witnesses(args) -> int:
    work, tree = Path(args.work), Path(args.tree)
    arch = ARCHES[args.arch]
    results = work / "results" / arch.name
    out = results / "witnesses.json"
    done = json.loads(out.read_text()) if out.is_file() else []
    kwhen_tree = open_kwhen(tree, args.arch, work)
    oracle = Oracle(tree, work, arch, "witness")
    if not (oracle.out / ".config").is_file():
        oracle.make("defconfig")          # scripts/kconfig/conf, once
    picked = line_conditions(kwhen_tree, results, args.count, f"witness:{arch.name}")
    seen = {(d["file"], d["line"]) for d in done}
    for path, line, cond in picked:
        if (path, line) in seen:
            continue
        try:
            verdict = check_witness(oracle, kwhen_tree, cond)
        except RuntimeError as e:
            verdict = {"survives": False, "reason": str(e)[-500:]}
        verdict.update({"file": path, "line": line, "condition": str(cond)[:300]})
        done.append(verdict)
        out.write_text(json.dumps(done, indent=1))
        print(f"{arch.name} witness {path}:{line}: "
              f"{'survives' if verdict['survives'] else 'CHANGED'} {verdict.get('changed', '')}",
              flush=True)
    return 0


def cmd_report(args) -> int:
    from bench.oracle.report import report

    text = report(Path(args.work))
    print(text)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.oracle")
    parser.add_argument("--tree", default=DEFAULT_TREE)
    parser.add_argument("--work", default=DEFAULT_WORK)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="compare layers 1-3 on configurations")
    run.add_argument("--arch", choices=sorted(ARCHES), required=True)
    run.add_argument("--seeds", default="", help="randconfig seeds: 1-50 or 1,2,7")
    run.add_argument("--targets", default="",
                     help="'all' or a comma list of " + ", ".join(CONFIG_TARGETS))
    run.add_argument("--line-files", type=int, default=15,
                     help="compiled files sampled per configuration for the line layer")
    run.add_argument("--kmax-pickle", default=DEFAULT_KMAX)
    run.add_argument("--headers", action="store_true",
                     help="lines with the real #includes: make prepare, the kernel's own gcc "
                          "command, kwhen reading headers; unknown counts as a miss")
    run.add_argument("--includer-files", type=int, default=5,
                     help="with --headers: files that #include a .c, sampled per configuration")
    wit = sub.add_parser("witnesses", help="layer 4: witnesses through olddefconfig")
    wit.add_argument("--arch", choices=sorted(ARCHES), required=True)
    wit.add_argument("--count", type=int, default=40)
    again = sub.add_parser("compare", help="redo the comparison from the recorded ground truth")
    again.add_argument("--arch", choices=sorted(ARCHES), required=True)
    again.add_argument("--kmax-pickle", default=DEFAULT_KMAX)
    relines = sub.add_parser("relines", help="the line layer's gcc runs again")
    relines.add_argument("--arch", choices=sorted(ARCHES), required=True)
    sub.add_parser("report", help="agreement tables from the results so far")
    args = parser.parse_args(argv)
    return {"run": cmd_run, "compare": cmd_compare, "relines": cmd_relines,
            "witnesses": cmd_witnesses,
            "report": cmd_report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
