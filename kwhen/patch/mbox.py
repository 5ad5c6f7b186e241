"""Patches sent by mail: a `git format-patch` file or an mbox of a series.

Mails are parsed with the standard library's `email` package, so
quoted-printable and base64 bodies, multipart mails with the patch as an
attachment and CRLF line endings all come out as plain diff text.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.patch.diff import MAX_PATCH_BYTES
from kwhen.readfile import read_bytes

# an mbox "From_" separator: "From <sender or sha> <ctime date>"
FROM_LINE = re.compile(r"^From \S+ +(?:\w{3} +\w{3} +\d+ +\d+:\d+(?::\d+)? +(?:\S+ +)?\d{4}|.*\d\d:\d\d:\d\d.*)\s*$")
_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:")
_NUMBERING = re.compile(r"\[[^\]]*?\b(\d+)/(\d+)\s*\]")
_PREFIX = re.compile(r"^\s*(?:(?:Re|Fwd?|Aw)\s*:\s*)*(?:\[[^\]]*\]\s*)+")
_DIFF_BEGIN = re.compile(r"^(?:diff --git |--- \S.*\n\+\+\+ \S|Index: \S)", re.M)
_PATCH_NAME = re.compile(r"\.(?:patch|diff)$", re.I)


@dataclass
class PatchMail:
    """One mail of a series: who sent which patch, and the diff it carries."""
    subject: str                   # without the "[PATCH v2 3/5]" prefix
    author: str                    # "Name <address>"
    date: str | None
    message_id: str | None
    diff_text: str
    number: int | None = None      # 3 of "[PATCH 3/5]"
    total: int | None = None       # 5 of "[PATCH 3/5]"
    raw_subject: str = ""
    first_line: int | None = None  # line of the mbox where diff_text starts, when it is verbatim


def looks_like_mail(text: str) -> bool:
    """Whether `text` is a mail or an mbox (rather than a bare diff)."""
    stripped = text.lstrip("\r\n")
    first = stripped.split("\n", 1)[0].rstrip("\r")
    if FROM_LINE.match(first):
        return True
    if not _HEADER.match(first):
        return False
    head = re.split(r"\r?\n\r?\n", stripped, maxsplit=1)[0]
    return re.search(r"^Subject:", head, re.M | re.I) is not None


def _split_mbox(text: str) -> list[tuple[int, str]]:
    """(first line number of the message, its text) for each message."""
    lines = text.split("\n")
    first = _first_nonblank(lines)
    starts = [i for i, line in enumerate(lines) if FROM_LINE.match(line.rstrip("\r"))
              and (i == first or not lines[i - 1].strip())]
    if starts and starts[0] != first:
        starts = []     # prose before the first From_ line: not an mbox, one mail
    if not starts:
        return [(first + 1, "\n".join(lines[first:]))] if first < len(lines) else []
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        # the From_ line itself is not part of the message
        body = lines[start + 1:end]
        # mboxrd/mboxo escaping of body lines starting with "From "
        body = [re.sub(r"^>(>*From )", r"\1", line) for line in body]
        out.append((start + 2, "\n".join(body)))
    return out


def _first_nonblank(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if line.strip():
            return i
    return len(lines)


# The email package parses a header when it is first read and, on a
# malformed one (``From: t <``, ``From::;1``, a Date out of range), raises
# whatever its parser hits: IndexError, AttributeError, ValueError... A mail
# is untrusted input, so every read of a header or a part goes through the
# two functions below, which fall back to the raw text.
_EMAIL_PARSER_FAILURES = (Exception,)


def _decode(part) -> str | None:
    try:
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
    except _EMAIL_PARSER_FAILURES:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else None
    if payload is None:
        return None
    try:
        return payload.decode(charset, errors="surrogateescape")
    except (LookupError, ValueError):     # an unknown or malformed charset name
        return payload.decode("utf-8", errors="surrogateescape")


def _body_texts(msg) -> list[str]:
    """Texts of the parts that may carry a patch, in order."""
    texts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            ctype = part.get_content_type()
            name = part.get_filename() or ""
        except _EMAIL_PARSER_FAILURES:
            ctype, name = "text/plain", ""
        if ctype.startswith("text/") or _PATCH_NAME.search(name) or ctype in (
                "application/octet-stream", "application/x-patch", "application/x-diff"):
            text = _decode(part)
            if text is not None:
                texts.append(text.replace("\r\n", "\n"))
    return texts


def _header(msg, name: str) -> str | None:
    try:
        value = msg.get(name)
        text = None if value is None else str(value)
    except _EMAIL_PARSER_FAILURES:
        text = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if text is None:
        return None
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


def _parse_message(start_line: int, text: str, source: str) -> PatchMail | None:
    msg = email.message_from_bytes(text.encode("utf-8", "surrogateescape"),
                                   policy=email.policy.default)
    raw_subject = _header(msg, "Subject") or ""
    author = _format_address(_header(msg, "From") or "")
    diff_text = None
    body = None
    for candidate in _body_texts(msg):
        m = _DIFF_BEGIN.search(candidate)
        if m:
            body, diff_text = candidate, candidate[m.start():]
            break
    if diff_text is None:
        return None
    # "From: Real Author <...>" as the body's first line names the author (git am)
    head = body[:m.start()].lstrip("\n")
    first = head.split("\n", 1)[0]
    if first.startswith("From: "):
        author = _format_address(first[len("From: "):].strip())

    number = total = None
    pm = _PREFIX.match(raw_subject)
    nm = _NUMBERING.search(pm.group(0)) if pm else None
    if nm:
        number, total = int(nm.group(1)), int(nm.group(2))
    subject = _PREFIX.sub("", raw_subject).strip() or raw_subject

    first_line = None
    cte = (_header(msg, "Content-Transfer-Encoding") or "").lower()
    if not msg.is_multipart() and cte not in ("quoted-printable", "base64"):
        first_diff_line = diff_text.split("\n", 1)[0]
        for i, line in enumerate(text.split("\n")):
            if line.rstrip("\r") == first_diff_line:
                first_line = start_line + i
                break
    return PatchMail(subject=subject, author=author, date=_header(msg, "Date"),
                     message_id=_header(msg, "Message-ID"), diff_text=diff_text,
                     number=number, total=total, raw_subject=raw_subject,
                     first_line=first_line)


def _format_address(value: str) -> str:
    try:
        pairs = getaddresses([value])
    except _EMAIL_PARSER_FAILURES:
        return value.strip()
    if pairs and pairs[0][1]:
        name, addr = pairs[0]
        return f"{name} <{addr}>" if name else addr
    return value.strip()


def _names_a_file(text: str) -> bool:
    if "\n" in text or len(text) > 4096:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):       # a name too long, a NUL byte
        return False


def read_patches(path_or_text: str | Path, source: str | None = None) -> list[PatchMail]:
    """The patches of a format-patch file or an mbox, in series order.

    `path_or_text` is a Path, a path to an existing file, or the text itself.
    Cover letters ("[PATCH 0/N]") and mails without a diff are skipped; a
    series numbered "[PATCH k/N]" is sorted by k.
    """
    if isinstance(path_or_text, Path) or _names_a_file(path_or_text):
        path = Path(path_or_text)
        source = source or str(path)
        data = read_bytes(path, limit=MAX_PATCH_BYTES, shown=source, what="patch")
        text = data.decode("utf-8", errors="surrogateescape")
    else:
        text = path_or_text
        source = source or "<patch>"
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise KwhenError("empty mbox: no patch to check", path=source)

    mails = []
    for start, message in _split_mbox(text):
        if not message.strip():
            continue
        mail = _parse_message(start, message, source)
        if mail is None or mail.number == 0:
            continue
        mails.append(mail)
    if not mails:
        raise KwhenError("no patch found in the mbox", path=source)
    if all(m.number is not None for m in mails):
        mails.sort(key=lambda m: m.number)
    return mails
