"""Stable identities of findings, for code-scanning front ends (SARIF's
partialFingerprints, GitLab's fingerprint).

A finding keeps its identity when unrelated lines move: the identity is a
digest of its kind, its file, the text of its line and of the lines around
it (whitespace collapsed) and the symbols it names, never the line number.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.readfile import read_text

# lines read on each side of the finding's line
NEIGHBOURS = 1


def _normalised(text: str) -> str:
    return " ".join(text.split())


class SourceLines:
    """The files of the checked tree, read once each (absent: no lines)."""

    def __init__(self, root: str | None):
        self.root = Path(root) if root else None
        self._files: dict[str, list[str]] = {}

    def lines(self, relpath: str) -> list[str]:
        if relpath not in self._files:
            text = ""
            if self.root is not None and relpath:
                try:
                    text = read_text(self.root / relpath, shown=relpath)
                except (KwhenError, OSError):
                    text = ""
            self._files[relpath] = text.split("\n")
        return self._files[relpath]

    def around(self, relpath: str, line: int, context: int) -> list[tuple[int, str]]:
        """(number, text) of line `line` and `context` lines on each side."""
        lines = self.lines(relpath)
        first = max(1, line - context)
        last = min(len(lines), line + context)
        return [(n, lines[n - 1]) for n in range(first, last + 1)]


def symbols_of(finding) -> list[str]:
    """The symbols or identifiers a finding names, if any."""
    names = []
    for attr in ("symbol", "symbols", "name", "function"):
        value = getattr(finding, attr, None)
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, (list, tuple)):
            names.extend(str(v) for v in value)
    return names


def fingerprint(finding, sources: SourceLines) -> str:
    """A hex digest that survives edits elsewhere in the file."""
    text = [_normalised(t) for _n, t in sources.around(finding.file, finding.line or 0, NEIGHBOURS)] \
        if finding.line else []
    h = hashlib.sha256()
    for piece in [finding.kind, finding.file, *text, "\0", *symbols_of(finding)]:
        h.update(piece.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()[:32]
