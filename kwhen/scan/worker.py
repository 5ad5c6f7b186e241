"""What runs on a Dask worker: commits checked one at a time by a
`ScanWorker` that lives as long as the worker process.

The driver sends `check_job(job)` tasks, one commit each; consecutive
commits of a run go to the same worker, which then moves its checkout and
its models by one commit instead of starting afresh. A worker needs:

- the repository at the path the driver names (the same path on every
  machine: a shared file system, or a clone of its own there);
- kwhen of the same version (results of another are refused by the driver);
- a kwhen cache of its own ($KWHEN_CACHE_DIR, default ~/.cache/kwhen),
  under which it keeps its checkouts (`scan/`).

All the work of a process runs on one thread of its own, whatever thread
Dask calls from: the SQLite cache and the models are used from one thread.
"""

from __future__ import annotations

import os
import resource
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kwhen import __version__
from kwhen.exceptions import KwhenError
from kwhen.presence import Tree
from kwhen.scan import models as scan_models
from kwhen.scan.checkout import Checkout, claim_slot
from kwhen.scan.history import changed_paths
from kwhen.sqldata import Cache, code_digest, default_cache_dir


def kwhen_version() -> str:
    """What a result set is keyed by: kwhen's version and a digest of its
    code (an edited kwhen is another kwhen)."""
    return f"{__version__}+{code_digest()[:12]}"


class ScanWorker:
    """One process's checkout and models for one repository and options."""

    def __init__(self, repo: str, options: dict, workdir: str | None = None):
        self.repo = Path(repo)
        self.options = options
        base = Path(workdir) if workdir else default_cache_dir() / "scan"
        self.slot, self._lock_fd = claim_slot(base, self.repo)
        self.checkout = Checkout(self.repo, self.slot / "tree")
        self.scratch = self.slot / "post"
        self.cache = Cache(enabled=options.get("cache", True))
        self.models: dict[str, scan_models.Held] = {}
        self.store = scan_models.ModelStore(self.cache, self.checkout.root)

    def close(self) -> None:
        """Give the slot up (another worker may take it)."""
        self.models.clear()
        self.cache.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- models ------------------------------------------------------------------

    def models_at(self, arch: str, rev: str) -> scan_models.Held:
        """`arch`'s models for the checkout, which holds `rev`."""
        root = self.checkout.root
        entry = self.models.get(arch)
        if entry is None:
            entry = scan_models.fresh(arch, root, rev, self.options, self.cache)
            self._note("models", f"{arch}: built")
        elif entry.rev != rev:
            entry, done = scan_models.derived(entry, root, rev, changed_paths(root, entry.rev, rev),
                                              self.options, self.store)
            self._note("models", f"{arch}: {done}")
        self.models[arch] = entry
        return entry

    def _note(self, key: str, text: str) -> None:
        self._notes.setdefault(key, []).append(text)

    # -- one commit ----------------------------------------------------------------

    def check(self, sha: str, parent: str, title: str = "", author: str = "") -> dict:
        from kwhen.scan import engine

        self._notes: dict = {}
        self.checkout.move_to(parent)
        self.cache.forget_files()
        root = self.checkout.root
        change = engine.commit_change(root, parent, sha, title, author)
        changed = changed_paths(root, parent, sha)
        post_models: dict[str, scan_models.Held] = {}
        farm = None

        def trees_for(arch, checked):
            # An architecture the checks read on both sides gets its
            # parent's models first and the commit's from them (a C-only
            # commit then needs no other). For one that dead-added asks
            # about the commit's side alone, the commit's models come
            # straight from whatever revision the worker holds, and the
            # parent's are made only if something reads them.
            nonlocal farm
            post = post_models.get(arch)
            if post is None:
                if checked:
                    held = self.models_at(arch, parent)
                else:
                    held = self.models.get(arch) or self.models_at(arch, parent)
                to_post = changed if held.rev == parent else changed_paths(root, held.rev, sha)
                kconfig, kbuild = scan_models.reaches(held, to_post)
                if not kconfig and not kbuild:
                    post = scan_models.Held(arch, sha, held.models)
                else:
                    if farm is None:
                        scan_models.remove_tree(self.scratch)
                        farm = change.post.materialize(self.scratch)
                        self.cache.forget_files()
                    post, done = scan_models.derived(held, farm, sha, to_post, self.options,
                                                     self.store)
                    self._note("models", f"{arch} for the commit: {done}")
                post_models[arch] = post
            pre = Tree(models=scan_models.Later(lambda: self.models_at(arch, parent).models))
            return pre, post.tree

        try:
            findings, arches, skipped = engine.check_commit(root, change, trees_for, self.options)
        finally:
            change.pre._blobs.close()
        self.checkout.move_to(sha)
        self.cache.forget_files()
        for arch, post in post_models.items():
            self.models[arch] = scan_models.rehome(post, root, sha)
        scan_models.remove_tree(self.scratch)
        if self.checkout.left_out:
            self._notes["left_out"] = sorted(self.checkout.left_out)
        self._notes["arches"] = arches
        if skipped:
            self._notes["skipped"] = [
                {**s, "file": s["file"] and _relative(s["file"]), "reason": _relative(s["reason"])}
                for s in skipped]
        return {"findings": findings, "notes": self._notes}


# -- the process's worker, and the Dask task ---------------------------------------

_workers: dict[tuple, ScanWorker] = {}
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kwhen-scan")
_guard = threading.Lock()


def _worker_for(job: dict) -> ScanWorker:
    import json

    key = (job["repo"], json.dumps(job["options"], sort_keys=True), job.get("workdir"))
    found = _workers.get(key)
    if found is None:
        # one repository and set of options at a time: drop the others' models
        _drop_workers()
        found = ScanWorker(job["repo"], job["options"], job.get("workdir"))
        _workers[key] = found
    return found


def _drop_workers() -> None:
    for worker in _workers.values():
        worker.close()
    _workers.clear()


def _relative(message: str) -> str:
    """A message with the worker's checkout left out of the paths in it:
    `Kconfig:15`, as in the repository, not slot-0/tree/Kconfig:15."""
    for worker in _workers.values():
        message = message.replace(f"{worker.checkout.root}/", "").replace(f"{worker.scratch}/", "")
    return message


def _run(job: dict) -> dict:
    started = time.monotonic()
    cpu = time.process_time()
    result = {"sha": job["sha"], "version": kwhen_version(),
              "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        worker = _worker_for(job)
        out = worker.check(job["sha"], job["parent"], job.get("title", ""), job.get("author", ""))
        result.update(status="done", findings=out["findings"], notes=out["notes"])
    except KwhenError as e:
        # the worker's checkout and models stay as they were (each names
        # the revision it holds), so the next commit goes on from them
        result.update(status="failed", reason=_relative(str(e)), findings=[], notes={})
    except Exception as e:   # a bug in kwhen: recorded with where it happened, the scan goes on
        where = traceback.extract_tb(e.__traceback__)[-1]
        result.update(status="failed", findings=[], notes={},
                      reason=_relative(f"internal error: {type(e).__name__}: {e} "
                                       f"({Path(where.filename).name}:{where.lineno})"))
        _drop_workers()     # models half-way through a computation: start afresh
    result["seconds"] = time.monotonic() - started
    # CPU time too: on a machine shared with other work, wall time says
    # more about the neighbours than about the commit
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def check_job(job: dict) -> dict:
    """The Dask task: check one commit (job: repo, sha, parent, options,
    title, author, workdir) and return its result as data."""
    try:
        from distributed import get_worker
        address = get_worker().address
    except (ImportError, ValueError):
        address = None
    with _guard:
        result = _thread.submit(_run, job).result()
    result["address"] = address
    return result
