"""How far a scan is: a rich progress bar on a terminal (commits done of
the total, rate, time left, findings so far, failed commits), plain lines
every few seconds when the output is not a terminal (a log, CI)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Counts of a running scan and their display."""

    def __init__(self, total: int, done: int = 0, stream=None, interval: float = 10.0,
                 enabled: bool = True):
        self.total = total
        self.done = done            # commits finished (done, failed or skipped)
        self.started_with = done
        self.failed = 0
        self.findings = 0
        self.stream = stream or sys.stderr
        self.interval = interval
        self.enabled = enabled
        self._start = time.monotonic()
        self._last_line = 0.0
        self._bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._bar = Bar(TextColumn("scan"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                        TextColumn("left"), TimeRemainingColumn(),
                        TextColumn("{task.fields[findings]} findings, {task.fields[failed]} failed"),
                        console=Console(file=self.stream), transient=False)
        self._bar.start()
        self._task = self._bar.add_task("scan", total=self.total, completed=self.done,
                                        rate="", findings=0, failed=0)

    def rate(self) -> float:
        """Commits finished per second since the scan started (this run)."""
        elapsed = time.monotonic() - self._start
        return (self.done - self.started_with) / elapsed if elapsed > 0 else 0.0

    def advance(self, status: str, findings: int = 0) -> None:
        self.done += 1
        self.findings += findings
        if status == "failed":
            self.failed += 1
        self.show()

    def show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, findings=self.findings,
                             failed=self.failed, rate=f"{self.rate():.2f}/s")
            return
        now = time.monotonic()
        if force or now - self._last_line >= self.interval:
            self._last_line = now
            rate = self.rate()
            left = (self.total - self.done) / rate if rate > 0 else None
            eta = f"{left / 60:.1f} min left" if left is not None else "time left unknown"
            print(f"kwhen scan: {self.done}/{self.total} commits, {rate:.2f}/s, {eta}, "
                  f"{self.findings} findings, {self.failed} failed", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        else:
            self.show(force=True)
