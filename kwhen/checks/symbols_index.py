"""The Kconfig symbols that some Kconfig file of the tree defines, on any
architecture: what checkkconfigsymbols.py calls defined."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

# As the kernel's scripts/checkkconfigsymbols.py reads definitions: a word
# with at least two capitals or digits. Its `(?:\w*[A-Z0-9]\w*){2,}` is the
# same language but backtracks exponentially where the match fails
# (`config BOARD_SPECIFIC_OPTIONS # dummy` took minutes).
SYMBOL = r"(?=\w*[A-Z0-9]\w*[A-Z0-9])\w+"
DEFINITION = re.compile(r"^\s*(?:menu)?config\s+(" + SYMBOL + r")\s*$", re.M)

_memo: dict = {}


def _is_kconfig(path: str) -> bool:
    return re.match(r".*Kconfig[\.\w+\-]*$", path.rsplit("/", 1)[-1]) is not None


def kconfig_files(root: Path) -> list[str]:
    """Kconfig files of the tree (git ls-files when it is a repository)."""
    if (root / ".git").exists():
        out = subprocess.run(["git", "-C", str(root), "ls-files", "*Kconfig*"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            return [p for p in out.stdout.splitlines() if _is_kconfig(p)]
    found = []
    for path in root.rglob("Kconfig*"):
        rel = path.relative_to(root).as_posix()
        if _is_kconfig(rel) and ".git/" not in rel and path.is_file():
            found.append(rel)
    return found


def defined_symbols(root: Path, state=None) -> set[str]:
    """Symbols defined by any Kconfig file, as `state` (a patch state over
    the tree, or None for the tree as it is) has them."""
    root = Path(root)
    base = _memo.get(root)
    if base is None:
        base = {}
        for rel in kconfig_files(root):
            try:
                text = (root / rel).read_text(errors="replace")
            except OSError:
                continue
            base[rel] = set(DEFINITION.findall(text))
        _memo[root] = base
    if state is None:
        return set().union(*base.values()) if base else set()
    per_file = dict(base)
    for rel in state.changed_paths():
        if _is_kconfig(rel):
            text = state.read(rel)
            per_file[rel] = set(DEFINITION.findall(text)) if text is not None else set()
    return set().union(*per_file.values()) if per_file else set()
