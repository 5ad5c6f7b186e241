"""moved-narrowed: code removed in one place and added in another that is
built in fewer configurations (the seed's bug)."""

from __future__ import annotations

import difflib

from kwhen.checks.lines import changed_lines, is_significant
from kwhen.checks.loss import lost_condition, losing
from kwhen.checks.messages import MovedNarrowed


# Lines edited while being moved still count as moved above this similarity.
SIMILARITY = 0.85
# Bound on fuzzy comparisons, so a patch that rewrites a whole file stays fast.
MAX_FUZZY_PAIRS = 200_000
# Added lines further apart than this start a new moved block.
BLOCK_GAP = 4


def match_moves(removed, added) -> list:
    """Pairs (removed line, added line) carrying the same code.

    Exact matches of normalised text first, then, for lines still unpaired,
    the most similar removed line above SIMILARITY. Trivial statements
    (``return 0;``, braces) never pair on their own.
    """
    by_text: dict = {}
    for r in removed:
        if is_significant(r.norm):
            by_text.setdefault(r.norm, []).append(r)
    pairs, unpaired = [], []
    for a in added:
        if not is_significant(a.norm):
            continue
        candidates = by_text.get(a.norm)
        if candidates:
            pairs.append((candidates.pop(0), a))
        else:
            unpaired.append(a)
    left = [r for group in by_text.values() for r in group]
    if unpaired and left and len(unpaired) * len(left) <= MAX_FUZZY_PAIRS:
        for a in unpaired:
            best, best_ratio = None, SIMILARITY
            for r in left:
                ratio = difflib.SequenceMatcher(None, r.norm, a.norm).ratio()
                if ratio >= best_ratio:
                    best, best_ratio = r, ratio
            if best is not None:
                left.remove(best)
                pairs.append((best, a))
    return pairs


def blocks(pairs) -> list[list]:
    """Pairs grouped into moved blocks: runs of nearby added lines in one file."""
    out: list[list] = []
    for r, a in sorted(pairs, key=lambda p: (p[1].path, p[1].line)):
        if out and out[-1][-1][1].path == a.path and a.line - out[-1][-1][1].line <= BLOCK_GAP:
            out[-1].append((r, a))
        else:
            out.append([(r, a)])
    return out


def run(change, context) -> list[MovedNarrowed]:
    removed, added = changed_lines(change.file_patches)
    pairs = match_moves(removed, added)
    if not pairs:
        return []
    findings = []
    for block in blocks(pairs):
        for view in context.views:
            finding = _check_block(view, block)
            if finding is not None:
                findings.append(finding)
    return findings


def _check_block(view, block) -> MovedNarrowed | None:
    space = view.space
    for r, a in block:
        old = view.pre_line(r.path, r.line)
        new = view.post_line(a.path, a.line)
        if old is new:
            continue
        lost = lost_condition(old, new)
        if not space.possible(lost):
            continue
        first_r, first_a = block[0]
        return MovedNarrowed(
            file=first_a.path, line=first_a.line, source_file=first_r.path,
            source_line=first_r.line, arches=[view.arch], types=view.post.symbol_types,
            before=space.simplify(old), after=space.simplify(new),
            losing=losing(space, old, new), witness=view.witness(lost))
    return None
