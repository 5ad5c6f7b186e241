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

import glob
import hashlib
import io
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import kconfiglib

from kwhen.exceptions import KwhenError
from kwhen.readfile import inside, read_bytes, read_text

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
# `select n`: selecting a constant symbol, which C kconfig accepts and which
# does nothing (U-Boot's board/google/Kconfig had one until 2018).
_OPTION_ENV_RE = re.compile(r'^(\s*)option\s+env\s*=\s*"([^"]*)"\s*$')
_SELECT_CONSTANT_RE = re.compile(r"^\s*(?:select|imply)\s+[nym]\s*(?:if\s+.*)?$")
# C kconfig's lexer ignores, with a warning, every character that cannot
# start a word where a statement begins: a line of nothing else (the `};`
# closing a device-tree example that fell out of a help text by its
# indentation) is an empty statement to it.
_WORD_CHARACTER_RE = re.compile(r"[A-Za-z0-9_-]")


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


def rewrite_kconfig_text(text: str, transitional: set | None = None,
                         notes: list | None = None, environment: dict | None = None) -> str:
    """Rewrite syntax kconfiglib 14.1.0 lacks, one line for one line.

    - ``modules`` (an attribute line)   -> ``option modules``
    - ``transitional``                  -> a blank line (the symbol is recorded
                                           in `transitional` as having no prompt)
    - ``depends on X if Y``             -> ``depends on (X) || (Y = n)``, as
                                           Linux's kconfig reads it (an m Y
                                           makes X needed; `_is_n_text`)
    - ``select n`` (a constant)         -> a blank line: it selects nothing
    - a line of characters C kconfig ignores (``};``) -> a blank line
    - ``option env="X"`` (older trees' bounce symbols), given `environment`
      (the variables kwhen passes to Kconfig) -> ``default "<its value>"``,
      or a blank line for a variable not passed: the user's own environment
      never reaches the model
    The last two are what older C kconfig accepted with a warning; each is
    noted in `notes` as (line number, warning). Help text is left alone.
    """
    lines = text.split("\n")
    out = []
    in_help = False
    help_indent = None
    help_owner_indent = 0
    current = None
    for number, line in enumerate(lines, 1):
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
            is_n = _is_n_text(m.group(3))
            if is_n is not None:
                out.append(f"{m.group(1)}depends on ({m.group(2)}) || ({is_n}){comment}")
                continue
        m = _OPTION_ENV_RE.match(code)
        if m and environment is not None:
            value = environment.get(m.group(2))
            if value is None:
                _note(notes, number, f"the environment variable {m.group(2)} is not passed "
                                     "to Kconfig: no default")
                out.append("")
            else:
                quoted = value.replace("\\", "\\\\").replace('"', '\\"')
                out.append(f'{m.group(1)}default "{quoted}"')
            continue
        if _SELECT_CONSTANT_RE.match(code):
            _note(notes, number, f"'{code.strip()}' selects a constant symbol: ignored")
            out.append("")
            continue
        if code.strip() and not comment and not _WORD_CHARACTER_RE.search(code):
            _note(notes, number, f"ignoring unsupported characters '{code.strip()}'")
            out.append("")
            continue
        out.append(line)
    return "\n".join(out)


def _raised_in_kconfiglib(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename == kconfiglib.__file__


_EXPR_TOKEN = re.compile(r'\s*("[^"]*"|\'[^\']*\'|&&|\|\||!=|<=|>=|[()!=<>]|[^\s()!=<>&|"\']+)')
_NEGATED_RELATION = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _is_n_text(expr: str) -> str | None:
    """Kconfig text that is y exactly when the expression `expr` is n (and
    n otherwise), the ``Y = n`` of Linux's ``depends on X if Y``; None if
    `expr` does not parse. ``!(Y)`` would not do: it is m for an m Y.

    Built from the operands: (A && B) = n is (A = n || B = n), (A || B)
    = n is (A = n && B = n), (!A) = n is A = y, a symbol S gives S = n,
    a comparison its negation."""
    tokens = _EXPR_TOKEN.findall(expr)
    if "".join(tokens) != "".join(expr.split()):
        return None
    position = [0]

    def peek():
        return tokens[position[0]] if position[0] < len(tokens) else None

    def take():
        position[0] += 1
        return tokens[position[0] - 1]

    # each parser returns (text when n, text when y)
    def chain(op, operand, dual):
        # operands joined by `op`: n when the operands' n texts joined by
        # the dual operator hold (De Morgan), y when their y texts do
        left = operand()
        while peek() == op:
            take()
            right = operand()
            left = (f"({left[0]}) {dual} ({right[0]})", f"({left[1]}) {op} ({right[1]})")
        return left

    def disjunction():
        return chain("||", conjunction, "&&")

    def conjunction():
        return chain("&&", unary, "||")

    def unary():
        token = peek()
        if token == "!":
            take()
            when_n, when_y = unary()
            return when_y, when_n
        if token == "(":
            take()
            inner = disjunction()
            if take() != ")":
                raise ValueError
            return inner
        if token is None or token in ("&&", "||", ")") or token in _NEGATED_RELATION:
            raise ValueError
        symbol = take()
        if peek() in _NEGATED_RELATION:
            op = take()
            other = take()
            # a comparison is y or n
            return f"{symbol} {_NEGATED_RELATION[op]} {other}", f"{symbol} {op} {other}"
        return f"{symbol} = n", f"{symbol} = y"

    try:
        when_n, _ = disjunction()
    except (ValueError, IndexError):
        return None
    return when_n if position[0] == len(tokens) else None


def _note(notes: list | None, number: int, warning: str) -> None:
    if notes is not None:
        notes.append((number, warning))


# `source "arch/*/Kconfig"` matches a few dozen files in Linux.
MAX_SOURCE_MATCHES = 10000


class KwhenKconfig(kconfiglib.Kconfig):
    """kconfiglib.Kconfig with kwhen's rewrite layer and shell markers.

    Extra attributes: `kwhen_shell` (marker -> command), `kwhen_shell_where`
    (marker -> file:line of first use), `kwhen_transitional` (symbol names),
    `kwhen_infos` ($(info,...) messages), `kwhen_trust`.
    """

    def __init__(self, filename="Kconfig", trust=False, environment=None):
        self.kwhen_trust = trust
        # the environment variables a macro may read (None: all, when trusted)
        self.kwhen_environment = environment
        self.kwhen_shell: dict[str, str] = {}
        self.kwhen_shell_where: dict[str, str] = {}
        self.kwhen_transitional: set[str] = set()
        self.kwhen_infos: list[str] = []
        # kconfiglib globs `source` patterns with the module's iglob
        saved_glob, kconfiglib.iglob = kconfiglib.iglob, self._glob
        try:
            super().__init__(filename, warn=True, warn_to_stderr=False, encoding="utf-8")
        except kconfiglib.KconfigError:
            raise
        except Exception as exc:
            # kconfiglib trusts its input in places (a `hex` line after a
            # `comment` reads the comment's type): its own failure on a
            # malformed file is bad input, at the line it was reading
            if not _raised_in_kconfiglib(exc):
                raise
            what = ("nested too deeply for kconfiglib" if isinstance(exc, RecursionError)
                    else f"malformed Kconfig (kconfiglib: {type(exc).__name__})")
            raise kconfiglib.KconfigError(
                f"{getattr(self, 'filename', filename)}:{getattr(self, 'linenr', 0)}: {what}") from None
        finally:
            kconfiglib.iglob = saved_glob

    def _glob(self, pattern):
        """The files a `source` pattern names, if it stays in the tree."""
        if not inside(self._srctree_prefix, pattern):
            return [pattern]            # _enter_file refuses it with the line
        found = []
        for name in glob.iglob(pattern):
            found.append(name)
            if len(found) > MAX_SOURCE_MATCHES:
                self._parse_error(f"source pattern matches more than {MAX_SOURCE_MATCHES} files")
        return found

    def _shown(self, filename: str) -> str:
        """How messages name a file: relative to the tree when inside it."""
        prefix = self._srctree_prefix
        return filename[len(prefix):] if filename.startswith(prefix) else filename

    def _open(self, filename, mode):
        if mode == "r" and getattr(self, "_parsing_kconfigs", False):
            shown = self._shown(filename)
            data = read_bytes(filename, shown=shown, what="Kconfig file")
            try:
                text = data.decode(self._encoding)
            except UnicodeDecodeError as exc:
                raise KwhenError("not valid UTF-8", path=shown,
                                 line=data.count(b"\n", 0, exc.start) + 1) from None
            text = text.replace("\r\n", "\n").replace("\r", "\n")   # as open() reads it
            notes: list = []
            text = rewrite_kconfig_text(text, self.kwhen_transitional, notes,
                                        self.kwhen_environment)
            # kept with kconfiglib's own warnings, in its wording
            self.warnings.extend(f"{shown}:{number}: warning: {warning}"
                                 for number, warning in notes)
            return io.StringIO(text)
        return super()._open(filename, mode)

    def _enter_file(self, filename):
        # `source` reads only regular files of the tree: not /dev/zero, not a
        # FIFO, not ~/.bashrc. The message quotes the Kconfig line as written,
        # never the expanded path (it may hold an environment value).
        if "\0" in filename:
            self._parse_error("source of a name with a NUL byte")
        if not inside(self._srctree_prefix, filename):
            self._parse_error("source of a file outside the tree")
        if not os.path.isfile(filename):
            self._parse_error("source of something that is not a regular file")
        super()._enter_file(filename)

    def _fn_val(self, args):
        # An environment variable kwhen does not pass to Kconfig expands to
        # nothing, as an unset one does: a tree cannot read the user's.
        name = args[0]
        if (self.kwhen_environment is not None and name not in self.variables
                and name not in self._functions and name not in self.kwhen_environment):
            return ""
        return super()._fn_val(args)

    def _parse_block(self, end_token, parent, prev):
        # kconfiglib reports a missing endif/endmenu/endchoice without a
        # line; name the line that opened the block.
        opened = (self.filename, self.linenr)
        try:
            return super()._parse_block(end_token, parent, prev)
        except kconfiglib.KconfigError as exc:
            if end_token is None or not str(exc).startswith("error: expected '"):
                raise
            closer = str(exc).split("'")[1]
            opener = {"endif": "if", "endmenu": "menu", "endchoice": "choice"}.get(closer, closer)
            raise kconfiglib.KconfigError(
                f"{opened[0]}:{opened[1]}: this '{opener}' has no '{closer}' before the end "
                f"of its file") from None

    def _parse_props(self, node):
        try:
            return super()._parse_props(node)
        except AttributeError as exc:
            # kconfiglib reads node.visibility, which only menus have
            if "visibility" not in str(exc):
                raise
            self._parse_error("'visible if' belongs to a menu")


# -- environment ------------------------------------------------------------

def kernel_version(tree: Path) -> str:
    """KERNELVERSION as the top Makefile computes it, read as text."""
    try:
        text = read_text(Path(tree) / "Makefile", what="Makefile")
    except KwhenError:
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
def kconfig_env(environment: dict):
    """Set the Kconfig environment for the duration of a block, then restore."""
    saved = dict(os.environ)
    try:
        for key in _CLEARED:
            os.environ.pop(key, None)
        os.environ.update(environment)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# -- errors -------------------------------------------------------------------

_LOCATION_RE = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+):\s*(?P<msg>.*)$")


# "B (defined at arch/x86/Kconfig:12), with definition..." in a loop report
_LOOP_ITEM_RE = re.compile(r"^(?:\.\.\.depends on )?(?:the choice symbol )?(?P<name>.+?) "
                           r"\(defined at (?P<path>[^:,)]+):(?P<line>\d+)[^)]*\), with definition")


def kwhen_error_of(exc: BaseException, tree: Path) -> KwhenError:
    """A one-line KwhenError for a kconfiglib error or OSError, naming the
    Kconfig file (relative to the tree) and line at fault."""
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
    elif msg == "Dependency loop":
        return _dependency_loop_error(lines)
    while msg.startswith("error: "):       # the CLI says "error:" once
        msg = msg[len("error: "):]
    if not msg:
        msg = " ".join(lines[1:2]) or "Kconfig error"
    if path is not None and os.path.isabs(path):
        root = str(Path(tree).resolve()) + os.sep
        if path.startswith(root):
            path = path[len(root):]
    return KwhenError(msg, path=path, line=line)


def _dependency_loop_error(lines: list[str]) -> KwhenError:
    """kconfiglib's many-line loop report as one line: the symbols in order."""
    items = [m for m in map(_LOOP_ITEM_RE.match, lines) if m]
    if not items:
        return KwhenError("dependency loop in Kconfig")
    shown = items if len(items) <= 8 else items[:7]
    chain = " -> ".join(f"{m['name']} ({m['path']}:{m['line']})" for m in shown)
    if len(shown) < len(items):
        chain += f" -> ... ({len(items) - len(shown)} more)"
    first = items[0]
    return KwhenError(f"dependency loop: {chain} -> {first['name']}",
                      path=first["path"], line=int(first["line"]))


def load_kconfig(tree: Path, arch: str, srcarch: str, trust_tree: bool = False) -> KwhenKconfig:
    """Parse the Kconfig files of `tree` for one architecture.

    Nothing from the tree runs unless `trust_tree`. Warnings are kept in
    `kconf.warnings`, never printed. Raises KwhenError on bad input.
    """
    tree = Path(tree)
    if not (tree / "Kconfig").is_file():
        raise KwhenError("not a Kconfig tree (no top-level Kconfig file)", path=str(tree))
    environment = kconfig_environment(tree, arch, srcarch, trust_tree)
    with kconfig_env(environment):
        try:
            kconf = KwhenKconfig("Kconfig", trust=trust_tree,
                                 environment=None if trust_tree else environment)
        except (kconfiglib.KconfigError, OSError) as exc:
            raise kwhen_error_of(exc, tree) from None
        except RecursionError:
            raise KwhenError("Kconfig nesting too deep", path=str(tree)) from None
    return kconf


def is_shell_marker(name: str) -> bool:
    """Whether `name` is a marker standing for a $(shell,...) result kwhen did not run."""
    return _MARKER_RE.fullmatch(name) is not None
