"""alternative-definition: a function changed in one definition while other
definitions, built instead in other configurations of the same
architecture, were left as they were.

This is the diagnosis the seed's thread reached by hand: "setup_per_cpu_areas()
is taken from mm/percpu.c in case of !CONFIG_SMP".
"""

from __future__ import annotations

import re

from kwhen.checks.lines import normalize
from kwhen.checks.messages import AlternativeDefinition
from kwhen.definitions import chosen_condition, collect_definitions, files_defining
from kwhen.kconfig.arches import arch_of_path
from kwhen.sources import CODE_SUFFIXES

# A body that only returns a constant or nothing is a stub: it is meant to
# differ from the real definition, and changing the real one does not call
# for changing it.
_STUB_BODY = re.compile(r"^\{\s*(?:return\s*[^;]*;)?\s*\}$")


def _body(text_lines, start: int, end: int) -> str:
    return " ".join(normalize(t) for t in text_lines[start - 1:end] if normalize(t))


def _layout_free(body: str) -> str:
    """The code with every space removed: equal for reformatted code."""
    return re.sub(r"\s+", "", body)


def is_stub(text_lines, start: int, end: int) -> bool:
    body = _body(text_lines, start, end)
    brace = body.find("{")
    return brace >= 0 and _STUB_BODY.match(body[brace:]) is not None


def changed_functions(change) -> list:
    """(path, name, start, end) of functions in the post-image whose code the
    patch changed (not merely reformatted or re-commented)."""
    from kwhen.cpp.definitions import function_spans

    out = []
    for fp in change.file_patches:
        if fp.new_path is None or not fp.new_path.endswith(CODE_SUFFIXES):
            continue
        post_text = change.post.read(fp.new_path) or ""
        pre_text = change.pre.read(fp.old_path) if fp.old_path else None
        touched = set()
        for hunk in fp.hunks:
            for tag, _, _, new_no in hunk.lines:
                if tag == "+":
                    touched.add(new_no)
            if any(tag == "-" for tag, _, _, _ in hunk.lines):
                # a pure removal touches the lines around the place it left
                touched.update(range(hunk.new_start, hunk.new_start + max(hunk.new_len, 1)))
        post_lines = post_text.splitlines()
        pre_bodies = {}   # name -> bodies of every definition of that name
        if pre_text is not None:
            pre_lines = pre_text.splitlines()
            for name, s, e in function_spans(pre_text, fp.old_path):
                pre_bodies.setdefault(name, set()).add(_layout_free(_body(pre_lines, s, e)))
        for name, start, end in function_spans(post_text, fp.new_path):
            if not any(start <= n <= end for n in touched):
                continue
            if _layout_free(_body(post_lines, start, end)) in pre_bodies.get(name, ()):
                continue    # same code, only layout or comments changed
            out.append((fp.new_path, name, start, end))
    return out


def run(change, context) -> list[AlternativeDefinition]:
    views = context.views
    functions = changed_functions(change)
    if not functions:
        return []
    touched = {(p, s, e) for p, _, s, e in functions}
    # one search of the tree for every changed name, not one per name
    candidates = files_defining(views[0].post, sorted({n for _, n, _, _ in functions})) \
        if views else []
    findings = []
    for path, name, start, end in functions:
        for view in views:
            finding = _check(view, path, name, start, end, touched, candidates)
            if finding:
                findings.append(finding)
    return findings


def _check(view, path, name, start, end, touched, candidates) -> AlternativeDefinition | None:
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
        arches=[view.arch], types=tree.symbol_types, after=space.simplify(mine[3]),
        witness=witness)
