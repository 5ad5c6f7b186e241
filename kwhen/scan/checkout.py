"""A worker's private checkout of the scanned repository.

Each worker keeps a repository of its own that borrows the scanned
repository's objects (an alternate object store, as `git clone --shared`
makes, so nothing is copied and the scanned repository is not changed)
and moves its work tree from commit to commit: git rewrites
only the files that differ. Models are then built from real files of the
commit, never from the user's work tree.

A blob missing from the object store (a shallow or partial mirror) does
not stop the scan: its path is left out of the checkout (sparse checkout)
and named in the commit's notes.

Slots: a worker takes the first free directory `slot-N` under its scan
directory, holding an exclusive lock on it while it lives, so workers of
one machine never share a checkout and a dead worker's slot is free again.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
from pathlib import Path

from kwhen import git
from kwhen.exceptions import KwhenError



def claim_slot(workdir: Path, repo: Path) -> tuple[Path, int]:
    """A directory of `workdir` for one worker's checkout of `repo`, and
    the descriptor of the lock that keeps it this worker's."""
    key = hashlib.blake2b(str(Path(repo).resolve()).encode(), digest_size=6).hexdigest()
    base = Path(workdir) / f"{Path(repo).name}-{key}"
    base.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        slot = base / f"slot-{n}"
        slot.mkdir(exist_ok=True)
        fd = os.open(slot / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return slot, fd
        except BlockingIOError:
            os.close(fd)
            n += 1


class Checkout:
    """The work tree of a private clone of `repo` in `directory`, at
    `self.rev` (None until the first `move_to`)."""

    def __init__(self, repo: Path, directory: Path):
        self.repo = Path(repo).resolve()
        self.root = Path(directory)
        self.rev: str | None = None
        self.left_out: set[str] = set()
        if not (self.root / ".git").is_dir():
            if self.root.exists():
                shutil.rmtree(self.root)
            self.root.parent.mkdir(parents=True, exist_ok=True)
            self.root.mkdir(parents=True)
            git.run(self.root, "init", "--quiet")
            objects = Path(git.run(self.repo, "rev-parse", "--path-format=absolute",
                                   "--git-common-dir").decode().strip()) / "objects"
            (self.root / ".git" / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        # A worker killed in the middle of a checkout leaves git's lock and
        # possibly stray files: this slot is ours now, so both are cleared
        # before the first move (the lock file can be no one else's).
        lock = self.root / ".git" / "index.lock"
        if lock.exists():
            lock.unlink()
        self._fresh = True

    def move_to(self, rev: str) -> None:
        """Make the work tree hold commit `rev` (a full id)."""
        if rev == self.rev:
            return
        for _attempt in range(50):
            try:
                if self._fresh:
                    git.run(self.root, "clean", "-q", "-f", "-d", "-x")
                git.run(self.root, "checkout", "--quiet", "--force", "--detach", rev,
                        config={"advice.detachedHead": "false"})
                self._fresh = False
                self.rev = rev
                return
            except KwhenError as e:
                missing = self._missing_paths(rev)
                if not missing - self.left_out:
                    raise KwhenError(f"cannot check out {rev[:12]}: {e.message}") from None
                self._leave_out(missing)
        raise KwhenError(f"cannot check out {rev[:12]}: too many missing objects")

    def _missing_paths(self, rev: str) -> set[str]:
        """Paths of `rev` whose blobs the object store lacks."""
        listing = git.run(self.root, "ls-tree", "-r", "-z", "--full-tree", rev)
        entries = []
        for entry in listing.decode("utf-8", "surrogateescape").split("\0"):
            meta, _, path = entry.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                entries.append((parts[2], path))
        if not entries:
            return set()
        check = git.run(self.root, "cat-file", "--batch-check",
                        input="".join(f"{sha}\n" for sha, _ in entries).encode())
        missing = set()
        for (sha, path), line in zip(entries, check.decode().splitlines()):
            if line.endswith(" missing"):
                missing.add(path)
        return missing

    def _leave_out(self, paths: set[str]) -> None:
        self.left_out |= paths
        info = self.root / ".git" / "info"
        info.mkdir(exist_ok=True)
        patterns = ["/*"] + [f"!/{_escape(p)}" for p in sorted(self.left_out)]
        (info / "sparse-checkout").write_text("\n".join(patterns) + "\n")
        git.run(self.root, "config", "core.sparseCheckout", "true")
        git.run(self.root, "config", "core.sparseCheckoutCone", "false")
        self._fresh = True


def _escape(path: str) -> str:
    return re.sub(r"([*?\[\]!#\\ ])", r"\\\1", path)
