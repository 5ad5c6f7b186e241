"""Reading a file kwhen was given or found in an untrusted tree: the one way.

Every file kwhen reads from a tree (Kconfig, Makefiles, C sources, a
.config) or names on its command line (a patch, an mbox) goes through
`read_bytes`, so one place guarantees that

- only a regular file is read: a FIFO, a device (``/dev/zero``), a socket
  or a directory is refused instead of hanging or growing without end. The
  file is opened non-blocking (opening a FIFO without a writer returns at
  once) and checked with fstat on the open descriptor, so a swap between
  check and read cannot slip a FIFO in;
- no more than a cap is read (`MAX_FILE_BYTES` unless the caller says);
- a failure is a `KwhenError` naming the path (``symbolic link loop``,
  ``not a regular file``, ``too large``): exit status 2, one line.

`inside(root, path)` says whether a path, symbolic links resolved, stays in
a tree: Kconfig `source` and Makefile `include` read only such paths.
"""

from __future__ import annotations

import errno
import os
import stat

from kwhen.exceptions import KwhenError

__all__ = ["MAX_FILE_BYTES", "read_bytes", "read_text", "read_stream", "inside", "describe_os_error"]

# The largest file of Linux 6.1 is a 24 MB generated register header
# (dcn_3_2_0_sh_mask.h); more than 64 MiB is not a source file.
MAX_FILE_BYTES = 64 << 20

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def describe_os_error(exc: OSError) -> str:
    """A short reason for an OSError, without repeating its path."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return (exc.strerror or type(exc).__name__).lower()


def read_bytes(path, limit: int | None = None, shown: str | None = None,
               what: str = "file") -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them
    (default `MAX_FILE_BYTES`).

    `shown` is how errors name the file (default: `path`); `what` says what
    it is for the message ("patch", ".config"). Raises KwhenError.
    """
    shown = str(path) if shown is None else shown
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise KwhenError(f"cannot read {what}: {describe_os_error(exc)}", path=shown) from None
    except ValueError:                  # a NUL byte in the name
        raise KwhenError(f"cannot read {what}: a NUL byte in its name", path=shown) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise KwhenError(f"cannot read {what}: {_kind(mode)}, not a regular file", path=shown)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise KwhenError(f"{what} too large (more than {_size(limit)})", path=shown)
        return b"".join(chunks)
    except OSError as exc:
        raise KwhenError(f"cannot read {what}: {describe_os_error(exc)}", path=shown) from None
    finally:
        os.close(fd)


def read_text(path, limit: int | None = None, shown: str | None = None,
              what: str = "file", errors: str = "replace") -> str:
    """`read_bytes` decoded as UTF-8 (undecodable bytes per `errors`)."""
    return read_bytes(path, limit, shown, what).decode("utf-8", errors=errors)


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n} bytes"


def inside(root, path) -> bool:
    """Whether `path` (relative to `root`, or absolute), with symbolic links
    resolved, is `root` or lies under it."""
    if "\0" in os.fspath(path):
        return False                    # names no file at all
    root = os.path.realpath(root)
    full = os.path.realpath(os.path.join(root, path))
    return full == root or full.startswith(root.rstrip(os.sep) + os.sep)


def read_stream(stream, limit: int, shown: str = "<stdin>",
                what: str = "input") -> bytes:
    """At most `limit` bytes of a binary stream (standard input)."""
    try:
        data = stream.read(limit + 1)
    except OSError as exc:
        raise KwhenError(f"cannot read {what}: {describe_os_error(exc)}", path=shown) from None
    if len(data) > limit:
        raise KwhenError(f"{what} too large (more than {_size(limit)})", path=shown)
    return data
