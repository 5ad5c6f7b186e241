"""What a patch did to lines of code, independent of any check.

`ChangedLine`s are the added and removed lines of C sources and headers, with
their text normalised so that moved code is recognised whatever its
indentation and comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kwhen.sources import CODE_SUFFIXES

_LINE_COMMENT = re.compile(r"//.*$")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/")
_SPACE = re.compile(r"\s+")
# Statements that recur everywhere: matching them proves nothing moved.
_TRIVIAL = re.compile(r"^(?:[{}();,\s]*|else|do|return\s*\w*\s*;|break;|continue;|goto\s+\w+;|"
                      r"default:|\}?\s*else\s*\{?|return;)$")


def normalize(text: str) -> str:
    """The code on a line, without comments and with spaces folded."""
    text = _BLOCK_COMMENT.sub(" ", text)
    text = _LINE_COMMENT.sub("", text)
    return _SPACE.sub(" ", text).strip()


def is_code(text: str) -> bool:
    """A line that carries code (not blank, comment, or a directive)."""
    stripped = text.strip()
    if not stripped or stripped.startswith(("#", "*", "/*", "//")):
        return False
    return bool(normalize(text))


def is_directive(text: str) -> bool:
    return text.lstrip().startswith("#")


def is_significant(norm: str) -> bool:
    """Normalised code that is distinctive enough to track when it moves."""
    return len(norm) >= 8 and not _TRIVIAL.match(norm)


@dataclass(frozen=True)
class ChangedLine:
    path: str        # the file (old path for removed lines, new path for added)
    line: int        # line number in that side's file
    text: str
    norm: str
    hunk: tuple = ()  # (file patch, hunk) it belongs to: equal for lines of one hunk

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def changed_lines(file_patches) -> tuple[list[ChangedLine], list[ChangedLine]]:
    """(removed, added) code lines of C files in a list of FilePatch."""
    removed, added = [], []
    for i, fp in enumerate(file_patches):
        old_c = fp.old_path is not None and fp.old_path.endswith(CODE_SUFFIXES)
        new_c = fp.new_path is not None and fp.new_path.endswith(CODE_SUFFIXES)
        for j, hunk in enumerate(fp.hunks):
            for tag, text, old_no, new_no in hunk.lines:
                if not is_code(text):
                    continue
                if tag == "-" and old_c:
                    removed.append(ChangedLine(fp.old_path, old_no, text, normalize(text), (i, j)))
                elif tag == "+" and new_c:
                    added.append(ChangedLine(fp.new_path, new_no, text, normalize(text), (i, j)))
    return removed, added


def patch_lines(file_patches, tag: str):
    """(path, line, text) of every line with `tag` ("+" added, "-" removed)
    in every file of the patch; paths and numbers are the side's own."""
    for fp in file_patches:
        path = fp.new_path if tag == "+" else fp.old_path
        if path is None:
            continue
        for hunk in fp.hunks:
            for line_tag, text, old_no, new_no in hunk.lines:
                if line_tag == tag:
                    yield path, (new_no if tag == "+" else old_no), text


def map_line(file_patch, old_line: int) -> int | None:
    """The post-image line number of pre-image line `old_line`, or None if
    the patch removed that line."""
    delta = 0
    for hunk in file_patch.hunks:
        # A hunk that removes nothing starts after old_start, not at it.
        first = hunk.old_start + (1 if hunk.old_len == 0 else 0)
        if old_line < first:
            break
        if old_line < first + hunk.old_len:
            for tag, _, o, n in hunk.lines:
                if o == old_line:
                    return n if tag == " " else None
            return None
        delta = (hunk.new_start + (1 if hunk.new_len == 0 else 0) + hunk.new_len) - (first + hunk.old_len)
    return old_line + delta
