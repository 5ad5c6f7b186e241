"""kwhen's Python API. The command line is a thin front over these calls.

    from kwhen.control import open_tree, line_query
    tree = open_tree("/src/linux", arch="x86")
    answer = line_query(tree, "arch/x86/kernel/setup_percpu.c", 170)
    print(answer.status, answer.condition)
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, disj_all, neg, var
from kwhen.presence import FileCondition, Tree, find_tree
from kwhen.readfile import read_text
from kwhen.sqldata import Cache


def open_tree(tree: str | Path | None = None, arch: str | None = None,
              trust_tree: bool = False, cache: bool = True) -> Tree:
    root = Path(tree) if tree else find_tree()
    if not root.is_dir():
        raise KwhenError("no such directory", path=str(root))
    return Tree(root, arch, trust_tree=trust_tree, cache=Cache(enabled=cache))


# -- rendering conditions for people -------------------------------------------

def describe(f: Formula, types: dict[str, str]) -> str:
    """Kconfig-style text, with a tristate's states spelt out: ``FOO``
    (y or m), ``FOO=y``, ``FOO=m``; ``!FOO`` means FOO=n."""
    enabled = {}
    for name in f.variables():
        if name.endswith("=m") and types.get(name[:-2]) == "tristate":
            sym = name[:-2]
            enabled[disj(var(sym), var(name))] = var("\x00" + sym)
    if enabled:
        f = _replace(f, enabled)

    def show(name: str) -> str:
        if name.startswith("\x00"):
            return name[1:]
        if types.get(name) == "tristate":
            return name + "=y"
        return name

    return f.render(show)


def _replace(f: Formula, table: dict) -> Formula:
    if f in table:
        return table[f]
    if f.op == "or":
        kids = list(f.args)
        for pair, replacement in table.items():
            if all(k in kids for k in pair.args):
                kids = [k for k in kids if k not in pair.args] + [replacement]
        return disj_all(_replace(k, table) for k in kids)
    if f.op == "and":
        return conj(*(_replace(k, table) for k in f.args))
    if f.op == "not":
        return neg(_replace(f.args[0], table))
    return f


def explain_unknowns(tree: Tree, f: Formula) -> list[str]:
    """Why each free proposition in `f` is free."""
    out = []
    for name in sorted(f.variables()):
        if name in tree.model.symbols or (name.endswith("=m") and name[:-2] in tree.model.symbols):
            continue
        if name in tree.model.free:
            out.append(f"{name}: {tree.model.free[name]}")
        elif name.startswith("?make:"):
            reason = next((r for p, l, r in tree.kbuild.unknowns if f"?make:{p}:{l}" == name), "")
            out.append(f"{name}: a Makefile construct kwhen does not evaluate{': ' + reason if reason else ''}")
        elif name.startswith(("defined(", "cpp(")):
            out.append(f"{name}: a macro that is not a Kconfig symbol (either value is assumed possible)")
        elif name == "MODULE":
            out.append("MODULE: defined when the including file is compiled as a module")
        else:
            out.append(f"{name}: a comparison or value that Kconfig does not fix")
    return out


# -- answers -------------------------------------------------------------------

@dataclass
class Evaluation:
    """The verdict under one concrete .config."""
    built: str                  # "yes", "no", "unknown"
    layer: str = ""             # the layer that excludes it: kconfig, kbuild, cpp
    reason: str = ""

    def to_json(self):
        return {"built": self.built, "excluded_by": self.layer or None, "reason": self.reason or None}


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


def makefile_lines(tree: Tree, relpath: str) -> list:
    """The lines of the directory's Kbuild/Makefile that name the object
    built from `relpath`, for showing people where a condition comes from."""
    p = Path(relpath)
    obj = p.stem + ".o"
    out = []
    for directory in (p.parent, p.parent.parent):
        for name in ("Kbuild", "Makefile"):
            mk = tree.root / directory / name
            if not mk.is_file():
                continue
            pattern = re.compile(r"(^|[\s/])" + re.escape(obj if directory == p.parent else
                                                          f"{p.parent.name}/") + r"(\s|$|\\)")
            try:
                text = read_text(mk, what="Makefile")
            except KwhenError:
                continue
            for n, text_line in enumerate(text.splitlines(), 1):
                if pattern.search(text_line) and not text_line.lstrip().startswith("#"):
                    out.append(((directory / name).as_posix(), n, text_line.strip()))
            break  # Kbuild wins over Makefile, as in kbuild itself
        if out:
            break
    return out


def _residual(f: Formula, assignment: dict) -> Formula:
    return f.substitute(lambda name: (TRUE if assignment[name] else FALSE)
                        if name in assignment else None)


def config_assignment(tree: Tree, config_path: str) -> dict:
    from kwhen.kconfig.dotconfig import read_dotconfig, values_for_model
    from kwhen.kconfig.model import assignment_of_values

    values = values_for_model(tree.model, read_dotconfig(config_path))
    return assignment_of_values(tree.model, values)


def _kbuild_exclusion(tree: Tree, file: FileCondition, assignment: dict) -> Evaluation | None:
    """The verdict when Kbuild alone excludes the file under `assignment`."""
    if file.kind == "unreached":
        return Evaluation("no", "kbuild", f"no Makefile on {tree.arch} compiles {file.path}")
    if file.kind == "source" and _residual(file.built, assignment) is FALSE:
        where = makefile_lines(tree, file.path)
        at = f"{where[0][0]}:{where[0][1]}: {where[0][2]}: " if where else ""
        return Evaluation("no", "kbuild", f"{at}the file's Kbuild condition "
                                          f"{describe(file.built, tree.symbol_types)} is false")
    return None


def evaluate_line(tree: Tree, file: FileCondition, structure, line: int,
                  assignment: dict) -> Evaluation:
    """Built or not under a concrete configuration, and which layer decides."""
    types = tree.symbol_types
    verdict = _kbuild_exclusion(tree, file, assignment)
    if verdict is not None:
        return verdict
    for block in structure.enclosing(line):
        own = _residual(block.own.substitute({"MODULE": FALSE}) if file.kind != "header"
                        else block.own, assignment)
        if own is FALSE:
            return Evaluation("no", "cpp", f"line {block.start}: {block.text.strip()} is false")
    cond = _residual(tree.combine(file, structure.condition_at(line)), assignment)
    if cond is TRUE:
        return Evaluation("yes")
    if cond is FALSE:
        return Evaluation("no", "cpp", "the #if conditions around the line are false")
    return Evaluation("unknown", "", f"depends on {describe(cond, types)}, which the .config does not fix")


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
            value = _residual(cond, assignment)
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
        answer.evaluation = _evaluate_file(tree, file, assignment)
    return answer


def _evaluate_file(tree: Tree, file: FileCondition, assignment: dict) -> Evaluation:
    """Compiled or not under a concrete configuration (Kbuild alone)."""
    if file.kind == "header":
        return Evaluation("yes", "", "headers are compiled wherever they are included")
    verdict = _kbuild_exclusion(tree, file, assignment)
    if verdict is not None:
        return verdict
    value = _residual(file.built, assignment)
    if value is TRUE:
        return Evaluation("yes")
    return Evaluation("unknown", "", f"depends on {describe(value, tree.symbol_types)}")


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


def files_mentioning(root: Path, name: str | list) -> list[str]:
    """Source files (.c, .h, .S) that contain `name` (or any of a list of
    names) as a word.

    Uses git grep in a git work tree and grep elsewhere: searching 1.5 GB of
    kernel source in Python would take a minute; these take about a second.
    Both only read files.
    """
    globs = ["*.c", "*.h", "*.S"]
    names = [name] if isinstance(name, str) else list(name)
    for n in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
            raise KwhenError(f"'{n}' is not a C identifier")
    patterns = [arg for n in names for arg in ("-e", n)]
    if (root / ".git").exists():
        cmd = ["git", "-C", str(root), "grep", "-l", "-w", "-F", *patterns, "--", *globs]
    else:
        cmd = ["grep", "-r", "-l", "-w", "-F", *(f"--include={g}" for g in globs), *patterns, "."]
    try:
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        raise KwhenError(f"cannot search the tree: {e}")
    if done.returncode not in (0, 1):
        raise KwhenError(f"cannot search the tree: {done.stderr.strip()}")
    return sorted(p[2:] if p.startswith("./") else p for p in done.stdout.splitlines())


def files_defining(tree: Tree, name: str | list) -> list[str]:
    """Source files of the tree (as on disk) that may define `name` (or any
    of a list of names): a superset of those where `find_definitions` finds
    one. From the cached definition index of a git work tree
    (`kwhen.defindex`), else the files that mention the name."""
    from kwhen import defindex

    # A process that had to build the Kconfig model (a cold cache) greps
    # rather than also build the index: the next one builds it.
    index = defindex.for_root(tree.root, tree.cache, _work_tree(tree),
                              build=getattr(tree, "model_was_cached", True))
    found = index.files_defining(name) if index is not None else None
    return found if found is not None else files_mentioning(tree.root, name)


def start_definition_index(tree: Tree) -> None:
    """Start, in the background, what `files_defining` will need (the list of
    dirty files; the index build on a cold cache)."""
    from kwhen import defindex

    defindex.for_root(tree.root, tree.cache, _work_tree(tree))


def _work_tree(tree: Tree):
    """The work tree status a check's revision state already has, if any."""
    return getattr(getattr(tree, "state", None), "work_tree", None)


def collect_definitions(tree: Tree, name: str, candidates=None) -> list:
    """Every definition of `name` in the tree, as (relpath, Definition, role,
    condition) with role "alternative" (global or in a header), "weak",
    "file-local" (static in a .c file) or "other-arch" (under another
    arch/ directory: never built on this architecture)."""
    from kwhen.cpp.definitions import find_definitions

    # `candidates`: files that may define the name (a superset will do)
    paths = set(candidates if candidates is not None else files_defining(tree, name))
    if tree.state is not None:
        # files the patch state changed: search their new text, not the disk's
        changed = tree.state.changed_paths()
        paths -= changed
        for relpath in changed:
            text = tree.state.read(relpath)
            if text is not None and relpath.endswith((".c", ".h", ".S")) and name in text:
                paths.add(relpath)
    entries = []
    for relpath in sorted(paths):
        for d in find_definitions(tree.read_text(relpath), name, relpath):
            parts = relpath.split("/")
            if len(parts) > 2 and parts[0] == "arch" and parts[1] != tree.srcarch:
                entries.append((relpath, d, "other-arch", FALSE))
                continue
            cond = tree.line_condition(relpath, d.line)
            if relpath.endswith(".h") or not d.static:
                role = "weak" if d.weak else "alternative"
            else:
                role = "file-local"
            entries.append((relpath, d, role, cond))
    return entries


def chosen_condition(entries: list, entry) -> Formula:
    """When `entry` is the definition that ends up in the kernel: a weak
    definition only where no strong one is built."""
    relpath, d, role, cond = entry
    if role == "weak":
        strong = disj_all(c for _, _, r, c in entries if r == "alternative")
        return conj(cond, neg(strong))
    return cond


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
