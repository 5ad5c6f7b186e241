"""The Kconfig symbols that some Kconfig file of the tree defines, on any
architecture: what checkkconfigsymbols.py calls defined."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

from kwhen import git
from kwhen.exceptions import KwhenError
from kwhen.readfile import read_text

# As the kernel's scripts/checkkconfigsymbols.py reads definitions: a word
# with at least two capitals or digits. Its `(?:\w*[A-Z0-9]\w*){2,}` is the
# same language but backtracks exponentially where the match fails
# (`config BOARD_SPECIFIC_OPTIONS # dummy` took minutes). A comment may
# follow the name: U-Boot's boards write `config BOARD_SPECIFIC_OPTIONS # dummy`.
SYMBOL = r"(?=\w*[A-Z0-9]\w*[A-Z0-9])\w+"
DEFINITION = re.compile(r"^\s*(?:menu)?config\s+(" + SYMBOL + r")\s*(?:#.*)?$", re.M)

# What may give a symbol a value other than n, read line by line: a prompt
# (the type with a text, or `prompt`), a default, or a select or imply of it
# anywhere. Help texts are skipped (their lines may begin with these words).
_KEYWORD = re.compile(r"^(\s*)(config|menuconfig|choice|endchoice|comment|menu|endmenu|if|endif|"
                      r"source|rsource|osource|orsource|mainmenu|help|---help---|bool|tristate|"
                      r"string|int|hex|prompt|default|def_bool|def_tristate|select|imply|"
                      r"depends|visible|range|option|modules|transitional)\b(.*)$")
_PROMPTED = re.compile(r"""^\s*["']""")
_TARGET = re.compile(r"\s*(" + SYMBOL + r")")

_memo: dict = {}


def _read_symbols(text: str) -> list:
    """[defined names, names some definition lets be set (a prompt or a
    default), names selected or implied] of one Kconfig file."""
    defined = DEFINITION.findall(text)
    settable, selected = set(), set()
    current, help_indent = None, None
    for line in text.splitlines():
        if help_indent is not None:
            indent = len(line) - len(line.lstrip())
            if not line.strip() or indent > help_indent:
                continue
            help_indent = None
        m = _KEYWORD.match(line)
        if m is None:
            continue
        indent, word, rest = len(m.group(1).expandtabs()), m.group(2), m.group(3)
        if word in ("help", "---help---"):
            help_indent = len(line) - len(line.lstrip())
            continue
        if word in ("config", "menuconfig"):
            current = rest.split("#", 1)[0].strip() or None
        elif word in ("choice", "endchoice", "comment", "menu", "endmenu", "if", "endif",
                      "source", "rsource", "osource", "orsource", "mainmenu"):
            current = None
        elif word in ("select", "imply"):
            target = _TARGET.match(rest)
            if target:
                selected.add(target.group(1))
        elif current is not None and (
                word in ("default", "def_bool", "def_tristate", "option")
                or word == "prompt"
                or (word in ("bool", "tristate", "string", "int", "hex")
                    and _PROMPTED.match(rest))):
            settable.add(current)
        del indent
    return [sorted(set(defined)), sorted(settable), sorted(selected)]


def _is_kconfig(path: str) -> bool:
    return re.match(r".*Kconfig[\.\w+\-]*$", path.rsplit("/", 1)[-1]) is not None


def kconfig_files(root: Path) -> list[str]:
    """Kconfig files of the tree (git ls-files when it is a repository)."""
    if (root / ".git").exists():
        try:
            out = git.run(root, "ls-files", "*Kconfig*").decode("utf-8", "surrogateescape")
        except git.GitError:
            pass            # not a work tree git can read: walk the directories
        else:
            return [p for p in out.splitlines() if _is_kconfig(p)]
    found = []
    for path in root.rglob("Kconfig*"):
        rel = path.relative_to(root).as_posix()
        if _is_kconfig(rel) and ".git/" not in rel and path.is_file():
            found.append(rel)
    return found


def _stamp(root: Path, files: list[str]) -> str:
    """What the Kconfig files of the work tree are now: their names, sizes
    and modification times."""
    h = hashlib.blake2b(digest_size=12)
    for rel in files:
        try:
            st = os.stat(root / rel)
            h.update(f"{rel}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        except OSError:
            h.update(f"{rel}\0-\n".encode())
    return h.hexdigest()


def _per_file(root: Path, files: list[str], cache) -> dict[str, set]:
    """Kconfig file -> the symbols it defines, kept in the cache (reading
    Linux's 1,700 Kconfig files takes most of a second)."""
    # The pattern is part of the key: a cache written by an older reading
    # of definitions is not this one's.
    key = "|".join([str(root), hashlib.blake2b("\n".join(
        [DEFINITION.pattern, _KEYWORD.pattern, *files]).encode(), digest_size=12).hexdigest()])
    blob = cache.get("kconfig-definitions", key, root) if cache is not None else None
    if blob is not None:
        return json.loads(blob)
    started = time.time_ns()
    base = {}
    for rel in files:
        try:
            text = read_text(root / rel, shown=rel)
        except KwhenError:
            continue
        base[rel] = _read_symbols(text)
    if cache is not None:
        cache.put("kconfig-definitions", key, root, files, json.dumps(base).encode(), started)
    return base


def _per_file_in(root: Path, state, cache) -> dict:
    """`_per_file` of the tree's Kconfig files as `state` (a patch state
    over the tree, or None) has them, remembered while the work tree's
    Kconfig files stay as they are (a process may check commits that it
    makes or checks out in between)."""
    files = kconfig_files(root)
    stamp = _stamp(root, files)
    remembered = _memo.get(root)
    if remembered is not None and remembered[0] == stamp:
        base = remembered[1]
    else:
        base = _per_file(root, files, cache)
        _memo[root] = (stamp, base)
    if state is None:
        return base
    per_file = dict(base)
    for rel in state.changed_paths():
        if _is_kconfig(rel):
            text = state.read(rel)
            per_file[rel] = _read_symbols(text) if text is not None else [[], [], []]
    return per_file


def defined_symbols(root: Path, state=None, cache=None) -> set[str]:
    """Symbols defined by any Kconfig file, as `state` (a patch state over
    the tree, or None for the tree as it is) has them. `cache`: a
    kwhen.sqldata.Cache to keep the tree's definitions in."""
    per_file = _per_file_in(Path(root), state, cache)
    return set().union(*(set(entry[0]) for entry in per_file.values()))


def never_set(root: Path, state=None, cache=None) -> set[str]:
    """Symbols that no Kconfig file of the tree lets be anything but n, on
    any architecture: defined, but without a prompt or a default in any
    definition, and selected or implied by nothing (U-Boot's hidden
    SCMI_ID_VENDOR_81 before its first user). Read from the text alone, so
    a dead line under one needs no architecture's model to be known dead."""
    per_file = _per_file_in(Path(root), state, cache)
    defined, settable, selected = set(), set(), set()
    for names, can, picks in per_file.values():
        defined.update(names)
        settable.update(can)
        selected.update(picks)
    return defined - settable - selected


def defining_arches(root: Path, cache=None) -> dict[str, set]:
    """Symbol -> the architectures whose Kconfig files define it, with None
    for a file outside arch/ (defined on every architecture). A symbol that
    only arch/arm64 defines is n on every other architecture. Linux's UML
    sources arch/<host>/um/Kconfig, so what that file defines is um's too."""
    from kwhen.kconfig.arches import arch_of_path

    owners: dict[str, set] = {}
    for rel, (names, _settable, _selected) in _per_file_in(Path(root), None, cache).items():
        arch = arch_of_path(rel)
        owning = {arch, "um"} if arch is not None and "/um/" in rel else {arch}
        for name in names:
            owners.setdefault(name, set()).update(owning)
    return owners
