"""The HTML report of `kwhen check` as a person sees it: rendered by
headless Chromium (Debian's chromium, installed by .ci/run), looked at as a
screenshot and as the DOM the browser built, offline."""

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import REPO, committed, git, run_kwhen

PATCH = REPO / "examples" / "seed-move-resync.patch"


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run should install it")
        pytest.skip("no chromium (apt-get install chromium)")
    return found


def _browser(page, *args, tmp_path):
    # --no-sandbox: CI runs as root; a profile of its own; no network at all
    done = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
                           "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                           *args, page.as_uri()],
                          capture_output=True, text=True, timeout=180)
    return done


class _Dom(HTMLParser):
    """Elements of the DOM Chromium dumped: (tag, attributes, text) in order."""

    def __init__(self):
        super().__init__()
        self.elements, self._open = [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append([tag, dict(attrs), ""])
        self._open.append(self.elements[-1])

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for element in self._open:
            element[2] += data


@pytest.fixture
def page(example, tmp_path):
    committed(example)
    git(example, "am", "-q", str(PATCH))
    out = tmp_path / "report.html"
    done = run_kwhen("check", "--tree", example, "--format", "html", "-o", out)
    assert done.returncode == 1, done.stderr
    return out


def test_report_renders_with_code_conditions_and_links(page, tmp_path):
    done = _browser(page, "--dump-dom", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    dom = _Dom()
    dom.feed(done.stdout)
    by_tag = lambda tag, cls=None: [e for e in dom.elements if e[0] == tag  # noqa: E731
                                    and (cls is None or cls in e[1].get("class", "").split())]
    # the commit's subject is the heading; its author is named
    (h1,) = by_tag("h1")
    assert "Defer resyncing initial_page_table" in h1[2]
    assert "Example Developer" in done.stdout
    findings = by_tag("section", "finding")
    assert len(findings) >= 2
    moved = next(f for f in findings if "moved-narrowed" in f[2])
    assert "arch/x86/kernel/setup_percpu.c:15" in moved[2]
    # the lines around it, the finding's own line marked, each with its condition
    hits = by_tag("tr", "hit")
    assert any("sync_initial_page_table();" in h[2] and "SMP && X86_32" in h[2] for h in hits)
    conditions = [e[2] for e in by_tag("td", "cond")]
    assert "SMP" in conditions and "SMP && X86_32" in conditions
    # links: the summary's counts lead to findings that exist
    ids = {e[1].get("id") for e in dom.elements}
    links = [e[1]["href"] for e in by_tag("a") if e[1].get("href", "").startswith("#")]
    assert links and all(link[1:] in ids for link in links)
    # self-contained: nothing to fetch, nothing to run
    assert not by_tag("script") and not by_tag("img") and not by_tag("link")
    assert not re.search(r"\b(src|href)=\"(https?:)?//", done.stdout)


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24]), data


def test_report_screenshot(page, tmp_path):
    shot = tmp_path / "report.png"
    done = _browser(page, f"--screenshot={shot}", "--window-size=1100,1500", tmp_path=tmp_path)
    assert done.returncode == 0 and shot.exists(), done.stderr
    (width, height), data = _png_size(shot)
    assert (width, height) == (1100, 1500)
    # a page with text, code and colour compresses far worse than a blank one
    assert len(data) > 40_000
    if os.environ.get("KWHEN_SCREENSHOT_TO"):       # how docs/check-report.png is made
        shutil.copy(shot, os.environ["KWHEN_SCREENSHOT_TO"])
