"""alternative-definition: a function changed in one definition while other
definitions, built instead in other configurations of the same
architecture, were left as they were.

This is the diagnosis the seed's thread reached by hand: "setup_per_cpu_areas()
is taken from mm/percpu.c in case of !CONFIG_SMP".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kwhen.checks.messages import AlternativeDefinition
from kwhen.definitions import chosen_condition, collect_definitions, files_defining
from kwhen.kconfig.arches import arch_of_path
from kwhen.sources import CODE_SUFFIXES

# A body that only returns a constant or nothing is a stub: it is meant to
# differ from the real definition, and changing the real one does not call
# for changing it.
_STUB_BODY = re.compile(r"^\{(?:return[^;]*;)?\}$")
# Comments go, string and character literals stay (a changed message is a
# changed behaviour), so that a comment spread over several lines is
# recognised as one.
_COMMENT_OR_LITERAL = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_SPACE = re.compile(r"\s+")


def code_of(text: str) -> str:
    """What the compiler reads of `text`: without comments and without any
    space, so that reformatted or re-commented code compares equal."""
    uncommented = _COMMENT_OR_LITERAL.sub(
        lambda m: m.group() if m.group()[0] in "\"'" else " ", text)
    return _SPACE.sub("", uncommented)


def _span_code(text_lines, start: int, end: int) -> str:
    return code_of("\n".join(text_lines[start - 1:end]))


def is_stub(text_lines, start: int, end: int) -> bool:
    code = _span_code(text_lines, start, end)
    brace = code.find("{")
    return brace >= 0 and _STUB_BODY.match(code[brace:]) is not None


@dataclass(frozen=True)
class ChangedFunction:
    """A definition in the post-image whose code the change altered.
    `removed`: when the change only took lines out of it, their code (what
    an alternative that still has it keeps doing); None when it added or
    replaced code."""

    path: str
    name: str
    start: int
    end: int
    removed: tuple | None = None


def _edits(fp) -> tuple[set, list]:
    """Post-image lines the patch added, and (anchor, code) of each line it
    removed: the anchor is the post-image line that follows the gap."""
    added, removed = set(), []
    for hunk in fp.hunks:
        following = hunk.new_start
        for tag, text, _, new_no in hunk.lines:
            if tag == "-":
                removed.append((following, code_of(text)))
            else:
                following = new_no + 1
                if tag == "+":
                    added.add(new_no)
    return added, removed


def changed_functions(change) -> list[ChangedFunction]:
    """Functions in the post-image whose code the patch changed (not merely
    reformatted or re-commented). A function the file did not define
    before is new, not changed: one more board's hook beside the others is
    what alternatives are for."""
    from kwhen.cpp.definitions import function_spans

    out = []
    for fp in change.file_patches:
        if fp.new_path is None or not fp.new_path.endswith(CODE_SUFFIXES):
            continue
        pre_text = change.pre.read(fp.old_path) if fp.old_path else None
        if pre_text is None:
            continue            # a new file: every definition in it is new
        post_lines = (change.post.read(fp.new_path) or "").splitlines()
        added, removed = _edits(fp)
        pre_lines = pre_text.splitlines()
        pre_code = {}   # name -> code of every definition of that name
        for name, s, e in function_spans(pre_text, fp.old_path):
            pre_code.setdefault(name, set()).add(_span_code(pre_lines, s, e))
        for name, start, end in function_spans("\n".join(post_lines), fp.new_path):
            if name not in pre_code:
                continue        # a new definition
            plus = any(start <= n <= end for n in added)
            minus = tuple(code for anchor, code in removed if start < anchor <= end and code)
            if not plus and not minus:
                continue
            if _span_code(post_lines, start, end) in pre_code[name]:
                continue        # same code, only layout or comments changed
            out.append(ChangedFunction(fp.new_path, name, start, end,
                                       None if plus else minus))
    return out


def run(change, context) -> list[AlternativeDefinition]:
    views = context.views
    functions = changed_functions(change)
    if not functions:
        return []
    touched = {(f.path, f.start, f.end) for f in functions}
    # one search of the tree for every changed name, not one per name
    candidates = files_defining(views[0].post, sorted({f.name for f in functions})) \
        if views else []
    findings = []
    for function in functions:
        for view in views:
            finding = _check(view, function, touched, candidates)
            if finding:
                findings.append(finding)
    return findings


def _keeps_removed_code(code: str, removed: tuple) -> bool:
    """Whether an alternative still does something a pure removal took out
    of the changed definition (a removal that brings the definitions closer
    together calls for nothing)."""
    return any(len(line) >= 8 and line in code for line in removed)


def _check(view, function: ChangedFunction, touched, candidates) -> AlternativeDefinition | None:
    path, name, start, end = function.path, function.name, function.start, function.end
    tree, space = view.post, view.space
    # another architecture's copies are never built here: not read at all
    candidates = [c for c in candidates
                  if c == path or arch_of_path(c) in (None, tree.srcarch)]
    entries = collect_definitions(tree, name, candidates)
    mine = next((e for e in entries if e[0] == path and start <= e[1].line <= end), None)
    if mine is None or mine[2] in ("file-local", "other-arch") or not space.possible(mine[3]):
        return None
    alternatives, witness = [], None
    for entry in entries:
        other_path, d, role, cond = entry
        if entry is mine or role in ("file-local", "other-arch"):
            continue
        if any(p == other_path and s <= d.line <= e for p, s, e in touched):
            continue    # the patch changed that one too
        lines = tree.read_text(other_path).splitlines()
        if is_stub(lines, d.line, d.end_line):
            continue
        if function.removed is not None and not _keeps_removed_code(
                _span_code(lines, d.line, d.end_line), function.removed):
            continue
        chosen = chosen_condition(entries, entry)
        if not space.possible(chosen):
            continue
        if witness is None:
            witness = view.witness(chosen)
        alternatives.append((other_path, d.line, space.simplify(chosen)))
    if not alternatives:
        return None
    return AlternativeDefinition(
        file=path, line=mine[1].line, function=name, alternatives=alternatives,
        arches=[view.arch], phases=view.phases, types=tree.symbol_types, after=space.simplify(mine[3]),
        witness=witness)
