"""`kwhen check`: run every kind of check on every change of a target.

For each change (a commit, or a patch of a series) and each architecture
concerned, an `ArchView` holds the tree before and after the change. When a
change touches only C files, both sides share the architecture's Kconfig and
Kbuild models and read C files through the patch state; when it touches
Kconfig files or Makefiles, each side is materialised as a hard-link farm and
modelled from its own files, so a patch is judged by its own new rules.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kwhen import progress
from kwhen.checks import (alternatives, config_tests, dead, linkage, moved, narrowed,
                          preexisting, prefix, undefined)
from kwhen.checks.lines import anchored_on_code
from kwhen.checks.messages import Finding, Skipped
from kwhen.checks.options import CheckOptions
from kwhen.exceptions import KwhenError
from kwhen.logic.formula import Formula
from kwhen.patch.target import TreeState
from kwhen.presence import Tree
from kwhen.sources import SOURCE_SUFFIXES
from kwhen.sqldata import Cache


# The kinds of check, each a module with run(change, context) -> [Finding].
KINDS_OF_CHECK = (moved, narrowed, alternatives, dead, undefined, prefix, config_tests, linkage)


@dataclass
class CheckRun:
    """The findings of every change checked, the architectures looked at,
    and per change the scope: which were modelled, which ruled out and why."""

    findings: list
    arches: list
    skipped: list = field(default_factory=list)
    scopes: list = field(default_factory=list)   # [(change id, Scope)]
    pre_existing_hidden: int = 0     # findings the parents had, left out (no --all-findings)


def _is_kconfig(relpath: str) -> bool:
    return relpath.rsplit("/", 1)[-1].startswith("Kconfig")


def is_build_file(relpath: str) -> bool:
    """Files that shape the Kconfig or Kbuild model rather than C code."""
    name = relpath.rsplit("/", 1)[-1]
    return (name.startswith(("Kconfig", "Makefile", "Kbuild")) or name.endswith((".mk", ".include"))
            or "/configs/" in relpath or relpath.startswith("configs/"))


class ArchView:
    """One architecture (in one phase, for a tree with phases), before and
    after one change."""

    def __init__(self, arch: str, pre: Tree, post: Tree, base_values: dict | None,
                 base_name: str | None, phase: str | None = None):
        self.arch = arch
        # U-Boot proper, SPL...: None in a tree without phases (Linux)
        self.phase = phase
        self.pre = pre
        self.post = post
        self.base_values = base_values
        self.base_name = base_name
        self._memo: dict = {}

    def _line(self, tree: Tree, side: str, path: str, line: int) -> Formula:
        key = (side, path, line)
        found = self._memo.get(key)
        if found is None:
            found = tree.line_condition(path, line)
            self._memo[key] = found
        return found

    def pre_line(self, path: str, line: int) -> Formula:
        return self._line(self.pre, "pre", path, line)

    def post_line(self, path: str, line: int) -> Formula:
        return self._line(self.post, "post", path, line)

    @property
    def space(self):
        """Configurations after the change: where losses are looked for."""
        return self.post.space

    def witness(self, f: Formula):
        return self.space.witness(f, base=self.base_values, base_name=self.base_name)

    @property
    def proper(self) -> bool:
        """Whether this is U-Boot proper's view (or the one view of a tree
        without phases)."""
        return self.post.phase is None

    @property
    def phases(self) -> list:
        """The `phases` of a finding made on this view alone."""
        return [self.phase] if self.phase else []


@dataclass
class CheckContext:
    """What a check of one change gets besides the change: its views (one per
    architecture checked), the tree's root, the options, and
    `other_views(only=None)`, the change on the architectures not checked
    (or on those of `only`), made only when a check asks."""

    views: list
    root: Path
    options: CheckOptions
    other_views: object


def merge_findings(findings: list) -> list:
    """One finding per (change, kind, file, line), with the arches and the
    other places of the same cause joined."""
    merged: dict = {}
    for f in findings:
        # (two tests on one line are two findings: config-test-argument)
        key = (f.change, f.kind, f.file, f.line, getattr(f, "argument", None),
               getattr(f, "problem", None))
        losing = getattr(f, "losing", None)
        if losing is not None:
            for phase in f.phases:       # each phase's own losing, for the wording
                f.phase_losing.setdefault(phase, losing)
        if key in merged:
            for arch in f.arches:
                if arch not in merged[key].arches:
                    merged[key].arches.append(arch)
            for phase in f.phases:       # one finding listing the phases it holds in
                if phase not in merged[key].phases:
                    merged[key].phases.append(phase)
                    if losing is not None:
                        merged[key].phase_losing.setdefault(phase, losing)
            for place in getattr(f, "others", ()):     # the same cause's other places
                if place not in merged[key].others:
                    merged[key].others.append(place)
        else:
            merged[key] = f
            if f.witness is not None and f.phases:
                f.witness_phase = f.phases[0]     # the view the witness was found on
    return sorted(merged.values(), key=lambda f: f.sort_key)


class Checker:
    """Checks the changes of one target against one tree."""

    def __init__(self, root: Path, options: CheckOptions):
        self.root = Path(root).resolve()
        self.options = options
        self.cache = Cache(enabled=options.cache)
        self._base_trees: dict[str, Tree] = {}
        self._checked: dict[str, None] = {}     # every architecture some change was checked on
        self._materialized = None         # (change id, {"pre"/"post": root}) of the last change
        self.pre_existing_hidden = 0
        remove_orphaned_scratch()
        self._scratch = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        self.skipped: list[Skipped] = []  # what could not be checked, in order
        self.scopes: list = []            # (change id, Scope) of each change checked

    def close(self):
        self.cache.close()
        self._remove_scratch()

    def _remove_scratch(self) -> None:
        """Remove the scratch trees. A materialised U-Boot or Linux tree is
        tens of thousands of hard links, a second to unlink: a child `rm`
        that outlives kwhen does it (the directory is renamed first, so
        nothing of this run is found there again; if the child is killed,
        the next kwhen removes what is left, as for any dead kwhen)."""
        remove_detached(self._scratch.name)
        self._scratch.cleanup()          # (nothing left: only marks it done)

    # -- architectures ---------------------------------------------------------

    def arches_for(self, paths) -> list[str]:
        from kwhen.kconfig.arches import arch_of_path, list_arches, resolve_arch

        if self.options.arches:
            return [resolve_arch(self.root, a)[0] for a in self.options.arches]
        available = list_arches(self.root)
        if self.options.all_arches:
            return available
        chosen = []
        generic = False
        for path in paths:
            owner = arch_of_path(path)
            if owner in available:
                if owner not in chosen:
                    chosen.append(owner)
            else:
                generic = True
        if generic or not chosen:
            host = resolve_arch(self.root, None)[0]
            if host not in chosen:
                chosen.insert(0, host)
        return chosen

    def base_tree(self, arch: str, status=None, every_phase: bool = False) -> Tree:
        """The models of the work tree on `arch` (`status`: its
        WorkTreeStatus, when it is a git work tree; `every_phase`: a cold
        start computes every phase's Kbuild model at once)."""
        tree = self._base_trees.get(arch)
        if tree is None:
            work = TreeState(self.root, label="work tree")
            work.work_tree = status
            tree = Tree(self.root, arch, trust_tree=self.options.trust_tree, cache=self.cache,
                        partial=True, identity=self._identity(work))
            tree.models.fork_phases = every_phase
            with progress.step(f"loading the {arch} models"):
                tree.model, tree.kbuild, tree.space   # load before sharing with derived trees
            self._base_trees[arch] = tree
        return tree

    def _materialize(self, state, label: str) -> Path:
        dest = Path(self._scratch.name) / label
        if dest.exists():
            shutil.rmtree(dest)
        self.cache.forget_files()     # the files under dest are another revision's now
        with progress.step(f"materialising the tree {label} {state.label}"):
            return state.materialize(dest)

    def other_views(self, change, checked: list, only: list | None = None) -> list[ArchView]:
        """Views of `change` on every architecture not in `checked` (or on
        those of `only` that exist): dead generic code must be dead
        everywhere before it is reported."""
        from kwhen.kconfig.arches import list_arches

        others = [a for a in list_arches(self.root) if a not in checked
                  and (only is None or a in only)]
        # (their pre-images are built only if a check asks about one: dead
        # code is judged after the change alone)
        return self.views(change, others, load_pre=False) if others else []

    def _side(self, change, which: str, arch: str, every_phase: bool) -> Tree:
        """The Tree of one side ("pre" or "post") of a change that alters
        build files on `arch`: the work tree's models where the side is the
        work tree as it is, else a copy of the side materialised once per
        change however many architectures look."""
        state = change.post if which == "post" else change.pre
        if which == "pre" and not change.pre.exists("Kconfig"):
            # A root commit has no pre-image tree: it only adds, so the
            # post-image stands for both sides.
            state, which = change.post, "post"
        if not state.changed_paths():
            return self.base_tree(arch, state.work_tree, every_phase)
        if self._materialized is None or self._materialized[0] != change.id:
            self._materialized = (change.id, {})
        roots = self._materialized[1]
        if which not in roots:
            roots[which] = self._materialize(state, which)
        tree = self._scratch_tree(roots[which], arch, state)
        tree.models.fork_phases = every_phase
        return tree

    def views(self, change, arches: list | None = None, load_pre: bool = True) -> list[ArchView]:
        """`change` on `arches` (default: those the options or the touched
        files call for). With `load_pre` false the models before a change
        that edits build files are made only when first asked about."""
        paths = set()
        for fp in change.file_patches:
            paths.update(p for p in (fp.old_path, fp.new_path) if p)
        structural = any(is_build_file(p) for p in
                         change.pre.changed_paths() | change.post.changed_paths())
        views = []
        for arch in (arches if arches is not None else self.arches_for(sorted(paths))):
            try:
                if structural:
                    post = self._loaded(self._side(change, "post", arch, load_pre))
                    pre = self._side(change, "pre", arch, load_pre)
                    if load_pre:
                        self._loaded(pre)
                else:
                    base = self.base_tree(arch, change.pre.work_tree, load_pre)
                    pre, post = base.with_state(change.pre), base.with_state(change.post)
            except KwhenError as error:
                # a Kconfig file of one side that kwhen cannot read: the
                # change is not checked on this architecture, and the
                # report says so
                self._skip(change, error, f"the change on {arch}", arch)
                continue
            base_values, base_name = self._base_for(post)
            views.extend(self._phase_views(arch, pre, post, base_values, base_name))
        return views

    def _scratch_tree(self, root: Path, arch: str, state) -> Tree:
        """The Tree of `state` materialised at `root`. Its cache items are
        filed under the content of the build files where the state differs
        from the work tree, not under the scratch directory's random name:
        a later check of the same commit, the other side of a commit that
        changes only C files, or the next commit with the same Kconfig and
        Makefiles finds them. (The name only picks the slot: every item
        still holds only while the files it was made from are unchanged.)"""
        return Tree(root, arch, trust_tree=self.options.trust_tree, cache=self.cache,
                    partial=True, identity=self._identity(state), origin=(self.root, state))

    def _identity(self, state) -> dict | None:
        """The names a state's models are filed under in the cache: a digest
        of the content of its Kconfig files (the Kconfig model's), and of
        all its build files (the rest), so that the same files give the same
        name wherever the work tree and the scratch copies are. None (the
        path decides) outside a git work tree."""
        kconfig = state.content_digest(_is_kconfig)
        kbuild = state.content_digest(is_build_file)
        if kconfig is None or kbuild is None:
            return None
        return {"kconfig": f"{self.root}@kconfig:{kconfig}", "kbuild": f"{self.root}@build:{kbuild}"}

    @staticmethod
    def _phase_views(arch, pre: Tree, post: Tree, base_values, base_name) -> list:
        """The view of `arch`, one per phase where the tree has phases
        (U-Boot proper, SPL, TPL, VPL: each phase's Kbuild model is made
        only when a check asks it a question). A phase the change adds is
        looked at before the change in the same context."""
        if not post.has_phases:
            return [ArchView(arch, pre, post, base_values, base_name)]
        return [ArchView(arch, pre.in_phase(phase), post.in_phase(phase), base_values, base_name,
                         phase=phase.title) for phase in post.phases]

    @staticmethod
    def _loaded(tree: Tree) -> Tree:
        tree.model, tree.kbuild          # a model that cannot be read fails here
        return tree

    def _skip(self, change, error: KwhenError, what: str, arch: str | None = None) -> None:
        """Record what could not be checked, naming the file as the
        repository has it (never the scratch copy kwhen made)."""
        path, reason = self._repository_path(error.path), error.message
        for other in (self._scratch.name, str(self.root)):
            reason = reason.replace(other + os.sep, "").replace(other, ".")
        for skipped in self.skipped:
            if (skipped.change, skipped.path, skipped.line) == (change.id, path, error.line):
                break
        else:
            skipped = Skipped(change=change.id, path=path, line=error.line, reason=reason)
            self.skipped.append(skipped)
        if what not in skipped.unchecked:
            skipped.unchecked.append(what)
        if arch and arch not in skipped.arches:
            skipped.arches.append(arch)

    def _repository_path(self, path: str | None) -> str | None:
        if not path or not os.path.isabs(path):
            return path                  # already relative to the tree
        scratch = Path(self._scratch.name)
        for top in (scratch / "post", scratch / "pre", self.root):
            try:
                return Path(path).relative_to(top).as_posix()
            except ValueError:
                continue
        return path

    def _below_unreadable(self, change, views: list, path: str) -> bool:
        """Whether `path` is a source below a makefile kwhen cannot read on
        some side of some view (recorded as skipped): a finding there would
        judge the file against an unknown."""
        if not path.endswith(SOURCE_SUFFIXES):
            return False
        for view in views:
            for tree in (view.pre, view.post):
                unread = tree.unreadable_makefile(path)
                if unread is not None:
                    _d, makefile, line, message = unread
                    self._skip(change, KwhenError(message, path=makefile, line=line), path,
                               view.arch)
                    return True
        return False

    def _readable_part(self, change, views: list):
        """`change` without the files below a makefile kwhen cannot read
        (on either side): Kbuild says nothing of them, so they are skipped
        and named in the report rather than judged against an unknown."""
        dropped = {path for path in change.paths()
                   if self._below_unreadable(change, views, path)}
        if not dropped:
            return change
        kept = [fp for fp in change.file_patches
                if not {p for p in (fp.old_path, fp.new_path) if p} & dropped]
        return dataclasses.replace(change, file_patches=kept)

    def _base_for(self, tree: Tree):
        if not self.options.base:
            return None, None
        from kwhen.evaluation import config_values
        from kwhen.kconfig.dotconfig import values_for_model

        # a defconfig or fragment is completed as olddefconfig would
        values = values_for_model(tree.model, config_values(tree, self.options.base))
        return values, os.path.basename(self.options.base)

    # -- running ---------------------------------------------------------------

    def scope_of(self, change):
        """The architectures to model for `change` (kwhen.checks.scope)."""
        from kwhen.checks import scope
        from kwhen.kconfig.arches import arch_of_path, list_arches, resolve_arch

        available = list_arches(self.root)
        if self.options.arches or self.options.all_arches or not available:
            paths = sorted({p for fp in change.file_patches
                            for p in (fp.old_path, fp.new_path) if p})
            return scope.Scope(self.arches_for(paths))
        owners = []
        for path in sorted(change.paths()):
            owner = arch_of_path(path)
            if owner in available and owner not in owners:
                owners.append(owner)
        structural = any(is_build_file(p) for p in
                         change.pre.changed_paths() | change.post.changed_paths())
        host = resolve_arch(self.root, None)[0]
        return scope.decide(self.root, change, host, owners, available, structural,
                            cache=self.cache)

    def check_change(self, change) -> list[Finding]:
        # every check reads the diff with code lines anchored: an #endif
        # moved past a line is that line's #if changing, not the line moving
        change = dataclasses.replace(
            change, file_patches=[anchored_on_code(fp) for fp in change.file_patches])
        scope = self.scope_of(change)
        self.scopes.append((change.id, scope))
        views = self.views(change, scope.modelled)
        # one view per phase: an architecture is named once
        checked = list(dict.fromkeys(v.arch for v in views))
        self._checked.update(dict.fromkeys(checked))
        context = CheckContext(views, self.root, self.options,
                               lambda only=None: self.other_views(change, checked, only))
        readable = self._readable_part(change, views)
        findings = []
        progress.note(f"checking {change.id} ({change.title}) on "
                      f"{', '.join(checked) or 'no architecture (it touches no file they build)'}")
        with progress.step(f"checking {change.id} on {', '.join(checked)}"):
            for kind in KINDS_OF_CHECK:
                findings.extend(kind.run(readable, context))
        findings = [f for f in findings if not self._below_unreadable(change, views, f.file)]
        if self.options.verify:
            from kwhen.checks import verify
            verify.run(findings, views, Path(self._scratch.name))
        for f in findings:
            f.change = change.id
            if f.kind in ("narrowed", "moved-narrowed"):
                f.unmodelled_arches = self._unmodelled_for(f, scope)
        merged = merge_findings(findings)
        preexisting.mark(readable, merged, views)
        if not self.options.all_findings:
            self.pre_existing_hidden += sum(1 for f in merged if f.pre_existing)
            merged = [f for f in merged if not f.pre_existing]
        for f in merged:
            f.context = code_context(f, views)
        return merged

    @staticmethod
    def _unmodelled_for(finding, scope) -> list:
        """The architectures not modelled that lose the finding's lines by
        their #if alone."""
        from kwhen.checks.scope import on_arch_possible

        runs = [loss for first, last, loss in scope.losses.get(finding.file, [])
                if first <= getattr(finding, "last", finding.line) and last >= finding.line]
        return [a for a in sorted(scope.unmodelled) if a not in finding.arches
                and on_arch_possible(runs, a, scope)]

    @property
    def arches_modelled(self) -> list:
        return sorted(set(self._base_trees) | set(self._checked))


CONTEXT_LINES = 3     # lines shown on each side of a finding (HTML report)


def code_context(finding, views: list) -> list:
    """(number, text, condition or None) of the lines around the finding, in
    the state of the tree the finding speaks of (after the change, or before
    it where the file is gone), with each line's condition on the finding's
    first architecture: what the HTML report shows. Empty when the file
    cannot be read; a line outside C code has no condition."""
    from kwhen.exceptions import KwhenError
    from kwhen.wording import describe

    by_arch: dict = {}
    for v in views:
        by_arch.setdefault(v.arch, v)    # (U-Boot proper's view, the first)
    view = next((by_arch[a] for a in finding.arches or [] if a in by_arch), views[0] if views else None)
    if view is None or not finding.line:
        return []
    for tree in (view.post, view.pre):
        try:
            text = tree.read_text(finding.file)
        except KwhenError:
            continue
        lines = text.split("\n")
        first = max(1, finding.line - CONTEXT_LINES)
        last = min(len(lines), finding.line + CONTEXT_LINES)
        out = []
        for n in range(first, last + 1):
            try:
                condition = describe(tree.space.simplify(tree.line_condition(finding.file, n)),
                                     tree.symbol_types)
            except KwhenError:
                condition = None
            out.append((n, lines[n - 1], condition))
        return out
    return []


SCRATCH_PREFIX = "kwhen-check-"
_DONE = "-done"           # a scratch directory renamed for its removal
_RM_GRACE = 600           # seconds an rm is given before another kwhen takes over


def remove_detached(path: str) -> None:
    """Remove the scratch directory `path` by a child `rm` that outlives
    kwhen (tens of thousands of hard links take a second or more to
    unlink); renamed first, so nothing finds it as a scratch tree again."""
    if not os.path.isdir(path):
        return
    rm = shutil.which("rm")
    doomed = path if path.endswith(_DONE) else path + _DONE
    try:
        if doomed != path:
            os.rename(path, doomed)
        if rm is None:
            raise OSError("no rm")
        os.utime(doomed)
        subprocess.Popen([rm, "-rf", "--", doomed], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError:
        shutil.rmtree(doomed if os.path.isdir(doomed) else path, ignore_errors=True)


def remove_orphaned_scratch() -> None:
    """Remove the scratch trees of kwhen processes that no longer run (a
    kill -9 skips every cleanup): kwhen-check-<pid>-* of a dead pid."""
    top = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(top) if n.startswith(SCRATCH_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue                    # still running
        except ProcessLookupError:
            pass
        except OSError:
            continue                    # another user's: not ours to judge
        path = os.path.join(top, name)
        if name.endswith(_DONE):
            try:
                if time.time() - os.stat(path).st_mtime < _RM_GRACE:
                    continue            # the rm its kwhen started is on it
            except OSError:
                continue
        remove_detached(path)


def check_changes(root: Path, changes: list, options: CheckOptions) -> CheckRun:
    """Every kind of check on each of `changes` (in order) in the tree at
    `root`."""
    checker = Checker(root, options)
    try:
        findings, arches = [], []
        for change in changes:
            findings.extend(checker.check_change(change))
        for f in findings:
            arches.extend(a for a in f.arches if a not in arches)
        return CheckRun(findings, arches or checker.arches_modelled, list(checker.skipped),
                        checker.scopes, checker.pre_existing_hidden)
    finally:
        checker.close()
