"""The #if/#elif/#else/#endif structure of a C file and the condition of each line.

`scan` reads a file once: a single regular expression finds comments, string
and character literals and directive lines, so a `#if` inside a comment or a
string never counts, and only directive lines are looked at in detail.
Conditions come from `kwhen.cpp.expression` and follow DEVELOPERS.md.

Macros the file itself ``#define``s or ``#undef``s are tracked: after a
``#define`` under condition C, ``defined(NAME)`` is ``before || C``, after an
``#undef`` ``before && !C``, where the first ``before`` is the free
``defined(NAME)`` if the file tested NAME earlier (it may come from a
header) and FALSE if NAME first appears in a ``#define`` (the file's own).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Mapping

from kwhen.exceptions import KwhenError
from kwhen.logic.formula import FALSE, TRUE, Formula, conj, disj, neg, tree_size, var
from kwhen.logic.names import cpp_unknown

from kwhen.cpp.expression import condition_of, defined_condition

__all__ = ["Block", "CppStructure", "Directive", "Include", "scan", "lex"]

# Comments, literals and the start of a directive line. `^` is a line start.
_MASTER = re.compile(r"""/\*|//|"|'|^[ \t\f\v]*\#""", re.M)
# Inside a directive: what ends it or must be skipped.
_IN_DIRECTIVE = re.compile(r"""\\[ \t]*\r?\n|\n|/\*|//|"|'""")
_STRING = re.compile(r'"(?:[^"\\\n]|\\(?:\r?\n|.))*"')
_CHAR = re.compile(r"'(?:[^'\\\n]|\\(?:\r?\n|.))*'")
_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)?")
_IDENT = re.compile(r"[A-Za-z_]\w*")

# The largest condition (in nodes, written out) a test or a macro's
# definedness may have before it is replaced by the free ?cpp:PATH:LINE.
# A file that redefines macros under conditions over themselves can make
# these grow exponentially: Linux 6.1's arch/arm/include/asm/glue-proc.h
# builds one of 75 million nodes (glue-cache.h, 9,218, stays exact).
MAX_CONDITION_NODES = 10000

_CONDITIONALS = frozenset(("if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif"))


@dataclass(frozen=True)
class Directive:
    """One directive: lines `line`..`end_line`, keyword and the rest.

    `body` has comments removed and continuation lines joined; `offset` and
    `end_offset` delimit it in the text (end_offset at its final newline).
    """
    line: int
    end_line: int
    keyword: str
    body: str
    offset: int
    end_offset: int


@dataclass
class Block:
    """One branch of a conditional group.

    `start` is the line of its #if/#elif/#else, `end` the line of the
    directive closing it; `own` is its condition among its siblings,
    `condition` the condition of the lines inside it (with the enclosing
    blocks); `depth` is 0 for a branch at file level.
    """
    start: int
    end: int
    kind: str
    text: str
    own: Formula
    condition: Formula
    depth: int


@dataclass(frozen=True)
class Include:
    """An ``#include "name"`` or ``#include <name>`` line (`angled` for the
    second form), the condition of the line, and the macros the file has
    #defined or #undefined before it (name -> when defined, as `scan`'s
    `macros`): the context an included file is read in."""
    line: int
    name: str
    angled: bool
    condition: Formula
    macros: Mapping[str, Formula] | None     # None: not kept (a cached structure)


_INCLUDE_NAME = re.compile(r'"([^"]+)"|<([^>]+)>')


@dataclass
class CppStructure:
    """The conditional blocks of a C file, and the condition of each line
    (`condition_at`)."""
    path: str
    blocks: list[Block]
    guard: str | None = None
    includes: list[Include] = field(default_factory=list)
    # Sorted directive-line spans and the conditions around them.
    _starts: list = field(default_factory=list, repr=False)
    _ends: list = field(default_factory=list, repr=False)
    _at: list = field(default_factory=list, repr=False)      # condition of the directive lines
    _after: list = field(default_factory=list, repr=False)   # condition of the lines after it

    def condition_at(self, line: int) -> Formula:
        """The condition under which `line` (1-based) is compiled.

        A directive line itself gets the condition of its enclosing block.
        """
        i = bisect_right(self._starts, line) - 1
        if i < 0:
            return TRUE
        if line <= self._ends[i]:
            return self._at[i]
        return self._after[i]

    def enclosing(self, line: int) -> list:
        """The branches that `line` lies inside, outermost first."""
        return [b for b in self.blocks if b.start < line < b.end]

    def to_data(self) -> dict:
        """JSON-compatible form (the includes without their macros);
        `from_data` reverses it."""
        return {
            "path": self.path, "guard": self.guard,
            "blocks": [[b.start, b.end, b.kind, b.text, b.own.to_data(), b.condition.to_data(),
                        b.depth] for b in self.blocks],
            "includes": [[i.line, i.name, i.angled, i.condition.to_data()] for i in self.includes],
            "spans": [self._starts, self._ends, [f.to_data() for f in self._at],
                      [f.to_data() for f in self._after]],
        }

    @classmethod
    def from_data(cls, data: dict) -> "CppStructure":
        from kwhen.logic.formula import from_data

        starts, ends, at, after = data["spans"]
        return cls(data["path"],
                   [Block(s, e, k, t, from_data(o), from_data(c), d)
                    for s, e, k, t, o, c, d in data["blocks"]],
                   data["guard"],
                   [Include(n, name, angled, from_data(c), None)
                    for n, name, angled, c in data["includes"]],
                   starts, ends, [from_data(f) for f in at], [from_data(f) for f in after])


class UnterminatedComment(Exception):
    """A ``/*`` without its ``*/``; `offset` is where the comment starts."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


def _skip_comment(text: str, pos: int, strict: bool = False) -> int:
    """`pos` is just after ``/*``; the position after ``*/`` (or the end,
    unless `strict`: then an unterminated comment raises, as gcc's does)."""
    end = text.find("*/", pos)
    if end < 0:
        if strict:
            raise UnterminatedComment(pos - 2)
        return len(text)
    return end + 2


def _line_end(text: str, pos: int) -> int:
    """Position of the newline ending the logical line containing `pos`."""
    while True:
        end = text.find("\n", pos)
        if end < 0:
            return len(text)
        back = end - 1
        if back >= 0 and text[back] == "\r":
            back -= 1
        if back >= 0 and text[back] == "\\":
            pos = end + 1
            continue
        return end


def _read_directive(text: str, pos: int, strict: bool = False) -> tuple[str, int]:
    """Read a directive whose text starts at `pos` (after the ``#``).

    Returns the body (comments replaced by a space, continuations joined)
    and the position of the newline that ends it (or len(text)).
    """
    parts = []
    n = len(text)
    while True:
        m = _IN_DIRECTIVE.search(text, pos)
        if m is None:
            parts.append(text[pos:])
            return "".join(parts), n
        tok = m.group()
        parts.append(text[pos:m.start()])
        if tok == "\n":
            return "".join(parts), m.start()
        if tok[0] == "\\":
            parts.append(" ")
            pos = m.end()
        elif tok == "/*":
            parts.append(" ")
            pos = _skip_comment(text, m.end(), strict)
        elif tok == "//":
            end = _line_end(text, m.start())
            return "".join(parts), end
        else:
            lit = (_STRING if tok == '"' else _CHAR).match(text, m.start())
            if lit is None:
                parts.append(tok)
                pos = m.end()
            else:
                parts.append(lit.group())
                pos = lit.end()


def _blank(region: str) -> str:
    """`region` with every character but newlines replaced by a space."""
    if "\n" not in region:
        return " " * len(region)
    return "\n".join(" " * len(part) for part in region.split("\n"))


def lex(text: str, clean: bool = False,
        strict: bool = False) -> tuple[list[Directive], str | None]:
    """All directives of `text`, and with `clean` the text with comments,
    string and character literals and directive lines blanked. The cleaned
    text has the same length and newlines as `text`, so offsets and line
    numbers carry over; a literal keeps a ``0`` in its first column. With
    `strict`, an unterminated comment raises `UnterminatedComment`."""
    directives: list[Directive] = []
    pieces: list[str] | None = [] if clean else None
    pos = 0          # scanning position
    copied = 0       # with `clean`: text[:copied] is represented in pieces
    line = 1
    counted = 0      # text[:counted] has `line - 1` newlines
    search = _MASTER.search
    while True:
        m = search(text, pos)
        if m is None:
            break
        tok = m.group()
        start = m.start()
        keep = ""
        if tok == "/*":
            end = _skip_comment(text, m.end(), strict)
        elif tok == "//":
            end = _line_end(text, start)
        elif tok == '"' or tok == "'":
            lit = (_STRING if tok == '"' else _CHAR).match(text, start)
            if lit is None:
                pos = m.end()
                continue
            end = lit.end()
            keep = "0"
        else:
            hash_at = m.end()
            body, end = _read_directive(text, hash_at, strict)
            line += text.count("\n", counted, start)
            counted = start
            end_line = line + text.count("\n", start, end)
            km = _KEYWORD.match(body)
            keyword = km.group(1) or ""
            directives.append(Directive(line, end_line, keyword, body[km.end():].strip(),
                                        start, end))
        if pieces is not None:
            pieces.append(text[copied:start])
            pieces.append(keep)
            pieces.append(_blank(text[start + len(keep):end]))
            copied = end
        pos = end
        if pos <= start:
            pos = start + 1
    if pieces is not None:
        pieces.append(text[copied:])
        return directives, "".join(pieces)
    return directives, None


def _guard_of(directives: list[Directive]) -> str | None:
    """The include-guard macro if the first two directives open a guard
    and the last one is an #endif (checked against the nesting later)."""
    if len(directives) < 3 or directives[-1].keyword != "endif":
        return None
    first, second = directives[0], directives[1]
    name = None
    if first.keyword == "ifndef":
        name = first.body.split()[0] if first.body.split() else None
    elif first.keyword == "if":
        m = re.fullmatch(r"!\s*defined\s*(?:\(\s*(\w+)\s*\)|\s(\w+))", first.body.strip())
        if m:
            name = m.group(1) or m.group(2)
    if not name or name.startswith("CONFIG_") or second.keyword != "define":
        return None
    words = second.body.split()
    if not words or words[0] != name:
        return None
    return name


class _Group:
    __slots__ = ("parent", "taken", "branch", "seen_else", "depth", "opener")

    def __init__(self, parent: Formula, depth: int, opener: tuple):
        self.opener = opener          # (line, keyword) of the #if
        self.parent = parent          # condition of the enclosing lines
        self.taken: list = []         # the tests of the earlier branches
        self.branch: list | None = None   # [start, kind, text, own, condition, index]
        self.seen_else = False
        self.depth = depth


def scan(text: str, path: str, symbols: Mapping[str, str] | None = None,
         facts: Mapping | None = None,
         macros: Mapping[str, Formula] | None = None, env=None) -> CppStructure:
    """The conditional structure of the C source `text` (file `path`).

    `symbols` and `facts` are passed to `condition_of`. `macros` are
    macros defined before the file's first line (name -> when defined: the
    context of the file that #includes this one). With `env`
    (`kwhen.cpp.headers.MacroEnvironment`) the file's #include lines are
    followed: the headers' #define and #undef lines count as the file's
    own. Raises KwhenError for unbalanced conditionals or a malformed
    expression in a live branch.
    """
    try:
        directives, _ = lex(text, strict=True)
    except UnterminatedComment as exc:
        raise KwhenError("unterminated comment", path, text.count("\n", 0, exc.offset) + 1) from None
    return walk(directives, path, symbols, facts, macros, env)


def walk(directives: list, path: str, symbols, facts, macros=None, env=None,
         base: Formula = TRUE, record: bool = True) -> CppStructure:
    """`scan` of lexed `directives`; `base` is the condition of the file's
    first line (an #include's), and `record` keeps the macros in force at
    each #include (`CppStructure.includes`)."""
    guard = _guard_of(directives)
    try:
        return _structure(directives, path, symbols, facts, guard, macros, env, base, record)
    except _NotAGuard:
        return _structure(directives, path, symbols, facts, None, macros, env, base, record)


class _NotAGuard(Exception):
    pass


def _structure(directives, path, symbols, facts, guard, macros=None, env=None,
               base: Formula = TRUE, record: bool = True) -> CppStructure:
    blocks: list[Block] = []
    includes: list[Include] = []
    stack: list[_Group] = []
    current = base                  # condition of ordinary lines here
    starts, ends, at, after = [], [], [], []
    cache: dict = {}
    # Macros the file #defines or #undefs: name -> when it is defined here
    # (with `env`: shared with the headers, whose macros count as the file's).
    if env is not None:
        local = env.defined
        local.update(macros or {})
    else:
        local: dict[str, Formula] = dict(macros or {})
    tested: set[str] = set()

    def evaluate(expr: str, d: Directive, dead: bool) -> Formula:
        if env is not None:
            try:
                return condition_of(expr, symbols, path, d.line, facts, local, env)
            except KwhenError:
                if dead:
                    return FALSE
                raise
        macros = None
        for name in _IDENT.findall(expr):
            m = local.get(name)
            if m is None:
                tested.add(name)
            else:
                if macros is None:
                    macros = {}
                macros[name] = m
        key = (expr, tuple(sorted(macros.items())) if macros else None)
        found = cache.get(key)
        if found is not None:
            return found
        try:
            f = condition_of(expr, symbols, path, d.line, facts, macros)
        except KwhenError:
            if dead:          # cpp does not evaluate skipped #if/#elif
                return FALSE
            raise
        cache[key] = f
        return f

    def defined(name: str) -> Formula:
        if name not in local:
            tested.add(name)
        m = local.get(name)
        if m is not None:
            return m
        return defined_condition(name, symbols, facts, None, env)

    def test_of(d: Directive, dead: bool) -> Formula:
        kw = d.keyword
        if kw in ("if", "elif"):
            return evaluate(d.body, d, dead)
        words = d.body.split()
        if not words or not _IDENT.fullmatch(words[0]):
            if dead:
                return FALSE
            raise KwhenError(f"#{kw} without a macro name", path, d.line)
        f = defined(words[0])
        return neg(f) if kw.endswith("ndef") else f

    def bounded(f: Formula, line: int) -> Formula:
        if f.op in ("var", "const") or tree_size(f, MAX_CONDITION_NODES) <= MAX_CONDITION_NODES:
            return f
        return var(cpp_unknown(path, line))     # free: less precise, never wrong

    def close_branch(group: _Group, end: int):
        start, kind, text, own, cond, index = group.branch
        blocks[index] = Block(start, end, kind, text, own, cond, group.depth)

    guard_group = None
    for index, d in enumerate(directives):
        kw = d.keyword
        if kw not in _CONDITIONALS:
            if kw in ("include", "include_next") and current is not FALSE:
                m = _INCLUDE_NAME.match(d.body)
                if m and record:
                    # (with `env`, the state is copied only for what may be a
                    # .c file built through this one: see kwhen.inclusion)
                    name = m.group(1) or m.group(2)
                    context = dict(local) if env is None else \
                        env.snapshot() if not name.endswith(".h") else {}
                    includes.append(Include(d.line, name, m.group(2) is not None, current, context))
                if env is not None:
                    computed = env.computed_include(d.body) if m is None and kw == "include" \
                        else None
                    if m and kw == "include":
                        env.include(m.group(1) or m.group(2), m.group(2) is not None, path, current)
                    elif computed is not None:
                        env.include(computed[0], computed[1], path, current)
                    else:       # #include_next, or computed through what kwhen cannot tell
                        env.unknown(f"#{kw} {d.body}", path, d.line, current)
                continue
            if kw == "define" or kw == "undef":
                words = d.body.split(None, 1)
                if words:
                    m = _IDENT.match(words[0])
                    name = m.group() if m else None
                    if name and (guard is None or index != 1 or env is not None) \
                            and not (env is not None and name in facts):
                        old = local.get(name)
                        if old is None:
                            if env is not None:
                                env.written.add(name)
                                old = env.outside(name)
                                env.first[name] = old
                            else:
                                # Tested before: it may also come from elsewhere.
                                old = (defined_condition(name, symbols, facts)
                                       if name in tested else FALSE)
                        if kw == "define":
                            local[name] = bounded(disj(old, current), d.line)
                        else:
                            local[name] = bounded(conj(old, neg(current)), d.line)
                        if env is not None:
                            env.record(name, kw, d.body[m.end():] if kw == "define" else None,
                                       current)
            continue
        line = d.line
        text = f"#{kw} {' '.join(d.body.split())}".rstrip()
        if kw in ("if", "ifdef", "ifndef"):
            group = _Group(current, len(stack), (line, kw))
            if guard is not None and index == 0:
                test = TRUE
                guard_group = group
            else:
                test = bounded(test_of(d, current is FALSE), line)
            cond = conj(current, test)
            group.taken = [test]
            group.branch = [line, kw, text, test, cond, len(blocks)]
            blocks.append(None)
            stack.append(group)
            starts.append(line); ends.append(d.end_line); at.append(current); after.append(cond)
            current = cond
            continue
        if not stack:
            raise KwhenError(f"#{kw} without #if", path, line)
        group = stack[-1]
        if kw == "endif":
            close_branch(group, line)
            stack.pop()
            if group is guard_group and index != len(directives) - 1:
                raise _NotAGuard()
            current = group.parent
            starts.append(line); ends.append(d.end_line); at.append(current); after.append(current)
            continue
        if group.seen_else:
            raise KwhenError(f"#{kw} after #else", path, line)
        if group is guard_group:
            raise _NotAGuard()
        close_branch(group, line)
        if kw == "else":
            group.seen_else = True
            own = conj(*(neg(t) for t in group.taken))
        else:
            none_before = conj(*(neg(t) for t in group.taken))
            test = bounded(test_of(d, group.parent is FALSE or none_before is FALSE), line)
            own = conj(none_before, test)
            group.taken.append(test)
        cond = conj(group.parent, own)
        group.branch = [line, kw, text, own, cond, len(blocks)]
        blocks.append(None)
        starts.append(line); ends.append(d.end_line); at.append(group.parent); after.append(cond)
        current = cond
    if stack:
        open_group = stack[-1]
        if open_group is guard_group:
            raise _NotAGuard()
        line, kw = open_group.opener
        raise KwhenError(f"unterminated #{kw} (missing #endif)", path, line)
    return CppStructure(path, blocks, guard, includes, starts, ends, at, after)
