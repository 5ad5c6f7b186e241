"""What a patch did to lines of code, independent of any check.

`ChangedLine`s are the added and removed lines of C sources and headers, with
their text normalised so that moved code is recognised whatever its
indentation and comments.
"""

from __future__ import annotations

import dataclasses
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


def anchored_on_code(file_patch):
    """`file_patch` with each hunk of a C file diffed again so that lines of
    code anchor it: a line of code whose place among the other lines of code
    did not change is kept, and the directives, blank lines and comments
    around it are what the patch removed and added.

    A diff is one of many with the same result, and git's (or difflib's)
    may show an `#endif` moved one line down as the code line it passed
    removed and added again. To the author that line stayed where it was and
    its `#if` changed: read as a move, it would be paired with itself and
    reported as code moved to a narrower place. The old and new text of every
    hunk stay what they were; only which lines count as kept changes, and
    only where more lines of code are kept than in the diff as given."""
    if not (file_patch.old_path or "").endswith(CODE_SUFFIXES):
        return file_patch
    hunks = [_anchored(h) for h in file_patch.hunks]
    if all(new is old for new, old in zip(hunks, file_patch.hunks)):
        return file_patch
    return dataclasses.replace(file_patch, hunks=hunks)


# Hunks with more pairs of lines than this keep the diff as given.
MAX_ANCHORED_PAIRS = 250_000


def _anchored(hunk):
    tags = {tag for tag, _t, _o, _n in hunk.lines}
    if not ("-" in tags and "+" in tags):
        return hunk
    old = [(text, o) for tag, text, o, _n in hunk.lines if tag in " -"]
    new = [(text, n) for tag, text, _o, n in hunk.lines if tag in " +"]
    if len(old) * len(new) > MAX_ANCHORED_PAIRS:
        return hunk
    old_code = [i for i, (text, _) in enumerate(old) if is_code(text)]
    new_code = [j for j, (text, _) in enumerate(new) if is_code(text)]
    anchors = [(old_code[a], new_code[b]) for a, b in _common(
        [old[i][0] for i in old_code], [new[j][0] for j in new_code])]
    kept_code = sum(1 for tag, text, _o, _n in hunk.lines if tag == " " and is_code(text))
    if len(anchors) <= kept_code:
        return hunk
    # between two anchors, the rest (directives, blanks, comments) pairs as
    # plain text does
    kept, previous = [], (0, 0)
    for end in anchors + [(len(old), len(new))]:
        (i0, j0), (i1, j1) = previous, end
        kept.extend((i0 + a, j0 + b) for a, b in _common(
            [text for text, _ in old[i0:i1]], [text for text, _ in new[j0:j1]]))
        kept.append(end)
        previous = (end[0] + 1, end[1] + 1)
    lines, i, j = [], 0, 0
    for ki, kj in kept:
        lines.extend(("-", text, o, None) for text, o in old[i:ki])
        lines.extend(("+", text, None, n) for text, n in new[j:kj])
        if ki < len(old):
            lines.append((" ", old[ki][0], old[ki][1], new[kj][1]))
        i, j = ki + 1, kj + 1
    return dataclasses.replace(hunk, lines=lines)


def _common(a: list, b: list) -> list:
    """Index pairs (i, j) of a longest common subsequence of `a` and `b`."""
    if not a or not b:
        return []
    # lengths[i][j]: the longest common subsequence of a[i:] and b[j:]
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        row, below = lengths[i], lengths[i + 1]
        for j in range(len(b) - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    pairs, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs
