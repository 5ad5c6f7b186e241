"""kwhen against the kernel's own make and compiler, one configuration at a time.

For each configuration the kernel itself produces (randconfig with a
recorded KCONFIG_SEED, allnoconfig, tinyconfig, defconfig, allmodconfig,
allyesconfig), four layers are compared:

1. Kconfig: the .config satisfies kwhen's clauses.
2. Files: the sources make compiles (walk.mk: Kbuild's own reading of every
   directory makefile, run by the top Makefile) against the files whose
   kwhen Kbuild condition holds under the .config.
3. Lines: for a sample of compiled files, the #if branches gcc keeps
   (``gcc -E -fdirectives-only`` on the file with its #include lines
   blanked and the kernel's autoconf.h and kconfig.h forced in) against
   kwhen's branch conditions, on the branches whose kwhen condition the
   .config decides (a condition naming a macro that is not a Kconfig symbol
   is free in kwhen and is not compared).
4. Witnesses (per architecture, `witnesses`): kwhen's witness for a
   condition of a real line, written as a .config, survives
   ``make olddefconfig`` with the condition still true and the symbols it
   names unchanged.

kmax's per-unit conditions, where given (x86), are measured against make on
the same configurations. Every make and gcc process runs under ``nice``
with one job; the kernel tree is only read (O= points outside it).
"""

from __future__ import annotations

import json
import os
import posixpath
import random
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kwhen.logic.formula import FALSE, TRUE, Formula, disj

HERE = Path(__file__).resolve().parent
WALK_MK = HERE / "walk.mk"

CONFIG_TARGETS = ("allnoconfig", "tinyconfig", "defconfig", "allmodconfig", "allyesconfig")


@dataclass(frozen=True)
class Arch:
    name: str          # the kernel's ARCH= value
    kwhen_arch: str    # kwhen's --arch
    cc: str            # the compiler the kernel build uses
    cc_flags: tuple = ()
    cross: str = ""    # CROSS_COMPILE prefix


ARCHES = {
    "x86_64": Arch("x86_64", "x86_64", "gcc", ("-m64",)),
    "i386": Arch("i386", "i386", "gcc", ("-m32",)),
    "arm64": Arch("arm64", "arm64", "aarch64-linux-gnu-gcc", (), "aarch64-linux-gnu-"),
}


def nice(cmd: list) -> list:
    return ["nice", "-n", "15", *cmd]


class Oracle:
    """The kernel's make and gcc for one architecture, in one output dir."""

    def __init__(self, tree: Path, work: Path, arch: Arch, purpose: str = ""):
        self.tree = Path(tree)
        self.work = Path(work)
        self.arch = arch
        self.out = self.work / "build" / (arch.name + (f"-{purpose}" if purpose else ""))
        self.out.mkdir(parents=True, exist_ok=True)

    def make(self, *args, env=None, timeout=1800) -> subprocess.CompletedProcess:
        cmd = ["make", "-s", "-C", str(self.tree), f"O={self.out}", f"ARCH={self.arch.name}"]
        if self.arch.cross:
            cmd.append(f"CROSS_COMPILE={self.arch.cross}")
        full_env = dict(os.environ)
        full_env.pop("MAKEFLAGS", None)
        full_env.update(env or {})
        done = subprocess.run(nice(cmd + list(args)), capture_output=True, text=True,
                              env=full_env, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"make {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done

    def configure(self, name: str) -> Path:
        """Make configuration `name` (randconfig-SEED or a *config target)
        current in the output directory; the path of its .config."""
        if name.startswith("randconfig-"):
            self.make("randconfig", env={"KCONFIG_SEED": name.split("-", 1)[1]})
        elif name in CONFIG_TARGETS:
            self.make(name)
        else:
            raise ValueError(f"unknown configuration {name}")
        self.make("syncconfig")
        return self.out / ".config"

    def use_config(self, config_text: str) -> None:
        """Make a recorded .config current again (autoconf.h with it)."""
        (self.out / ".config").write_text(config_text)
        self.make("syncconfig")

    def olddefconfig(self, config_text: str) -> Path:
        """The .config Kconfig makes of `config_text` (make olddefconfig)."""
        (self.out / ".config").write_text(config_text)
        self.make("olddefconfig")
        return self.out / ".config"

    # -- files: make's own reading of the directory makefiles ---------------

    def walk(self) -> list:
        """[(dir, need_builtin, need_modorder, {list: words})] per visit."""
        done = self.make(f"build=-f {WALK_MK} obj", "scripts_basic")
        visits, current = [], None
        for line in done.stdout.splitlines():
            if line.startswith("KWHEN-DIR "):
                _, d, nb, nm = line.split()
                current = (d, nb == "1", nm == "1", {})
                visits.append(current)
            elif line.startswith("KWHEN ") and current is not None:
                parts = line.split()
                if parts[1] == current[0]:
                    current[3][parts[2]] = parts[3:]
        if not visits:
            raise RuntimeError("walk.mk printed nothing: " + done.stderr[-2000:])
        return visits

    def own_rule_dirs(self, visits: list) -> list:
        """Visits of directories that build objects by rules of their own:
        `targets` names an object, linker script or .s the obj lists do not
        (the vDSO), or the makefile runs a nested $(build)= (realmode/rm)."""
        out = []
        for d, nb, nm, lists in visits:
            if d == ".":
                continue
            listed = set()
            for name in ("real-obj-y", "real-obj-m", "lib-y", "extra-y"):
                listed.update(lists.get(name, ()))
            own = any(w.endswith((".o", ".lds", ".s")) and w not in listed
                      for w in lists.get("targets", ()))
            if not own:
                for name in ("Kbuild", "Makefile"):
                    mk = self.tree / d / name
                    if mk.is_file():
                        own = "$(build)=" in mk.read_text(errors="replace")
                        break
            if own:
                out.append((d, nb, nm))
        return out

    _COMPILE = re.compile(r" -o (\S+) (\S+\.[cS])(?=\s|$)")

    def dry_run(self, dirs: list) -> dict:
        """{source: "y"/"m"} that `make -n` of Makefile.build on each
        directory would compile with the kernel's compiler (-nostdinc)."""
        if not dirs:
            return {}
        spec = " ".join(f"{d}:{int(nb)}:{int(nm)}" for d, nb, nm in dirs)
        done = self.make(f"build=-f {WALK_MK} obj", f"KWHEN_DRY={spec}", "scripts_basic")
        prefix = str(self.tree) + "/"
        out = {}
        for line in done.stdout.splitlines():
            if "-nostdinc" not in line:
                continue
            for m in self._COMPILE.finditer(line):
                src = m.group(2)
                if not src.startswith(prefix):
                    continue      # generated in the output directory
                src = posixpath.normpath(src[len(prefix):])
                how = "m" if " -DMODULE " in line else "y"
                old = out.get(src, "")
                if how not in old:
                    out[src] = "".join(sorted(old + how, key="ym".index))
        return out

    def source_of(self, obj: str) -> str | None:
        """The source file make compiles obj from: Makefile.build's pattern
        rules try %.c before %.S; an object without either is generated."""
        stem = obj[:-2]
        for ext in (".c", ".S"):
            if (self.tree / (stem + ext)).is_file():
                return stem + ext
        return None

    def compiled(self, visits: list) -> tuple[dict, list]:
        """{source: "y"/"m"/"ym"} make compiles with its default goal (vmlinux
        and modules), and the objects without a source in the tree.

        As in scripts/Makefile.build's __build: real-obj-y under
        need-builtin (built-in.a), lib-y and extra-y always (lib.a and
        targets-for-builtin), real-obj-m always (KBUILD_MODULES=1 for `make`
        with no goal), and the root Kbuild's `targets` .s files, which its
        `prepare` (asm-offsets.h, bounds.h) needs.
        """
        out: dict = {}
        generated = set()

        def add(obj, how):
            obj = posixpath.normpath(obj)    # amdgpu's ../display/ parts
            if obj.endswith(".lds"):
                src = obj + ".S" if (self.tree / (obj + ".S")).is_file() else None
            elif obj.endswith(".s"):
                src = obj[:-2] + ".c" if (self.tree / (obj[:-2] + ".c")).is_file() else None
            elif obj.endswith(".o"):
                src = self.source_of(obj)
            else:
                return
            if src is None:
                generated.add(obj)
                return
            old = out.get(src, "")
            if how not in old:
                out[src] = "".join(sorted(old + how, key="ym".index))

        for d, nb, _nm, lists in visits:
            if nb:
                for w in lists.get("real-obj-y", ()):
                    add(w, "y")
            for w in lists.get("lib-y", ()) + lists.get("extra-y", ()):
                add(w, "y")
            for w in lists.get("real-obj-m", ()):
                add(w, "m")
            if d == ".":
                for w in lists.get("targets", ()):
                    if w.endswith(".s"):
                        add(w, "y")
        return out, sorted(generated)

    # -- lines: which #if branches gcc keeps --------------------------------

    def kept_lines(self, relpath: str, module: bool) -> set | None:
        """Line numbers of `relpath` that gcc's preprocessor outputs, with
        the file's #include lines blanked (headers are not read: a branch
        depending on a header's macro is not compared) and autoconf.h and
        kconfig.h forced in as the kernel's command line does."""
        text = (self.tree / relpath).read_text(errors="replace")
        blanked = re.sub(r"(?m)^[ \t]*#[ \t]*include(_next)?\b.*$", "", text)
        assembly = relpath.endswith(".S")
        with tempfile.TemporaryDirectory(dir=self.work) as tmp:
            name = Path(tmp) / ("unit.S" if assembly else "unit.c")
            name.write_text(blanked)
            cmd = [self.arch.cc, *self.arch.cc_flags, "-E", "-fdirectives-only", "-nostdinc",
                   "-D__KERNEL__", "-I", str(self.out / "include"),
                   "-include", str(self.tree / "include/linux/kconfig.h")]
            if assembly:
                cmd += ["-x", "assembler-with-cpp", "-D__ASSEMBLY__"]
            if module:
                cmd.append("-DMODULE")
            done = subprocess.run(nice(cmd + [str(name)]), capture_output=True, text=True,
                                  errors="replace", timeout=120)
        return _output_lines(done.stdout, str(name))


    # -- lines with the headers followed (issue 10) -------------------------

    def prepare(self) -> None:
        """What the kernel's make needs before compiling one file: the
        generated headers (include/generated/*, arch/*/include/generated/*,
        asm-offsets.h, bounds.h) and the tools a compile command names
        (objtool), in the output directory."""
        self.make("prepare")

    def compile_commands(self, objects: dict) -> dict:
        """{source: argv} of the compiler command make would run for each
        {source: object} (``make -n V=1`` of the objects as single
        targets: the kernel's own flags, include path and -include's, with
        -DMODULE where the object is part of a module)."""
        if not objects:
            return {}
        cmd = ["make", "-n", "-k", "V=1", "-C", str(self.tree), f"O={self.out}",
               f"ARCH={self.arch.name}"]
        if self.arch.cross:
            cmd.append(f"CROSS_COMPILE={self.arch.cross}")
        env = dict(os.environ)
        env.pop("MAKEFLAGS", None)
        done = subprocess.run(nice(cmd + sorted(set(objects.values()))), capture_output=True,
                              text=True, errors="replace", env=env, timeout=1800)
        wanted = {f" -o {obj} {self.tree}/{src}": src for src, obj in objects.items()}
        out = {}
        for line in done.stdout.splitlines():
            if "-nostdinc" not in line or " -c -o " not in line:
                continue
            try:
                words = shlex.split(line)
            except ValueError:
                continue
            for word in words:
                for part in word.split(";"):
                    text = part.strip()
                    if " -c -o " not in text:
                        continue
                    src = next((s for key, s in wanted.items() if text.endswith(key)), None)
                    if src is not None and src not in out:
                        out[src] = shlex.split(text)
        return out

    def kept_with_headers(self, relpath: str, argv: list) -> tuple[dict, dict] | None:
        """({file: kept lines}, {file: its includer}) for every file of the
        tree in the compilation of `relpath` by `argv` (the kernel's own
        command), run as ``-E -fdirectives-only``: #if lines decided with
        every header and generated header the build reads. None when gcc
        produced nothing for the file, or failed: its output stops at the
        error (an #include of a header the build generates later than
        `make prepare`, lib/crc32.c's crc32table.h), and the lines after it
        would count as compiled out."""
        cmd, skip = [], False
        for i, word in enumerate(argv):
            if skip:
                skip = False
                continue
            if word == "-c" or word.startswith("-Wp,-MMD") or word.startswith("-Wp,-MD"):
                continue
            if word == "-o":
                skip = True
                continue
            cmd.append(word)
        cmd[1:1] = ["-E", "-fdirectives-only"]
        done = subprocess.run(nice(cmd), capture_output=True, text=True, errors="replace",
                              timeout=600, cwd=self.out)
        if done.returncode != 0:
            return None
        kept, parents = _output_files(done.stdout, str(self.tree) + "/")
        if relpath not in kept:
            return None
        return kept, parents

# gcc writes a line marker after a skipped region, after the indentation of
# the directive that ended it when that was indented (`\t# 1052 "unit.c"`)
_MARKER = re.compile(r'^[ \t]*# (\d+) "(.*)"')


def _output_lines(output: str, name: str) -> set | None:
    """Source lines of `name` that appear non-blank in cpp output."""
    kept = set()
    current, line, seen = None, 0, False
    for text in output.split("\n"):
        m = _MARKER.match(text)
        if m:
            current, line = m.group(2), int(m.group(1))
            seen = seen or current == name
            continue
        if current == name and text.strip():
            kept.add(line)
        line += 1
    return kept if seen else None



def _output_files(output: str, prefix: str) -> tuple[dict, dict]:
    """({tree file: lines non-blank in cpp output}, {tree file: the file
    that first included it}) from gcc's line markers; files outside the
    tree (generated ones in the output directory) are left out."""
    kept: dict = {}
    parents: dict = {}
    stack: list = []
    current, line = None, 0
    for text in output.split("\n"):
        m = _MARKER_FLAGS.match(text)
        if m:
            name, line = m.group(2), int(m.group(1))
            flags = m.group(3).split()
            if "1" in flags:
                stack.append(current)
                if name.startswith(prefix) and current and current.startswith(prefix):
                    parents.setdefault(posixpath.normpath(name[len(prefix):]),
                                       posixpath.normpath(current[len(prefix):]))
            elif "2" in flags and stack:
                stack.pop()
            current = name
            if name.startswith(prefix):
                kept.setdefault(posixpath.normpath(name[len(prefix):]), set())
            continue
        if current is not None and current.startswith(prefix) and text.strip():
            kept[posixpath.normpath(current[len(prefix):])].add(line)
        line += 1
    return kept, parents


_MARKER_FLAGS = re.compile(r'^[ \t]*# (\d+) "(.*)"((?: \d)*)\s*$')

# -- kwhen's side ------------------------------------------------------------------

def residual(f: Formula, assignment: dict) -> Formula:
    return f.substitute(lambda n: (TRUE if assignment[n] else FALSE) if n in assignment else None)


_COMPARISON = re.compile(r"^([A-Za-z0-9_]+)(=|!=|<=|>=|<|>)(.*)$")


_BARE_HEX = re.compile(r"(?m)^(CONFIG_[A-Za-z0-9_]+=)([0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*)$")


def config_values(tree, config: Path) -> tuple[dict, dict]:
    """(y/m/n of every bool/tristate symbol, raw .config values).

    Kconfig writes a hex symbol's value as its user gave it, which may lack
    the 0x (``CONFIG_RADIO_GEMTEK_PORT=34c`` from randconfig); kwhen's
    reader rejects such a line, so it is given the 0x here first.
    """
    from kwhen.kconfig.dotconfig import read_dotconfig, values_for_model

    text = Path(config).read_text(errors="replace")
    fixed = _BARE_HEX.sub(r"\g<1>0x\g<2>", text)
    with tempfile.NamedTemporaryFile("w", suffix=".config") as f:
        f.write(fixed)
        f.flush()
        raw = read_dotconfig(Path(f.name))
    return values_for_model(tree.model, raw), raw


_DEFINED_CONFIG = re.compile(r"defined\(CONFIG_(\w+)\)")


def assignment_for(tree, values: dict, raw: dict, names) -> dict:
    """kwhen's variables under a configuration: symbols, and the
    comparisons (``HZ=100``) among `names` whose symbol the .config sets."""
    from kwhen.kconfig.model import assignment_of_values

    from kwhen.logic.values import canonical, split_value_var

    out = assignment_of_values(tree.model, values)
    for name in names:
        if name in out:
            continue
        value = split_value_var(name)
        if value is not None:
            # ARM64_PAGE_SHIFT:=12: the symbol has that value (canonical text)
            sym, want = value
            info = tree.model.symbols.get(sym)
            have = raw.get(sym)
            if info is not None and have is not None:
                out[name] = canonical(info.type, have.strip('"') if info.type != "string"
                                      else have[1:-1] if have.startswith('"') else have) == want
            elif info is not None:
                out[name] = False       # not set: no value at all
            continue
        defined = _DEFINED_CONFIG.fullmatch(name)
        if defined is not None:
            # defined(CONFIG_X) of an int/hex/string symbol: autoconf.h has
            # it exactly when the .config sets it
            out[name] = raw.get(defined.group(1)) not in (None, "n")
            continue
        m = _COMPARISON.match(name)
        if not m or name.endswith("=m"):
            continue
        sym, op, want = m.groups()
        have = raw.get(sym)
        if have is None:
            continue
        out[name] = _compare(have.strip('"'), op, want.strip('"'))
    return out


def _compare(have: str, op: str, want: str) -> bool:
    def num(s):
        return int(s, 16) if s.lower().startswith(("0x", "-0x")) else int(s)
    try:
        a, b = num(have), num(want)
    except ValueError:
        a, b = have, want
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b,
            ">": a > b, ">=": a >= b}[op]


def truth(f: Formula) -> bool | None:
    return True if f is TRUE else False if f is FALSE else None


# -- kmax ------------------------------------------------------------------------

def kmax_conditions(tree, pickle_path: Path, cache: Path) -> dict:
    """kmax's condition per source file as kwhen Formulas (bench/agreement's
    reading of kmax's z3 formulas), cached as JSON beside the results."""
    from kwhen.logic.formula import from_data

    if cache.is_file():
        return {p: from_data(d) for p, d in json.loads(cache.read_text()).items()}
    import pickle

    from bench.agreement import from_z3, kmax_formula

    with open(pickle_path, "rb") as f:
        units = pickle.load(f)
    out = {}
    for unit, smt in units.items():
        if not unit.endswith(".o"):
            continue
        stem = unit[:-2]
        src = next((stem + e for e in (".c", ".S") if (tree.root / (stem + e)).is_file()), None)
        if src is None:
            continue
        try:
            out[src] = from_z3(kmax_formula(smt), tree.model)
        except ValueError:
            continue
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({p: f.to_data() for p, f in out.items()}))
    return out


# -- one configuration -------------------------------------------------------------

@dataclass
class Settings:
    line_files: int = 15         # compiled files sampled per configuration
    kmax: dict | None = None     # source -> kmax condition
    # the line layer with the headers followed (issue 10): `make prepare`,
    # gcc with the kernel's own command line, kwhen reading the headers;
    # every observable branch scored, "unknown" counted as a miss
    headers: bool = False
    includer_files: int = 5      # more files that #include a .c, sampled for it


_INCLUDES_C = re.compile(r'(?m)^[ \t]*#[ \t]*include[ \t]*"[^"\n]*\.[cS]"')


_CONDITIONAL = re.compile(r"(?m)^[ \t]*#[ \t]*if(n?def)?\b")


def ground_truth(oracle: Oracle, name: str, settings: Settings) -> dict:
    """What the kernel's own tools say about configuration `name`: the
    .config, the sources make compiles, and for a sample of compiled files
    with conditionals the lines gcc keeps. Needs make and gcc; kwhen plays
    no part, so the comparison can be redone after a model change."""
    timing = {}
    t = time.time()
    config = oracle.configure(name)
    timing["configure"] = time.time() - t
    t = time.time()
    visits = oracle.walk()
    made, generated = oracle.compiled(visits)
    own = oracle.own_rule_dirs(visits)
    for src, how in oracle.dry_run(own).items():
        old = made.get(src, "")
        made[src] = "".join(sorted(set(old + how), key="ym".index))
    timing["make_walk"] = time.time() - t
    if settings.headers:
        return _truth_with_headers(oracle, name, settings, config, made, generated, visits,
                                   own, timing)
    t = time.time()
    rng = random.Random(f"{oracle.arch.name}:{name}")
    candidates = sorted(made)
    rng.shuffle(candidates)
    lines = {}
    for path in candidates:
        if len(lines) >= settings.line_files:
            break
        text = (oracle.tree / path).read_text(errors="replace")
        if not _CONDITIONAL.search(text):
            continue
        module = made[path] == "m"
        kept = oracle.kept_lines(path, module)
        lines[path] = {"module": module, "kept": sorted(kept) if kept is not None else None}
    timing["gcc_lines"] = time.time() - t
    return {"arch": oracle.arch.name, "config": name, "dotconfig": config.read_text(),
            "made": made, "generated": generated, "directories": len(visits),
            "dry_run_dirs": [d for d, _, _ in own], "lines": lines, "timing": timing}


def _truth_with_headers(oracle, name, settings, config, made, generated, visits, own,
                        timing) -> dict:
    """The line layer's truth with the real #includes: after `make prepare`,
    each sampled file preprocessed by the kernel's own compile command.
    Sampled: `line_files` compiled files with conditionals, and
    `includer_files` compiled files that #include a .c or .S file; every
    .c/.S file make does not compile itself that a sampled compilation
    reads is recorded through its includer."""
    t = time.time()
    oracle.prepare()
    timing["prepare"] = time.time() - t
    t = time.time()
    rng = random.Random(f"{oracle.arch.name}:{name}:headers")
    candidates = sorted(made)
    rng.shuffle(candidates)
    plain, includers = [], []
    for path in candidates:
        if len(plain) >= settings.line_files and len(includers) >= settings.includer_files:
            break
        text = (oracle.tree / path).read_text(errors="replace")
        if _INCLUDES_C.search(text):
            if len(includers) < settings.includer_files:
                includers.append(path)
        elif _CONDITIONAL.search(text) and len(plain) < settings.line_files:
            plain.append(path)
    sample = plain + includers
    commands = oracle.compile_commands({p: p.rsplit(".", 1)[0] + ".o" for p in sample})
    timing["commands"] = time.time() - t
    t = time.time()
    lines, included = {}, {}
    for path in sample:
        module = made[path] == "m"
        argv = commands.get(path)
        found = oracle.kept_with_headers(path, argv) if argv else None
        if found is None:
            lines[path] = {"module": module, "kept": None,
                           "why": "no command" if not argv else "no output"}
            continue
        kept, parents = found
        lines[path] = {"module": module, "kept": sorted(kept[path])}
        for other, seen in kept.items():
            if other == path or other in made or not other.endswith((".c", ".S")):
                continue
            included.setdefault(other, []).append(
                {"includer": parents.get(other), "root": path, "module": module,
                 "kept": sorted(seen)})
    timing["gcc_lines"] = time.time() - t
    return {"arch": oracle.arch.name, "config": name, "dotconfig": config.read_text(),
            "made": made, "generated": generated, "directories": len(visits),
            "dry_run_dirs": [d for d, _, _ in own], "lines": lines, "included": included,
            "headers": True, "timing": timing}


def compare(tree, record: dict, settings: Settings) -> dict:
    """kwhen (and kmax) against one configuration's ground truth."""
    from kwhen.kconfig.translate import satisfies

    timing = {}
    made = {}
    for path, how in record["made"].items():
        path = posixpath.normpath(path)
        made[path] = "".join(sorted(set(made.get(path, "") + how), key="ym".index))
    result = {"arch": record["arch"], "config": record["config"], "timing": timing,
              "make": {"directories": record["directories"], "compiled": len(made),
                       "objects_without_source": len(record["generated"]),
                       "dry_run_dirs": record["dry_run_dirs"]}}
    with tempfile.NamedTemporaryFile("w", suffix=".config") as f:
        f.write(record["dotconfig"])
        f.flush()
        values, raw = config_values(tree, Path(f.name))
    result["bare_hex_lines"] = len(_BARE_HEX.findall(record["dotconfig"]))
    t = time.time()
    result["kconfig"] = {"accepted": bool(satisfies(tree.model, values))}
    timing["kconfig"] = time.time() - t

    t = time.time()
    files = tree.kbuild.files
    names = set()
    conds = {}
    for path in files:
        b, m = files[path]
        conds[path] = (b, m)
        names |= b.variables() | m.variables()
    assignment = assignment_for(tree, values, raw, names)
    # every file kwhen gives a condition for, and every file make compiles
    result["files"] = compare_files(set(files) | set(made), conds, made, assignment)
    if settings.kmax is not None:
        kmax_names = set()
        for f in settings.kmax.values():
            kmax_names |= f.variables()
        kassign = assignment_for(tree, values, raw, kmax_names)
        # side by side on the same pairs: the files kmax names a condition for
        named = set(settings.kmax)
        result["kmax_files"] = compare_files(
            named, {p: (f, FALSE) for p, f in settings.kmax.items()}, made, kassign)
        result["kmax_files"]["made_unnamed"] = sorted(set(made) - named)
        result["kwhen_on_kmax_files"] = compare_files(named, conds, made, assignment)
    timing["files"] = time.time() - t

    t = time.time()
    if record.get("headers"):
        result["branches"] = compare_branches(tree, record, values, raw)
    else:
        result["lines"] = compare_lines(tree, record, values, raw)
    timing["lines"] = time.time() - t
    return result


def compare_files(universe, conds: dict, made: dict, assignment: dict) -> dict:
    """Agreement over the (file, configuration) pairs of `universe`: the
    tool compiles a file when its built-in or module condition holds."""
    agree = undecided = 0
    missed, extra, mode = [], [], 0
    undecided_free: dict = {}       # what leaves a file undecided: its free propositions
    for path in sorted(universe):
        pair = conds.get(path)
        make_says = path in made
        if pair is None:
            ours = False
            how = ""
        else:
            b = truth(residual(pair[0], assignment))
            m = truth(residual(pair[1], assignment))
            if b is None or m is None:
                if b is True or m is True:
                    ours = True
                else:
                    undecided += 1
                    undecided_free[path] = sorted(residual(pair[0], assignment).variables()
                                                  | residual(pair[1], assignment).variables())
                    continue
            else:
                ours = b or m
            how = ("y" if b else "") + ("m" if m else "")
        if ours == make_says:
            agree += 1
            if ours and made[path] != how and pair is not None and pair[1] is not FALSE:
                mode += 1
        elif make_says:
            missed.append(path)
        else:
            extra.append(path)
    return {"pairs": agree + len(missed) + len(extra), "agree": agree,
            "undecided": undecided, "undecided_free": undecided_free, "made_compiled": len(made),
            "missed": missed, "extra": extra, "mode_differs": mode}


def compare_lines(tree, record: dict, values: dict, raw: dict) -> dict:
    """The sampled compiled files' #if branches: kept by gcc vs kwhen, on
    the branches with an ordinary line to observe and a condition the
    .config decides."""
    compared = agree = undecided = unobservable = failed = 0
    differ, sampled = [], []
    for path, seen in sorted(record["lines"].items()):
        if seen["kept"] is None:
            failed += 1
            continue
        kept = set(seen["kept"])
        try:
            # gcc reads the file with its #include lines blanked (kept_lines),
            # so kwhen reads it without following its headers too: a branch
            # that a header's macro decides is then free on both sides and
            # not compared, rather than decided by kwhen alone.
            from kwhen.cpp.directives import scan

            structure = scan(tree.read_text(path), path, tree.symbol_types, tree.facts(path))
        except Exception as e:   # kwhen cannot read a file gcc can
            differ.append({"file": path, "line": 0, "directive": "", "error": str(e)})
            continue
        sampled.append({"file": path, "blocks": len(structure.blocks)})
        text_lines = tree.read_text(path).split("\n")
        names = set()
        for b in structure.blocks:
            names |= b.condition.variables()
        assignment = assignment_for(tree, values, raw, names)
        assignment["MODULE"] = seen["module"]
        for b in structure.blocks:
            own = _own_lines(structure.blocks, b, text_lines)
            if not own:
                unobservable += 1
                continue
            gcc_keeps = any(n in kept for n in own)
            ours = truth(residual(b.condition, assignment))
            if ours is None:
                undecided += 1
                continue
            compared += 1
            if ours == gcc_keeps:
                agree += 1
            else:
                differ.append({"file": path, "line": b.start, "directive": b.text.strip(),
                               "kwhen": ours, "gcc": gcc_keeps,
                               "condition": str(b.condition)[:300]})
    return {"files": len(sampled), "pairs": compared, "agree": agree, "undecided": undecided,
            "unobservable": unobservable, "cpp_failed": failed, "differ": differ,
            "sampled": sampled}


def compare_branches(tree, record: dict, values: dict, raw: dict) -> dict:
    """Every observable #if branch of the sampled files and of the .c/.S
    files they include (scored through that includer), kwhen reading the
    headers as the preprocessor does: `right` (decided and as gcc),
    `wrong` (decided, not as gcc), `unknown` (not decided by the .config:
    a miss). Per file too: a file is right when all its branches are."""
    from kwhen.presence import Tree

    out = {"branches": 0, "right": 0, "wrong": 0, "unknown": 0, "unobservable": 0,
           "cpp_failed": 0, "files": 0, "files_right": 0, "files_decided_right": 0,
           "included_files": 0, "included_branches": 0, "wrong_list": [], "unknown_list": []}

    def score(path, blocks, text_lines, kept, answer, via=None):
        right = wrong = unknown = 0
        for b in blocks:
            own = _own_lines(blocks, b, text_lines)
            if not own:
                out["unobservable"] += 1
                continue
            gcc_keeps = any(n in kept for n in own)
            ours, free = answer(b)
            where = {"file": path, "line": b.start, "directive": b.text.strip()[:200],
                     "gcc": gcc_keeps, **({"via": via} if via else {})}
            if ours is None:
                unknown += 1
                out["unknown_list"].append({**where, "free": sorted(free)[:8]})
            elif ours == gcc_keeps:
                right += 1
            else:
                wrong += 1
                out["wrong_list"].append({**where, "kwhen": ours})
        out["branches"] += right + wrong + unknown
        out["right"] += right
        out["wrong"] += wrong
        out["unknown"] += unknown
        out["files"] += 1
        out["files_right"] += wrong == 0 and unknown == 0
        out["files_decided_right"] += wrong == 0
        return right + wrong + unknown

    def decide(f, module):
        names = f.variables()
        assignment = assignment_for(tree, values, raw, names)
        if module is not None:
            assignment["MODULE"] = module
        left = residual(f, assignment)
        return truth(left), left.variables()

    for path, seen in sorted(record["lines"].items()):
        if seen["kept"] is None:
            out["cpp_failed"] += 1
            continue
        try:
            structure = tree.cpp(path)
        except Exception as e:   # kwhen cannot read a file gcc can
            out["wrong_list"].append({"file": path, "line": 0, "error": str(e)})
            out["wrong"] += 1
            continue
        text_lines = tree.read_text(path).split("\n")
        score(path, structure.blocks, text_lines, set(seen["kept"]),
              lambda b, m=seen["module"]: decide(b.condition, m))
    for path, ways in sorted(record.get("included", {}).items()):
        try:
            variants = tree.variants(path)
            text_lines = tree.read_text(path).split("\n")
        except Exception as e:
            out["wrong_list"].append({"file": path, "line": 0, "error": str(e)})
            out["wrong"] += 1
            continue
        for way in ways:
            # the routes of this compilation: its direct includer, and the
            # file gcc compiled at the top (host1x's debug_hw_1x06.c is read
            # through debug_hw.c in each of hw/host1x0N.c, each its own HOST1X_HW)
            mine = [(f, st) for f, st in variants
                    if any(r.includer == way["includer"] and r.root in ("", way.get("root", r.root))
                           for r in f.through)]
            if not mine:
                # kwhen knows no route through this includer: never built
                blocks = tree.cpp(path).blocks

                def answer(b):
                    return False, set()
            else:
                blocks = mine[0][1].blocks
                index = [(file, {(b.start, b.end): b for b in st.blocks}) for file, st in mine]

                def answer(b, index=index):
                    f = disj(*(Tree.combine(file, at[(b.start, b.end)].condition)
                               for file, at in index if (b.start, b.end) in at))
                    return decide(f, None)
            out["included_files"] += 1
            out["included_branches"] += score(path, blocks, text_lines, set(way["kept"]),
                                              answer, via=way["includer"])
    return out


def _comment_only(text_lines: list) -> set:
    """Numbers of the lines with nothing but comment on them: gcc's output
    drops comments (an assembler file's, at least), so such a line shows
    nothing whether its branch is compiled or not."""
    out, in_block = set(), False
    for n, text in enumerate(text_lines, 1):
        code, i = [], 0
        while i < len(text):
            if in_block:
                end = text.find("*/", i)
                if end < 0:
                    i = len(text)
                else:
                    in_block, i = False, end + 2
            elif text.startswith("/*", i):
                in_block, i = True, i + 2
            elif text.startswith("//", i):
                break
            else:
                code.append(text[i])
                i += 1
        if text.strip() and not "".join(code).strip():
            out.add(n)
    return out


def _own_lines(blocks: list, block, text_lines: list) -> list:
    """Lines inside `block` (not in a nested branch) that are ordinary text:
    non-blank, not a directive and not continuing one, not only comment."""
    nested = [(b.start, b.end) for b in blocks
              if b is not block and block.start < b.start and b.end <= block.end]
    comments = _comment_only(text_lines[block.start:block.end - 1])
    out = []
    for n in range(block.start + 1, block.end):
        if any(s <= n <= e for s, e in nested) or (n - block.start) in comments:
            continue
        text = text_lines[n - 1] if n - 1 < len(text_lines) else ""
        prev = text_lines[n - 2] if n >= 2 else ""
        stripped = text.strip()
        if not stripped or stripped.startswith("#") or prev.rstrip().endswith("\\"):
            continue
        out.append(n)
    return out


# -- witnesses ---------------------------------------------------------------------

def line_conditions(tree, results_dir: Path, count: int, seed: str) -> list:
    """(file, line, condition) of real lines whose condition is neither
    always nor never, from the files the line layer sampled."""
    files = set()
    for p in sorted(results_dir.glob("*.json")):
        data = json.loads(p.read_text())
        if not isinstance(data, dict):
            continue        # witnesses.json, the results of this very step
        files.update(d["file"] for d in data.get("lines", {}).get("sampled", []))
    rng = random.Random(seed)
    pool = []
    for path in sorted(files):
        try:
            structure = tree.cpp(path)
        except Exception:
            continue
        for b in structure.blocks:
            pool.append((path, b.start + 1))
    rng.shuffle(pool)
    out = []
    for path, line in pool:
        if len(out) >= count:
            break
        cond = tree.line_condition(path, line)
        if tree.space.status(cond) != "sometimes":
            continue
        out.append((path, line, cond))
    return out


def check_witness(oracle: Oracle, tree, cond: Formula) -> dict:
    """Whether kwhen's witness for `cond` survives olddefconfig."""
    from kwhen.logic.solver import config_line

    t = time.time()
    w = tree.space.witness(cond)
    solve = time.time() - t
    if w is None:
        return {"survives": False, "reason": "no witness", "seconds": solve}
    lines = [config_line(n, v) for n, v in sorted(w.values.items())]
    after, raw = config_values(tree, oracle.olddefconfig("\n".join(lines) + "\n"))
    named = {n[:-2] if n.endswith("=m") else n for n in cond.variables()}
    changed = sorted(n for n in named if n in w.values and after.get(n, "n") != w.values[n])
    assignment = assignment_for(tree, after, raw, cond.variables())
    assignment.update({k: v for k, v in w.free.items() if k not in assignment})
    holds = truth(residual(cond, assignment))
    return {"survives": holds is True and not changed, "holds": holds,
            "changed": changed[:20], "seconds": time.time() - t,
            "changes": len(w.changes)}


def reduced_run(tree: Path, work: Path, arch: str = "x86_64",
                configs=(("tinyconfig", True), ("defconfig", False)), line_files: int = 3,
                includer_files: int = 1) -> list:
    """The harness in small (the test suite's mode): layers 1-3 for a few
    configurations of one architecture, a few files sampled for lines;
    each configuration with the headers followed (`make prepare`, the
    kernel's gcc command) or not (the #include lines blanked)."""
    from kwhen.control import open_tree

    kwhen_tree = open_tree(tree, ARCHES[arch].kwhen_arch)
    oracle = Oracle(tree, work, ARCHES[arch])
    out = []
    for name, headers in configs:
        settings = Settings(line_files=line_files, headers=headers,
                            includer_files=includer_files)
        out.append(compare(kwhen_tree, ground_truth(oracle, name, settings), settings))
    return out
