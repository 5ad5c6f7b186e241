"""A line or a file under one concrete .config: built or not, and which
layer (Kconfig, Kbuild, cpp) decides."""

from __future__ import annotations

from dataclasses import dataclass

from kwhen.explain import makefile_lines
from kwhen.logic.formula import FALSE, TRUE, Formula
from kwhen.logic.names import MODULE
from kwhen.presence import FileCondition, Tree
from kwhen.wording import describe


@dataclass
class Evaluation:
    """The verdict under one concrete .config."""
    built: str                  # "yes", "no", "unknown"
    layer: str = ""             # the layer that excludes it: kconfig, kbuild, cpp
    reason: str = ""

    def to_json(self):
        return {"built": self.built, "excluded_by": self.layer or None, "reason": self.reason or None}


def residual(f: Formula, assignment: dict) -> Formula:
    return f.substitute(lambda name: (TRUE if assignment[name] else FALSE)
                        if name in assignment else None)


def config_assignment(tree: Tree, config_path: str):
    """What a .config, defconfig or fragment decides: every symbol as
    `make olddefconfig` would complete it (kwhen.kconfig.olddefconfig)."""
    from kwhen.kconfig.dotconfig import ConfigAssignment

    return ConfigAssignment(tree.model, config_values(tree, config_path))


def config_values(tree: Tree, config_path: str) -> dict:
    """Symbol -> value of the completed configuration, cached by the
    file's content (completing it parses the Kconfig files: seconds)."""
    import hashlib
    import json
    import time
    from pathlib import Path

    from kwhen.kconfig.olddefconfig import complete_config
    from kwhen.readfile import read_bytes

    # a path that is not there from here may be the tree's own
    # (`--base configs/NAME_defconfig` from anywhere)
    if not Path(config_path).exists() and (Path(tree.root) / config_path).is_file():
        config_path = str(Path(tree.root) / config_path)
    digest = hashlib.blake2b(read_bytes(config_path, what=".config"), digest_size=16).hexdigest()
    key = tree.models._cache_key("config", digest, layer="kconfig")
    blob = tree.cache.get("config", key, tree.root)
    if blob is not None:
        return json.loads(blob)
    started = time.time_ns()
    values = complete_config(tree.root, tree.arch, tree.srcarch, Path(config_path),
                             trust_tree=tree.trust_tree)
    tree.cache.put("config", key, tree.root, tree.model.sources,
                   json.dumps(values).encode(), started)
    return values


def _kbuild_exclusion(tree: Tree, file: FileCondition, assignment: dict) -> Evaluation | None:
    """The verdict when Kbuild alone excludes the file under `assignment`."""
    if file.kind == "included" and residual(file.built, assignment) is FALSE:
        names = ", ".join(f"{r.includer}:{r.line}" for r in file.through)
        return Evaluation("no", "kbuild", f"{file.path} is built only through #include at "
                                          f"{names}, and no such line is compiled")
    if file.kind == "unreached":
        return Evaluation("no", "kbuild", f"no Makefile on {tree.arch} compiles {file.path}"
                                          " and no file including it was found")
    if file.kind in ("source", "host") and residual(file.built, assignment) is FALSE:
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
    cond = residual(tree.line_condition(file.path, line), assignment)
    if cond is TRUE:
        return Evaluation("yes")
    if cond is FALSE:
        # (an included file's #if lines may read its includer's macros: the
        # blocks named here are the file's own reading, hence only a reason)
        for block in structure.enclosing(line):
            own = residual(block.own.substitute({MODULE: FALSE}) if file.kind != "header"
                           else block.own, assignment)
            if own is FALSE:
                return Evaluation("no", "cpp", f"line {block.start}: {block.text.strip()} is false")
        return Evaluation("no", "cpp", "the #if conditions around the line are false")
    return Evaluation("unknown", "", f"depends on {describe(cond, types)}, which the .config does not fix")



def evaluate_file(tree: Tree, file: FileCondition, assignment: dict) -> Evaluation:
    """Compiled or not under a concrete configuration (Kbuild alone)."""
    if file.kind == "header":
        return Evaluation("yes", "", "headers are compiled wherever they are included")
    verdict = _kbuild_exclusion(tree, file, assignment)
    if verdict is not None:
        return verdict
    value = residual(file.built, assignment)
    if value is TRUE:
        return Evaluation("yes")
    return Evaluation("unknown", "", f"depends on {describe(value, tree.symbol_types)}")
