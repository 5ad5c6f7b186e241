"""The syntax of make text: references, function calls and their arguments.

The one place that scans make's brackets: `kwhen.kbuild.makefile` uses it
to cut a Makefile into statements (and to check their references), and
`kwhen.kbuild.evaluate` to parse the raw text it expands (`parse_text`).
"""

from __future__ import annotations

import re

from kwhen.exceptions import KwhenError

__all__ = ["FUNCTIONS", "find_reference_end", "check_references", "split_args",
           "top_level_find", "parse_text"]

class UnterminatedReference(KwhenError, ValueError):
    """A ``$(`` without its ``)`` (located by the caller that knows the line)."""


# make functions: name -> maximum number of arguments (the last one keeps
# its commas), or None for any number.
FUNCTIONS = {
    "subst": 3, "patsubst": 3, "strip": 1, "findstring": 2, "filter": 2,
    "filter-out": 2, "sort": 1, "word": 2, "wordlist": 3, "words": 1,
    "firstword": 1, "lastword": 1, "dir": 1, "notdir": 1, "suffix": 1,
    "basename": 1, "addsuffix": 2, "addprefix": 2, "join": 2, "wildcard": 1,
    "realpath": 1, "abspath": 1, "foreach": 3, "if": 3, "or": None,
    "and": None, "call": None, "value": 1, "origin": 1, "flavor": 1,
    "shell": 1, "error": 1, "warning": 1, "info": 1, "eval": 1, "file": 2,
    "guile": 1, "intcmp": 5, "let": 3,
}


_PARENS = re.compile(r"[(){}]")


def find_reference_end(text: str, start: int) -> int:
    """Index just past the reference that starts with ``$(`` or ``${`` at
    `start`, or -1 if it is not terminated."""
    opener = text[start + 1]
    closer = ")" if opener == "(" else "}"
    depth = 0
    for m in _PARENS.finditer(text, start + 1):
        ch = m.group()
        if ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth == 0:
                return m.end()
    return -1


def check_references(text: str, path: str, line: int) -> None:
    """Raise if a ``$(`` or ``${`` in `text` is not terminated."""
    i = text.find("$")
    while i != -1 and i + 1 < len(text):
        nxt = text[i + 1]
        if nxt == "$":
            i = text.find("$", i + 2)
            continue
        if nxt in "({":
            end = find_reference_end(text, i)
            if end < 0:
                raise KwhenError("unterminated variable reference", path=path, line=line)
            # nested references are checked by the same scan
        i = text.find("$", i + 1)


def split_args(text: str, limit: int | None = None) -> list[str]:
    """Split function arguments at top-level commas (at most `limit` splits
    are made: the last argument keeps its commas, as make does)."""
    out = []
    start = 0
    for i in _top_level(text, ","):
        if limit is not None and len(out) >= limit:
            break
        out.append(text[start:i])
        start = i + 1
    out.append(text[start:])
    return out


def _top_level(text: str, chars: str):
    """Indices of the characters of `chars` in `text` that lie outside
    every parenthesis and brace."""
    depth = 0
    for i, c in enumerate(text):
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        elif c in chars and depth == 0:
            yield i


def top_level_find(text: str, ch: str) -> int:
    """Index of the first `ch` in `text` outside parentheses and braces, or -1."""
    return next(_top_level(text, ch), -1)


_text_cache: dict = {}
_WS = re.compile(r"[ \t\n]+")


def parse_text(text: str):
    """Parse raw make text into a tuple of groups (whitespace-separated);
    each group is a tuple of parts: str literals and nodes
    ``("ref", groups)``, ``("fn", name, [raw args])``,
    ``("sub", groups, from, to)``. Returns a tuple of words when the text
    has no references at all."""
    got = _text_cache.get(text)
    if got is not None:
        return got
    if "$" not in text:
        res = ("const", tuple(text.split()))
        _text_cache[text] = res
        return res
    groups = []
    cur: list = []
    pos = 0
    n = len(text)
    pending = ""     # literal text glued to the current group
    while pos <= n:
        i = text.find("$", pos)
        chunk = text[pos:i] if i >= 0 else text[pos:]
        if chunk:
            pieces = _WS.split(chunk)
            if len(pieces) == 1:
                pending += chunk
            else:
                pending += pieces[0]
                if pending:
                    cur.append(pending)
                if cur:
                    groups.append(tuple(cur))
                cur = []
                for mid in pieces[1:-1]:
                    if mid:
                        groups.append((mid,))
                pending = pieces[-1]
        if i < 0:
            break
        if i + 1 >= n:
            pending += "$"
            break
        nx = text[i + 1]
        if nx == "$":
            pending += "$"
            pos = i + 2
            continue
        if nx in "({":
            end = find_reference_end(text, i)
            if end < 0:
                raise UnterminatedReference("unterminated variable reference")
            node = _parse_ref(text[i + 2:end - 1])
            pos = end
        else:
            node = ("ref", ("const", (nx,)))
            pos = i + 2
        if pending:
            cur.append(pending)
            pending = ""
        cur.append(node)
    if pending:
        cur.append(pending)
    if cur:
        groups.append(tuple(cur))
    res = ("groups", tuple(groups))
    _text_cache[text] = res
    return res


def _parse_ref(inner: str):
    # function call: name followed by whitespace
    j = 0
    n = len(inner)
    while j < n and inner[j] not in " \t$:(){}":
        j += 1
    if j < n and inner[j] in " \t" and j > 0:
        name = inner[:j]
        if name in FUNCTIONS:
            rest = inner[j:].lstrip(" \t")
            limit = FUNCTIONS[name]
            args = split_args(rest, None if limit is None else limit - 1)
            return ("fn", name, args)
        if "$" not in inner:
            return ("badfn", name, inner)
    # substitution reference $(var:a=b)
    k = top_level_find(inner, ":")
    if k >= 0:
        rest = inner[k + 1:]
        eq = top_level_find(rest, "=")
        if eq >= 0:
            return ("sub", parse_text(inner[:k]), rest[:eq], rest[eq + 1:])
    return ("ref", parse_text(inner))
