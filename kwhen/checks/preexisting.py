"""Findings a change did not introduce (issue 14: "a finding is the
change's").

The checks read the lines a change adds. A line can be added that only
carries a defect the parent already had: the line was re-indented, moved,
or edited elsewhere on it, and `CONFIG_IS_ENABLED(SPL_FOO)`, the undefined
`CONFIG_BAR` or the dead code came along unchanged. Such a finding is
marked `pre_existing`; `kwhen check` shows it only with --all-findings.

The rule, for each kind that reads added lines:
- a defect named by its text (undefined-symbol, config-test-argument,
  missing-config-prefix) pre-exists when the change removes at least as
  many occurrences of that text as it adds, and touches no Kconfig file
  (which could have made the name undefined) -- for a missing CONFIG_
  prefix, and removes no `#define` of the name either;
- dead-added code pre-exists when every line of it is the text (blanks
  aside) of lines the change removes, each of which no configuration built
  before the change, on the finding's architectures.
The other kinds compare the conditions before and after, so they are the
change's by construction. When occurrences were added beyond those removed
the finding stays the change's: kwhen cannot tell which one is new.
"""

from __future__ import annotations

import re
from collections import Counter

from kwhen.checks.lines import patch_lines
from kwhen.checks.messages import ConfigTestArgument, DeadAdded, MissingConfigPrefix, UndefinedSymbol
from kwhen.exceptions import KwhenError


def _blanks_aside(text: str) -> str:
    return " ".join(text.split())


class _Sides:
    """What the change removes and adds, as text."""

    def __init__(self, change):
        self.removed = list(patch_lines(change.file_patches, "-"))
        self.added = list(patch_lines(change.file_patches, "+"))
        self.removed_lines = Counter(_blanks_aside(t) for _p, _n, t in self.removed)
        self.added_lines = Counter(_blanks_aside(t) for _p, _n, t in self.added)
        self.touches_kconfig = any(
            (p or "").rsplit("/", 1)[-1].startswith("Kconfig")
            for fp in change.file_patches for p in (fp.old_path, fp.new_path))

    def carried(self, pattern: re.Pattern) -> bool:
        """Whether the change removes at least as many matches of `pattern`
        as it adds (and adds some)."""
        removed = sum(len(pattern.findall(t)) for _p, _n, t in self.removed)
        added = sum(len(pattern.findall(t)) for _p, _n, t in self.added)
        return 0 < added <= removed


def _word(text: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(text) + r"(?!\w)")


def _named_defect(f, sides: _Sides) -> bool:
    if sides.touches_kconfig:
        return False
    if isinstance(f, UndefinedSymbol):
        if any(r.removed_at or r.renamed_from for r in f.references):
            return False
        # C and makefiles write CONFIG_FOO, Kconfig files FOO
        return all(sides.carried(_word(f"CONFIG_{s}")) or sides.carried(_word(s))
                   for s in f.symbols)
    if isinstance(f, ConfigTestArgument):
        return sides.carried(re.compile(re.escape(f.call)))
    if isinstance(f, MissingConfigPrefix):
        defines = re.compile(r"^\s*#\s*define\s+" + re.escape(f.symbol) + r"(?!\w)")
        if any(defines.match(t) for _p, _n, t in sides.removed):
            return False
        return sides.carried(_word(f.symbol)) and \
            sides.removed_lines[_blanks_aside(f.directive)] >= sides.added_lines[_blanks_aside(f.directive)] > 0
    return False


def _dead_before(f: DeadAdded, sides: _Sides, views) -> bool:
    try:
        post = next(v for v in views if v.arch in f.arches).post
        text = post.read_text(f.file).split("\n")
    except (StopIteration, KwhenError):
        return False
    lines = [line for first, last in [(f.line, f.last), *f.more] for line in text[first - 1:last]]
    texts = [_blanks_aside(t) for t in lines if t.strip()]
    if not texts or any(sides.removed_lines[t] < sides.added_lines[t] for t in texts):
        return False
    wanted = set(texts)
    on = [v for v in views if v.arch in f.arches]
    for path, number, text in sides.removed:
        if _blanks_aside(text) not in wanted:
            continue
        for v in on:
            try:
                if v.pre.space.possible(v.pre_line(path, number)):
                    return False      # built before: the change killed it
            except KwhenError:
                return False
    return True


def mark(change, findings: list, views: list) -> None:
    """Set `pre_existing` on each finding of `change` that its parent had."""
    sides = None
    for f in findings:
        if not isinstance(f, (UndefinedSymbol, ConfigTestArgument, MissingConfigPrefix, DeadAdded)):
            continue
        if sides is None:
            sides = _Sides(change)
        if isinstance(f, DeadAdded):
            f.pre_existing = _dead_before(f, sides, views)
        else:
            f.pre_existing = _named_defect(f, sides)
