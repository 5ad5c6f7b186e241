"""Progress and notes for people, from any layer, without knowing who listens.

    from kwhen import progress
    with progress.step("building the x86 Kconfig model"):
        ...
    progress.note("Kbuild conditions of x86 from the cache")

Both are no-ops until the command line installs a reporter (`install`):
the layers below never import rich or the CLI, and the Python API stays
silent. The CLI installs `TerminalReporter`: steps as a spinner on stderr
when stderr is a terminal (never in a pipe or a log), notes as log lines
with -v.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

_reporter = None


def install(reporter) -> None:
    """Send steps and notes to `reporter` (None: back to silence)."""
    global _reporter
    _reporter = reporter


@contextmanager
def step(text: str):
    """A piece of work that may take over a second, named for a person."""
    reporter = _reporter
    if reporter is None:
        yield
        return
    with reporter.step(text):
        yield


def note(text: str) -> None:
    """What kwhen is doing and why, for -v."""
    if _reporter is not None:
        _reporter.note(text)


class TerminalReporter:
    """Steps as a transient spinner on a terminal (rich), notes as log lines.

    `show_steps`: draw the spinner (the CLI passes stderr.isatty() and not
    -q); `verbose`: print notes and each step's time (-v), on any stream.
    """

    def __init__(self, stream=None, show_steps: bool = True, verbose: bool = False):
        self.stream = stream or sys.stderr
        self.show_steps = show_steps
        self.verbose = verbose
        self._console = None
        self._status = None     # (rich Live, Spinner) of the outermost step
        self._labels: list[str] = []

    def _rich(self):
        if self._console is None:
            from rich.console import Console
            self._console = Console(file=self.stream, force_terminal=self.show_steps,
                                    highlight=False, soft_wrap=True)
        return self._console

    def note(self, text: str) -> None:
        if self.verbose:
            self.stream.write(f"kwhen: {text}\n")
            self.stream.flush()

    @contextmanager
    def step(self, text: str):
        started = time.monotonic()
        self.note(f"{text}...")
        if not self.show_steps:
            yield
        elif self._status is None:
            # the outermost step owns the spinner; inner steps relabel it
            # (and show at once: a step of a tenth of a second still shows)
            from rich.live import Live
            from rich.spinner import Spinner

            spinner = Spinner("dots", text=f"{text}...", style="green")
            with Live(spinner, console=self._rich(), transient=True,
                      refresh_per_second=12.5) as live:
                self._status, self._labels = (live, spinner), [text]
                try:
                    yield
                finally:
                    self._status, self._labels = None, []
        else:
            self._labels.append(text)
            self._relabel(f"{text}...")
            try:
                yield
            finally:
                self._labels.pop()
                self._relabel(f"{self._labels[-1]}...")
        self.note(f"{text}: done in {time.monotonic() - started:.1f}s")

    def _relabel(self, label: str) -> None:
        live, spinner = self._status
        spinner.update(text=label)
        live.refresh()
