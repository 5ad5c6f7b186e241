"""Parse a Makefile/Kbuild file into statements that carry their line.

This is the syntax of GNU make as Kbuild files use it, without evaluating
anything: logical lines (backslash continuations joined, comments removed),
variable assignments with their operator and modifiers, conditionals as
nested blocks, includes, ``define``/``endef`` bodies and bare expression
lines. Rules, target-specific assignments and recipe lines are dropped: they
never decide what is compiled.

Text is kept raw (unexpanded); `kwhen.kbuild.evaluate` expands it. Bad input
(an ``endif`` without ``if``, an unterminated conditional or ``define``, an
unterminated ``$(``) raises `KwhenError` naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kwhen.exceptions import KwhenError
from kwhen.kbuild.text import check_references, find_reference_end, split_args

__all__ = [
    "Assign", "Export", "Include", "Expr", "Rule", "Cond", "Test", "Define",
    "Undefine", "parse_makefile",
]


@dataclass(slots=True)
class Assign:
    """``name op value``, with ``export``/``override`` if given."""
    line: int
    name: str          # raw, may contain references
    op: str            # "=", ":=", "::=", ":::=", "+=", "?=", "!="
    value: str         # raw
    export: bool = False
    override: bool = False


@dataclass(slots=True)
class Define:
    """A ``define name [op] ... endef`` block."""
    line: int
    name: str
    op: str            # as Assign ("=" when none given)
    body: str
    export: bool = False


@dataclass(slots=True)
class Export:
    """``export``/``unexport`` of names."""
    line: int
    names: str | None  # raw list of names; None: "export" alone (all)
    unexport: bool = False


@dataclass(slots=True)
class Undefine:
    """``undefine name``."""
    line: int
    name: str


@dataclass(slots=True)
class Include:
    """``include``, ``-include`` or ``sinclude`` of raw paths."""
    line: int
    paths: str         # raw
    optional: bool     # -include / sinclude


@dataclass(slots=True)
class Expr:
    """A line that is only an expansion, like ``$(eval ...)``."""
    line: int
    text: str


@dataclass(slots=True)
class Rule:
    """An explicit rule ``targets: prerequisites`` (its recipe is dropped):
    kept so that an object built from a source elsewhere in the tree
    (``$(obj)/relo_core.o: $(srctree)/tools/lib/bpf/relo_core.c``) is
    known by its source."""
    line: int
    targets: str       # raw
    prerequisites: str  # raw, up to a ';' or '|' (order-only ones are not sources)
    # what its recipe descends with `$(MAKE) $(build)=DIR` (raw DIR texts):
    # arch/x86/realmode's rm/, built by the rule that makes realmode.bin
    builds: list = field(default_factory=list)


@dataclass(slots=True)
class Test:
    """The test of one branch of a conditional."""
    line: int
    kind: str          # ifeq, ifneq, ifdef, ifndef
    a: str             # ifdef/ifndef: the variable name (raw)
    b: str = ""


@dataclass(slots=True)
class Cond:
    """if/else-if chain: the first test that holds selects its body."""
    line: int
    branches: list = field(default_factory=list)   # [(Test, [stmt])]
    orelse: list | None = None                       # final else body


_DIRECTIVES = {
    "ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include",
    "-include", "sinclude", "define", "endef", "export", "unexport",
    "override", "undefine", "vpath", "private",
}


def _strip_comment(text: str) -> str:
    """Remove a ``#`` comment; ``\\#`` is a literal ``#``, and so is a ``#``
    inside a variable reference or function call (GNU make 4.3)."""
    if "#" not in text:
        return text
    out = []
    depth = 0
    i = 0
    n = len(text)
    start = 0
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] == "#" and depth == 0:
            out.append(text[start:i])
            out.append("#")
            i += 2
            start = i
            continue
        if ch == "$" and i + 1 < n and text[i + 1] in "({":
            depth += 1
            i += 2
            continue
        if depth and ch in "({":
            depth += 1
        elif depth and ch in ")}":
            depth -= 1
        elif ch == "#" and depth == 0:
            out.append(text[start:i])
            return "".join(out)
        i += 1
    out.append(text[start:])
    return "".join(out)


def _logical_lines(text: str):
    """Yield (first line number, raw logical line, starts with tab).

    Backslash-newline joins lines; make replaces it and the whitespace
    around it with one space.
    """
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        first = i
        line = lines[i]
        i += 1
        if line.endswith("\\"):
            parts = [line]
            while parts[-1].endswith("\\") and _odd_backslashes(parts[-1]) and i < n:
                parts.append(lines[i])
                i += 1
            if len(parts) > 1:
                joined = parts[0][:-1].rstrip()
                for p in parts[1:]:
                    p = p.lstrip()
                    if p.endswith("\\") and _odd_backslashes(p):
                        p = p[:-1].rstrip()
                    joined = joined + " " + p if joined else p
                line = joined
        yield first + 1, line, lines[first].startswith("\t"), i


def _odd_backslashes(s: str) -> bool:
    k = len(s) - len(s.rstrip("\\"))
    return k % 2 == 1


def _find_op(text: str):
    """Locate an assignment operator or a rule colon at top level.

    Returns (kind, index, op) with kind "assign", "rule" or None.
    """
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n and text[i + 1] in "({":
            end = find_reference_end(text, i)
            if end < 0:
                return None, -1, ""
            i = end
            continue
        if ch == "=":
            prev = text[i - 1] if i > 0 else ""
            if prev in "+?!":
                return "assign", i - 1, prev + "="
            return "assign", i, "="
        if ch == ":":
            rest = text[i:i + 4]
            if rest.startswith(":::="):
                return "assign", i, ":::="
            if rest.startswith("::="):
                return "assign", i, "::="
            if rest.startswith(":="):
                return "assign", i, ":="
            return "rule", i, ":"
        i += 1
    return None, -1, ""


def _parse_cond_args(kind: str, rest: str, path: str, line: int) -> Test:
    rest = rest.strip()
    if kind in ("ifdef", "ifndef"):
        if not rest:
            raise KwhenError(f"missing variable name after '{kind}'", path=path, line=line)
        return Test(line, kind, rest)
    if rest.startswith("("):
        end = find_reference_end("$" + rest, 0)
        if end < 0:
            raise KwhenError(f"invalid syntax in '{kind}': unbalanced parenthesis", path=path, line=line)
        inner = rest[1:end - 2]
        args = split_args(inner, 1)
        if len(args) != 2:
            raise KwhenError(f"invalid syntax in '{kind}': expected two arguments", path=path, line=line)
        return Test(line, kind, args[0].strip(), args[1].strip())
    if rest[:1] in ("'", '"'):
        q = rest[0]
        e1 = rest.find(q, 1)
        if e1 > 0:
            a = rest[1:e1]
            rest2 = rest[e1 + 1:].strip()
            if rest2[:1] in ("'", '"'):
                e2 = rest2.find(rest2[0], 1)
                if e2 > 0:
                    return Test(line, kind, a, rest2[1:e2])
    raise KwhenError(f"invalid syntax in '{kind}'", path=path, line=line)


_BUILD_IN_RECIPE = re.compile(r"\$\(build\)=(\S+)")


def parse_makefile(text: str, path: str) -> list:
    """The statements of a makefile, conditionals nested as `Cond` blocks.

    `path` (relative to the tree) is only used in error messages.
    """
    root: list = []
    # stack of (Cond, current body list); body lists receive statements
    stack: list = []
    body = root
    in_rule = False
    last_rule = None
    lines = list(_logical_lines(text))
    nlines = len(lines)
    k = 0
    while k < nlines:
        lineno, raw, tab, _next = lines[k]
        k += 1
        if tab and in_rule:
            # a recipe line (conditionals in a recipe are shell text to make,
            # unless they start the line without a tab)
            if last_rule is not None:
                last_rule.builds.extend(_BUILD_IN_RECIPE.findall(raw))
            continue
        line = _strip_comment(raw)
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(("ifeq(", "ifneq(")):
            stripped = stripped.replace("(", " (", 1)
        parts = stripped.split(None, 1)
        first = parts[0]
        rest = parts[1].strip() if len(parts) > 1 else ""
        if first in _DIRECTIVES and not (rest[:1] in ("=",) or rest[:2] in (":=", "+=", "?=", "!=")):
            if first in ("ifeq", "ifneq", "ifdef", "ifndef"):
                test = _parse_cond_args(first, rest, path, lineno)
                cond = Cond(lineno)
                cond.branches.append((test, []))
                body.append(cond)
                stack.append(cond)
                body = cond.branches[-1][1]
                continue
            if first == "else":
                if not stack:
                    raise KwhenError("'else' without 'if'", path=path, line=lineno)
                cond = stack[-1]
                if cond.orelse is not None:
                    raise KwhenError("only one 'else' per conditional", path=path, line=lineno)
                if rest:
                    if rest.startswith(("ifeq(", "ifneq(")):
                        rest = rest.replace("(", " (", 1)
                    kind, _, args = rest.partition(" ")
                    if kind not in ("ifeq", "ifneq", "ifdef", "ifndef"):
                        raise KwhenError(f"extraneous text after 'else': {rest}", path=path, line=lineno)
                    test = _parse_cond_args(kind, args, path, lineno)
                    cond.branches.append((test, []))
                    body = cond.branches[-1][1]
                else:
                    cond.orelse = []
                    body = cond.orelse
                continue
            if first == "endif":
                if not stack:
                    raise KwhenError("'endif' without 'if'", path=path, line=lineno)
                stack.pop()
                if stack:
                    cond = stack[-1]
                    body = cond.orelse if cond.orelse is not None else cond.branches[-1][1]
                else:
                    body = root
                continue
            if first == "endef":
                raise KwhenError("'endef' without 'define'", path=path, line=lineno)
            if first in ("include", "-include", "sinclude"):
                check_references(rest, path, lineno)
                body.append(Include(lineno, rest, first != "include"))
                in_rule = False
                continue
            if first == "vpath":
                continue
            export = override = False
            words = [first]
            restline = rest
            # modifiers: export/override/private, possibly combined
            while words[-1] in ("export", "override", "private", "unexport"):
                w = words[-1]
                if w == "export":
                    export = True
                elif w == "override":
                    override = True
                elif w == "unexport":
                    break
                nxt, _, after = restline.replace("\t", " ").partition(" ")
                if nxt in ("export", "override", "private", "define") and after.strip()[:1] not in ("=",) and after.strip()[:2] not in (":=", "+=", "?="):
                    words.append(nxt)
                    restline = after.strip()
                else:
                    break
            if words[-1] == "define" or first == "define":
                # define NAME [op]; body up to the matching endef
                spec = restline.strip()
                op = "="
                for cand in (":::=", "::=", ":=", "+=", "?=", "!=", "="):
                    if spec.endswith(cand):
                        op = cand
                        spec = spec[: -len(cand)].strip()
                        break
                depth = 1
                body_lines = []
                start = lineno
                while k < nlines:
                    ln, braw, _t, _n = lines[k]
                    k += 1
                    bw = braw.strip().split(None, 1)
                    head = bw[0] if bw else ""
                    if head == "define" or (head in ("export", "override") and len(bw) > 1 and bw[1].startswith("define")):
                        depth += 1
                    elif head == "endef":
                        depth -= 1
                        if depth == 0:
                            break
                    body_lines.append(braw)
                else:
                    raise KwhenError("missing 'endef' for this 'define'", path=path, line=start)
                body.append(Define(start, spec, op, "\n".join(body_lines), export))
                in_rule = False
                continue
            if first == "undefine":
                body.append(Undefine(lineno, rest))
                continue
            if first == "unexport" or words[-1] == "unexport":
                body.append(Export(lineno, rest or None, unexport=True))
                continue
            # export/override/private followed by an assignment or names
            kind, idx, op = _find_op(restline)
            if kind == "assign":
                name = restline[:idx].strip()
                value = restline[idx + len(op):].strip()
                body.append(Assign(lineno, name, op, value, export, override))
                in_rule = False
                continue
            if first == "private" and kind == "rule":
                in_rule, last_rule = True, None
                continue
            if export:
                check_references(restline, path, lineno)
                body.append(Export(lineno, restline or None))
            continue
        # not a directive: assignment, rule or expression (an unterminated
        # reference is reported when the text is expanded, as make does)
        kind, idx, op = _find_op(line)
        if kind == "assign":
            name = line[:idx].strip()
            value = line[idx + len(op):].lstrip()
            body.append(Assign(lineno, name, op, value.rstrip() if not value.endswith("\\ ") else value))
            in_rule = False
            continue
        if kind == "rule":
            after = line[idx + 1:]
            if after.startswith(":"):
                after = after[1:]
            # target-specific variable assignment: ignored
            k2, _i2, _op2 = _find_op(after.split(";", 1)[0])
            last_rule = None
            if k2 == "assign":
                in_rule = False
            else:
                in_rule = True
                targets = line[:idx]
                if "%" not in targets:
                    prerequisites = after.split(";", 1)[0].split("|", 1)[0]
                    last_rule = Rule(lineno, targets, prerequisites)
                    body.append(last_rule)
            continue
        body.append(Expr(lineno, stripped))
    if stack:
        cond = stack[-1]
        raise KwhenError("missing 'endif' for this conditional", path=path, line=cond.line)
    return root
