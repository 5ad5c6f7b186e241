"""kwhen's Python API: every command of the CLI is a call here.

    from kwhen import control
    tree = control.open_tree("/src/linux", arch="x86")
    answer = control.line_query(tree, "arch/x86/kernel/setup_percpu.c", 170)
    print(answer.status, answer.condition)

    report = control.check("/src/linux", "HEAD")
    print(control.render(report, "text"), end="")
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kwhen.checks.options import CheckOptions
from kwhen.definitions import chosen_condition, collect_definitions, start_definition_index
from kwhen.evaluation import Evaluation, config_assignment, evaluate_file, evaluate_line, residual
from kwhen.exceptions import KwhenError
from kwhen.explain import explain_unknowns, makefile_lines
from kwhen.kconfig.arches import arch_of_path
from kwhen.logic.formula import FALSE, TRUE, conj, disj, neg
from kwhen.presence import Tree, find_tree
from kwhen.report.core import Report
from kwhen.sqldata import Cache
from kwhen.wording import describe


def open_tree(tree: str | Path | None = None, arch: str | None = None,
              trust_tree: bool = False, cache: bool = True) -> Tree:
    """The tree at `tree` (default: the git top level of the working
    directory) modelled for `arch` (a directory under arch/ or an alias such
    as x86_64; default: the host's). `trust_tree` runs the Kconfig
    $(shell,...) macros as the kernel would; `cache` keeps the models in
    the SQLite cache. Models are built on first use."""
    root = Path(tree) if tree else find_tree()
    if not root.is_dir():
        raise KwhenError("no such directory", path=str(root))
    return Tree(root, arch, trust_tree=trust_tree, cache=Cache(enabled=cache))


# -- answers -------------------------------------------------------------------

@dataclass
class LineAnswer:
    """When one line is built (`kwhen line`). Conditions are Kconfig-style
    text (kwhen.wording.describe); `status` is always, sometimes or never;
    `witness_built` / `witness_not_built` are kwhen.logic.solver.Witness
    configurations (None when impossible); `unknowns` says why each free
    proposition is free; `evaluation` is the verdict under --config."""

    path: str
    line: int
    arch: str
    file_kind: str
    condition: str
    kbuild_condition: str
    cpp_condition: str
    directives: list            # [(line, text)] of the enclosing #if branches
    makefile_lines: list        # [(path, line, text)] naming the object
    status: str                 # always, sometimes, never
    witness_built: object = None
    witness_not_built: object = None
    unknowns: list = field(default_factory=list)
    evaluation: Evaluation | None = None
    through: list = field(default_factory=list)   # see `through_of`
    phase: str | None = None   # U-Boot proper, SPL, ... (None: a tree without phases)

    def to_json(self):
        return _with_phase(self.phase, {
            "path": self.path, "line": self.line, "arch": self.arch,
            "file_kind": self.file_kind, "status": self.status,
            "built_through": self.through,
            "condition": self.condition, "kbuild_condition": self.kbuild_condition,
            "cpp_condition": self.cpp_condition,
            "directives": [{"line": n, "text": t} for n, t in self.directives],
            "makefile_lines": [{"path": p, "line": n, "text": t} for p, n, t in self.makefile_lines],
            "witness_built": self.witness_built.to_json() if self.witness_built else None,
            "witness_not_built": self.witness_not_built.to_json() if self.witness_not_built else None,
            "unknowns": self.unknowns,
            "config": self.evaluation.to_json() if self.evaluation else None,
        })


def _with_phase(phase: str | None, data: dict) -> dict:
    """An answer's JSON, with its phase first where the tree has phases."""
    return {"phase": phase, **data} if phase is not None else data


def phase_trees(tree: Tree, phase: str | None = None) -> list[Tree]:
    """The trees a question is asked of: `tree` in the phase named (proper,
    spl, tpl, vpl), or in each phase the tree has (U-Boot proper and its
    SPL, TPL, VPL; Linux has one, which answers never name)."""
    if phase is not None:
        return [tree.in_phase(phase)]
    if tree.has_phases:
        return [tree.in_phase(p) for p in tree.phases]
    return [tree]


def _phase_of(tree: Tree, file=None) -> str | None:
    """The phase an answer names: none for a tree without phases, nor for
    a program built for the build machine (it belongs to no phase)."""
    if file is not None and file.kind == "host":
        return None
    return tree.phase_title if tree.has_phases else None


@dataclass
class PhasedAnswer:
    """One question's answers in each phase of a tree (`phase_trees`)."""

    answers: list

    def to_json(self):
        return {"phases": [a.to_json() for a in self.answers]}


def _check_line(tree: Tree, relpath: str, line: int) -> None:
    count = tree.read_text(relpath).count("\n") + 1
    if not 1 <= line <= count:
        raise KwhenError(f"line {line} is outside the file (it has {count} lines)", path=relpath)


def parse_location(text: str) -> tuple[str, int]:
    """FILE:LINE or FILE:LINE:COL (as compilers and editors write them) ->
    (FILE, LINE); the column does not change the answer."""
    parts = text.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1])
    path, sep, line = text.rpartition(":")
    if not sep or not line.isdigit() or not path:
        raise KwhenError(f"expected FILE:LINE or FILE:LINE:COL, got '{text}'")
    return path, int(line)


def through_of(tree: Tree, file) -> list:
    """The #include lines through which an included file is built
    (`FileCondition.through`): dicts with `path`, `line` (of the #include),
    `root` (the file compiled, when the includer is itself included) and
    `condition` (when the includer is built and keeps that line)."""
    space, types = tree.space, tree.symbol_types
    out = []
    for r in file.through:
        built = disj(r.builtin, r.module)
        if space.possible(built):     # (an includer never built is no way in)
            out.append({"path": r.includer, "line": r.line, "root": r.root or r.includer,
                        "condition": describe(space.simplify(built), types)})
    return out


def line_query(tree: Tree, path: str, line: int, config: str | None = None,
               witnesses: bool = True) -> LineAnswer:
    """When line `line` of `path` (relative to the tree or absolute) is
    built on the tree's architecture, and under the .config `config` if
    given. `witnesses=False` skips the witness configurations."""
    relpath = tree.relpath(path)
    file = tree.file_condition(relpath)
    _check_line(tree, relpath, line)
    structure = tree.cpp(relpath)
    cpp_condition = structure.condition_at(line)
    condition = tree.line_condition(relpath, line)
    space, types = tree.space, tree.symbol_types
    status = space.status(condition)
    answer = LineAnswer(
        path=relpath, line=line, arch=tree.arch, file_kind=file.kind,
        condition=describe(space.simplify(condition), types),
        kbuild_condition=describe(space.simplify(file.built), types)
        if file.kind != "header" else "(wherever the header is included)",
        through=through_of(tree, file),
        cpp_condition=describe(space.simplify(cpp_condition), types),
        directives=[(b.start, b.text.strip()) for b in structure.enclosing(line)],
        makefile_lines=makefile_lines(tree, relpath) if file.kind == "source" else [],
        status=status,
        unknowns=explain_unknowns(tree, condition),
        phase=_phase_of(tree, file),
    )
    if witnesses:
        if status != "never":
            answer.witness_built = space.witness(condition)
        if status != "always":
            answer.witness_not_built = space.witness(neg(condition))
    if config:
        answer.evaluation = evaluate_line(tree, file, structure, line, config_assignment(tree, config))
    return answer


@dataclass
class FileAnswer:
    """A file's Kbuild condition and its #if blocks (`kwhen file`): `kind`
    is source, header or unreached; `builtin` and `module` the conditions
    for obj-y and obj-m; `blocks` dicts with start, end, directive,
    condition, status (and built under --config)."""

    path: str
    arch: str
    kind: str
    builtin: str
    module: str
    status: str
    makefile_lines: list
    blocks: list          # dicts: start, end, directive, condition, status[, built]
    unknowns: list = field(default_factory=list)
    evaluation: Evaluation | None = None
    through: list = field(default_factory=list)   # see `through_of`
    phase: str | None = None   # U-Boot proper, SPL, ... (None: a tree without phases)

    def to_json(self):
        return _with_phase(self.phase, {
            "path": self.path, "arch": self.arch, "kind": self.kind,
            "built_through": self.through,
            "kbuild_builtin": self.builtin, "kbuild_module": self.module,
            "status": self.status,
            "makefile_lines": [{"path": p, "line": n, "text": t} for p, n, t in self.makefile_lines],
            "blocks": self.blocks, "unknowns": self.unknowns,
            "config": self.evaluation.to_json() if self.evaluation else None,
        })


def file_query(tree: Tree, path: str, config: str | None = None) -> FileAnswer:
    """When `path` is compiled and when each of its #if blocks is, on the
    tree's architecture (and under the .config `config` if given)."""
    relpath = tree.relpath(path)
    file = tree.file_condition(relpath)
    structure = tree.cpp(relpath)
    space, types = tree.space, tree.symbol_types
    assignment = config_assignment(tree, config) if config else None
    blocks = []
    variants = tree.variants(relpath)
    for index, b in enumerate(structure.blocks):
        cond = disj(*(tree.combine(f, s.blocks[index].condition) for f, s in variants))
        entry = {"start": b.start, "end": b.end, "directive": b.text.strip(),
                 "condition": describe(space.simplify(cond), types),
                 "status": space.status(cond)}
        if assignment is not None:
            value = residual(cond, assignment)
            entry["built"] = "yes" if value is TRUE else "no" if value is FALSE else "unknown"
        blocks.append(entry)
    answer = FileAnswer(
        path=relpath, arch=tree.arch, kind=file.kind,
        builtin=describe(space.simplify(file.builtin), types),
        module=describe(space.simplify(file.module), types),
        status=space.status(file.built) if file.kind != "header" else "always",
        makefile_lines=makefile_lines(tree, relpath) if file.kind == "source" else [],
        blocks=blocks, unknowns=explain_unknowns(tree, file.built),
        through=through_of(tree, file), phase=_phase_of(tree, file),
    )
    if assignment is not None:
        answer.evaluation = evaluate_file(tree, file, assignment)
    return answer


# -- definitions of a symbol ---------------------------------------------------------

@dataclass
class DefinitionAnswer:
    """One definition of a symbol: where, what (`kind`, static, weak,
    inline, signature), its `role` (alternative, weak, file-local,
    other-arch), when it is compiled (`condition`, `status`) and when it is
    the one built (`chosen_condition`, `chosen_status`, `witness`)."""

    path: str
    line: int
    end_line: int
    kind: str
    static: bool
    weak: bool
    inline: bool
    signature: str
    role: str              # "alternative", "weak", "file-local", "other-arch"
    condition: str
    status: str
    chosen_condition: str  # when this is the definition that is built
    chosen_status: str
    witness: object = None

    def to_json(self):
        return {k: (v.to_json() if hasattr(v, "to_json") else v)
                for k, v in self.__dict__.items()}


@dataclass
class SymbolAnswer:
    """Every definition of a C identifier (`kwhen symbol`), and `conflicts`:
    pairs of definitions compiled together, which would not link."""

    name: str
    arch: str
    definitions: list
    conflicts: list = field(default_factory=list)   # [(path:line, path:line, witness)]
    phase: str | None = None   # U-Boot proper, SPL, ... (None: a tree without phases)

    def to_json(self):
        return _with_phase(self.phase, {
            "name": self.name, "arch": self.arch,
            "definitions": [d.to_json() for d in self.definitions],
            "conflicts": [{"first": a, "second": b, "witness": w.to_json() if w else None}
                          for a, b, w in self.conflicts]})

    @property
    def status(self) -> str:
        """never when no definition is ever built, else sometimes."""
        return "never" if all(d.status == "never" for d in self.definitions) else "sometimes"


def symbol_query(tree: Tree, name: str, witnesses: bool = True) -> SymbolAnswer:
    """Every definition of the function (or macro, variable) `name` in the
    tree and when each is the one built on the tree's architecture."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise KwhenError(f"'{name}' is not a C identifier")
    start_definition_index(tree)     # git runs while the model loads
    space, types = tree.space, tree.symbol_types
    entries = collect_definitions(tree, name)
    answers, conflicts = [], []
    for entry in entries:
        relpath, d, role, cond = entry
        chosen = chosen_condition(entries, entry)
        status = space.status(cond) if role != "other-arch" else "never"
        chosen_status = space.status(chosen) if role != "other-arch" else "never"
        answer = DefinitionAnswer(
            path=relpath, line=d.line, end_line=d.end_line, kind=d.kind, static=d.static,
            weak=d.weak, inline=d.inline, signature=d.signature, role=role,
            condition=describe(space.simplify(cond), types) if role != "other-arch"
            else f"never on {tree.arch} (arch/{arch_of_path(relpath)} only)",
            status=status,
            chosen_condition=describe(space.simplify(chosen), types) if role != "other-arch" else "n",
            chosen_status=chosen_status,
        )
        if witnesses and chosen_status != "never":
            answer.witness = space.witness(chosen)
        answers.append(answer)
    # Two non-static, non-weak definitions built together would not link.
    alts = [(r, d, c) for r, d, role, c in entries if role == "alternative" and not r.endswith(".h")]
    for i, (r1, d1, c1) in enumerate(alts):
        for r2, d2, c2 in alts[i + 1:]:
            both = conj(c1, c2)
            if space.possible(both):
                conflicts.append((f"{r1}:{d1.line}", f"{r2}:{d2.line}",
                                  space.witness(both) if witnesses else None))
    if not answers:
        raise KwhenError(f"no definition of '{name}' found in {tree.root}")
    return SymbolAnswer(name, tree.arch, answers, conflicts, phase=_phase_of(tree))


def write_answer(answer, as_json: bool = False, explain: bool = False) -> None:
    """Print a LineAnswer, FileAnswer, SymbolAnswer or PhasedAnswer: as JSON, or as text
    for people (`explain`: say why each free proposition is free)."""
    if as_json:
        import json
        print(json.dumps(answer.to_json(), indent=2))
        return
    from kwhen.report import querytext

    if isinstance(answer, PhasedAnswer):
        querytext.render_phases(answer.answers, querytext.console(), explain=explain)
        return
    querytext.render(answer, querytext.console(), explain=explain)


# -- checking changes ----------------------------------------------------------

WORKTREE, STAGED = "--worktree", "--staged"   # (kwhen.patch.target's sentinels)


def check(tree: str | Path | None = None, target: str | None = None,
          options: CheckOptions | None = None, stdin_text: str | None = None,
          command_line: list | None = None) -> Report:
    """Check `target` in `tree` for code that vanishes from configurations.

    `target`: a revision (default HEAD), a range A..B (each commit in
    order), a patch file, an mbox, "-" with the text in `stdin_text`
    (a diff already applied in the work tree is read as the work tree
    without it -> the work tree), WORKTREE (HEAD -> the work tree's tracked
    files) or STAGED (HEAD -> the index). `command_line` is recorded in the
    report (SARIF's invocation).
    `tree`: the tree the target applies to (default: the git top level of
    the working directory). `options`: a kwhen.checks.runner.CheckOptions.
    The Report's `findings` are kwhen.checks.messages objects (kind,
    arguments, wording); `render` turns it into text, JSON, SARIF or HTML.
    """
    from kwhen.checks.runner import check_changes
    from kwhen.patch.target import resolve_target

    import os
    from datetime import datetime, timezone

    def now():
        return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    started = now()
    root = Path(tree) if tree else find_tree()
    if not root.is_dir():
        raise KwhenError("no such directory", path=str(root))
    changes = resolve_target(target, root, stdin_text=stdin_text)
    done = check_changes(root, changes, options or CheckOptions())
    info = [{"id": c.id, "title": c.title, "author": c.author, "commit": c.commit}
            for c in changes]
    invocation = {"command_line": list(command_line or ["kwhen", "check"]),
                  "working_directory": os.getcwd(), "start": started, "end": now()}
    scopes = [{"change": change, "checked": list(scope.modelled),
               "unmodelled": sorted(scope.unmodelled), "ruled_out": dict(scope.ruled_out),
               "not_ruled_out": scope.not_ruled_out} for change, scope in (done.scopes or [])]
    return Report(done.findings, target or "HEAD", [c.id for c in changes], done.arches,
                  tree=str(root.resolve()), skipped=done.skipped, change_info=info,
                  invocation=invocation, scopes=scopes,
                  pre_existing_hidden=done.pre_existing_hidden)


REPORT_FORMATS = ("text", "json", "sarif", "html", "gitlab")


def render(report: Report, fmt: str = "text") -> str:
    """The report as text, json, sarif, html or gitlab (GitLab code quality)."""
    if fmt == "json":
        from kwhen.report.jsonreport import render_json
        return render_json(report)
    if fmt == "sarif":
        from kwhen.report.sarif import render_sarif
        return render_sarif(report)
    if fmt == "html":
        from kwhen.report.html import render_html
        return render_html(report)
    if fmt == "gitlab":
        from kwhen.report.gitlab import render_gitlab
        return render_gitlab(report)
    if fmt == "text":
        from kwhen.report.text import format_text
        return format_text(report)
    raise KwhenError(f"unknown report format '{fmt}' (one of {', '.join(REPORT_FORMATS)})")


def write_report(report: Report, fmt: str = "text", output: str | Path | None = None) -> None:
    """Write the report to the file `output`, or to stdout (text in colour
    on a terminal)."""
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(render(report, fmt))
    elif fmt == "text":
        from kwhen.report.text import write_text
        write_text(report, sys.stdout)
    else:
        sys.stdout.write(render(report, fmt))


# -- scanning a history ----------------------------------------------------------

def scan(tree: str | Path | None, revisions: list[str], db: str | Path, options: dict,
         since: str | None = None, **how):
    """Check every non-merge commit of `revisions` (as git rev-list takes
    them) against its first parent with `kwhen check`'s checks and
    `options` (arches, all_arches, base, trust_tree, cache), on a Dask
    cluster; results in the SQLite database `db`. `how`: max_count,
    scheduler, workers, run_length, retries, timeout, workdir, progress,
    stream, retry_failed (see `kwhen.scan.driver.scan`). Returns a
    `kwhen.scan.driver.ScanSummary`."""
    from kwhen.scan.driver import scan as run_scan

    root = Path(tree) if tree else find_tree()
    if not root.is_dir():
        raise KwhenError("no such directory", path=str(root))
    return run_scan(root, list(revisions), Path(db), options, since=since, **how)


def scan_report(db: str | Path, fmt: str = "text", result_set: int | None = None,
                options: dict | None = None, commit_url: str | None = None,
                source_url: str | None = None) -> str:
    """A report of the results in the scan database `db` (text, json,
    sarif or html), without scanning: of `result_set`, else of this kwhen
    and `options` when they have results, else of the result set used last.
    HTML links commits to `commit_url` and locations to `source_url`
    (templates: {sha}, {file}, {line}), else within the page."""
    from kwhen.scan.export import render_scan

    return render_scan(Path(db), fmt, result_set=result_set, options=options,
                       commit_url=commit_url, source_url=source_url)


def write_scan_report(db: str | Path, fmt: str = "text", output: str | Path | None = None,
                      **which) -> None:
    """`scan_report` written to the file `output`, or to stdout."""
    text = scan_report(db, fmt, **which)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


# -- the model cache -------------------------------------------------------------

def cache_usage() -> dict:
    """Where the model cache is, its size and cap, and its items grouped by
    tree and architecture: {"path", "bytes", "max_bytes", "entries":
    [{"tree", "arch", "items", "bytes", "last_used"}]}."""
    from kwhen.sqldata import usage
    return usage()


def clear_cache(tree: str | Path | None = None) -> int:
    """Remove every cached item, or only those of `tree`; the number removed."""
    from kwhen.sqldata import clear
    return clear(str(Path(tree).resolve()) if tree else None)


def format_cache_usage(usage: dict) -> str:
    """`kwhen cache` for people."""
    from kwhen.report.querytext import format_size
    lines = [f"cache: {usage['path']}",
             f"size:  {format_size(usage['bytes'])} of {format_size(usage['max_bytes'])} "
             "(KWHEN_CACHE_MAX; least recently used models go first)"]
    for e in usage["entries"]:
        lines.append(f"  {format_size(e['bytes']):>9}  {e['tree']}  {e['arch']}  "
                     f"({e['items']} item(s), last used {e['last_used']})")
    if not usage["entries"]:
        lines.append("  (empty)")
    return "\n".join(lines) + "\n"
