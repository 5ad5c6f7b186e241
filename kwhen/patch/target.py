"""What `kwhen check TARGET` checks: a list of Changes, each with the state of
the tree before and after it.

A TreeState is the work tree as it is on disk plus an overlay of the paths
where the state differs. For git revisions the overlay is the set of files
that differ between the work tree and the revision, read lazily from git; for
patch files and mboxes it is the patches applied in memory. Nothing is
checked out and no file is read until someone asks for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from kwhen import git
from kwhen.exceptions import KwhenError
from kwhen.patch.diff import MAX_PATCH_BYTES, FilePatch, apply, parse_diff, reverse
from kwhen.readfile import read_bytes


class _Lazy:
    """An overlay entry whose content is read from git on first use."""
    __slots__ = ()


_LAZY = _Lazy()


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _norm(relpath: str | os.PathLike) -> str:
    rel = os.fspath(relpath).replace(os.sep, "/")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return "/".join(parts)


class TreeState:
    """A state of the tree: the directory `tree` plus an overlay.

    ``read(rel)`` gives the text of a file (None when absent), ``exists``
    whether a file or directory is there, ``changed_paths()`` where the state
    differs from the work tree, ``materialize(dest)`` a real directory.
    """

    def __init__(self, tree: Path, overlay: dict | None = None, blobs: "git.Blobs | None" = None,
                 rev: str | None = None, label: str = "work tree", loader=None):
        self.tree = Path(tree)
        self._data: dict[str, object] | None = None if loader else dict(overlay or {})
        self._loader = loader     # computes the overlay on first use (git states)
        self._blobs = blobs
        self.rev = rev            # the git revision this state is, if any
        self.label = label
        self.work_tree = None     # the WorkTreeStatus of a git state's tree
        # path -> text of the changes made on top of `rev` (or of the work
        # tree) by `with_changes`: a patch applied in memory
        self.derived: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @property
    def _overlay(self) -> dict[str, object]:
        if self._data is None:
            with self._lock:
                if self._data is None:
                    self._data = self._loader()
        return self._data

    def __repr__(self):
        return f"<TreeState {self.label}>"

    # -- reading --------------------------------------------------------------

    def read(self, relpath) -> str | None:
        """The text of the file at `relpath` in this state, None if absent
        (undecodable bytes kept as surrogate escapes)."""
        rel = _norm(relpath)
        if rel in self._overlay:
            value = self._overlay[rel]
            if value is _LAZY:
                data = self._blobs.read(self.rev, rel)
                if data is None:
                    # the revision has the file (its overlay says so), but
                    # git cannot give it: a partial clone, which kwhen does
                    # not let fetch (kwhen.git)
                    raise KwhenError(f"git cannot read {self.rev[:12]}:{rel} (missing from the "
                                     "repository; kwhen fetches nothing)", path=str(self.tree))
                value = _decode(data)
                self._overlay[rel] = value
            return value
        full = self.tree / rel
        if not full.is_file():      # missing, a directory, or not a file kwhen reads
            return None
        return _decode(read_bytes(full, shown=rel))

    def read_bytes(self, relpath) -> bytes | None:
        """The bytes of the file at `relpath`, None if absent."""
        text = self.read(relpath)
        return None if text is None else _encode(text)

    def exists(self, relpath) -> bool:
        """A file (or a directory) is at `relpath` in this state."""
        rel = _norm(relpath)
        if rel in self._overlay:
            return self._overlay[rel] is not None
        if os.path.isfile(self.tree / rel):
            return True
        return self.isdir(rel)

    def isfile(self, relpath) -> bool:
        """A file is at `relpath` in this state."""
        rel = _norm(relpath)
        if rel in self._overlay:
            return self._overlay[rel] is not None
        return os.path.isfile(self.tree / rel)

    def isdir(self, relpath) -> bool:
        """A directory is at `relpath` in this state (it holds a file)."""
        rel = _norm(relpath)
        if not rel:
            return True
        prefix = rel + "/"
        if os.path.isdir(self.tree / rel):
            return True
        return any(p.startswith(prefix) and v is not None for p, v in self._overlay.items())

    def changed_paths(self) -> set[str]:
        """Paths (files) where this state differs from the work tree."""
        return set(self._overlay)

    def overlay(self) -> dict[str, str | None]:
        """The changed paths with their content (None: absent); reads them all."""
        return {p: self.read(p) for p in sorted(self._overlay)}

    # -- deriving -------------------------------------------------------------

    def with_changes(self, changes: dict[str, str | None], label: str = "") -> "TreeState":
        """A new state: this one with `changes` (path -> text, None = absent) on top."""
        overlay = dict(self._overlay)
        for rel, text in changes.items():
            overlay[_norm(rel)] = text
        state = TreeState(self.tree, overlay, self._blobs, self.rev, label or self.label)
        state.work_tree = self.work_tree
        state.derived = {**self.derived, **{_norm(rel): text for rel, text in changes.items()}}
        return state

    def content_digest(self, select) -> str | None:
        """A digest of the content of this state's files whose path
        `select(path)` accepts: the git blob ids of the revision (or of the
        index and the work tree's changed files), then the changes made on
        top. Equal for two states that hold the same such files, wherever
        the work tree is; None outside a git work tree."""
        import hashlib

        listing = _listing(self.tree, self.rev, self.work_tree)
        if listing is None:
            return None
        entries = {path: blob for path, blob in listing.items() if select(path)}
        for rel, text in self.derived.items():
            if select(rel):
                entries[rel] = None if text is None else hashlib.blake2b(
                    _encode(text), digest_size=20).hexdigest()
        digest = hashlib.blake2b(digest_size=16)
        for path in sorted(entries):
            digest.update(f"{path}\0{entries[path]}\0".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def apply_patches(self, file_patches: list[FilePatch], source: str, label: str = "") -> "TreeState":
        """A new state: this one with the patches applied (KwhenError if one does not apply)."""
        changes: dict[str, str | None] = {}

        def current(rel):
            return changes[rel] if rel in changes else self.read(rel)

        for fp in file_patches:
            old = current(fp.old_path) if fp.old_path else None
            if fp.status == "renamed" and current(fp.new_path) is not None:
                raise KwhenError(f"patch does not apply: {fp.new_path} already exists",
                                 path=source, line=fp.patch_line)
            new = apply(old, fp, source)
            if fp.old_path and fp.old_path != fp.new_path:
                changes[fp.old_path] = None
            if fp.new_path:
                changes[fp.new_path] = new
        return self.with_changes(changes, label)

    # -- materializing ---------------------------------------------------------

    def materialize(self, dest: Path) -> Path:
        """Make `dest` a real directory holding this state: a hard-link farm of
        the work tree (without .git) where the changed files are replaced by new
        files (never written through the links). Returns `dest`."""
        dest = Path(dest)
        if dest.exists() and any(dest.iterdir()):
            raise KwhenError("materialize: destination is not empty", path=str(dest))
        dest.mkdir(parents=True, exist_ok=True)
        _link_farm(self.tree, dest)
        root = os.path.realpath(dest)
        for rel in sorted(self._overlay):
            text = self.read(rel)
            target = dest / rel
            _make_parent(dest, root, rel)
            if os.path.lexists(target):
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                else:
                    os.unlink(target)
            if text is None:
                continue
            # "xb": a new inode, never the work tree's file behind a hard link
            with open(target, "xb") as f:
                f.write(_encode(text))
            src = self.tree / rel
            if os.path.isfile(src) and not os.path.islink(src):
                try:
                    os.chmod(target, os.stat(src).st_mode & 0o777)
                except OSError:
                    pass
        return dest


_LISTINGS: dict = {}


def _listing(tree: Path, rev: str | None, status) -> dict | None:
    """path -> blob id (or the size and time of a changed file) of the files of revision
    `rev`, or of the work tree (the index, and the files `status`, its
    WorkTreeStatus, finds changed) when `rev` is None; None when git cannot
    say. Kept per process: a check asks for the same revisions again."""
    key = (str(tree), rev, id(status) if rev is None else None)
    found = _LISTINGS.get(key)
    if found is not None:
        return found
    try:
        if rev:
            out = git.run(tree, "ls-tree", "-r", "-z", rev, "--", ".")
            rows = [row.split("\t", 1) for row in _decode(out).split("\0") if row]
            found = {path: meta.split()[2] for meta, path in rows}
        elif rev is None and status is not None:
            out = git.run(tree, "ls-files", "-s", "-z")
            rows = [row.split("\t", 1) for row in _decode(out).split("\0") if row]
            found = {path: meta.split()[1] for meta, path in rows}
            for path in status.codes():
                # (a changed file by its size and time: enough to tell
                # states apart, without reading every untracked file)
                try:
                    st = os.stat(tree / path)
                    found[path] = f"stat:{st.st_size}:{st.st_mtime_ns}"
                except OSError:
                    found[path] = None
        else:
            return None         # the index state, or no repository
    except (git.GitError, KwhenError, ValueError, IndexError):
        return None
    _LISTINGS[key] = found
    return found


def _make_parent(dest: Path, root: str, rel: str) -> None:
    """Create the directories leading to `rel` in `dest`; a file or a link in
    the way is replaced, so nothing is written outside `dest`."""
    cur = dest
    for part in rel.split("/")[:-1]:
        cur = cur / part
        if os.path.islink(cur):
            real = os.path.realpath(cur)
            if real != root and not real.startswith(root + os.sep):
                raise KwhenError("materialize: a symbolic link leads out of the tree", path=rel)
            if os.path.isdir(cur):
                continue
            os.unlink(cur)
        elif os.path.exists(cur) and not os.path.isdir(cur):
            os.unlink(cur)
        if not os.path.exists(cur):
            os.mkdir(cur)


def _link_farm(tree: Path, dest: Path) -> None:
    entries = [e for e in os.listdir(tree) if e != ".git"]
    if not entries:
        return
    cp = shutil.which("cp")
    if cp:
        proc = subprocess.run([cp, "-al", "--", *[str(tree / e) for e in entries], str(dest)],
                              capture_output=True)
        if proc.returncode == 0:
            return
        for e in os.listdir(dest):
            p = dest / e
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    # portable fallback: os.link, or a copy when the tree is on another file system
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        reldir = os.path.relpath(dirpath, tree)
        outdir = dest if reldir == "." else dest / reldir
        outdir.mkdir(exist_ok=True)
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                os.symlink(os.readlink(os.path.join(dirpath, d)), outdir / d)
                dirnames.remove(d)
        for name in filenames:
            src = os.path.join(dirpath, name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), outdir / name)
                continue
            try:
                os.link(src, outdir / name)
            except OSError:
                shutil.copy2(src, outdir / name)


# -- git ----------------------------------------------------------------------

MAX_DIFF_BYTES = MAX_PATCH_BYTES    # a commit's diff: the cap of a patch file


class _GitRepo:
    """The git repository of a work tree: its commits as Changes, each
    revision as a TreeState."""

    def __init__(self, tree: Path):
        self.tree = tree
        out = git.run(tree, "rev-parse", "--is-inside-work-tree", "--show-prefix", ok=None)
        lines = _decode(out).splitlines()
        if not lines or lines[0] != "true":
            self.ok = False
            return
        self.ok = True
        self.prefix = lines[1] if len(lines) > 1 else ""
        self.blobs = git.Blobs(tree, self.prefix)
        self._states: dict[str, TreeState] = {}
        # how the work tree differs from HEAD: one walk, started now so it
        # runs while the caller loads models; each revision's state then
        # needs only a tree comparison with HEAD, which reads no work-tree file
        self.status = git.WorkTreeStatus(tree, self.prefix)
        self._worktree: dict[str, bool] | None = None

    def commit(self, rev: str) -> str | None:
        if not rev or rev.startswith("-"):
            return None
        try:
            out = git.run(self.tree, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        except git.GitError:
            return None
        return _decode(out).strip()

    def empty_tree(self) -> str:
        return _decode(git.run(self.tree, "hash-object", "--no-filters", "-t", "tree",
                               "--stdin", input=b"")).strip()

    def worktree_changes(self) -> dict[str, bool]:
        """Paths (relative to the tree) where the work tree differs from
        HEAD, each with whether HEAD has the file."""
        if self._worktree is None:
            # untracked, or added to the index: not in HEAD
            self._worktree = {path: not (code == "??" or code[0] == "A")
                              for path, code in self.status.codes().items()}
        return self._worktree

    def state(self, rev: str) -> TreeState:
        """The tree at `rev` (a commit or tree id) as the work tree plus an overlay
        (computed when first needed)."""
        if rev not in self._states:
            state = TreeState(self.tree, None, self.blobs, rev, label=rev[:12],
                              loader=lambda: self._overlay_of(rev))
            state.work_tree = self.status
            self._states[rev] = state
        return self._states[rev]

    def _overlay_of(self, rev: str) -> dict[str, object]:
        # from rev to HEAD: "A" is absent at rev
        out = git.run(self.tree, "diff-tree", "-r", "--name-status", "--no-renames",
                      "--ignore-submodules", "--relative", "-z", rev, "HEAD")
        fields = _decode(out).split("\0")
        overlay: dict[str, object] = {}
        i = 0
        while i + 1 < len(fields):
            status, path = fields[i], fields[i + 1]
            i += 2
            overlay[path] = None if status.startswith("A") else _LAZY
        # a file the work tree changed has at rev what HEAD has, unless the
        # comparison above already said otherwise
        for path, in_head in self.worktree_changes().items():
            overlay.setdefault(path, _LAZY if in_head else None)
        return overlay

    def index_state(self) -> TreeState:
        """The index (what `git commit` would commit) as the work tree plus
        an overlay: each path where the work tree differs from the index
        holds the index's blob (read lazily), or nothing when the index has
        no such file (untracked files)."""
        def overlay():
            out = git.run(self.tree, "diff-files", "--name-status", "--no-renames",
                          "--ignore-submodules", "--relative", "-z")
            fields = _decode(out).split("\0")
            found: dict[str, object] = {}
            for i in range(0, len(fields) - 1, 2):
                found[fields[i + 1]] = _LAZY
            for path, code in self.status.codes().items():
                if code == "??":
                    found[path] = None
            return found
        # "" as the revision: the blob `:path` is the index's
        state = TreeState(self.tree, None, self.blobs, "", label="index", loader=overlay)
        state.work_tree = self.status
        return state

    def _diff(self, what: str, *args: str) -> list:
        diff = git.run_limited(self.tree, MAX_DIFF_BYTES, what, "diff", "--no-color",
                               "--ignore-submodules", "-M", "--relative", "--no-ext-diff",
                               "--src-prefix=a/", "--dst-prefix=b/", *args,
                               config={"core.quotePath": "true"})
        text = _decode(diff)
        return parse_diff(text, what, allow_binary=True) if text.strip() else []

    def uncommitted_change(self, staged: bool) -> "Change":
        """HEAD -> the index (`staged`) or HEAD -> the work tree's tracked files."""
        head = self.commit("HEAD")
        if head is None:
            raise KwhenError("the repository has no commit yet: nothing to compare with",
                             path=str(self.tree))
        if staged:
            label, post = "staged", self.index_state()
            file_patches = self._diff("the staged changes", "--cached", head)
        else:
            label, post = "worktree", TreeState(self.tree, label="work tree")
            post.work_tree = self.status
            file_patches = self._diff("the work tree's changes", head)
        title = "changes staged for commit" if staged else "uncommitted changes"
        return Change(id=label, title=title, author="", file_patches=file_patches,
                      pre=self.state(head), post=post)

    def change(self, sha: str) -> "Change":
        meta = _decode(git.run(self.tree, "show", "-s", "--format=%P%x00%an <%ae>%x00%s", sha))
        parents, author, title = meta.rstrip("\n").split("\0", 2)
        parent = parents.split()[0] if parents.split() else self.empty_tree()
        # quoted paths: the diff parser reads them as `git diff` writes them
        diff = git.run_limited(self.tree, MAX_DIFF_BYTES, f"commit {sha[:12]}", "diff",
                               "--no-color", "--ignore-submodules", "-M", "--relative",
                               "--src-prefix=a/", "--dst-prefix=b/", parent, sha,
                               config={"core.quotePath": "true"})
        text = _decode(diff)
        file_patches = parse_diff(text, f"commit {sha[:12]}", allow_binary=True) if text.strip() else []
        return Change(id=sha[:12], title=title, author=author, file_patches=file_patches,
                      pre=self.state(parent), post=self.state(sha), commit=sha)


# -- changes ---------------------------------------------------------------------

@dataclass
class Change:
    """One change to check: a commit or a patch, with the states of the
    tree before (`pre`) and after (`post`) it."""
    id: str                   # abbreviated commit id, or the patch's name
    title: str                # commit subject / mail subject
    author: str
    file_patches: list = field(default_factory=list)
    pre: TreeState | None = None
    post: TreeState | None = None
    commit: str | None = None     # full commit id for git targets
    message_id: str | None = None

    def paths(self) -> set[str]:
        """Every path the change touches (old and new names)."""
        out = set()
        for fp in self.file_patches:
            out.update(p for p in (fp.old_path, fp.new_path) if p)
        return out


# TARGETs that name the tree's own uncommitted changes (never a revision:
# kwhen takes no revision starting with "-")
WORKTREE = "--worktree"
STAGED = "--staged"


def resolve_target(target: str | None, tree: Path, stdin_text: str | None = None) -> list[Change]:
    """The changes `kwhen check TARGET` checks, oldest first.

    TARGET: a git revision (default HEAD, against its first parent), a range
    A..B (each first-parent commit of it), an existing patch or mbox file,
    "-" for `stdin_text`, WORKTREE (HEAD -> the work tree's tracked files) or
    STAGED (HEAD -> the index).
    """
    tree = Path(tree)
    if target == "-":
        if stdin_text is None:
            raise KwhenError("no patch on standard input")
        return _patch_changes(stdin_text, "<stdin>", tree)
    if target in (WORKTREE, STAGED):
        repo = _GitRepo(tree)
        if not repo.ok:
            raise KwhenError(f"not a git repository: {target} needs one", path=str(tree))
        return [repo.uncommitted_change(staged=target == STAGED)]
    if target is not None and os.path.lexists(target) and not os.path.isdir(target):
        data = read_bytes(target, limit=MAX_PATCH_BYTES, what="patch")
        return _patch_changes(_decode(data), target, tree)
    rev = target or "HEAD"
    repo = _GitRepo(tree)
    if not repo.ok:
        if target is None:
            raise KwhenError("not a git repository: name a patch file or an mbox to check",
                             path=str(tree))
        if _looks_like_path(rev):
            raise KwhenError("no such file", path=rev)
        raise KwhenError(f"unknown revision '{rev}' ({tree} is not a git repository)")
    if ".." in rev and "..." not in rev:
        a, b = rev.split("..", 1)
        a_sha, b_sha = repo.commit(a or "HEAD"), repo.commit(b or "HEAD")
        for name, sha in ((a or "HEAD", a_sha), (b or "HEAD", b_sha)):
            if sha is None:
                raise KwhenError(f"unknown revision '{name}'")
        out = _decode(git.run(tree, "rev-list", "--reverse", "--first-parent", f"{a_sha}..{b_sha}"))
        shas = out.split()
        if not shas:
            raise KwhenError(f"no commits in range '{rev}'")
        return [repo.change(sha) for sha in shas]
    sha = repo.commit(rev)
    if sha is None:
        if _looks_like_path(rev):
            raise KwhenError("no such file (nor a git revision)", path=rev)
        raise KwhenError(f"unknown revision '{rev}'")
    return [repo.change(sha)]


def _looks_like_path(target: str) -> bool:
    """Whether a TARGET that is neither a file nor a revision was meant as a file."""
    return os.sep in target or target.endswith((".patch", ".diff", ".mbox", ".eml", ".mbx"))


def _patch_changes(text: str, source: str, tree: Path) -> list[Change]:
    """Changes for a patch file, an mbox or standard input, applied in order
    on top of the work tree."""
    from kwhen.patch.mbox import looks_like_mail, read_patches  # (the email package is slow to import)

    name = os.path.basename(source) if source != "<stdin>" else "stdin"
    state = TreeState(tree, label="work tree")
    changes = []
    if looks_like_mail(text):
        mails = read_patches(text, source)
        for k, mail in enumerate(mails, 1):
            label = f"{name}#{k}" if len(mails) > 1 else name
            where = source if mail.first_line else f"{source} (patch {k}: {mail.subject})"
            fps = parse_diff(mail.diff_text, where, first_line=mail.first_line or 1)
            post = state.apply_patches(fps, where, label=label)
            changes.append(Change(id=label, title=mail.subject, author=mail.author,
                                  file_patches=fps, pre=state, post=post,
                                  message_id=mail.message_id))
            state = post
        return changes
    fps = parse_diff(text, source)
    try:
        pre, post = state, state.apply_patches(fps, source, label=name)
    except KwhenError as not_applying:
        # `git diff | kwhen check -`: the diff is already in the work tree.
        # If it applies backwards, the work tree is the after side and the
        # work tree with the diff taken out the before side.
        backwards = [reverse(fp) for fp in fps]
        try:
            pre = state.apply_patches(backwards, source, label=f"{name} reverted")
        except KwhenError:
            raise not_applying from None
        post = state
        fps = [reverse(fp) for fp in backwards]     # (numbered where they applied)
    return [Change(id=name, title=_title_of_diff(text) or name, author="", file_patches=fps,
                   pre=pre, post=post)]


def _title_of_diff(text: str) -> str | None:
    """The subject of `git show` / `git log -p` output, if the diff is one."""
    lines = text.split("\n")
    if not lines or not lines[0].startswith("commit "):
        return None
    for line in lines[1:]:
        if line.startswith("diff --git"):
            break
        if line.startswith("    ") and line.strip():
            return line.strip()
    return None
