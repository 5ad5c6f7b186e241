"""The one kind of error kwhen reports to users."""

from __future__ import annotations


class KwhenError(Exception):
    """Bad input or an impossible request; the message is for a user.

    `path` and `line` locate the input at fault where there is one; the CLI
    prints ``kwhen: error: path:line: message`` and exits with status 2.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self):
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + self.message
