"""The scan's driver: lists the commits, hands them to Dask workers in runs
of consecutive commits, and is the one writer of the results database.

Each commit is one Dask task. The commits of a run go one after another
to the worker that ran the previous one (a worker restriction that Dask
may break when that worker is gone), so the worker moves its checkout
and models by one commit at a time. A commit is recorded as soon as its
result arrives (one transaction), so a scan stopped any way at all is
resumed by running it again: commits recorded are not redone.

A worker that dies mid-task has its task run again by Dask elsewhere; a
commit whose task fails `retries` more times, or runs past the timeout,
is recorded as failed with the reason, and the scan goes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.scan.history import Commit, list_commits, runs_of, skip_reason
from kwhen.scan.progress import Progress
from kwhen.scan.worker import check_job, kwhen_version
from kwhen.sqldata import DONE, FAILED, PENDING, SKIPPED, ScanStore


@dataclass
class ScanSummary:
    result_set: int
    version: str
    options: dict
    total: int = 0           # commits in the range
    already: int = 0         # recorded by an earlier run
    done: int = 0
    failed: int = 0
    skipped: int = 0
    findings: int = 0
    seconds: float = 0.0
    workers: int = 0
    failures: list = field(default_factory=list)    # (sha, reason)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    def line(self) -> str:
        """The scan in one line, for people."""
        rate = self.done / self.seconds if self.seconds else 0.0
        return (f"kwhen scan: {self.total} commits: {self.done} checked, {self.failed} failed, "
                f"{self.skipped} skipped, {self.already} recorded before; {self.findings} "
                f"findings; {self.seconds:.1f} s with {self.workers} workers "
                f"({rate:.2f} commits/s); result set {self.result_set}")


def result_options(options: dict) -> dict:
    """The options that decide a scan's results (the result set's key):
    those of `kwhen check`, with the --base file named by its content."""
    key = {"arches": sorted(options.get("arches") or []) or None,
           "all_arches": bool(options.get("all_arches")),
           "trust_tree": bool(options.get("trust_tree")),
           "base": None}
    base = options.get("base")
    if base:
        try:
            data = Path(base).read_bytes()
        except OSError as e:
            raise KwhenError(f"cannot read: {e.strerror}", path=str(base)) from None
        key["base"] = {"name": os.path.basename(base),
                       "digest": hashlib.blake2b(data, digest_size=12).hexdigest()}
    return key


class _Lane:
    """The run a worker is going through, and which worker."""

    def __init__(self, run: list[Commit]):
        self.run = deque(run)
        self.address = None


def default_run_length(pending: int, workers: int) -> int:
    """Long enough for a worker to reuse its models many times, short enough
    that the last runs do not leave workers idle for long."""
    return max(4, min(64, pending // max(1, workers * 4) or 1))


def start_cluster(scheduler: str | None, workers: int | None):
    """A Dask client: of the cluster at `scheduler`, or of a local cluster
    of `workers` processes (default: one per core), one thread each."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise KwhenError("kwhen scan needs Dask: pip install 'kwhen[scale]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=30), None
        except OSError as e:
            raise KwhenError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           death_timeout=60)
    return Client(cluster), cluster


def scan(repo: Path, revisions: list[str], db: Path, options: dict, since: str | None = None,
         max_count: int | None = None,
         scheduler: str | None = None, workers: int | None = None, run_length: int | None = None,
         retries: int = 2, timeout: float | None = None, workdir: str | None = None,
         progress: bool = True, stream=None, retry_failed: bool = False) -> ScanSummary:
    """Check every non-merge commit of `revisions` in `repo`; results in `db`."""
    repo = Path(repo).resolve()
    version = kwhen_version()
    key = result_options(options)
    commits = list_commits(repo, revisions, since, max_count)
    if not commits:
        raise KwhenError(f"no commits in {' '.join(revisions) or 'the range'}"
                         + (f" since {since}" if since else ""))
    store = ScanStore(db)
    try:
        result_set = store.result_set(version, key)
        store.add_commits(result_set, [c.to_row() for c in commits])
        statuses = store.statuses(result_set)
        summary = ScanSummary(result_set, version, key, total=len(commits))
        wanted = {PENDING} | ({FAILED} if retry_failed else set())
        todo = {c.sha for c in commits if statuses.get(c.sha) in wanted}
        summary.already = len(commits) - len(todo)
        for c in commits:
            reason = skip_reason(c) if c.sha in todo else None
            if reason:
                store.record(result_set, c.sha, SKIPPED, reason=reason, attempts=0)
                todo.discard(c.sha)
                summary.skipped += 1
        meter = Progress(len(commits), summary.already + summary.skipped, stream=stream,
                         enabled=progress)
        try:
            if todo:
                _run_on_cluster(store, result_set, repo, commits, todo, options, version, summary,
                                meter, scheduler, workers, run_length, retries, timeout, workdir)
        finally:
            meter.close()
        store.mark_new(result_set)
        return summary
    finally:
        store.close()


def _run_on_cluster(store, result_set, repo, commits, todo, options, version, summary, meter,
                    scheduler, workers, run_length, retries, timeout, workdir) -> None:
    started = time.monotonic()
    client, cluster = start_cluster(scheduler, workers)
    try:
        addresses = list(client.scheduler_info()["workers"])
        if not addresses:
            client.wait_for_workers(1, timeout=120)
            addresses = list(client.scheduler_info()["workers"])
        summary.workers = len(addresses)
        length = run_length or default_run_length(len(todo), len(addresses))
        # runs over the whole range, so a commit recorded earlier or skipped
        # does not break a run; then only the commits to do are kept
        runs = deque(kept for kept in ([c for c in run if c.sha in todo]
                                       for run in runs_of(commits, length)) if kept)
        job_options = dict(options)
        job_options.pop("base", None)
        job_options["base"] = str(Path(options["base"]).resolve()) if options.get("base") else None
        lanes = []
        for address in addresses:
            if not runs:
                break
            lane = _Lane(runs.popleft())
            lane.address = address
            lanes.append(lane)
        inflight: dict = {}            # future -> (lane, commit, attempt, submitted)

        def submit(lane: _Lane, attempt: int = 1) -> None:
            commit = lane.run[0]
            job = {"repo": str(repo), "sha": commit.sha, "parent": commit.parent,
                   "title": commit.title, "author": commit.author, "options": job_options,
                   "workdir": workdir}
            where = {"workers": [lane.address], "allow_other_workers": True} if lane.address else {}
            future = client.submit(check_job, job, pure=False, **where,
                                   key=f"kwhen-scan-{commit.sha[:12]}-{uuid.uuid4().hex[:8]}")
            inflight[future] = (lane, commit, attempt, time.monotonic())

        def next_of(lane: _Lane) -> None:
            lane.run.popleft()
            if not lane.run and runs:
                lane.run = deque(runs.popleft())
            if lane.run:
                submit(lane)

        for lane in lanes:
            submit(lane)
        while inflight:
            finished = [f for f in inflight if f.done()]
            if not finished:
                if timeout:
                    _enforce_timeout(client, store, result_set, inflight, timeout, summary, meter,
                                     next_of)
                meter.show()
                time.sleep(0.05)
                continue
            for future in finished:
                lane, commit, attempt, submitted = inflight.pop(future)
                if timeout and time.monotonic() - submitted >= timeout:
                    # finished, but later than allowed: the same verdict as a
                    # commit still running at the limit, whichever the loop
                    # happened to see first
                    _record(store, result_set, commit, {"status": FAILED,
                                                        "reason": f"timed out after {timeout:g} s"},
                            attempt, version, summary, meter)
                    next_of(lane)
                    continue
                try:
                    result = future.result()
                except Exception as e:     # the task was lost (its workers died) or cancelled
                    if attempt <= retries:
                        lane.address = None
                        submit(lane, attempt + 1)
                        continue
                    _record(store, result_set, commit, {
                        "status": FAILED, "reason": f"the task failed {attempt} times: "
                                                    f"{type(e).__name__}: {e}"}, attempt,
                            version, summary, meter)
                    next_of(lane)
                    continue
                lane.address = result.get("address") or lane.address
                _record(store, result_set, commit, result, attempt, version, summary, meter)
                next_of(lane)
        summary.seconds = time.monotonic() - started
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _enforce_timeout(client, store, result_set, inflight, timeout, summary, meter, next_of):
    now = time.monotonic()
    for future, (lane, commit, attempt, submitted) in list(inflight.items()):
        if now - submitted < timeout:
            continue
        inflight.pop(future)
        future.cancel()
        address = lane.address
        _record(store, result_set, commit, {"status": FAILED,
                                            "reason": f"timed out after {timeout:g} s"},
                attempt, summary.version, summary, meter)
        if address:
            # the worker is still busy with the commit: start it afresh
            try:
                client.restart_workers([address], timeout=120)
            except Exception:
                pass
        lane.address = None
        next_of(lane)


def _record(store, result_set, commit: Commit, result: dict, attempts: int, version: str,
            summary: ScanSummary, meter: Progress) -> None:
    status = result.get("status", FAILED)
    reason = result.get("reason")
    findings = result.get("findings") or []
    if result.get("version") not in (None, version):
        status, findings = FAILED, []
        reason = (f"the worker runs kwhen {result['version']}, not {version}: "
                  "its results are not mixed in")
    notes = dict(result.get("notes") or {})
    for name in ("peak_rss_kb", "cpu_seconds"):
        if result.get(name) is not None:
            notes[name] = result[name]
    store.record(result_set, commit.sha, status, reason=reason, seconds=result.get("seconds"),
                 worker=result.get("worker"), attempts=attempts, findings=findings, notes=notes)
    if status == DONE:
        summary.done += 1
        summary.findings += len(findings)
    else:
        summary.failed += 1
        summary.failures.append((commit.sha, reason))
    meter.advance(status, len(findings))
