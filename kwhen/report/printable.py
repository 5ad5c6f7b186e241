"""Text from an untrusted tree made safe to print on a terminal.

File names, Makefile lines, symbol names and messages that quote them come
from the tree kwhen reads; an escape sequence among them would drive the
user's terminal (move the cursor, rewrite the lines above, set the title).
Every renderer for people (the query text, the check report, the error
line) passes such text through `printable`; JSON escapes it by itself.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 and C1 control characters and DEL (tab and newline apart), the
# bidirectional overrides that reorder what is shown ("Trojan Source"), and
# the lone surrogates that undecodable bytes of a file name become.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_UNSAFE_ONE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


def _escaped(m: re.Match) -> str:
    c = m.group()
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:            # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, one_line: bool = False) -> str:
    """`text` with every character that could control a terminal written as
    an escape (``\\x1b``); with `one_line`, tabs and newlines too."""
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escaped, text)
