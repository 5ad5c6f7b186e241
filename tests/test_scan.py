"""kwhen scan: a hand-written history (tests/scan_history.py) scanned on a
real Dask cluster that the tests start (a `dask scheduler` and two
`dask worker` processes on 127.0.0.1), interrupted and resumed, with a
worker killed, and its results exported."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import test_reports
from conftest import run_kwhen
from scan_history import build_history

pytest.importorskip("distributed")

ARCH = ("--arch", "x86")

sarif_validator = test_reports.sarif_validator     # the SARIF schema fixture, shared


class Cluster:
    """A Dask scheduler and workers, each its own process."""

    def __init__(self, directory: Path, env: dict):
        self.directory = directory
        self.env = env
        self.file = directory / "scheduler.json"
        self.scheduler = self._start("distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                     "--port", "0", "--no-dashboard",
                                     "--scheduler-file", str(self.file))
        deadline = time.time() + 60
        while not self.file.exists() or not self.file.read_text().strip():
            assert time.time() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [self.add_worker(n) for n in range(2)]
        self.wait_for(2)

    def _start(self, module: str, *args: str) -> subprocess.Popen:
        log = open(self.directory / f"{module.rsplit('.', 1)[-1]}-{time.monotonic_ns()}.log", "w")
        return subprocess.Popen([sys.executable, "-m", module, *args], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)

    def add_worker(self, n: int) -> subprocess.Popen:
        return self._start("distributed.cli.dask_worker", self.address, "--nthreads", "1",
                           "--no-nanny", "--no-dashboard", "--name", f"worker-{n}-{time.time_ns()}",
                           "--death-timeout", "60")

    def wait_for(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(count, timeout=60)

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    return build_history(tmp_path_factory.mktemp("scan") / "history")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dask")
    env = dict(os.environ)
    env["KWHEN_CACHE_DIR"] = str(directory / "worker-cache")
    started = Cluster(directory, env)
    yield started
    started.close()


@pytest.fixture(scope="module")
def baseline(history, cluster, tmp_path_factory) -> Path:
    """The history scanned without interruption."""
    db = tmp_path_factory.mktemp("baseline") / "scan.db"
    done = run_kwhen("scan", "HEAD", "--tree", history, "--db", db, *ARCH,
                     "--scheduler", cluster.address, "--no-progress")
    assert done.returncode == 0, done.stderr
    return db


def results(db: Path) -> tuple[list, list]:
    """What a scan recorded, without timings and workers: (commits, findings)."""
    with sqlite3.connect(db) as con:
        commits = con.execute("SELECT sha, status, reason FROM scanned_commit "
                              "ORDER BY sha").fetchall()
        findings = con.execute("SELECT sha, n, kind, file, line, new, data FROM scan_finding "
                               "ORDER BY sha, n").fetchall()
    return commits, findings


def rows(db: Path, sql: str, *args) -> list:
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def git_ids(repo: Path, *args) -> list[str]:
    return subprocess.run(["git", "-C", str(repo), "rev-list", *args], check=True,
                          capture_output=True, text=True).stdout.split()


# -- what a scan records ----------------------------------------------------------------

def test_every_commit_is_recorded(history, baseline):
    commits, findings = results(baseline)
    assert sorted(sha for sha, _, _ in commits) == sorted(git_ids(history, "HEAD"))
    status = {sha: (s, r) for sha, s, r in commits}
    titles = dict(rows(baseline, "SELECT title, sha FROM scanned_commit"))
    # the docs-only commit, the root commit and the merge need no check: skipped, with why
    assert status[titles["docs: a note"]] == ("skipped", "touches no C, assembly, Kconfig or Makefile file")
    assert status[titles["the seed example"]] == ("skipped", "a root commit: no parent to compare it with")
    assert status[titles["Merge branch 'side'"]] == (
        "skipped", "a merge commit: the commits it merges are checked each on its own")
    # a broken Kconfig is recorded with its error, and the scan goes on
    state, reason = status[titles["Kconfig: a typo"]]
    assert state == "failed" and reason.startswith("Kconfig:15: ") and "couldn't parse" in reason
    assert status[titles["init: helper 21"]] == ("done", None)
    # the side branch's commit is scanned
    assert status[titles["mm: side-branch helper"]] == ("done", None)
    # a makefile kwhen cannot read: the commit is done, and its notes name
    # the makefile, why, and what was left unchecked
    assert status[titles["mm: an ifeq without its endif"]] == ("done", None)
    notes = json.loads(rows(baseline, "SELECT notes FROM scanned_commit WHERE sha = ?",
                            titles["mm: an ifeq without its endif"])[0][0])
    [skipped] = notes["skipped"]
    makefile = subprocess.run(["git", "-C", str(history), "show",
                               titles["mm: an ifeq without its endif"] + ":mm/Makefile"],
                              check=True, capture_output=True, text=True).stdout
    ifeq = makefile.splitlines().index("ifeq ($(CONFIG_SMP),y)") + 1
    assert (skipped["file"], skipped["line"]) == ("mm/Makefile", ifeq)
    assert "endif" in skipped["reason"] and skipped["unchecked"]
    assert "skipped" not in json.loads(rows(baseline, "SELECT notes FROM scanned_commit WHERE sha = ?",
                                            titles["mm: close the ifeq"])[0][0])


def test_max_count_is_the_newest_non_merge_commits(history, tmp_path):
    """--max-count N: the newest N non-merge commits, with the merges among them."""
    from kwhen.scan.history import list_commits

    newest = git_ids(history, "--no-merges", "--max-count=16", "HEAD")
    listed = list_commits(history, ["HEAD"], max_count=16)
    assert sorted(c.sha for c in listed if not c.merge) == sorted(newest)
    assert [c.title for c in listed if c.merge] == ["Merge branch 'side'"]
    assert [c.position for c in listed] == list(range(len(listed)))


def test_findings_are_check_json_with_new_or_already_present(baseline):
    titles = dict(rows(baseline, "SELECT title, sha FROM scanned_commit"))
    found = rows(baseline, "SELECT sha, kind, file, new, data FROM scan_finding")
    by_commit = {}
    for sha, kind, file, new, data in found:
        by_commit.setdefault(sha, []).append((kind, file, new, json.loads(data)))
    first = by_commit[titles["x86/boot/32: defer resyncing initial_page_table"]]
    again = by_commit[titles["x86/boot/32: defer resyncing initial_page_table, again"]]
    moved = [f for f in first if f[0] == "moved-narrowed"]
    assert moved and moved[0][1] == "arch/x86/kernel/setup_percpu.c" and moved[0][2] == 1
    data = moved[0][3]
    for field in ("kind", "file", "line", "message", "arches", "condition_before",
                  "condition_after", "witness", "witness_base", "witness_text", "related", "change"):
        assert field in data
    assert data["condition_after"] == "SMP && X86_32"
    # the same move made again later: already present
    assert [f[2] for f in again if f[0] == "moved-narrowed"] == [0]
    kinds = {f[0] for fs in by_commit.values() for f in fs}
    assert {"dead-added", "undefined-symbol"} <= kinds


def test_models_follow_the_commits(baseline, history):
    """A C-only commit keeps its worker's models; a Kconfig commit is
    checked with models of its own files."""
    notes = {title: json.loads(n) if n else {} for title, n in
             rows(baseline, "SELECT title, notes FROM scanned_commit WHERE status = 'done'")}
    assert any("x86 for the commit: kconfig" in m for m in
               notes["debug: a DEBUG_PERCPU option"].get("models", []))
    assert any("x86 for the commit: kbuild" in m for m in
               notes["mm: percpu debugging object"].get("models", []))
    # a C-only commit that its worker checks right after its parent keeps
    # the parent's models (a worker starting a run elsewhere first moves
    # the models it holds, which may need a rebuild: not this case)
    done = rows(baseline, "SELECT sha, parent, worker, title, notes FROM scanned_commit "
                          "WHERE status = 'done' ORDER BY worker, finished")
    previous, followed = {}, []
    for sha, parent, worker, title, note in done:
        if title.startswith("init: helper") and previous.get(worker) == parent:
            followed.append((title, json.loads(note) if note else {}))
        previous[worker] = sha
    assert len(followed) >= 5
    rebuilt = [t for t, n in followed if any("for the commit" in m for m in n.get("models", []))]
    assert rebuilt == []


def test_the_work_tree_does_not_leak_into_history(history, cluster, baseline, tmp_path):
    """Today's work tree (here with SMP gone from Kconfig and the Makefiles
    edited) is never what an old commit is checked against."""
    kconfig = history / "Kconfig"
    saved = kconfig.read_text()
    makefile = history / "arch/x86/kernel/Makefile"
    saved_mk = makefile.read_text()
    try:
        kconfig.write_text(saved.replace("config SMP\n", "config SMP_GONE\n"))
        makefile.write_text(saved_mk.replace("obj-$(CONFIG_SMP)", "obj-y"))
        db = tmp_path / "scan.db"
        done = run_kwhen("scan", "HEAD", "--tree", history, "--db", db, *ARCH,
                         "--scheduler", cluster.address, "--no-progress")
        assert done.returncode == 0, done.stderr
    finally:
        kconfig.write_text(saved)
        makefile.write_text(saved_mk)
    assert results(db) == results(baseline)


# -- interruptions ----------------------------------------------------------------------

def _recorded(db: Path) -> int:
    try:
        return rows(db, "SELECT COUNT(*) FROM scanned_commit WHERE status != 'pending'")[0][0]
    except sqlite3.Error:
        return 0


def test_driver_killed_and_resumed_gives_the_same_results(history, cluster, baseline, tmp_path):
    db = tmp_path / "scan.db"
    args = [sys.executable, "-m", "kwhen", "scan", "HEAD", "--tree", str(history), "--db", str(db),
            *ARCH, "--scheduler", cluster.address, "--no-progress"]
    driver = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _recorded(db) < 12:
        assert driver.poll() is None, "the scan ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    recorded = _recorded(db)
    total = len(git_ids(history, "HEAD"))
    assert recorded < total
    before = dict(rows(db, "SELECT sha, finished FROM scanned_commit WHERE status != 'pending'"))
    cluster.wait_for(2)
    resumed = run_kwhen("scan", "HEAD", "--tree", history, "--db", db, *ARCH,
                        "--scheduler", cluster.address, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(before)} recorded before" in resumed.stderr
    # nothing recorded was redone, and nothing is lost or different
    after = dict(rows(db, "SELECT sha, finished FROM scanned_commit"))
    assert all(after[sha] == finished for sha, finished in before.items())
    assert results(db) == results(baseline)


def test_a_worker_killed_mid_task_is_retried(history, cluster, baseline, tmp_path):
    db = tmp_path / "scan.db"
    args = [sys.executable, "-m", "kwhen", "scan", "HEAD", "--tree", str(history), "--db", str(db),
            *ARCH, "--scheduler", cluster.address, "--no-progress"]
    driver = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while _recorded(db) < 8:
        assert driver.poll() is None
        assert time.time() < deadline
        time.sleep(0.02)
    victim = cluster.workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    _, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err
    # every commit is recorded, as in a scan where no worker died
    assert results(db) == results(baseline)
    pids = {w.rsplit(":", 1)[-1] for (w,) in rows(db, "SELECT worker FROM scanned_commit "
                                                      "WHERE worker IS NOT NULL")}
    assert str(victim.pid) in pids and len(pids) >= 2
    # back to two workers for the other tests
    cluster.workers[0] = cluster.add_worker(9)
    cluster.wait_for(2)


def test_results_of_another_version_are_not_mixed_in(history, cluster, baseline, tmp_path):
    from kwhen.sqldata import DONE, ScanStore

    db = tmp_path / "scan.db"
    store = ScanStore(db)
    other = store.result_set("0.0.1+another", {"arches": ["x86"], "all_arches": False,
                                               "trust_tree": False, "base": None})
    shas = git_ids(history, "--no-merges", "HEAD")
    store.add_commits(other, [{"sha": sha} for sha in shas])
    for sha in shas:
        store.record(other, sha, DONE, findings=[{"kind": "narrowed", "file": "old/kwhen.c",
                                                  "line": 1, "message": "from another kwhen"}])
    store.close()
    done = run_kwhen("scan", "HEAD", "--tree", history, "--db", db, *ARCH,
                     "--scheduler", cluster.address, "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "0 recorded before" in done.stderr
    sets = rows(db, "SELECT id, version FROM result_set ORDER BY id")
    assert len(sets) == 2
    mine = sets[1][0]
    commits = rows(db, "SELECT sha, status, reason FROM scanned_commit WHERE result_set = ? "
                       "ORDER BY sha", mine)
    assert commits == results(baseline)[0]
    exported = run_kwhen("scan", "--db", db, *ARCH, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert "from another kwhen" not in exported.stdout
    # other options are another result set too
    widened = run_kwhen("scan", "HEAD~3..HEAD", "--tree", history, "--db", db, "--all-arches",
                        "--scheduler", cluster.address, "--no-progress")
    assert widened.returncode == 0, widened.stderr
    assert len(rows(db, "SELECT id FROM result_set")) == 3


def test_a_commit_past_the_timeout_is_recorded_and_the_scan_goes_on(history, cluster, tmp_path):
    db = tmp_path / "scan.db"
    slow = run_kwhen("scan", "HEAD~3..HEAD", "--tree", history, "--db", db, *ARCH,
                     "--scheduler", cluster.address, "--no-progress", "--timeout", "0.001")
    assert slow.returncode == 0, slow.stderr
    assert rows(db, "SELECT status, reason FROM scanned_commit") == \
        [("failed", "timed out after 0.001 s")] * 3
    # failed commits are final, unless asked for again
    again = run_kwhen("scan", "HEAD~3..HEAD", "--tree", history, "--db", db, *ARCH,
                      "--scheduler", cluster.address, "--no-progress")
    assert "3 recorded before" in again.stderr
    retried = run_kwhen("scan", "HEAD~3..HEAD", "--tree", history, "--db", db, *ARCH,
                        "--scheduler", cluster.address, "--no-progress", "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert rows(db, "SELECT status FROM scanned_commit") == [("done",)] * 3
    cluster.wait_for(2)


def test_local_cluster_by_default(history, tmp_path):
    db = tmp_path / "scan.db"
    done = run_kwhen("scan", "HEAD~4..HEAD", "--tree", history, "--db", db, *ARCH,
                     "--workers", "2", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "with 2 workers" in done.stderr
    assert rows(db, "SELECT COUNT(*) FROM scanned_commit WHERE status = 'done'")[0][0] == 4


def test_plain_progress_lines_when_not_a_terminal(history, tmp_path):
    db = tmp_path / "scan.db"
    done = run_kwhen("scan", "HEAD~3..HEAD", "--tree", history, "--db", db, *ARCH, "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "kwhen scan: 3/3 commits" in done.stderr
    assert "\x1b[" not in done.stderr


def test_bad_input_is_one_line(tmp_path, history):
    missing = run_kwhen("scan", "--db", tmp_path / "none.db")
    assert missing.returncode == 2 and missing.stderr.startswith("kwhen: error:")
    assert len(missing.stderr.splitlines()) == 1
    bad = run_kwhen("scan", "no-such-branch", "--tree", history, "--db", tmp_path / "x.db",
                    "--workers", "1")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1, bad.stderr


# -- reports ------------------------------------------------------------------------

def test_json_export(baseline):
    from kwhen.report.jsonreport import load_json

    out = run_kwhen("scan", "--db", baseline, *ARCH, "--format", "json")
    assert out.returncode == 0, out.stderr
    findings, summary = load_json(out.stdout)
    data = json.loads(out.stdout)
    assert len(findings) == len(data["findings"]) == summary["findings"] > 0
    assert all(isinstance(f["new"], bool) and len(f["commit"]) == 40 for f in data["findings"])
    assert {c["status"] for c in data["commits"]} == {"done", "failed", "skipped"}


def test_sarif_export_validates(baseline, sarif_validator):
    out = run_kwhen("scan", "--db", baseline, *ARCH, "--format", "sarif")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    sarif_validator.validate(data)
    results_ = data["runs"][0]["results"]
    assert results_ and all(len(r["properties"]["commit"]) == 40 for r in results_)


def test_text_export(baseline):
    out = run_kwhen("scan", "--db", baseline, *ARCH)
    assert out.returncode == 0, out.stderr
    assert "[moved-narrowed]" in out.stdout
    assert "failed: " in out.stdout and "Kconfig: a typo" in out.stdout


# -- the HTML page, in a real headless browser -------------------------------------------

def _chromium() -> str:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing: .ci/run should install it")
    pytest.skip("no chromium (apt-get install chromium)")


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = page.parent / f"profile-{time.monotonic_ns()}"
    return subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", f"--user-data-dir={profile}",
                           "--virtual-time-budget=10000", *args, page.as_uri()],
                          capture_output=True, timeout=180)


def _png_pixels(data: bytes):
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def _coloured_pixels(png: Path) -> int:
    """Pixels of a clearly saturated colour: the charts' bars; the page's
    text and tables are black, grey and a little link blue."""
    width, height, channels, rows = _png_pixels(png.read_bytes())
    count = 0
    for row in rows:
        for x in range(0, width * channels, channels):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if max(r, g, b) - min(r, g, b) > 80 and not (b > 200 and r < 60 and g < 60):
                count += 1
    return count


def test_html_page_renders_its_charts_in_a_browser(baseline, tmp_path):
    import re

    page = tmp_path / "scan.html"
    out = run_kwhen("scan", "--db", baseline, *ARCH, "--format", "html", "-o", page)
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    assert "cdn" not in re.sub(r"<script.*?</script>", "", html, flags=re.S).lower()
    assert '<script src=' not in html             # the library is inlined: works offline
    dom = _browser(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout.decode("utf-8", "replace")
    bars = {}
    for chart in ("chart-time", "chart-dirs", "chart-slow"):
        start = text.index(f'id="{chart}"')
        end = text.find('id="chart-', start + 10)
        part = text[start:end if end > 0 else len(text)]
        assert 'class="main-svg"' in part, chart
        bars[chart] = len(re.findall(r'<g class="point"><path d="M[^"]*[1-9][^"]*Z"', part))
    assert bars["chart-time"] >= 2 and bars["chart-dirs"] >= 2 and bars["chart-slow"] == 20, bars
    # each finding links to its commit, and the commit is on the page
    assert re.search(r'<a class="sha" href="#commit-([0-9a-f]{40})">', text)
    for sha in re.findall(r'href="#commit-([0-9a-f]{40})"', text):
        assert f'id="commit-{sha}"' in text

    shot = tmp_path / "scan.png"
    drawn = _browser(page, f"--screenshot={shot}", "--window-size=1200,2000")
    assert drawn.returncode == 0 and shot.is_file(), drawn.stderr[-2000:]
    # the same page without its script draws no chart: few coloured pixels
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<script type=\"text/javascript\">.*?</script>", "", html, count=1,
                           flags=re.S))
    bare_shot = tmp_path / "bare.png"
    _browser(bare, f"--screenshot={bare_shot}", "--window-size=1200,2000")
    coloured, without = _coloured_pixels(shot), _coloured_pixels(bare_shot)
    assert coloured > 20000 and coloured > 10 * without, (coloured, without)


def test_html_links_commits_and_locations_to_templates(baseline, tmp_path):
    page = tmp_path / "scan.html"
    out = run_kwhen("scan", "--db", baseline, *ARCH, "--format", "html", "-o", page,
                    "--commit-url", "https://git.example.org/commit/{sha}",
                    "--source-url", "https://git.example.org/tree/{sha}/{file}#L{line}")
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    import re
    assert re.search(r'href="https://git.example.org/commit/[0-9a-f]{40}"', html)
    assert re.search(r'href="https://git.example.org/tree/[0-9a-f]{40}/arch/x86/kernel/'
                     r'setup_percpu.c#L15">arch/x86/kernel/setup_percpu.c:15</a>', html)


# -- models that follow the commits equal models built from scratch ----------------------

def follow(repo: Path, shas: list, arch: str, directory: Path) -> list:
    """Move a scan's models along `shas` (each the parent of the next) as a
    worker does, checking at each commit that they are the models built
    from scratch for its files: every file's Kbuild condition, everything
    else Kbuild gives, and the Kconfig symbols. Returns what each step did."""
    from kwhen.exceptions import KwhenError
    from kwhen.kbuild.tree import kbuild_conditions
    from kwhen.kconfig.translate import build_model
    from kwhen.scan import models as scan_models
    from kwhen.scan.checkout import Checkout
    from kwhen.scan.history import changed_paths
    from kwhen.sqldata import Cache
    from test_kbuild import same_result

    checkout = Checkout(repo, directory)
    checkout.move_to(shas[0])
    cache = Cache(enabled=False)          # nothing found by content: every layer follows
    held = scan_models.fresh(arch, checkout.root, shas[0], {}, cache)
    store = scan_models.ModelStore(cache, checkout.root)
    done = []
    for sha in shas[1:]:
        changed = changed_paths(checkout.root, held.rev, sha)
        checkout.move_to(sha)
        try:
            held, what = scan_models.derived(held, checkout.root, sha, changed, {}, store)
        except KwhenError:               # (an unreadable Kconfig) the models stay as they were
            done.append("failed")
            continue
        done.append(what)
        models = held.models
        scratch = kbuild_conditions(checkout.root, models.srcarch, models.arch,
                                    models.model.symbols, partial=True)
        same_result(models.kbuild, scratch)
        assert models.model.symbols == build_model(checkout.root, arch).symbols, sha
    return done


def test_models_updated_along_a_history_equal_models_from_scratch(history, tmp_path):
    """C-only commits keep the models, a makefile change walks Kbuild again
    where it reaches, and each commit's models are those built from its files."""
    shas = git_ids(history, "--first-parent", "--reverse", "HEAD")
    done = follow(history, shas, "x86", tmp_path / "tree")
    titles = [t for t in subprocess.run(["git", "-C", str(history), "log", "--first-parent",
                                         "--reverse", "--format=%s", "HEAD"], check=True,
                                        capture_output=True, text=True).stdout.splitlines()]
    what = dict(zip(titles[1:], done))
    assert what["init: helper 3"] == "kept"
    assert what["mm: percpu debugging object"].startswith("kbuild updated (")
    assert what["mm: close the ifeq"].startswith("kbuild updated (1 of ")


UBOOT_GIT = Path(os.environ.get("KWHEN_UBOOT_GIT", "/work/uboot-scan"))
# U-Boot commits that touch makefiles: drivers/ and one of its subdirectories,
# one makefile, a new board directory with the arm device trees' makefile,
# and the top Makefile with arch/x86/config.mk
UBOOT_MAKEFILE_COMMITS = ("08b77aac333", "c58dc99616b", "57f382db432", "f6a37207b84")


@pytest.mark.parametrize("commit", UBOOT_MAKEFILE_COMMITS)
def test_models_updated_for_uboot_real_commits_equal_models_from_scratch(commit, tmp_path):
    if not (UBOOT_GIT / ".git").exists():
        pytest.skip(f"no U-Boot repository at {UBOOT_GIT} (KWHEN_UBOOT_GIT)")
    try:
        parent, sha = subprocess.run(["git", "-C", str(UBOOT_GIT), "rev-parse", f"{commit}^",
                                      commit], check=True, capture_output=True,
                                     text=True).stdout.split()
    except subprocess.CalledProcessError:
        pytest.skip(f"{commit} is not in {UBOOT_GIT}")
    [what] = follow(UBOOT_GIT, [parent, sha], "sandbox", tmp_path / "tree")
    assert "kbuild" in what
