"""The one door between `kwhen scan` and `kwhen check`'s engine.

`check_commit` runs every check of `kwhen check` on one commit with the
Kconfig/Kbuild models the scan's worker supplies (built from the commit's
parent and from the commit itself), and gives the findings as
`kwhen check --format json` does. Everything the scan knows about the
check engine's shapes is in this module.
"""

from __future__ import annotations

from pathlib import Path

from kwhen import git
from kwhen.checks.options import CheckOptions
from kwhen.checks.runner import Checker
from kwhen.patch.diff import parse_diff
from kwhen.patch.target import MAX_DIFF_BYTES, Change, TreeState


def check_options(options: dict) -> CheckOptions:
    """`kwhen check`'s options from a scan's (a plain dict, as stored). A
    scan records every finding, those the parent had too (marked
    `pre_existing`, beside the scan's own `new`)."""
    return CheckOptions(arches=options.get("arches") or None,
                        all_arches=bool(options.get("all_arches")), base=options.get("base"),
                        trust_tree=bool(options.get("trust_tree")), cache=options.get("cache", True),
                        all_findings=True)


def commit_change(root: Path, parent: str, sha: str, title: str = "", author: str = "") -> Change:
    """Commit `sha` against `parent` in a clean work tree `root` that holds
    `parent`: the pre-image is the work tree as it is, the post-image the
    work tree with the files the commit changes read from git."""
    from kwhen.scan.history import changed_paths

    diff = git.run_limited(root, MAX_DIFF_BYTES, f"commit {sha[:12]}", "diff", "--no-color",
                           "--ignore-submodules", "-M", "--src-prefix=a/", "--dst-prefix=b/",
                           parent, sha, config={"core.quotePath": "true"})
    text = diff.decode("utf-8", "surrogateescape")
    file_patches = parse_diff(text, f"commit {sha[:12]}", allow_binary=True) if text.strip() else []
    blobs = git.Blobs(root, "")
    overlay = {path: (None if status == "D" else _lazy())
               for path, status in changed_paths(root, parent, sha).items()}
    pre = TreeState(root, {}, blobs, parent, label=parent[:12])
    post = TreeState(root, overlay, blobs, sha, label=sha[:12])
    return Change(id=sha[:12], title=title, author=author, file_patches=file_patches,
                  pre=pre, post=post, commit=sha)


def _lazy():
    from kwhen.patch import target

    return target._LAZY


class _ScanChecker(Checker):
    """`kwhen check`'s checker, with the trees of each architecture given
    by the scan (`trees_for(arch, checked) -> (pre Tree, post Tree)`;
    `checked`: an architecture the checks read on both sides) instead of
    built from the work tree."""

    def __init__(self, root: Path, options: CheckOptions, trees_for):
        super().__init__(root, options)
        self._trees_for = trees_for

    def views(self, change, arches=None, load_pre=True):
        # the architectures checked (arches=None) are read on both sides;
        # others only when dead-added asks about the commit's side
        # (`load_pre` false: the scan's trees are made lazily anyway)
        checked = arches is None
        if checked:
            arches = self.arches_for(sorted(change.paths()))
        views = []
        for arch in arches:
            pre, post = self._trees_for(arch, checked)
            self._base_trees.setdefault(arch, pre)
            base_values, base_name = self._base_for(post)
            # one view per phase of a U-Boot tree, as kwhen check has them
            views.extend(self._phase_views(arch, pre.with_state(change.pre),
                                           post.with_state(change.post), base_values, base_name))
        return views


def check_commit(root: Path, change: Change, trees_for,
                 options: dict) -> tuple[list[dict], list, list[dict]]:
    """The findings of `change` (dicts, as `kwhen check --format json`
    gives them), the architectures checked, and the parts of the change
    the check skipped, with why (`Skipped.to_json`: a makefile or Kconfig
    file of the commit kwhen cannot read, and what it left unchecked)."""
    checker = _ScanChecker(root, check_options(options), trees_for)
    try:
        findings = checker.check_change(change)
        return ([f.to_json() for f in findings], checker.arches_modelled,
                [s.to_json() for s in sorted(checker.skipped, key=lambda s: s.sort_key)])
    finally:
        checker.close()
