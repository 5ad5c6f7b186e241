"""Unified diffs: parse them (with unidiff) into FilePatch/Hunk data and apply
them to a file's text in memory.

A diff is untrusted input: every problem becomes a KwhenError naming the
patch (`source`) and the line of the patch text at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from kwhen.exceptions import KwhenError

DEV_NULL = "/dev/null"

# A patch, an mbox or a commit's diff larger than this is refused, not parsed
# (parsing runs at a few MB a second: 64 MiB is minutes, not hours).
MAX_PATCH_BYTES = 64 << 20

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@[ ]?(.*)")
_DIFF_START = re.compile(r"^(diff --git |--- |\+\+\+ |@@ |Binary files |GIT binary patch)", re.M)
_GIT_BINARY = "GIT binary patch"


@dataclass
class Hunk:
    """One hunk of a file's patch: its ranges and its lines, numbered."""
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str                       # the text after "@@ ... @@" (a function name, often)
    lines: list = field(default_factory=list)   # (tag, text, old_lineno|None, new_lineno|None)
    old_no_newline: bool = False      # the last old line has no newline at end of file
    new_no_newline: bool = False      # the last new line has no newline at end of file
    patch_line: int | None = None     # line of the "@@" header in the patch text

    @property
    def range_text(self) -> str:
        """The hunk's "@@ -a,b +c,d @@" header, for messages."""
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"

    @property
    def old_lines(self) -> list[str]:
        """The text the hunk expects (context and removed lines)."""
        return [text for tag, text, _o, _n in self.lines if tag in " -"]

    @property
    def new_lines(self) -> list[str]:
        """The text the hunk leaves (context and added lines)."""
        return [text for tag, text, _o, _n in self.lines if tag in " +"]


@dataclass
class FilePatch:
    """What a patch does to one file: its paths before and after, and hunks."""
    old_path: str | None              # None for /dev/null (an added file)
    new_path: str | None              # None for /dev/null (a deleted file)
    status: str                       # "added" | "deleted" | "modified" | "renamed"
    hunks: list = field(default_factory=list)
    binary: bool = False              # only with parse_diff(..., allow_binary=True)
    patch_line: int | None = None     # line of the file's header in the patch text

    @property
    def path(self) -> str:
        """The path the change is reported under: the new path, else the old."""
        return self.new_path or self.old_path or ""

    def added_lines(self) -> list[tuple[int, str]]:
        """(new line number, text) of every added line."""
        return [(n, text) for h in self.hunks for tag, text, _o, n in h.lines if tag == "+"]

    def removed_lines(self) -> list[tuple[int, str]]:
        """(old line number, text) of every removed line."""
        return [(o, text) for h in self.hunks for tag, text, o, _n in h.lines if tag == "-"]


class _Lines:
    """Feeds lines to unidiff while remembering the number of the last one."""

    def __init__(self, lines: list[str], first_line: int):
        self.lines = lines
        self.first_line = first_line
        self.index = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.index >= len(self.lines):
            raise StopIteration
        self.index += 1
        return self.lines[self.index - 1]

    @property
    def current(self) -> int:
        return self.first_line + max(self.index, 1) - 1


def _unquote(path: str) -> str:
    """Undo git's C-style quoting of unusual file names ("a/t\\303\\251st")."""
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        body = path[1:-1]
        out = bytearray()
        i = 0
        simple = {"n": 10, "t": 9, '"': 34, "\\": 92, "a": 7, "b": 8, "f": 12, "r": 13, "v": 11}
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt in simple:
                    out.append(simple[nxt])
                    i += 2
                    continue
                if re.match(r"[0-7]{3}", body[i + 1:i + 4]):
                    out.append(int(body[i + 1:i + 4], 8))
                    i += 4
                    continue
            out.extend(c.encode("utf-8", "surrogateescape"))
            i += 1
        return out.decode("utf-8", "surrogateescape")
    return path


def _clean_path(raw: str | None, prefix: str, strip: bool, source: str, line: int | None) -> str | None:
    if raw is None:
        return None
    path = _unquote(raw.strip())
    if path == DEV_NULL:
        return None
    if strip and path.startswith(prefix):
        path = path[len(prefix):]
    if not path:
        raise KwhenError("empty file name in patch", path=source, line=line)
    if path.startswith("/"):
        raise KwhenError(f"absolute path in patch: {path}", path=source, line=line)
    parts = path.split("/")
    if ".." in parts:
        raise KwhenError(f"path escapes the tree: {path}", path=source, line=line)
    return "/".join(p for p in parts if p not in ("", "."))


def _normalise_newlines(text: str) -> str:
    """A patch saved with CRLF line endings throughout becomes LF."""
    if "\r\n" in text:
        lines = text.split("\n")
        body = lines[:-1] if lines[-1] == "" else lines
        if body and all(line.endswith("\r") for line in body):
            return text.replace("\r\n", "\n")
    return text


def parse_diff(text: str, source: str, first_line: int = 1,
               allow_binary: bool = False) -> list[FilePatch]:
    """Parse the unified diff(s) in `text` (git or plain; text before the first
    file header, such as a commit message, is ignored).

    `source` names the patch in errors; `first_line` is the line of the
    source that `text` starts at, so that errors point into the source.
    With `allow_binary`, a binary change becomes a FilePatch with
    ``binary=True`` and no hunks instead of an error.
    """
    text = _normalise_newlines(text)
    # split on "\n" only: str.splitlines() would also split at form feeds,
    # "\r", "\x1c" and the like, which C files and Kconfig help texts contain
    lines = [line + "\n" for line in text.split("\n")]
    if text.endswith("\n") or not text:
        lines.pop()
    if not _DIFF_START.search(text):
        raise KwhenError("no diff found in the patch" if text.strip() else "the patch is empty",
                         path=source, line=None)

    # unidiff silently treats a malformed "@@" line as prose; we do not
    seen_file = False
    for i, line in enumerate(lines):
        if line.startswith(("diff --git ", "--- ", "+++ ")):
            seen_file = True
        elif seen_file and line.startswith("@@") and not _HUNK_HEADER.match(line):
            raise KwhenError(f"malformed hunk header: {line.rstrip()}", path=source,
                             line=first_line + i)
        elif line.startswith(_GIT_BINARY) or (line.startswith("Binary files ") and " differ" in line):
            if not allow_binary:
                raise KwhenError("binary patches cannot be checked", path=source, line=first_line + i)

    feed = _Lines(lines, first_line)
    try:
        patchset = PatchSet(feed)
    except UnidiffParseError as e:
        raise KwhenError(f"malformed hunk: {e}".rstrip(), path=source, line=feed.current) from None

    result = []
    for pf in patchset:
        line = first_line + pf.diff_line_no - 1 if pf.diff_line_no else None
        info = [str(x) for x in (pf.patch_info or [])]
        is_git = any(x.startswith("diff --git ") for x in info)
        if line and not is_git and not pf.is_binary_file and line > first_line:
            line -= 1           # unidiff counts a plain diff's file from its "+++" line
        rename_from = rename_to = None
        for x in info:
            if x.startswith("rename from "):
                rename_from = x[len("rename from "):].rstrip("\n")
            elif x.startswith("rename to "):
                rename_to = x[len("rename to "):].rstrip("\n")
        src, dst = pf.source_file, pf.target_file
        strip = (src in (None, DEV_NULL) or _unquote(src).startswith("a/")) and \
                (dst in (None, DEV_NULL) or _unquote(dst).startswith("b/"))
        old_path = _clean_path(src, "a/", strip, source, line)
        new_path = _clean_path(dst, "b/", strip, source, line)
        if rename_from is not None and rename_to is not None:
            old_path = _clean_path(rename_from, "", False, source, line)
            new_path = _clean_path(rename_to, "", False, source, line)
        if pf.is_binary_file:
            if not allow_binary:
                raise KwhenError("binary patches cannot be checked", path=source, line=line)
        if not is_git and not len(pf) and not pf.is_binary_file:
            raise KwhenError(f"malformed patch: no hunk for {new_path or old_path}",
                             path=source, line=line)
        if old_path is None and new_path is None:
            raise KwhenError("patch names no file", path=source, line=line)
        if old_path is None:
            status = "added"
        elif new_path is None:
            status = "deleted"
        elif old_path != new_path:
            status = "renamed"
        else:
            status = "modified"
        if is_git and status == "modified":
            if any(x.startswith("new file mode") for x in info):
                status, old_path = "added", None
            elif any(x.startswith("deleted file mode") for x in info):
                status, new_path = "deleted", None

        hunks = []
        for h in pf:
            hunk = Hunk(h.source_start, h.source_length, h.target_start, h.target_length,
                        (h.section_header or "").strip())
            first = [ln.diff_line_no for ln in h if ln.diff_line_no]
            hunk.patch_line = first_line + first[0] - 2 if first else None
            previous = None
            for ln in h:
                tag = ln.line_type
                if tag == "\\":
                    if previous in (" ", "-"):
                        hunk.old_no_newline = True
                    if previous in (" ", "+"):
                        hunk.new_no_newline = True
                    continue
                if tag not in ("+", "-", " "):
                    continue      # the blank separator lines unidiff attaches to a hunk
                value = ln.value
                if value.endswith("\n"):
                    value = value[:-1]
                hunk.lines.append((tag, value, ln.source_line_no if tag != "+" else None,
                                   ln.target_line_no if tag != "-" else None))
                previous = tag
            hunks.append(hunk)
        result.append(FilePatch(old_path, new_path, status, hunks, binary=pf.is_binary_file,
                                patch_line=line))
    if not result:
        raise KwhenError("no diff found in the patch", path=source)
    return result


# -- applying ------------------------------------------------------------------

def reverse(fp: FilePatch) -> FilePatch:
    """The patch that undoes `fp` (applied to its result, gives its input)."""
    swap = {"+": "-", "-": "+"}
    status = {"added": "deleted", "deleted": "added"}.get(fp.status, fp.status)
    hunks = [Hunk(h.new_start, h.new_len, h.old_start, h.old_len, h.header,
                  [(swap.get(tag, tag), text, new, old) for tag, text, old, new in h.lines],
                  old_no_newline=h.new_no_newline, new_no_newline=h.old_no_newline,
                  patch_line=h.patch_line) for h in fp.hunks]
    return FilePatch(fp.new_path, fp.old_path, status, hunks, binary=fp.binary,
                     patch_line=fp.patch_line)


def _split(text: str) -> tuple[list[str], bool]:
    """Lines without their newline, and whether the text ends with one."""
    if text == "":
        return [], True
    ends = text.endswith("\n")
    lines = text.split("\n")
    if ends:
        lines.pop()
    return lines, ends


def _join(lines: list[str], ends: bool) -> str:
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if ends else "")


def apply(file_text: str | None, fp: FilePatch, source: str) -> str | None:
    """Apply `fp` to a file's text (None: the file is absent); return the new
    text (None: the patch deletes the file). Context must match exactly; a
    hunk may sit at an offset from where it claims (the nearest match wins;
    the hunk's line numbers are then moved to where it applied)."""
    path = fp.path
    if fp.binary:
        raise KwhenError(f"binary patches cannot be checked: {path}", path=source)
    if fp.status == "added":
        if file_text is not None:
            raise KwhenError(f"patch does not apply: {path} already exists", path=source,
                             line=fp.patch_line)
        file_text = ""
    elif file_text is None:
        raise KwhenError(f"patch does not apply: {path} does not exist", path=source,
                         line=fp.patch_line)

    lines, ends = _split(file_text)
    out: list[str] = []
    pos = 0               # next line of `lines` not yet copied
    offset = 0
    for n, hunk in enumerate(fp.hunks, 1):
        old = hunk.old_lines
        new = hunk.new_lines
        # where the hunk claims to start (0-based); a pure insertion names the line before
        want = hunk.old_start - 1 if hunk.old_len else hunk.old_start
        want = max(want + offset, pos)
        at = _find(lines, old, want, pos, hunk.old_no_newline, ends)
        if at is None:
            raise KwhenError(f"patch does not apply: {path} hunk #{n} ({hunk.range_text})",
                             path=source, line=hunk.patch_line)
        offset = at - (hunk.old_start - 1 if hunk.old_len else hunk.old_start)
        out.extend(lines[pos:at])
        _renumber(hunk, at, len(out))
        out.extend(new)
        pos = at + len(old)
        if pos == len(lines):
            # the hunk reaches the end of the file: its new side decides the final newline
            if new:
                ends = not hunk.new_no_newline
            elif old:
                ends = True      # the last lines went; the line before them was terminated
    out.extend(lines[pos:])
    if fp.status == "deleted":
        if out:
            raise KwhenError(f"patch does not apply: {path} is not empty after its deletion",
                             path=source, line=fp.patch_line)
        return None
    return _join(out, ends)


def _renumber(hunk: Hunk, old_at: int, new_at: int) -> None:
    """Make the hunk's line numbers those of the file it was applied to (it
    may sit at an offset from where its header claims): findings name the
    lines of the tree, not of the patch's author."""
    old_start = old_at + 1 if hunk.old_len else old_at
    new_start = new_at + 1 if hunk.new_len else new_at
    shift_old, shift_new = old_start - hunk.old_start, new_start - hunk.new_start
    if not shift_old and not shift_new:
        return
    hunk.old_start, hunk.new_start = old_start, new_start
    hunk.lines = [(tag, text, o + shift_old if o is not None else None,
                   n + shift_new if n is not None else None) for tag, text, o, n in hunk.lines]


def _find(lines: list[str], old: list[str], want: int, lo: int,
          old_no_newline: bool, ends: bool) -> int | None:
    """The start nearest `want` (not before `lo`) where `old` matches exactly."""
    size = len(old)
    hi = len(lines) - size
    if hi < lo:
        return None

    def fits(at: int) -> bool:
        if lines[at:at + size] != old:
            return False
        at_end = at + size == len(lines)
        if old_no_newline:
            return at_end and not ends
        # a hunk whose old side ends with a terminated line cannot end at an
        # unterminated last line
        return not (size and at_end and not ends)

    if not size:
        return min(max(want, lo), len(lines))
    want = min(max(want, lo), hi)
    for d in range(0, max(want - lo, hi - want) + 1):
        for at in (want - d, want + d) if d else (want,):
            if lo <= at <= hi and fits(at):
                return at
    return None
