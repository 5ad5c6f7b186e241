"""How far kwhen's and kmax's per-file Kbuild conditions agree.

kmax names each compilation unit (`kernel/time/tick-sched.o`) with an
SMT-LIB formula over Boolean CONFIG_X variables meaning "X is enabled" (y or
m), and only for the unit's own Makefile: the directories above it are not
part of it. So the two are compared as the configurations that compile the
file: kmax's formula is read back into kwhen's terms (CONFIG_X as X=y or
X=m; a name Kconfig does not define as n) and both are checked for
equivalence over the valid x86 configurations with kwhen's SAT model.
Plain propositional equivalence (z3) is reported beside it. Differences are
listed with both formulas so that a sample can be judged by reading the
Makefiles.

    python3 bench/agreement.py --tree /opt/kwhen-linux/linux-source-6.1 --kmax-pickle kmax.pickle
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import z3

X86_DIRS = ["init/", "usr/", "arch/x86/", "kernel/", "certs/", "mm/", "fs/", "ipc/", "security/",
            "crypto/", "block/", "io_uring/", "lib/", "arch/x86/lib/", "drivers/", "sound/",
            "samples/", "net/", "virt/", "arch/x86/pci/", "arch/x86/power/", "arch/x86/video/",
            "arch/x86/math-emu/"]


def kbuild_dirs(tree: Path) -> list[str]:
    """The directories the root Kbuild and arch/x86/Makefile descend into."""
    return [d for d in X86_DIRS if (tree / d).is_dir()]


def to_z3(f, cache: dict):
    """A kwhen Formula as a z3 expression over kmax's variable names."""
    if f.op == "const":
        return z3.BoolVal(f.name)
    if f.op == "var":
        name = f.name[:-2] if f.name.endswith("=m") else f.name
        if not name.replace("_", "").isalnum():
            name = "FREE:" + name          # kwhen's free propositions
        else:
            name = "CONFIG_" + name
        if name not in cache:
            cache[name] = z3.Bool(name)
        return cache[name]
    kids = [to_z3(a, cache) for a in f.args]
    if f.op == "not":
        return z3.Not(kids[0])
    return z3.And(*kids) if f.op == "and" else z3.Or(*kids)


def kmax_formula(text: str):
    parsed = z3.parse_smt2_string(text)
    return z3.And(*parsed) if len(parsed) else z3.BoolVal(True)


def from_z3(e, model):
    """kmax's z3 expression as a kwhen Formula over the Kconfig model."""
    from kwhen.logic.formula import FALSE, TRUE, conj_all, disj_all, neg
    if z3.is_true(e):
        return TRUE
    if z3.is_false(e):
        return FALSE
    if z3.is_not(e):
        return neg(from_z3(e.arg(0), model))
    if z3.is_and(e):
        return conj_all(from_z3(k, model) for k in e.children())
    if z3.is_or(e):
        return disj_all(from_z3(k, model) for k in e.children())
    if z3.is_const(e):
        name = e.decl().name()
        symbol = name[len("CONFIG_"):] if name.startswith("CONFIG_") else name
        if symbol.endswith("_MODULE") and symbol[:-7] in model.symbols:
            from kwhen.logic.formula import var
            return var(symbol[:-7] + "=m")
        return model.enabled(symbol) if symbol in model.symbols else FALSE
    raise ValueError(f"unexpected kmax expression: {e}")


def equivalent(a, b) -> bool:
    s = z3.Solver()
    s.set("timeout", 5000)
    s.add(z3.Xor(a, b))
    return s.check() == z3.unsat


def compare_with_kmax(tree: Path, kmax_pickle: Path, env=None) -> dict:
    from kwhen.control import open_tree

    kwhen_tree = open_tree(tree, "x86")
    files = kwhen_tree.kbuild.files
    with open(kmax_pickle, "rb") as f:
        units = pickle.load(f)
    cache: dict = {}
    space, model = kwhen_tree.space, kwhen_tree.model
    agree, agree_plain, differ, only_kmax, only_kwhen = 0, 0, [], [], []
    seen = set()
    for unit, smt in sorted(units.items()):
        if not unit.endswith(".o"):
            continue
        stem = unit[:-2]
        source = next((stem + ext for ext in (".c", ".S") if stem + ext in files), None)
        if source is None:
            if any((tree / (stem + ext)).is_file() for ext in (".c", ".S")):
                only_kmax.append(unit)
            continue
        seen.add(source)
        builtin, module = files[source]
        theirs = kmax_formula(smt)
        if equivalent(to_z3(builtin | module, cache), theirs):
            agree_plain += 1
        try:
            kmax_cond = from_z3(theirs, model)
        except ValueError:
            kmax_cond = None
        if kmax_cond is not None and space.equivalent(builtin | module, kmax_cond):
            agree += 1
        else:
            entry = {"file": source, "kwhen": str(builtin | module), "kmax": str(theirs)[:400]}
            if kmax_cond is not None:
                ours = builtin | module
                only_ours = space.witness(ours & ~kmax_cond) \
                    if space.possible(ours & ~kmax_cond) else None
                entry["kwhen_only_example"] = only_ours.describe() if only_ours else None
                entry["kmax_only_possible"] = space.possible(kmax_cond & ~(builtin | module))
            differ.append(entry)
    for source in files:
        if source not in seen and source.endswith((".c", ".S")):
            only_kwhen.append(source)
    compared = agree + len(differ)
    return {
        "summary": {"units_compared": compared,
                    "equivalent_under_kconfig": agree, "different": len(differ),
                    "agreement": round(agree / compared, 4) if compared else None,
                    "equivalent_as_plain_formulas": agree_plain,
                    "only_kmax": len(only_kmax), "only_kwhen": len(only_kwhen)},
        "different": differ, "only_kmax": only_kmax, "only_kwhen": only_kwhen,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, required=True)
    parser.add_argument("--kmax-pickle", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("bench/out/agreement.json"))
    args = parser.parse_args()
    report = compare_with_kmax(args.tree, args.kmax_pickle)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["summary"], indent=2))
    print(f"details: {args.out}")


if __name__ == "__main__":
    sys.exit(main())
