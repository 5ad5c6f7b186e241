"""Where a C function, macro or global variable is defined in a file.

The file is first cleaned by `kwhen.cpp.directives.lex` (comments, literals
and directive lines blanked, offsets kept). Parentheses and braces are then
matched once, preprocessor-aware: the branches of a conditional group each
start from the nesting at its ``#if``, and after ``#endif`` the nesting of
the first live branch goes on (``#if 0`` branches never count), so

    #ifdef CONFIG_X
    static int f(int a) {
    #else
    static int f(void) {
    #endif

does not unbalance the rest of the file. A function definition is then a
``name(...)`` at brace depth 0 whose ``)`` is followed, after attributes, by
a ``{``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from kwhen.cpp.directives import lex

__all__ = ["Definition", "find_definitions", "function_spans"]


@dataclass(frozen=True)
class Definition:
    """One definition of `name` in a C file: a function, a macro or a variable, with its
    lines."""
    name: str
    line: int          # line of `name(` (or of the #define, or of the variable's name)
    end_line: int      # line of the closing `}` (or of the `;`, or the macro's last line)
    kind: str          # "function", "macro" or "variable"
    static: bool
    inline: bool
    weak: bool
    signature: str


_BRACKETS = re.compile(r"[{}()]")
_TOP = re.compile(r"[{(;]")
_NAME_BEFORE = re.compile(r"([A-Za-z_]\w*)\s*$")
_IDENT_AT = re.compile(r"\s*([A-Za-z_]\w*)")
_SPACE = re.compile(r"\s*")
_BLANK_LINE = re.compile(r"\n[ \t\f\v\r]*\n")
_STATIC = re.compile(r"\bstatic\b")
_INLINE = re.compile(r"\b(?:inline|__inline|__inline__|__always_inline)\b")
_WEAK = re.compile(r"\b__weak\b|\b__attribute__\s*\(\(.*?\bweak\b|\b__weak__\b", re.S)
_EXTERN = re.compile(r"\b(?:extern|typedef)\b")
_NOT_NAMES = frozenset((
    "if", "while", "for", "switch", "return", "sizeof", "typeof", "__typeof__",
    "__typeof", "__attribute__", "__attribute", "asm", "__asm__", "__asm",
    "_Static_assert", "static_assert", "_Alignas", "alignof", "_Alignof",
    "__alignof__", "defined", "do", "else", "case", "goto",
))
# Identifiers allowed between a function's `)` and its `{` (attributes).
_TRAILING_WORDS = frozenset(("noinline", "notrace", "asmlinkage", "const", "volatile"))


class _Source:
    """A cleaned file with matched brackets and line lookup."""

    def __init__(self, text: str):
        self.directives, clean = lex(text, clean=True)
        self.clean = clean
        self.newlines = [m.start() for m in re.finditer("\n", clean)]
        self.match = self._match()

    def line_of(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) + 1

    def _match(self) -> dict:
        clean = self.clean
        events = [(d.offset, d) for d in self.directives
                  if d.keyword in ("if", "ifdef", "ifndef", "elif", "elifdef",
                                   "elifndef", "else", "endif")]
        ei = 0
        stack: list[int] = []
        groups: list[list] = []   # [snapshot at #if, stack after primary branch, primary dead]
        match: dict = {}
        pairs = {")": "(", "}": "{"}
        for m in _BRACKETS.finditer(clean):
            o = m.start()
            while ei < len(events) and events[ei][0] < o:
                d = events[ei][1]
                ei += 1
                kw = d.keyword
                if kw in ("if", "ifdef", "ifndef"):
                    groups.append([list(stack), None, kw == "if" and d.body.strip() == "0"])
                elif not groups:
                    continue
                elif kw == "endif":
                    snap, primary, dead = groups.pop()
                    if primary is not None:
                        stack = primary
                    elif dead:
                        stack = snap
                else:
                    g = groups[-1]
                    if g[2]:
                        g[2] = False       # the branch after `#if 0` is the primary one
                    elif g[1] is None:
                        g[1] = stack
                    stack = list(g[0])
            c = m.group()
            if c in "({":
                stack.append(o)
            elif stack and clean[stack[-1]] == pairs[c]:
                opened = stack.pop()
                if opened not in match:
                    match[opened] = o
        return match

    def skip_attributes(self, pos: int) -> int:
        """From `pos`, skip whitespace and attribute-like words or groups
        (``__init``, ``__attribute__((x))``, ``__acquires(l)``); the position
        of the next significant character."""
        clean, match = self.clean, self.match
        n = len(clean)
        while True:
            pos = _SPACE.match(clean, pos).end()
            if pos >= n:
                return pos
            c = clean[pos]
            if c == "(":
                close = match.get(pos)
                if close is None:
                    return pos
                pos = close + 1
                continue
            m = _IDENT_AT.match(clean, pos)
            if m is None:
                return pos
            word = m.group(1)
            if not (word.startswith("__") or word in _TRAILING_WORDS):
                return pos
            pos = m.end()
            after = _SPACE.match(clean, pos).end()
            if after < n and clean[after] == "(" and match.get(after) is not None:
                pos = match[after] + 1

    def walk(self, name: str | None = None):
        """Top-level items: yields ("function", name, name_offset, prefix,
        params_end, body_open, body_close) and, when `name` is given and
        occurs in a statement, ("statement", start, end)."""
        clean, match = self.clean, self.match
        pos = boundary = 0
        search = _TOP.search
        while True:
            m = search(clean, pos)
            if m is None:
                return
            o = m.start()
            c = m.group()
            if c == ";":
                if name is not None and name in clean[boundary:o]:
                    yield ("statement", boundary, o)
                pos = boundary = o + 1
                continue
            close = match.get(o)
            if close is None:
                pos = o + 1
                continue
            if c == "{":
                pos = close + 1
                continue
            nm = _NAME_BEFORE.search(clean, max(boundary, o - 256), o)
            if nm is not None and nm.group(1) not in _NOT_NAMES:
                body = self.skip_attributes(close + 1)
                if body < len(clean) and clean[body] == "{" and body in match:
                    yield ("function", nm.group(1), nm.start(1), boundary, close, body, match[body])
                    pos = boundary = match[body] + 1
                    continue
            pos = close + 1


def _declaration_start(clean: str, boundary: int, name_at: int) -> int:
    """Start of the declaration before `name_at`: after `boundary` and
    after the last blank line."""
    start = boundary
    for m in _BLANK_LINE.finditer(clean, boundary, name_at):
        start = m.end() - 1
    return start


def _collapse(text: str) -> str:
    text = " ".join(text.split())
    return text.replace("( ", "(").replace(" )", ")")


def _flatten(text: str) -> str:
    """Empty every (...) and {...} group of `text`."""
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"\([^(){}]*\)", "()", text)
        text = re.sub(r"\{[^(){}]*\}", "{}", text)
    return text


def _functions(src: _Source, name: str | None) -> list[Definition]:
    clean = src.clean
    out = []
    for item in src.walk(name):
        if item[0] != "function":
            if name is not None:
                var = _variable(src, name, item[1], item[2])
                if var is not None:
                    out.append(var)
            continue
        _, fname, name_at, boundary, close, body, end = item
        if name is not None and fname != name:
            continue
        start = _declaration_start(clean, boundary, name_at)
        prefix = clean[start:name_at]
        tail = clean[close + 1:body]
        attrs = prefix + " " + tail
        out.append(Definition(
            name=fname, line=src.line_of(name_at), end_line=src.line_of(end),
            kind="function", static=bool(_STATIC.search(prefix)),
            inline=bool(_INLINE.search(attrs)), weak=bool(_WEAK.search(attrs)),
            signature=_collapse(clean[start:close + 1] + " " + tail)))
    return out


def _variable(src: _Source, name: str, boundary: int, end: int) -> Definition | None:
    clean = src.clean
    start = _declaration_start(clean, boundary, end)
    text = clean[start:end]
    flat = _flatten(text)
    m = re.search(r"(?<![\w.>])" + re.escape(name) +
                  r"\s*(?:\[[^\]]*\]\s*)*(?:__\w+(?:\s*\(\))?\s*)*(?:=|,|$)", flat)
    if m is None:
        return None
    before = flat[:m.start()]
    if _EXTERN.search(before) or not before.strip() or re.search(r"\b(?:struct|union|enum)\s*$", before):
        return None
    if "(" in before and not re.fullmatch(r"[^()]*(?:__\w+\s*\(\)[^()]*)*", before):
        return None
    # Offset of the name in the (unflattened) text: the first whole-word
    # occurrence at the top level of the statement.
    at = None
    for occ in re.finditer(r"(?<![\w.>])" + re.escape(name) + r"\b", text):
        at = start + occ.start()
        break
    if at is None:
        return None
    return Definition(name=name, line=src.line_of(at), end_line=src.line_of(end),
                      kind="variable", static=bool(_STATIC.search(before)), inline=False,
                      weak=bool(_WEAK.search(flat)), signature=_collapse(flat))


def _macros(src: _Source, name: str) -> list[Definition]:
    out = []
    for d in src.directives:
        if d.keyword != "define" or not d.body.startswith(name):
            continue
        rest = d.body[len(name):]
        if rest and not (rest[0] == "(" or rest[0].isspace()):
            continue
        if rest.startswith("("):
            close = rest.find(")")
            sig = f"#define {name}{rest[:close + 1] if close >= 0 else rest}"
        else:
            sig = f"#define {name}"
        out.append(Definition(name=name, line=d.line, end_line=d.end_line, kind="macro",
                              static=False, inline=False, weak=False, signature=sig))
    return out


@lru_cache(maxsize=64)
def _source(text: str) -> _Source:
    """The `_Source` of a text, kept for the next question about it: a
    check asks about many names in the same candidate files."""
    return _Source(text)


def find_definitions(text: str, name: str, path: str) -> list[Definition]:
    """Every definition of `name` in the C source `text`, in line order:
    functions (bodies at file level), ``#define``s and global variables
    (best effort; ``extern`` declarations and prototypes are not
    definitions). `path` is for messages only."""
    if name not in text:
        return []
    src = _source(text)
    found = _functions(src, name) + _macros(src, name)
    found.sort(key=lambda d: (d.line, d.kind))
    return found


def function_spans(text: str, path: str) -> list[tuple[str, int, int]]:
    """(name, line of `name(`, line of the closing `}`) for every function
    definition in `text`, in file order."""
    src = _source(text)
    return [(d.name, d.line, d.end_line) for d in _functions(src, None)]
