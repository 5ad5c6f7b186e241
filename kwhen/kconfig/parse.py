"""Loading a Kconfig tree with kconfiglib, safely.

- Nothing from the tree executes unless the caller trusts the tree: the
  `$(shell,...)` preprocessor function is replaced (through kconfiglib's
  KCONFIG_FUNCTIONS hook, which names this module) by one that returns a
  marker token, ``KWHEN_SHELL_<sha1 of the command, 10 hex>``; the marker is a
  valid symbol name, so kconfiglib treats it as an undefined symbol, and the
  translation turns it into the free variable ``?shell:<command>``.
- Syntax newer than kconfiglib 14.1.0 is rewritten line by line, one line for
  one line, so every file:line kconfiglib reports stays true.
- kconfiglib's errors become `KwhenError` with the file and line they name.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import kconfiglib

from kwhen.exceptions import KwhenError

__all__ = ["load_kconfig", "kernel_version", "SHELL_MARKER_PREFIX", "shell_marker",
           "rewrite_kconfig_text", "KwhenKconfig"]

SHELL_MARKER_PREFIX = "KWHEN_SHELL_"
_MARKER_RE = re.compile(SHELL_MARKER_PREFIX + r"[0-9a-f]{10}")


def shell_marker(command: str) -> str:
    """The token that stands for the output of `command`."""
    return SHELL_MARKER_PREFIX + hashlib.sha1(command.encode()).hexdigest()[:10]


# -- preprocessor functions (the KCONFIG_FUNCTIONS module is this one) -------

def _shell(kconf, _name, command):
    if getattr(kconf, "kwhen_trust", False):
        return kconfiglib._shell_fn(kconf, _name, command)
    marker = shell_marker(command)
    kconf.kwhen_shell.setdefault(marker, command)
    kconf.kwhen_shell_where.setdefault(marker, f"{kconf.filename}:{kconf.linenr}")
    return marker


def _info(kconf, _name, msg):
    # kconfiglib prints $(info,...) to stdout; kwhen never prints.
    kconf.kwhen_infos.append(f"{kconf.filename}:{kconf.linenr}: {msg}")
    return ""


# kconfiglib merges this over its built-in functions.
functions = {
    "shell": (_shell, 1, 1),
    "info": (_info, 1, 1),
}


# -- the rewrite layer -------------------------------------------------------

_HELP_RE = re.compile(r"^\s*(help|---help---)\s*(#.*)?$")
_CONFIG_RE = re.compile(r"^\s*(?:menu)?config\s+(\w+)")
_MODULES_RE = re.compile(r"^(\s*)modules\s*$")
_TRANSITIONAL_RE = re.compile(r"^\s*transitional\s*$")
_DEPENDS_IF_RE = re.compile(r"^(\s*)depends\s+on\s+(.+?)\s+if\s+(.+?)\s*$")


def _split_comment(line: str) -> tuple[str, str]:
    """(code, comment): '#' outside quotes starts a comment."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i], line[i:]
        i += 1
    return line, ""


def _indent(line: str) -> int:
    expanded = line.expandtabs(8)
    return len(expanded) - len(expanded.lstrip())


def rewrite_kconfig_text(text: str, transitional: set | None = None) -> str:
    """Rewrite syntax kconfiglib 14.1.0 lacks, one line for one line.

    - ``modules`` (an attribute line)   -> ``option modules``
    - ``transitional``                  -> a blank line (the symbol is recorded
                                           in `transitional` as having no prompt)
    - ``depends on X if Y``             -> ``depends on (X) || !(Y)``
    Help text is left alone.
    """
    lines = text.split("\n")
    out = []
    in_help = False
    help_indent = None
    help_owner_indent = 0
    current = None
    for line in lines:
        if in_help:
            if not line.strip():
                out.append(line)
                continue
            ind = _indent(line)
            if help_indent is None:
                if ind > help_owner_indent:
                    help_indent = ind
                    out.append(line)
                    continue
                in_help = False
            elif ind >= help_indent:
                out.append(line)
                continue
            else:
                in_help = False
        if _HELP_RE.match(line):
            in_help = True
            help_indent = None
            help_owner_indent = _indent(line)
            out.append(line)
            continue
        code, comment = _split_comment(line)
        m = _CONFIG_RE.match(code)
        if m:
            current = m.group(1)
            out.append(line)
            continue
        m = _MODULES_RE.match(code)
        if m:
            out.append(f"{m.group(1)}option modules{comment}")
            continue
        if _TRANSITIONAL_RE.match(code):
            if transitional is not None and current:
                transitional.add(current)
            out.append("")
            continue
        m = _DEPENDS_IF_RE.match(code)
        if m and '"' not in code:
            out.append(f"{m.group(1)}depends on ({m.group(2)}) || !({m.group(3)}){comment}")
            continue
        out.append(line)
    return "\n".join(out)


class KwhenKconfig(kconfiglib.Kconfig):
    """kconfiglib.Kconfig with kwhen's rewrite layer and shell markers.

    Extra attributes: `kwhen_shell` (marker -> command), `kwhen_shell_where`
    (marker -> file:line of first use), `kwhen_transitional` (symbol names),
    `kwhen_infos` ($(info,...) messages), `kwhen_trust`.
    """

    def __init__(self, filename="Kconfig", trust=False):
        self.kwhen_trust = trust
        self.kwhen_shell: dict[str, str] = {}
        self.kwhen_shell_where: dict[str, str] = {}
        self.kwhen_transitional: set[str] = set()
        self.kwhen_infos: list[str] = []
        super().__init__(filename, warn=True, warn_to_stderr=False, encoding="utf-8")

    def _open(self, filename, mode):
        if mode == "r" and getattr(self, "_parsing_kconfigs", False):
            with open(filename, "r", encoding=self._encoding) as f:
                text = f.read()
            return io.StringIO(rewrite_kconfig_text(text, self.kwhen_transitional))
        return super()._open(filename, mode)


# -- environment ------------------------------------------------------------

def kernel_version(tree: Path) -> str:
    """KERNELVERSION as the top Makefile computes it, read as text."""
    try:
        text = (Path(tree) / "Makefile").read_text(errors="replace")
    except OSError:
        return ""
    fields = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{key}\s*=[ \t]*(.*?)\s*$", text, re.M)
        fields[key] = m.group(1) if m else ""
    version = fields["VERSION"]
    if fields["PATCHLEVEL"]:
        version += "." + fields["PATCHLEVEL"]
        if fields["SUBLEVEL"]:
            version += "." + fields["SUBLEVEL"]
    return version + fields["EXTRAVERSION"]


_CLEARED = ("KCONFIG_WARN_UNDEF", "KCONFIG_STRICT", "KCONFIG_WARN_UNDEF_ASSIGN",
            "CONFIG_", "KCONFIG_CONFIG", "CLANG_FLAGS", "USERCFLAGS", "USERLDFLAGS",
            "CROSS_COMPILE", "LLVM", "KCONFIG_ALLCONFIG")


def _cc_version_text(trust: bool) -> str:
    if not trust:
        return ""
    try:
        out = subprocess.run(["gcc", "--version"], capture_output=True, text=True,
                             timeout=20, env=dict(os.environ, LC_ALL="C")).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.splitlines()[0].replace("#", "") if out else ""


def kconfig_environment(tree: Path, arch: str, srcarch: str, trust: bool = False) -> dict:
    """The variables the kernel's top Makefile exports to Kconfig."""
    from kwhen.kconfig.arches import host_srcarch
    subarch = host_srcarch() or srcarch
    # arch/um/Makefile: HEADER_ARCH := $(SUBARCH) (UML runs on x86 only)
    header_arch = subarch if (Path(tree) / "arch" / subarch / "um").is_dir() else "x86"
    return {
        "srctree": str(Path(tree).resolve()),
        "ARCH": arch,
        "SRCARCH": srcarch,
        "SUBARCH": subarch,
        "HEADER_ARCH": header_arch,
        "KERNELVERSION": kernel_version(tree),
        "CC": "gcc",
        "LD": "ld",
        "AR": "ar",
        "NM": "nm",
        "OBJCOPY": "objcopy",
        "HOSTCC": "gcc",
        "HOSTCXX": "g++",
        "HOSTPKG_CONFIG": "pkg-config",
        "CC_VERSION_TEXT": _cc_version_text(trust),
        "RUSTC": "rustc",
        "BINDGEN": "bindgen",
        "PAHOLE": "pahole",
        "KCONFIG_FUNCTIONS": __name__,
    }


@contextmanager
def kconfig_env(tree: Path, arch: str, srcarch: str, trust: bool = False):
    """Set the Kconfig environment for the duration of a block, then restore."""
    saved = dict(os.environ)
    try:
        for key in _CLEARED:
            os.environ.pop(key, None)
        os.environ.update(kconfig_environment(tree, arch, srcarch, trust))
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# -- errors -------------------------------------------------------------------

_LOCATION_RE = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+):\s*(?P<msg>.*)$")


def kwhen_error_of(exc: BaseException, tree: Path) -> KwhenError:
    """A one-line KwhenError for a kconfiglib error or OSError."""
    text = str(exc).strip()
    path, line = None, None
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    msg = lines[0] if lines else exc.__class__.__name__
    m = _LOCATION_RE.match(msg)
    if m:
        path, line, msg = m.group("path"), int(m.group("line")), m.group("msg")
    elif isinstance(exc, OSError) and getattr(exc, "filename", None):
        path = str(exc.filename)
        msg = exc.strerror or msg
    if not msg:
        msg = " ".join(lines[1:2]) or "Kconfig error"
    if path is not None and not os.path.isabs(path):
        path = str(Path(tree) / path)
    return KwhenError(msg, path=path, line=line)


def load_kconfig(tree: Path, arch: str, srcarch: str, trust_tree: bool = False) -> KwhenKconfig:
    """Parse the Kconfig files of `tree` for one architecture.

    Nothing from the tree runs unless `trust_tree`. Warnings are kept in
    `kconf.warnings`, never printed. Raises KwhenError on bad input.
    """
    tree = Path(tree)
    if not (tree / "Kconfig").is_file():
        raise KwhenError("not a Kconfig tree (no top-level Kconfig file)", path=str(tree))
    with kconfig_env(tree, arch, srcarch, trust_tree):
        try:
            kconf = KwhenKconfig("Kconfig", trust=trust_tree)
        except (kconfiglib.KconfigError, OSError) as exc:
            raise kwhen_error_of(exc, tree) from None
        except RecursionError:
            raise KwhenError("Kconfig nesting too deep", path=str(tree)) from None
    return kconf


def is_shell_marker(name: str) -> bool:
    return _MARKER_RE.fullmatch(name) is not None
