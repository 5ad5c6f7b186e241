"""Which commits a scan covers: every commit of a range, oldest first,
with its first parent and the paths it touches against it. Merges are
listed too, to be recorded as skipped (the commits they bring in are
checked each on its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kwhen import git
from kwhen.exceptions import KwhenError

SOURCE_SUFFIXES = (".c", ".h", ".S", ".s")


@dataclass
class Commit:
    sha: str
    parent: str | None          # the first parent; None for a root commit
    committed: int              # committer time (seconds since the epoch)
    position: int               # place in the range, oldest first
    author: str
    title: str
    paths: list = field(default_factory=list)
    merge: bool = False         # more than one parent

    def to_row(self) -> dict:
        return {"sha": self.sha, "parent": self.parent, "committed": self.committed,
                "position": self.position, "author": self.author, "title": self.title}


def is_build_file(relpath: str) -> bool:
    """Files that shape the Kconfig or Kbuild models rather than C code
    (the same rule as `kwhen check`'s)."""
    from kwhen.checks.runner import is_build_file as check_rule

    return check_rule(relpath)


def skip_reason(commit: Commit) -> str | None:
    """Why a commit needs no check (None: it does). `kwhen check` looks only
    at C and assembly files, Kconfig files and Makefiles; a commit touching
    none of them cannot have a finding."""
    if commit.merge:
        return "a merge commit: the commits it merges are checked each on its own"
    if commit.parent is None:
        return "a root commit: no parent to compare it with"
    if not any(p.endswith(SOURCE_SUFFIXES) or is_build_file(p) for p in commit.paths):
        return "touches no C, assembly, Kconfig or Makefile file"
    return None


def list_commits(repo: Path, revisions: list[str], since: str | None = None,
                 max_count: int | None = None) -> list[Commit]:
    """The commits of `revisions` (as git rev-list takes them: A..B, a
    branch, several of them), limited to those committed since `since`,
    oldest first (parents before children). With `max_count`, the newest
    `max_count` non-merge commits and the merges among them."""
    for rev in revisions:
        if not rev or rev.startswith("-"):
            raise KwhenError(f"not a revision: '{rev}'")
    limit = int(max_count) if max_count else None
    while True:
        commits = _log(repo, revisions, since, limit)
        if limit is None or len(commits) < limit \
                or sum(not c.merge for c in commits) >= max_count:
            break
        limit *= 2              # merges took some of the places: look further back
    if max_count:
        kept, count = [], 0
        for c in reversed(commits):
            if count == max_count:
                break
            kept.append(c)
            count += not c.merge
        commits = kept[::-1]
        for n, c in enumerate(commits):
            c.position = n
    return commits


def _log(repo: Path, revisions: list[str], since: str | None, limit: int | None) -> list[Commit]:
    args = ["--reverse", "--topo-order", "--no-renames", "-z", "--name-only",
            "--format=%x01%H%x02%P%x02%ct%x02%an <%ae>%x02%s%x02"]
    if since:
        args.append(f"--since={since}")
    if limit:
        args.append(f"--max-count={limit}")
    out = git.run(repo, "log", *args, *revisions, "--").decode("utf-8", "surrogateescape")
    commits = []
    for record in out.split("\x01")[1:]:
        fields = record.split("\x02")
        if len(fields) < 6:
            continue
        sha, parents, when, author, title = fields[:5]
        paths = [p for p in "\x02".join(fields[5:]).lstrip("\0\n").split("\0") if p.strip("\n")]
        parents = parents.split()
        commits.append(Commit(sha=sha, parent=parents[0] if parents else None,
                              committed=int(when or 0), position=len(commits), author=author,
                              title=title, paths=[p.strip("\n") for p in paths],
                              merge=len(parents) > 1))
    return commits


def runs_of(commits: list[Commit], longest: int) -> list[list[Commit]]:
    """The commits cut into runs in which each commit's parent is the one
    before it (so a worker moves its checkout and models by one commit at
    a time), each at most `longest` long."""
    runs: list[list[Commit]] = []
    for c in commits:
        last = runs[-1] if runs else None
        if last and len(last) < longest and c.parent == last[-1].sha:
            last.append(c)
        else:
            runs.append([c])
    return runs


def changed_paths(root: Path, old: str, new: str) -> dict[str, str]:
    """path -> status letter (A added, D deleted, M modified, T type) of
    the files that differ between two commits."""
    out = git.run(root, "diff-tree", "-r", "-z", "--no-renames", "--name-status",
                  old, new).decode("utf-8", "surrogateescape")
    fields = out.split("\0")
    changed = {}
    for i in range(0, len(fields) - 1, 2):
        if fields[i]:
            changed[fields[i + 1]] = fields[i][0]
    return changed
