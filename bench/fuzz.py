"""A bounded fuzzer for kwhen's readers of untrusted text (issue 9).

Each reader (Kconfig, Makefile, cpp, diff, mbox) is fed mutations of a few
hand-written seeds through kwhen's public reading APIs, in this process, one
input at a time under a per-input alarm. An input may end in three ways:

- it is read, or it raises `KwhenError` (bad input, said in one line): fine;
- it raises anything else: a bug. The input is shrunk (lines, then
  characters) and printed, with the exception and where it was raised;
- it runs past the per-input limit: a hang, counted and printed.

Mutations: byte flips, truncation, splicing two seeds, inserting a token of
the reader's language, duplicating or deleting a run of lines (nesting and
unbalanced blocks). Everything is seeded: a run is reproducible.

    python3 -m bench.fuzz --seconds 300 --seed 1              # every reader in turn
    python3 -m bench.fuzz --reader cpp --seconds 10 --seed 1

`tests/test_fuzz.py` runs a short, fixed-seed pass of every reader.
Nothing here is taken from Linux or U-Boot: the seeds are written by hand.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from kwhen.exceptions import KwhenError

# -- seeds and tokens, by hand ----------------------------------------------------------

KCONFIG_SEEDS = [
    'source "arch/$(SRCARCH)/Kconfig"\nconfig A\n\tbool "a"\n\tdefault y\n\thelp\n\t  text\n\n'
    'config B\n\ttristate "b"\n\tdepends on A || C=m\n\tselect D if A\n\timply E\n',
    'menu "m"\n\tvisible if A\nconfig C\n\ttristate\n\tdefault m if A\nendmenu\n'
    'choice\n\tprompt "c"\n\tdefault X1\nconfig X1\n\tbool "x1"\nconfig X2\n\tbool "x2"\nendchoice\n',
    'if A\nconfig D\n\tbool\nconfig E\n\tint "e"\n\trange 1 10\n\tdefault 3\nendif\n'
    'menuconfig F\n\tbool "f"\n\tdepends on E > 2 && "$(CC)" != ""\n',
    'm := $(shell,echo y)\nconfig G\n\tdef_bool $(m)\n\tmodules\nconfig H\n\tstring "h"\n'
    '\tdefault "$(ARCH) $(srctree)"\n\ttransitional\nconfig I\n\thex\n\tdefault 0x10\n'
    '\tdepends on B if A\ncomment "c"\n\tdepends on !A\n',
]
KCONFIG_TOKENS = ["config ", "menuconfig ", "bool", "tristate", "depends on ", "select ", "if ",
                  "endif", "menu \"x\"", "endmenu", "choice", "endchoice", "source \"", "$(",
                  ")", "\"", "&&", "||", "!", "=m", "help\n", "\t", "\n", "visible if ",
                  "default ", "range ", "option ", "$(shell,", "$(info,x)", "\\\n", "#", "\xff",
                  "\x00", "rsource \"", "osource \"*\"", "imply ", "modules", "transitional"]

MAKEFILE_SEEDS = [
    "obj-y += a.o\nobj-$(CONFIG_A) += b.o sub/\nobj-$(CONFIG_B) += c.o\n"
    "c-y := c1.o c2.o\nifeq ($(CONFIG_HZ),100)\nobj-y += hz.o\nelse\nobj-m += nohz.o\nendif\n",
    "x := $(patsubst %.c,%.o,$(wildcard $(src)/*.c))\nobj-y += $(x)\n"
    "define tmpl\nobj-$$(CONFIG_$(1)) += $(2).o\nendef\n$(eval $(call tmpl,A,d))\n"
    "ifneq ($(filter y m,$(CONFIG_B)),)\nobj-y += e.o\nendif\n",
    "ifdef CONFIG_A\ninclude sub/Makefile\nendif\n-include missing.mk\n"
    "lib-y := $(if $(CONFIG_S),s.o,t.o)\nobj-y += $(foreach d,x y,$(d)/)\n"
    "export V := 1\nunexport V\nundefine V\nobj-$(subst n,y,$(CONFIG_A)) += f.o\n",
    "X = $(Y)\nY := $(X) a.o\nobj-y += $(X)\n$(error stop)\nobj-y += $(shell echo x.o)\n"
    "ifeq (,$(findstring y,$(CONFIG_A)))\nobj-y += g.o\nendif\n",
]
MAKEFILE_TOKENS = ["$(", ")", "${", "}", "$$", "obj-y", "obj-m", "obj-$(CONFIG_A)", " += ",
                   " := ", " = ", " ?= ", "ifeq (", "ifneq (", "ifdef ", "ifndef ", "else\n",
                   "endif\n", "define x\n", "endef\n", "include ", ",", "\\\n", "#", "\t",
                   "\n", "%", "$(call ", "$(eval ", "$(foreach ", "$(if ", "$(patsubst ",
                   "$(wildcard ", "$(shell ", "=", ":", "\x00", "\xff", "$( ", "/"]

CPP_SEEDS = [
    "#ifndef GUARD_H\n#define GUARD_H\n#include <linux/x.h>\n"
    "#if defined(CONFIG_A) && CONFIG_HZ > 100\nint a;\n#elif IS_ENABLED(CONFIG_B)\n"
    "static inline void f(void) {}\n#else\n/* comment */ int b;\n#endif\n#endif /* GUARD_H */\n",
    "#ifdef CONFIG_A\n#define X 1\n#endif\n#if X\nvoid g(int a)\n{\n\treturn;\n}\n#endif\n"
    "#undef X\n#if !defined(X) || (X + 1) * 2 == 4\nchar *s = \"#if\";\n#endif\n",
    "#if IS_BUILTIN(CONFIG_B) || IS_MODULE(CONFIG_B)\n// line comment \\\n continued\n"
    "#define M(a, b) ((a) ? (b) : 0)\n#if M(1, CONFIG_A)\nint c;\n#endif\n#endif\n"
    "#if __has_include(<x.h>) && 0x10 >> 2 == 4 && 'a' == 97\nint d;\n#endif\n",
]
CPP_TOKENS = ["#if ", "#ifdef ", "#ifndef ", "#elif ", "#else\n", "#endif\n", "#define ",
              "#undef ", "defined(", ")", "(", "CONFIG_A", "CONFIG_B", "IS_ENABLED(", "&&", "||",
              "!", "/*", "*/", "//", "\"", "'", "\\\n", "\n", "?", ":", "<<", "0x", "1", "-",
              "#", "##", "\x00", "\xff", "{", "}", ";", "#elifdef ", "#elifndef "]

DIFF_SEEDS = [
    "diff --git a/f.c b/f.c\nindex 1234567..89abcde 100644\n--- a/f.c\n+++ b/f.c\n"
    "@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n+two and a half\n three\n",
    "diff --git a/new.c b/new.c\nnew file mode 100644\n--- /dev/null\n+++ b/new.c\n"
    "@@ -0,0 +1,2 @@\n+int x;\n+int y;\n"
    "diff --git a/f.c b/g.c\nsimilarity index 90%\nrename from f.c\nrename to g.c\n"
    "--- a/f.c\n+++ b/g.c\n@@ -2 +2 @@\n-two\n+deux\n\\ No newline at end of file\n",
    "--- f.c\t2020-01-01\n+++ f.c\t2020-01-02\n@@ -1,2 +1,2 @@ func\n-one\n+uno\n two\n"
    "diff --git \"a/sp ace.c\" \"b/sp ace.c\"\ndeleted file mode 100644\n--- \"a/sp ace.c\"\n"
    "+++ /dev/null\n@@ -1 +0,0 @@\n-gone\nGIT binary patch\nliteral 0\n",
]
DIFF_TOKENS = ["diff --git a/f.c b/f.c\n", "--- a/f.c\n", "+++ b/f.c\n", "@@ -1,2 +1,2 @@\n",
               "@@ -0,0 +1 @@\n", "+", "-", " ", "\\ No newline at end of file\n", "\n",
               "/dev/null", "rename from ", "rename to ", "new file mode 100644\n", "\"",
               "\\", "\r\n", "\x00", "\xff", "@@ ", ",", "GIT binary patch\n", "Binary files "]

MBOX_SEEDS = [
    "From 1234567890abcdef Mon Sep 17 00:00:00 2001\nFrom: A Person <a@example.org>\n"
    "Date: Tue, 1 Dec 2026 10:00:00 +0000\nSubject: [PATCH 1/2] f: change\n"
    "Message-ID: <1@example.org>\n\nBody.\n\n---\n" + DIFF_SEEDS[0] + "-- \n2.40.0\n\n"
    "From 1234567890abcdef Mon Sep 17 00:00:00 2001\nFrom: =?utf-8?q?B=C3=A9?= <b@example.org>\n"
    "Subject: [PATCH 2/2] g\n\n" + DIFF_SEEDS[1],
    "From: c@example.org\nSubject: Re: [PATCH v2] x\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"BB\"\n\n--BB\nContent-Type: text/plain\n\nhi\n"
    "--BB\nContent-Type: text/x-patch; name=\"a.patch\"\nContent-Transfer-Encoding: base64\n\n"
    "ZGlmZiAtLWdpdCBhL2YuYyBiL2YuYwotLS0gYS9mLmMKKysrIGIvZi5jCkBAIC0xICsxIEBACi1vbmUKK3Vubwo=\n"
    "--BB--\n",
    "From: d@example.org\nSubject: [PATCH] qp\nContent-Transfer-Encoding: quoted-printable\n"
    "Content-Type: text/plain; charset=iso-8859-1\n\n---\ndiff --git a/f.c b/f.c\n--- a/f.c\n"
    "+++ b/f.c\n@@ -1 +1 @@\n-one\n+=E9t=\n=C3=A9\n",
]
MBOX_TOKENS = ["From ", "From: ", "Subject: ", "Date: ", "Content-Type: ", "charset=",
               "Content-Transfer-Encoding: ", "base64", "quoted-printable", "=?utf-8?b?",
               "?=", "<", ">", "@", ":", ";", "\n\n", "\n", "[PATCH ", "/", "]", "--BB\n",
               "boundary=", "\"", "=", "\r\n", "\x00", "\xff", ">From ", "Mon, 99 Foo 99999"]

# The tree files the Kconfig, Makefile and diff readers see beside the input.
_ARCH_KCONFIG = "config ARCH_SYM\n\tdef_bool y\n"
_SUB_MAKEFILE = "obj-y += s.o\nobj-$(CONFIG_C) += t.o\n"
_BASE_FILE = "one\ntwo\nthree\n"
_SYMBOL_TYPES = {"A": "bool", "B": "tristate", "C": "tristate", "D": "bool", "E": "int",
                 "HZ": "int", "S": "string"}


# -- the readers ---------------------------------------------------------------------

class _Workspace:
    """A temporary tree the file-based readers read from."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="kwhen-fuzz-"))
        (self.root / "arch" / "test").mkdir(parents=True)
        (self.root / "arch" / "test" / "Kconfig").write_text(_ARCH_KCONFIG)
        (self.root / "sub").mkdir()
        (self.root / "sub" / "Makefile").write_text(_SUB_MAKEFILE)
        for name in ("a.c", "b.c", "c.c", "sub/s.c", "sub/t.c", "f.c"):
            (self.root / name).write_text(_BASE_FILE)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        return path

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def read_kconfig(text: str, ws: _Workspace) -> None:
    from kwhen.kconfig.translate import build_model
    ws.write("Makefile", "VERSION = 6\n")
    ws.write("Kconfig", text)
    build_model(ws.root, "test")


def read_makefile(text: str, ws: _Workspace) -> None:
    from kwhen.kbuild.tree import kbuild_conditions
    from kwhen.kconfig.model import SymbolInfo
    ws.write("Kbuild", text)
    result = kbuild_conditions(ws.root, "test", "test",
                               {n: SymbolInfo(t) for n, t in _SYMBOL_TYPES.items()})
    for cond in result.files.values():
        str(cond)


def read_cpp(text: str, ws: _Workspace) -> None:
    from kwhen.cpp.definitions import find_definitions
    from kwhen.cpp.directives import scan
    structure = scan(text, "f.c", _SYMBOL_TYPES)
    for line in range(1, text.count("\n") + 2):
        structure.condition_at(line)
    for block in structure.blocks:
        str(block.condition)
    for name in ("f", "g", "a", "M"):
        find_definitions(text, name, "f.c")


def read_diff(text: str, ws: _Workspace) -> None:
    from kwhen.patch.diff import apply, parse_diff
    for fp in parse_diff(text, "p.diff"):
        apply(_BASE_FILE if fp.old_path else None, fp, "p.diff")


def read_mbox(text: str, ws: _Workspace) -> None:
    from kwhen.patch.diff import parse_diff
    from kwhen.patch.mbox import looks_like_mail, read_patches
    looks_like_mail(text)
    for mail in read_patches(text, "m.mbox"):
        parse_diff(mail.diff_text, "m.mbox", first_line=mail.first_line or 1)


@dataclass
class Reader:
    name: str
    read: object
    seeds: list
    tokens: list


READERS = {r.name: r for r in (
    Reader("kconfig", read_kconfig, KCONFIG_SEEDS, KCONFIG_TOKENS),
    Reader("makefile", read_makefile, MAKEFILE_SEEDS, MAKEFILE_TOKENS),
    Reader("cpp", read_cpp, CPP_SEEDS, CPP_TOKENS),
    Reader("diff", read_diff, DIFF_SEEDS, DIFF_TOKENS),
    Reader("mbox", read_mbox, MBOX_SEEDS, MBOX_TOKENS),
)}


# -- mutation ---------------------------------------------------------------------------

def mutate(rng: random.Random, text: str, reader: Reader) -> str:
    """One to four random edits of `text`."""
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(7)
        n = len(text)
        at = rng.randint(0, n)
        if kind == 0 and n:                        # flip a byte (as a code point)
            i = rng.randrange(n)
            text = text[:i] + chr(ord(text[i]) ^ (1 << rng.randrange(8))) + text[i + 1:]
        elif kind == 1:                            # truncate
            text = text[:at]
        elif kind == 2:                            # splice another seed in
            other = rng.choice(reader.seeds)
            j = rng.randint(0, len(other))
            text = text[:at] + other[j:j + rng.randint(1, 200)] + text[at:]
        elif kind in (3, 4):                       # insert a token of the language
            text = text[:at] + rng.choice(reader.tokens) + text[at:]
        else:                                      # duplicate or delete a run of lines
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            k = rng.randint(1, 6)
            if kind == 5:
                lines[i:i] = lines[i:i + k] * rng.randint(1, 8)
            else:
                del lines[i:i + k]
            text = "\n".join(lines)
    return text[:20000]


# -- running ---------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the per-input alarm (a BaseException: kwhen must not catch it)."""


def _on_alarm(signum, frame):
    raise Hang()


def _where(exc: BaseException) -> str:
    """The innermost kwhen frame of a traceback: file:line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/kwhen/" in f.filename]
    frame = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return f"{frame.filename.rsplit('/kwhen/', 1)[-1]}:{frame.lineno}"


def outcome(reader: Reader, text: str, ws: _Workspace, limit: float) -> tuple[str, str | None]:
    """("ok" | "error" | "bug" | "hang", signature of a bug)."""
    signal.setitimer(signal.ITIMER_REAL, limit)
    started = time.perf_counter()
    try:
        reader.read(text, ws)
        result = ("ok", None)
    except KwhenError:
        result = ("error", None)
    except Hang:
        return "hang", None
    except RecursionError as exc:
        result = ("bug", f"RecursionError at {_where(exc)}")
    except Exception as exc:  # what the fuzzer is looking for
        result = ("bug", f"{type(exc).__name__} at {_where(exc)}: {str(exc)[:80]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if time.perf_counter() - started > limit:
        return "hang", None      # stuck in C code the alarm could not interrupt
    return result


def shrink(reader: Reader, text: str, ws: _Workspace, signature: str, limit: float,
           budget: int = 300) -> str:
    """A smaller input with the same bug: drop runs of lines, then characters."""
    def same(candidate: str) -> bool:
        nonlocal budget
        budget -= 1
        kind, sig = outcome(reader, candidate, ws, limit)
        return kind == "bug" and sig.split(":")[0] == signature.split(":")[0]

    for unit in ("\n", ""):
        parts = text.split("\n") if unit else list(text)
        chunk = max(1, len(parts) // 2)
        while chunk >= 1 and budget > 0:
            i = 0
            while i < len(parts) and budget > 0:
                candidate = parts[:i] + parts[i + chunk:]
                if same(unit.join(candidate)):
                    parts = candidate
                else:
                    i += chunk
            chunk //= 2
        text = unit.join(parts)
    return text


@dataclass
class Tally:
    reader: str
    seed: int
    seconds: float
    inputs: int = 0
    kwhen_errors: int = 0
    exceptions: int = 0                           # other than KwhenError: bugs
    hangs: int = 0
    bugs: dict = field(default_factory=dict)      # signature -> shrunk input
    hang_inputs: list = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.reader}: {self.inputs} inputs in {self.seconds:.0f} s, "
                f"{self.kwhen_errors} KwhenError, {self.exceptions} other exceptions "
                f"({len(self.bugs)} distinct), {self.hangs} hangs")


def fuzz(reader_name: str, seconds: float, seed: int, limit: float = 10.0,
         out=sys.stdout) -> Tally:
    """Fuzz one reader for `seconds`; report bugs and hangs on `out`."""
    reader = READERS[reader_name]
    rng = random.Random(f"{seed}:{reader_name}")
    ws = _Workspace()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    tally = Tally(reader_name, seed, seconds)
    deadline = time.monotonic() + seconds
    cwd = os.getcwd()
    os.chdir(ws.root)              # a one-line input never names a file of the caller's
    try:
        for text in reader.seeds:
            _count(tally, reader, text, ws, limit, out)
        while time.monotonic() < deadline:
            text = mutate(rng, rng.choice(reader.seeds), reader)
            _count(tally, reader, text, ws, limit, out)
    finally:
        os.chdir(cwd)
        signal.signal(signal.SIGALRM, previous)
        ws.close()
    return tally


def _count(tally: Tally, reader: Reader, text: str, ws: _Workspace, limit: float, out) -> None:
    tally.inputs += 1
    kind, signature = outcome(reader, text, ws, limit)
    if kind == "error":
        tally.kwhen_errors += 1
    elif kind == "hang":
        tally.hangs += 1
        tally.hang_inputs.append(text)
        out.write(f"[{reader.name}] HANG (> {limit:g} s) on {text!r}\n")
    elif kind == "bug":
        tally.exceptions += 1
        if signature not in tally.bugs:
            small = shrink(reader, text, ws, signature, limit)
            tally.bugs[signature] = small
            out.write(f"[{reader.name}] BUG {signature}\n    input: {small!r}\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--reader", choices=sorted(READERS), action="append",
                        help="reader to fuzz (repeatable; default: all, one after another)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per reader")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=float, default=10.0, help="per input, seconds")
    args = parser.parse_args(argv)
    bad = 0
    for name in args.reader or list(READERS):
        tally = fuzz(name, args.seconds, args.seed, args.limit)
        print(tally.line(), flush=True)
        bad += tally.exceptions + tally.hangs
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
