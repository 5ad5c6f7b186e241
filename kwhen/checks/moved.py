"""moved-narrowed: code removed in one place and added in another that is
built in fewer configurations (the seed's bug).

A move pairs code that left one place and arrived in another of the same
change and context: a removed and an added line carrying the same code,
the nearest first (the same hunk, file, directory). Code re-written where
it stands (re-indented into an `if`, wrapped in an `#ifdef` in one hunk) is
no move: `narrowed` compares it as a kept line. Nor is identical code in
files that no configuration builds together (two boards' files): it
arrived in a place that is no continuation of the one it left.
"""

from __future__ import annotations

import difflib
import posixpath

from kwhen.checks.lines import changed_lines, is_significant
from kwhen.checks.loss import lost_condition, losing, one_per_cause
from kwhen.checks.messages import MovedNarrowed, Place
from kwhen.kconfig.arches import arch_of_path
from kwhen.logic.formula import conj


# Lines edited while being moved still count as moved above this similarity.
SIMILARITY = 0.85
# Bound on fuzzy comparisons, so a patch that rewrites a whole file stays fast.
MAX_FUZZY_PAIRS = 200_000
# Added lines further apart than this start a new moved block.
BLOCK_GAP = 4


def closeness(r, a) -> tuple:
    """How near removed line `r` is to added line `a`, to prefer among
    equal candidates (greater is nearer): the same hunk, file, directory."""
    return (r.hunk == a.hunk, r.path == a.path,
            posixpath.dirname(r.path) == posixpath.dirname(a.path))


def match_moves(removed, added) -> list:
    """Pairs (removed line, added line) carrying the same code.

    Exact matches of normalised text first, the nearest removed line
    (`closeness`) for each added one, then, for lines still unpaired, the
    most similar removed line above SIMILARITY. Trivial statements
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
            nearest = max(candidates, key=lambda r: closeness(r, a))
            candidates.remove(nearest)
            pairs.append((nearest, a))
        else:
            unpaired.append(a)
    left = [r for group in by_text.values() for r in group]
    if unpaired and left and len(unpaired) * len(left) <= MAX_FUZZY_PAIRS:
        # the most similar pairs first, whatever the order of the lines: an
        # added line must not take the removed line that another added line
        # carries more nearly (`dram[2]` taking `dram[1]`'s old line)
        candidates = []
        for i, a in enumerate(unpaired):
            for j, r in enumerate(left):
                ratio = difflib.SequenceMatcher(None, r.norm, a.norm).ratio()
                if ratio >= SIMILARITY:
                    candidates.append((ratio, closeness(r, a), -i, -j))
        candidates.sort(reverse=True)
        taken_a, taken_r = set(), set()
        for _ratio, _near, i, j in candidates:
            if -i not in taken_a and -j not in taken_r:
                taken_a.add(-i)
                taken_r.add(-j)
                pairs.append((left[-j], unpaired[-i]))
    return pairs


_last: tuple = (None, [])     # (file patches, pairs) of the last change asked


def pairs_of(change) -> list:
    """`match_moves` over the change's removed and added code lines (asked
    by both this check and `narrowed`, computed once; one tuple replaced
    whole, so threads checking other changes never mix two)."""
    global _last
    patches, pairs = _last
    if patches is not change.file_patches:
        patches, pairs = change.file_patches, match_moves(*changed_lines(change.file_patches))
        _last = (patches, pairs)
    return pairs


def in_place(change) -> dict:
    """old path -> {pre-image line: post-image line} of the code a hunk
    re-wrote where it stands (a removed and an added line of one hunk
    carrying the same code)."""
    out: dict = {}
    for r, a in pairs_of(change):
        if r.hunk == a.hunk:
            out.setdefault(r.path, {})[r.line] = a.line
    return out


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
    pairs = [(r, a) for r, a in pairs_of(change) if r.hunk != a.hunk]
    if not pairs:
        return []
    related = _Related(context)
    findings = []
    for view in context.views:
        found = []
        for block in blocks(pairs):
            finding = _check_block(view, block, related)
            if finding is not None:
                found.append((finding, Place(finding.file, finding.line, source=(
                    f"{finding.source_file}:{finding.source_line}")), ()))
        findings.extend(one_per_cause(found))
    return findings


class _Related:
    """Whether a removed line and an added line of other files are one
    piece of code moving: some configuration builds both places (on an
    architecture checked, or on the one owning the new place)."""

    def __init__(self, context):
        self.context = context
        self.known: dict = {}
        self.other: dict = {}        # arch -> views of the change on it

    def __call__(self, r, a) -> bool:
        if r.path == a.path:
            return True
        key = (r.path, r.line, a.path, a.line)
        if key not in self.known:
            views = list(self.context.views)
            owner = arch_of_path(a.path)
            if owner and owner not in {v.arch for v in views}:
                if owner not in self.other:
                    self.other[owner] = self.context.other_views([owner])
                views += self.other[owner]
            self.known[key] = any(v.space.possible(conj(v.pre_line(r.path, r.line),
                                                         v.post_line(a.path, a.line)))
                                  for v in views)
        return self.known[key]


def _check_block(view, block, related) -> MovedNarrowed | None:
    space = view.space
    for r, a in block:
        old = view.pre_line(r.path, r.line)
        new = view.post_line(a.path, a.line)
        if old is new:
            continue
        lost = lost_condition(old, new)
        if not space.possible(lost) or not related(r, a):
            continue
        first_r, first_a = block[0]
        return MovedNarrowed(
            file=first_a.path, line=first_a.line, source_file=first_r.path,
            source_line=first_r.line, arches=[view.arch], phases=view.phases, types=view.post.symbol_types,
            before=space.simplify(old), after=space.simplify(new),
            losing=losing(space, old, new), witness=view.witness(lost))
    return None
