"""Definitions of a C identifier across the tree: which files may define
it, every definition with its role, and when each is the one built."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from kwhen import git
from kwhen.exceptions import KwhenError
from kwhen.kconfig.arches import arch_of_path
from kwhen.logic.formula import FALSE, Formula, conj, disj_all, neg
from kwhen.presence import Tree
from kwhen.sources import CODE_GLOBS, CODE_SUFFIXES


def files_mentioning(root: Path, name: str | list) -> list[str]:
    """Source files (.c, .h, .S) that contain `name` (or any of a list of
    names) as a word.

    Uses git grep (through kwhen.git) in a git work tree and grep elsewhere: searching 1.5 GB of
    kernel source in Python would take a minute; these take about a second.
    Both only read files.
    """
    globs = CODE_GLOBS
    names = [name] if isinstance(name, str) else list(name)
    for n in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
            raise KwhenError(f"'{n}' is not a C identifier")
    patterns = [arg for n in names for arg in ("-e", n)]
    if (root / ".git").exists():
        out = git.run(root, "grep", "-l", "-w", "-F", *patterns, "--", *globs, ok=(0, 1))
        return sorted(out.decode("utf-8", "surrogateescape").splitlines())
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

    origin = tree.models.origin
    if origin is not None and origin[1] is not None:
        # a tree materialised from the work tree and a state: the work
        # tree's files but where the state differs, whose new text is read
        root, state = origin
        found = files_defining(Tree(root, tree.arch, cache=tree.cache, state=state), name)
        changed = state.changed_paths()
        names = [name] if isinstance(name, str) else name
        return sorted(set(found) - changed | {
            rel for rel in changed if rel.endswith(CODE_SUFFIXES)
            and (text := state.read(rel)) is not None and any(n in text for n in names)})
    # A process that had to build the Kconfig model (a cold cache) greps
    # rather than also build the index: the next one builds it.
    index = defindex.for_root(tree.root, tree.cache, _work_tree(tree),
                              build=not tree.models.built_model)
    names = [name] if isinstance(name, str) else list(name)
    # the index answers for the names it covers; only the others are
    # grepped for (a macro name beside `printf` must not turn the answer
    # into every file that calls printf)
    indexed = [n for n in names if defindex.covered(n)] if index is not None else []
    found = index.files_defining(indexed) if indexed else []
    if found is None:
        indexed, found = [], []
    rest = [n for n in names if n not in indexed]
    return sorted(set(found) | set(files_mentioning(tree.root, rest) if rest else ()))


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
            if text is not None and relpath.endswith(CODE_SUFFIXES) and name in text:
                paths.add(relpath)
    entries = []
    for relpath in sorted(paths):
        for d in find_definitions(tree.read_text(relpath), name, relpath):
            if arch_of_path(relpath) not in (None, tree.srcarch):
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
