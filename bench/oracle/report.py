"""Agreement tables and the list of disagreements from the harness's results."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path


def pct(a: int, n: int) -> str:
    return f"{100.0 * a / n:.3f}%" if n else "n/a"


def load(work: Path) -> dict:
    out = defaultdict(list)
    for path in sorted((work / "results").glob("*/*.json")):
        if path.name == "witnesses.json":
            continue
        out[path.parent.name].append(json.loads(path.read_text()))
    return out


_BUILTIN = re.compile(r"defined\((__\w*__|_LP64|_ILP32|__\w+)\)")


def unknown_kind(free: list) -> str:
    """What leaves a branch undecided, from the free propositions left
    once the .config is substituted (the first kind that applies)."""
    if any(v.startswith("cpp(#include ") for v in free):
        return "an #include under a condition past kwhen's bound"
    if any(_BUILTIN.fullmatch(v) for v in free):
        return "a compiler built-in kwhen does not model"
    if any(v.startswith("defined(") for v in free):
        return "a macro from a -D flag or a header kwhen did not follow"
    if any(v.startswith("cpp(") for v in free):
        return "a macro value kwhen gave up on (header read under a bound, or generated)"
    if any(v.startswith("?") for v in free):
        return "a Kconfig or Makefile construct kwhen leaves free"
    return "a Kconfig value the .config does not fix"


def report(work: Path) -> str:
    results = load(work)
    rows, disagreements, summary = [], [], {}
    for arch, items in sorted(results.items()):
        ok = [r for r in items if "error" not in r]
        errors = [r["config"] for r in items if "error" in r]
        s = summary[arch] = {"configurations": len(ok), "errors": errors}
        accepted = sum(r["kconfig"]["accepted"] for r in ok)
        s["kconfig"] = (accepted, len(ok))
        rejected = [r["config"] for r in ok if not r["kconfig"]["accepted"]]
        for layer in ("files", "kmax_files", "kwhen_on_kmax_files", "lines"):
            have = [r[layer] for r in ok if layer in r]
            if not have:
                continue
            s[layer] = (sum(x["agree"] for x in have), sum(x["pairs"] for x in have),
                        sum(x["undecided"] for x in have))
        missed, extra = Counter(), Counter()
        kmissed, kextra = Counter(), Counter()
        for r in ok:
            missed.update(r["files"]["missed"])
            extra.update(r["files"]["extra"])
            if "kmax_files" in r:
                kmissed.update(r["kmax_files"]["missed"])
                kextra.update(r["kmax_files"]["extra"])
        s["files_missed"] = dict(missed.most_common())
        s["files_extra"] = dict(extra.most_common())
        s["kmax_missed_files"] = len(kmissed)
        s["kmax_extra_files"] = len(kextra)
        where = defaultdict(list)
        for r in ok:
            for p in r["files"]["missed"]:
                where[("missed", p)].append(r["config"])
            for p in r["files"]["extra"]:
                where[("extra", p)].append(r["config"])
        for (kind, p), configs in sorted(where.items()):
            disagreements.append(f"- {arch} files {kind}: {p} in {len(configs)} configuration(s): "
                                 f"{', '.join(configs[:6])}{' ...' if len(configs) > 6 else ''}")
        for r in ok:
            for d in r.get("lines", {}).get("differ", []):
                disagreements.append(
                    f"- {arch} lines: {d['file']}:{d['line']} `{d.get('directive', '')}` in "
                    f"{r['config']}: kwhen {d.get('kwhen')}, gcc {d.get('gcc')}"
                    f"{' error ' + d['error'] if 'error' in d else ''}")
        for name in rejected:
            disagreements.append(f"- {arch} kconfig: {name} rejected")
        wpath = work / "results" / arch / "witnesses.json"
        if wpath.is_file():
            ws = json.loads(wpath.read_text())
            s["witnesses"] = (sum(w["survives"] for w in ws), len(ws))
            for w in ws:
                if not w["survives"]:
                    disagreements.append(
                        f"- {arch} witness: {w['file']}:{w['line']} ({w['condition'][:120]}): "
                        f"{w.get('reason') or 'changed ' + ', '.join(w.get('changed', [])) or 'condition false after olddefconfig'}")
        seconds = sum(r.get("seconds", 0) for r in ok)
        s["seconds"] = seconds
        rows.append(arch)
    lines = ["| arch | configs | Kconfig accepted | files kwhen | files kmax | "
             "files kwhen on kmax's files | lines kwhen | witnesses survive |",
             "|---|---|---|---|---|---|---|---|"]
    for arch in rows:
        s = summary[arch]

        def cell(key):
            if key not in s:
                return "n/a"
            a, n, *rest = s[key]
            und = f", {rest[0]} undecided" if rest and rest[0] else ""
            return f"{pct(a, n)} ({a}/{n}{und})"
        lines.append(f"| {arch} | {s['configurations']} | {cell('kconfig')} | {cell('files')} | "
                     f"{cell('kmax_files')} | {cell('kwhen_on_kmax_files')} | {cell('lines')} | "
                     f"{cell('witnesses')} |")
    branch_rows = []
    for arch in rows:
        have = [r["branches"] for r in results[arch] if "branches" in r]
        if not have:
            continue
        t = {k: sum(b[k] for b in have) for k in
             ("branches", "right", "wrong", "unknown", "files", "files_right",
              "files_decided_right", "included_files", "included_branches")}
        summary[arch]["branches"] = t
        branch_rows.append(
            f"| {arch} | {len(have)} | {t['branches']} | {pct(t['right'], t['branches'])} | "
            f"{t['wrong']} | {t['unknown']} | "
            f"{pct(t['right'], t['right'] + t['wrong'])} | "
            f"{pct(t['files_right'], t['files'])} ({t['files_right']}/{t['files']}) | "
            f"{pct(t['files_decided_right'], t['files'])} | "
            f"{t['included_files']} ({t['included_branches']} branches) |")
        for r in results[arch]:
            for d in r.get("branches", {}).get("wrong_list", []):
                disagreements.append(f"- {arch} branch WRONG: {d['file']}:{d['line']} "
                                     f"`{d.get('directive', '')}` in {r['config']}: kwhen "
                                     f"{d.get('kwhen')}, gcc {d.get('gcc')}"
                                     f"{' via ' + d['via'] if d.get('via') else ''}"
                                     f"{' error ' + d['error'] if 'error' in d else ''}")
            for d in r.get("branches", {}).get("unknown_list", []):
                disagreements.append(f"- {arch} branch unknown: {d['file']}:{d['line']} "
                                     f"`{d['directive']}` in {r['config']}: free "
                                     f"{', '.join(d['free'])}")
    if branch_rows:
        kinds = Counter()
        for arch in rows:
            for r in results[arch]:
                for d in r.get("branches", {}).get("unknown_list", []):
                    kinds[(arch, unknown_kind(d["free"]))] += 1
        branch_rows.append("")
        branch_rows.append("unknown branches by what is free: " + "; ".join(
            f"{arch} {kind} {n}" for (arch, kind), n in sorted(kinds.items())))
        lines += ["", "#if branches with the headers followed (unknown counts as a miss):", "",
                  "| arch | configs | branches | decided and right | wrong | unknown | "
                  "right of decided | files all right | files none wrong | included files |",
                  "|---|---|---|---|---|---|---|---|---|---|"] + branch_rows
    text = "\n".join(lines)
    text += "\n\nseconds per arch (ground truth + comparison): " + ", ".join(
        f"{a} {summary[a]['seconds']:.0f} s" for a in rows)
    (work / "report.json").write_text(json.dumps(summary, indent=1))
    (work / "disagreements.md").write_text("\n".join(disagreements) + "\n")
    return text + f"\n\n{len(disagreements)} disagreements listed in {work / 'disagreements.md'}"
