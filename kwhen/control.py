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
from dataclasses import dataclass, field
from pathlib import Path

from kwhen.definitions import chosen_condition, collect_definitions, start_definition_index
from kwhen.evaluation import Evaluation, config_assignment, evaluate_file, evaluate_line, residual
from kwhen.exceptions import KwhenError
from kwhen.explain import explain_unknowns, makefile_lines
from kwhen.logic.formula import FALSE, TRUE, conj, neg
from kwhen.presence import Tree, find_tree
from kwhen.sqldata import Cache
from kwhen.wording import describe


def open_tree(tree: str | Path | None = None, arch: str | None = None,
              trust_tree: bool = False, cache: bool = True) -> Tree:
    root = Path(tree) if tree else find_tree()
    if not root.is_dir():
        raise KwhenError("no such directory", path=str(root))
    return Tree(root, arch, trust_tree=trust_tree, cache=Cache(enabled=cache))


# -- answers -------------------------------------------------------------------

@dataclass
class LineAnswer:
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

    def to_json(self):
        return {
            "path": self.path, "line": self.line, "arch": self.arch,
            "file_kind": self.file_kind, "status": self.status,
            "condition": self.condition, "kbuild_condition": self.kbuild_condition,
            "cpp_condition": self.cpp_condition,
            "directives": [{"line": n, "text": t} for n, t in self.directives],
            "makefile_lines": [{"path": p, "line": n, "text": t} for p, n, t in self.makefile_lines],
            "witness_built": self.witness_built.to_json() if self.witness_built else None,
            "witness_not_built": self.witness_not_built.to_json() if self.witness_not_built else None,
            "unknowns": self.unknowns,
            "config": self.evaluation.to_json() if self.evaluation else None,
        }


def _check_line(tree: Tree, relpath: str, line: int) -> None:
    count = tree.read_text(relpath).count("\n") + 1
    if not 1 <= line <= count:
        raise KwhenError(f"line {line} is outside the file (it has {count} lines)", path=relpath)


def line_query(tree: Tree, path: str, line: int, config: str | None = None,
               witnesses: bool = True) -> LineAnswer:
    relpath = tree.relpath(path)
    file = tree.file_condition(relpath)
    _check_line(tree, relpath, line)
    structure = tree.cpp(relpath)
    cpp_condition = structure.condition_at(line)
    condition = tree.combine(file, cpp_condition)
    space, types = tree.space, tree.symbol_types
    status = space.status(condition)
    answer = LineAnswer(
        path=relpath, line=line, arch=tree.arch, file_kind=file.kind,
        condition=describe(space.simplify(condition), types),
        kbuild_condition=describe(space.simplify(file.built), types)
        if file.kind != "header" else "(wherever the header is included)",
        cpp_condition=describe(space.simplify(cpp_condition), types),
        directives=[(b.start, b.text.strip()) for b in structure.enclosing(line)],
        makefile_lines=makefile_lines(tree, relpath) if file.kind == "source" else [],
        status=status,
        unknowns=explain_unknowns(tree, condition),
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

    def to_json(self):
        return {
            "path": self.path, "arch": self.arch, "kind": self.kind,
            "kbuild_builtin": self.builtin, "kbuild_module": self.module,
            "status": self.status,
            "makefile_lines": [{"path": p, "line": n, "text": t} for p, n, t in self.makefile_lines],
            "blocks": self.blocks, "unknowns": self.unknowns,
            "config": self.evaluation.to_json() if self.evaluation else None,
        }


def file_query(tree: Tree, path: str, config: str | None = None) -> FileAnswer:
    relpath = tree.relpath(path)
    file = tree.file_condition(relpath)
    structure = tree.cpp(relpath)
    space, types = tree.space, tree.symbol_types
    assignment = config_assignment(tree, config) if config else None
    blocks = []
    for b in structure.blocks:
        cond = tree.combine(file, b.condition)
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
    )
    if assignment is not None:
        answer.evaluation = evaluate_file(tree, file, assignment)
    return answer


# -- definitions of a symbol ---------------------------------------------------------

@dataclass
class DefinitionAnswer:
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
    name: str
    arch: str
    definitions: list
    conflicts: list = field(default_factory=list)   # [(path:line, path:line, witness)]

    def to_json(self):
        return {"name": self.name, "arch": self.arch,
                "definitions": [d.to_json() for d in self.definitions],
                "conflicts": [{"first": a, "second": b, "witness": w.to_json() if w else None}
                              for a, b, w in self.conflicts]}


def symbol_query(tree: Tree, name: str, witnesses: bool = True) -> SymbolAnswer:
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
            else f"never on {tree.arch} (arch/{relpath.split('/')[1]} only)",
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
    return SymbolAnswer(name, tree.arch, answers, conflicts)
