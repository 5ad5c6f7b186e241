"""Architectures of a Kconfig tree: ARCH/SRCARCH names, the architecture
that owns a path, and defconfigs.

Nothing here runs make: the defconfig a Makefile names is read from its text.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.readfile import read_text

# The kernel's ARCH aliases (top Makefile: SRCARCH := ...).
ARCH_ALIASES = {
    "x86_64": "x86",
    "i386": "x86",
    "sparc32": "sparc",
    "sparc64": "sparc",
    "sh64": "sh",
    "parisc64": "parisc",
}

# platform.machine() -> the kernel's SRCARCH (as scripts/subarch.include does).
_HOST_MACHINES = [
    (re.compile(r"^(x86_64|amd64|i[3-6]86)$"), "x86"),
    (re.compile(r"^(aarch64|arm64)$"), "arm64"),
    (re.compile(r"^arm.*$"), "arm"),
    (re.compile(r"^(ppc|ppc64|ppc64le|powerpc.*)$"), "powerpc"),
    (re.compile(r"^(riscv|riscv32|riscv64)$"), "riscv"),
    (re.compile(r"^s390x?$"), "s390"),
    (re.compile(r"^mips.*$"), "mips"),
    (re.compile(r"^sparc.*$"), "sparc"),
    (re.compile(r"^(sh|sh[2-4].*)$"), "sh"),
    (re.compile(r"^parisc.*$"), "parisc"),
    (re.compile(r"^loongarch.*$"), "loongarch"),
    (re.compile(r"^m68k$"), "m68k"),
    (re.compile(r"^alpha$"), "alpha"),
    (re.compile(r"^ia64$"), "ia64"),
]


def host_srcarch() -> str | None:
    """The SRCARCH of the machine kwhen runs on, or None."""
    machine = platform.machine().lower()
    for pattern, srcarch in _HOST_MACHINES:
        if pattern.match(machine):
            return srcarch
    return None


def _check_tree(tree: Path) -> Path:
    tree = Path(tree)
    if not (tree / "Kconfig").is_file():
        raise KwhenError("not a Kconfig tree (no top-level Kconfig file)", path=str(tree))
    return tree


def list_arches(tree: Path) -> list[str]:
    """The SRCARCH names of `tree`: directories under arch/ with a Kconfig."""
    arch_dir = Path(tree) / "arch"
    if not arch_dir.is_dir():
        return []
    return sorted(p.name for p in arch_dir.iterdir()
                  if p.is_dir() and (p / "Kconfig").is_file())


def arch_of_path(relpath: str) -> str | None:
    """The architecture (SRCARCH) that owns a path of the tree: <A> for a
    file under arch/<A>/, which only A builds; None for generic code."""
    parts = relpath.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "arch" else None


def resolve_arch(tree: Path, arch: str | None) -> tuple[str, str]:
    """(ARCH, SRCARCH) for the user's `arch` (None: the host's)."""
    tree = _check_tree(tree)
    arches = list_arches(tree)
    if arch is None:
        host = host_srcarch()
        if host in arches:
            return host, host
        if not arches:
            raise KwhenError("no architectures found (no arch/*/Kconfig)", path=str(tree))
        raise KwhenError(
            f"the host architecture {platform.machine()!r} is not in this tree; "
            f"choose one with --arch (this tree has: {', '.join(arches)})",
            path=str(tree))
    if arch in arches:
        return arch, arch
    srcarch = ARCH_ALIASES.get(arch)
    if srcarch is not None and srcarch in arches:
        return arch, srcarch
    raise KwhenError(f"unknown architecture {arch!r} (this tree has: {', '.join(arches)})",
                     path=str(tree))


_ASSIGN = re.compile(r"^\s*KBUILD_DEFCONFIG\s*:?=\s*(\S.*?)\s*$")
_IFEQ = re.compile(r"^\s*(ifeq|ifneq)\s*\(\s*(.*?)\s*,\s*(.*?)\s*\)\s*$")
_IFDEF = re.compile(r"^\s*(ifdef|ifndef)\b")


def _else_of_if(s: str) -> str:
    """Replace each ``$(if C,A,B)`` by B (a condition kwhen cannot know)."""
    while True:
        start = s.find("$(if ")
        if start < 0:
            return s
        depth, args, arg_start = 0, [], start + 5
        for i in range(start + 1, len(s)):
            c = s[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    args.append(s[arg_start:i])
                    break
            elif c == "," and depth == 1:
                args.append(s[arg_start:i])
                arg_start = i + 1
        else:
            return s
        s = s[:start] + (args[2] if len(args) > 2 else "") + s[i + 1:]


def _makefile_defconfig(makefile: Path, arch: str, srcarch: str) -> str | None:
    """The KBUILD_DEFCONFIG a Makefile assigns, read as text.

    `ifeq`/`ifneq` over $(ARCH), $(SRCARCH) and $(SUBARCH) are evaluated;
    conditions kwhen cannot evaluate take their first branch. `$(if C,A,B)`
    is read as B (the fallback).
    """
    try:
        text = read_text(makefile, what="Makefile")
    except KwhenError:
        return None
    subarch = host_srcarch() or srcarch
    known = {"ARCH": arch, "SRCARCH": srcarch, "SUBARCH": subarch}

    def expand(s: str) -> str:
        s = re.sub(r"\$\((\w+)\)", lambda m: known.get(m.group(1), m.group(0)), s)
        s = _else_of_if(s)
        return s.strip().strip('"')

    stack: list[bool] = []      # active state of each enclosing conditional
    value = None
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        active = all(stack)
        m = _IFEQ.match(line)
        if m:
            a, b = expand(m.group(2)), expand(m.group(3))
            if "$(" in a or "$(" in b:
                cond = True
            else:
                cond = (a == b) == (m.group(1) == "ifeq")
            stack.append(cond)
            continue
        if _IFDEF.match(line):
            stack.append(True)
            continue
        stripped = line.strip()
        if stripped.startswith("else"):
            if stack:
                stack[-1] = not stack[-1]
            continue
        if stripped == "endif":
            if stack:
                stack.pop()
            continue
        m = _ASSIGN.match(line)
        if m and active:
            candidate = expand(m.group(1))
            if "$(" not in candidate:
                value = candidate
    return value


def defconfig_path(tree: Path, arch: str, srcarch: str) -> Path | None:
    """The defconfig `make defconfig` would use, or None (Kconfig defaults)."""
    tree = Path(tree)
    configs = tree / "arch" / srcarch / "configs"
    if srcarch == "x86":
        name = "i386_defconfig" if arch == "i386" else "x86_64_defconfig"
        path = configs / name
        if path.is_file():
            return path
    path = configs / "defconfig"
    if path.is_file():
        return path
    name = _makefile_defconfig(tree / "arch" / srcarch / "Makefile", arch, srcarch)
    if name:
        path = configs / name
        if path.is_file():
            return path
    # U-Boot keeps one defconfig per board in the top configs/ directory:
    # the architecture's own board is named after it (sandbox_defconfig),
    # else its QEMU board is the usual one to start from
    # (qemu_arm_defconfig, qemu-x86_defconfig, qemu-riscv32_defconfig)
    for name in (f"{arch}_defconfig", f"{srcarch}_defconfig", f"qemu_{arch}_defconfig",
                 f"qemu-{arch}_defconfig"):
        path = tree / "configs" / name
        if path.is_file():
            return path
    found = sorted((tree / "configs").glob(f"qemu[-_]{arch}*_defconfig"))
    return found[0] if found else None


def pin_arch_symbol(model) -> None:
    """Fix the architecture where Kconfig itself chooses it.

    Linux picks the architecture outside Kconfig (SRCARCH), and its symbol
    named after it (X86, ARM64) is always y. U-Boot sources every
    architecture's Kconfig and picks one in a choice (``Architecture
    select``: ARM, SANDBOX, X86, ...), so without this a model for
    ``--arch sandbox`` would also admit ARM configurations. The bool symbol
    named after SRCARCH, when there is one, is made y.
    """
    name = model.srcarch.upper()
    info = model.symbols.get(name)
    if info is None or info.type != "bool":
        return
    if name in model.var_names and name not in model.pinned:
        model.pinned.append(name)
