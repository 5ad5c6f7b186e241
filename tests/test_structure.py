"""The import staircase of DEVELOPERS.md: every arrow runs down.

    cli -> [mcp] -> control -> {report, checks} -> {definitions, evaluation}
        -> {defindex, explain, wording} -> presence -> models
        -> {kconfig, kbuild, cpp, patch, sqldata} -> {logic, git, readfile, sources}
        -> exceptions

A reader (and a change) can then take the floors one at a time: nothing
below control knows the command line or the API exists, and logic knows
nothing of kernels. The test reads every import statement of the package,
those inside functions too (kwhen imports heavy modules lazily).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kwhen"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """kwhen module -> the kwhen modules it imports (anywhere in its text)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from kwhen.checks import moved` imports kwhen.checks.moved
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("kwhen") and target not in ("kwhen", name):
                    found.add(target)
        graph[name] = found
    return graph


GRAPH = _imports()

# Each module's floor: a module may import only modules on lower floors, or
# on its own floor within its own package. The first matching prefix wins.
FLOORS = [
    ("kwhen.__main__", 13),
    ("kwhen.cli", 12),
    ("kwhen.mcp", 11),      # the MCP server: another front of control, started by `kwhen mcp`
    ("kwhen.control", 10),
    ("kwhen.scan", 9),
    ("kwhen.report", 8),
    ("kwhen.checks.messages", 7),   # findings as data: read by checks and reports
    ("kwhen.checks", 8),
    ("kwhen.definitions", 6),
    ("kwhen.evaluation", 6),
    ("kwhen.defindex", 5),
    ("kwhen.explain", 5),
    ("kwhen.wording", 5),
    ("kwhen.presence", 4),
    ("kwhen.models", 3),
    ("kwhen.inclusion", 3),         # files built through an #include: read by presence
    ("kwhen.kconfig", 2),
    ("kwhen.kbuild", 2),
    ("kwhen.cpp", 2),
    ("kwhen.patch", 2),
    ("kwhen.sqldata", 2),
    ("kwhen.logic", 1),
    ("kwhen.exceptions", 0),
    ("kwhen", 1),           # kwhen.git, kwhen.readfile, kwhen.sources: the ground floor's tools
]


def floor(module: str) -> int:
    for prefix, number in FLOORS:
        if module == prefix or module.startswith(prefix + "."):
            return number
    raise AssertionError(module)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_only_the_command_line_imports_the_api():
    importers = sorted(m for m, targets in GRAPH.items()
                       if {"kwhen.control", "kwhen.cli"} & targets
                       and m not in ("kwhen.cli", "kwhen.__main__", "kwhen.mcp"))
    assert importers == []


def test_logic_imports_only_itself():
    outside = sorted((m, t) for m, targets in GRAPH.items() if m.startswith("kwhen.logic")
                     for t in targets if not t.startswith("kwhen.logic") and t != "kwhen.exceptions")
    assert outside == []


def test_every_arrow_runs_down():
    upward = sorted((m, t) for m, targets in GRAPH.items() for t in targets
                    if floor(t) > floor(m)
                    or (floor(t) == floor(m) and _package(t) != _package(m)))
    assert upward == []


def test_no_import_cycle():
    # Tarjan would do; the graph has a hundred nodes, so a depth-first
    # search from each node is plenty and says which cycle it found.
    def cycle_from(start):
        stack = [(start, iter(sorted(GRAPH[start])))]
        path = [start]
        seen = {start}
        while stack:
            node, children = stack[-1]
            for child in children:
                if child == start:
                    return path + [start]
                if child not in seen:
                    seen.add(child)
                    path.append(child)
                    stack.append((child, iter(sorted(GRAPH.get(child, ())))))
                    break
            else:
                stack.pop()
                path.pop()
        return None

    cycles = [c for c in map(cycle_from, sorted(GRAPH)) if c]
    assert cycles == []


@pytest.mark.parametrize("checker", ["pyflakes"])
def test_source_is_lint_clean(checker):
    pytest.importorskip(checker)
    done = subprocess.run([sys.executable, "-m", checker, str(PACKAGE), str(PACKAGE.parent / "tests")],
                          capture_output=True, text=True)
    assert done.stdout == ""
