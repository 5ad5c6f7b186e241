"""Hostile inputs (issue 9): what kwhen promises about a tree, a patch or a
file on its command line written to hurt it. Each test builds its situation
in a temporary directory: a Kconfig that sources /dev/zero, a C file that is
a FIFO, a patch too large to read, ...

The promise: kwhen reads only regular files, inside the tree or named by the
user, no more than a cap of each; it never puts an environment value or a
file's contents into a message; bad input ends with exit status 2 and one
line naming the file and line at fault.
"""

import os
import stat
import subprocess
import sys

import pytest

from conftest import REPO, run_kwhen
from kwhen.exceptions import KwhenError
from kwhen.kconfig.parse import load_kconfig
from kwhen.readfile import read_bytes


def kconfig_tree(tmp_path, top: str, files: dict | None = None):
    """A one-architecture ("test") Kconfig tree whose top Kconfig is `top`."""
    (tmp_path / "arch" / "test").mkdir(parents=True, exist_ok=True)
    (tmp_path / "arch" / "test" / "Kconfig").write_text('config ARCH_SYM\n\tdef_bool y\n')
    (tmp_path / "Makefile").write_text("VERSION = 6\n")
    (tmp_path / "Kconfig").write_text('source "arch/$(SRCARCH)/Kconfig"\n' + top)
    for name, text in (files or {}).items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path


def kconfig_error(tree) -> KwhenError:
    with pytest.raises(KwhenError) as info:
        load_kconfig(tree, "test", "test")
    return info.value


def one_line_exit_2(done):
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


# -- Kconfig: what `source` may read ------------------------------------------------

@pytest.mark.parametrize("target", ["/dev/zero", "/etc/passwd", "$(HOME)/.bashrc",
                                    "$(srctree)/../outside", "/*/*/*"])
def test_kconfig_source_outside_the_tree_is_refused_with_its_line(tmp_path, target):
    (tmp_path.parent / "outside").write_text("config LEAKED\n\tbool\n")
    err = kconfig_error(kconfig_tree(tmp_path, f'source "{target}"\n'))
    assert (err.path, err.line) == ("Kconfig", 2)
    assert "outside the tree" in err.message
    assert "root:" not in err.message and os.path.expanduser("~") not in err.message


def test_kconfig_source_of_a_fifo_or_directory_is_refused(tmp_path):
    tree = kconfig_tree(tmp_path, 'source "fifo"\nsource "dir"\n')
    os.mkfifo(tree / "fifo")
    (tree / "dir").mkdir()
    err = kconfig_error(tree)
    assert (err.path, err.line) == ("Kconfig", 2) and "not a regular file" in err.message
    (tree / "fifo").unlink()
    (tree / "fifo").write_text("")
    err = kconfig_error(tree)
    assert (err.path, err.line) == ("Kconfig", 3) and "not a regular file" in err.message


def test_kconfig_symlink_out_of_the_tree_is_refused(tmp_path):
    tree = kconfig_tree(tmp_path, 'source "link"\n')
    (tree / "link").symlink_to("/etc/passwd")
    err = kconfig_error(tree)
    assert (err.path, err.line) == ("Kconfig", 2) and "outside the tree" in err.message


def test_kconfig_macros_read_no_user_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KWHEN_TEST_SECRET", "hunter2")
    err = kconfig_error(kconfig_tree(tmp_path, 'source "$(KWHEN_TEST_SECRET)"\n'))
    assert "hunter2" not in str(err)
    tree = kconfig_tree(tmp_path, 'config S\n\tstring "s"\n\tdefault "$(KWHEN_TEST_SECRET)"\n')
    kconf = load_kconfig(tree, "test", "test")
    assert kconf.syms["S"].str_value == ""


def test_kconfig_file_too_large_is_refused(tmp_path, monkeypatch):
    import kwhen.readfile
    monkeypatch.setattr(kwhen.readfile, "MAX_FILE_BYTES", 1000)
    tree = kconfig_tree(tmp_path, 'source "big"\n', {"big": "# padding\n" * 200})
    err = kconfig_error(tree)
    assert err.path == "big" and "too large" in err.message


# -- Kconfig: messages that name the right file and line ----------------------------

def test_kconfig_bad_utf8_names_the_file_and_line_it_is_in(tmp_path):
    tree = kconfig_tree(tmp_path, 'source "sub"\n', {"sub": b'config A\n\tbool "\xff"\n'})
    err = kconfig_error(tree)
    assert (err.path, err.line) == ("sub", 2) and "UTF-8" in err.message


def test_kconfig_missing_endif_names_the_if(tmp_path):
    err = kconfig_error(kconfig_tree(tmp_path, "if ARCH_SYM\nconfig A\n\tbool\n"))
    assert (err.path, err.line) == ("Kconfig", 2) and "endif" in err.message


def test_kconfig_visible_if_outside_a_menu_is_bad_input(tmp_path):
    err = kconfig_error(kconfig_tree(tmp_path, 'config A\n\tbool "a"\n\tvisible if y\n'))
    assert (err.path, err.line) == ("Kconfig", 4) and "menu" in err.message


def test_kconfig_dependency_loop_names_its_symbols(tmp_path):
    err = kconfig_error(kconfig_tree(
        tmp_path, 'config B\n\tbool "b"\n\tdepends on C\nconfig C\n\tbool "c"\n\tdepends on B\n'))
    assert "B (Kconfig:2)" in err.message and "C (Kconfig:5)" in err.message
    assert (err.path, err.line) == ("Kconfig", 2)


def test_kconfig_parse_error_says_error_once(tmp_path):
    done = run_kwhen("line", "Kconfig:1", "--tree", kconfig_tree(tmp_path, 'config A\n\tbool "a\n'),
                     "--arch", "test")
    line = one_line_exit_2(done)
    assert line.count("error:") == 1 and "Kconfig:3:" in line


# -- one reading helper for every file ---------------------------------------------

def test_read_bytes_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to("loop")
    for path, reason in ((tmp_path / "fifo", "FIFO"), ("/dev/zero", "device"),
                         (tmp_path, "directory"), (tmp_path / "loop", "symbolic link loop"),
                         (tmp_path / "missing", "no such file")):
        with pytest.raises(KwhenError, match=reason):
            read_bytes(path)
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(KwhenError, match="too large"):
        read_bytes(tmp_path / "big", limit=100)
    assert read_bytes(tmp_path / "big", limit=101) == b"x" * 101


def test_fifo_as_source_config_or_patch_is_exit_2_at_once(example):
    os.mkfifo(example / "fifo.c")
    os.mkfifo(example / "fifo")
    assert stat.S_ISFIFO(os.stat(example / "fifo").st_mode)
    for args in (("line", "fifo.c:1"), ("line", "mm/percpu.c:1", "--config", "fifo"),
                 ("line", "mm/percpu.c:1", "--config", "/dev/zero"), ("check", "fifo")):
        line = one_line_exit_2(run_kwhen(*args, "--tree", example, cwd=example))
        assert "not a regular file" in line


def test_symlink_loops_are_exit_2(example):
    (example / "loop").symlink_to("loop")
    for args in (("line", "loop:1"), ("check", "loop")):
        assert "symbolic link loop" in one_line_exit_2(run_kwhen(*args, "--tree", example,
                                                                 cwd=example))


def test_check_of_a_missing_patch_file_says_so(example):
    line = one_line_exit_2(run_kwhen("check", "/nonexistent.patch", "--tree", example))
    assert "no such file" in line and "unknown revision" not in line


# -- bounded work ---------------------------------------------------------------------

def nested_guards(depth: int) -> str:
    """`#ifndef G` / `#define G` nested `depth` deep under `#ifndef A`."""
    return ("#ifndef A\n" + "#ifndef G\n#define G\n" * depth + "int x;\n"
            + "#endif\n" * (depth + 1))


def macro_chain(depth: int) -> str:
    """M(k+1) is defined when M(k) is or when X(k) is: written out, the
    condition of M(depth) doubles with each level."""
    out = []
    for k in range(depth):
        out += [f"#if defined(M{k})", f"#define M{k + 1}", "#endif",
                f"#if !defined(M{k}) && defined(X{k})", f"#define M{k + 1}", "#endif"]
    return "\n".join(out + [f"#ifdef M{depth}", "int x;", "#endif", ""])


@pytest.mark.parametrize("text", [nested_guards(40), macro_chain(40)], ids=["guards", "chain"])
def test_cpp_conditions_stay_small_in_time_and_memory(text):
    import time
    import tracemalloc

    from kwhen.cpp.directives import scan
    from kwhen.logic.formula import tree_size
    tracemalloc.start()
    started = time.perf_counter()
    try:
        structure = scan(text, "deep.c")
        sizes = [tree_size(b.condition, 10 ** 6) for b in structure.blocks]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 64 << 20
    assert max(sizes) < 10 ** 5


def test_nested_guards_are_dead_exactly():
    from kwhen.cpp.directives import scan
    from kwhen.logic.formula import FALSE
    structure = scan(nested_guards(40), "deep.c")
    assert structure.condition_at(40 * 2 + 2) is FALSE       # the second #ifndef G is dead


def test_cpp_condition_past_the_budget_is_free_and_explained(example):
    (example / "mm" / "chain.c").write_text(macro_chain(40))
    mk = example / "mm" / "Makefile"
    mk.write_text(mk.read_text() + "obj-y += chain.o\n")
    done = run_kwhen("line", f"mm/chain.c:{40 * 6 + 2}", "--tree", example, "--arch", "x86",
                     "--explain")
    assert done.returncode == 0, done.stderr
    assert "?cpp:mm/chain.c:" in done.stdout and "too large" in done.stdout


def test_formula_absorption():
    from kwhen.logic.formula import FALSE, TRUE, conj, disj, neg, var
    a, b, x = var("a"), var("b"), var("x")
    assert conj(a, b, neg(disj(x, conj(a, b)))) is FALSE
    assert conj(a, neg(disj(x, a))) is FALSE
    assert disj(a, b, neg(conj(x, disj(a, b)))) is TRUE
    assert conj(a, neg(disj(x, b))) is not FALSE


def test_operands_whose_text_is_exponential_are_ordered_without_writing_it():
    # Each level uses the one below twice, so the text doubles per level while
    # the formula grows by a few nodes (U-Boot's top Makefile builds such
    # conditions testing $(wildcard $(LDSCRIPT)) over a choice of boards).
    from kwhen.logic.formula import conj, disj, neg, var

    def chain(prefix):
        f = disj(var(prefix + "a"), var(prefix + "b"))
        for i in range(60):
            f = disj(conj(f, var(f"{prefix}x{i}")), conj(neg(f), var(f"{prefix}y{i}")))
        return f

    f, g = chain("F"), chain("G")
    both = conj(f, g, disj(var("p"), var("q")))
    assert both is conj(disj(var("q"), var("p")), g, f)
    # short compound operands still sort by their text, before the long ones
    assert both.args[0] is var("p") | var("q")


def test_makefile_value_doubling_is_refused_with_its_line(example):
    mk = example / "mm" / "Makefile"
    mk.write_text(mk.read_text() + "X := a.o\n" + "X := $(X) $(X)\n" * 40 + "obj-y += $(X)\n")
    line = one_line_exit_2(run_kwhen("file", "mm/percpu.c", "--tree", example, "--arch", "x86",
                                     "--no-cache"))
    assert "mm/Makefile:" in line and "words" in line


def test_unterminated_comment_in_c_is_an_error_with_its_line():
    from kwhen.cpp.directives import scan
    with pytest.raises(KwhenError) as info:
        scan("int a;\n/* never closed\n#if X\n#endif\n", "open.c")
    assert (info.value.path, info.value.line) == ("open.c", 2)
    assert "unterminated comment" in info.value.message
    assert scan('char *s = "/*";\n', "ok.c").blocks == []


def test_patch_larger_than_the_cap_is_refused(example, monkeypatch):
    big = example / "big.patch"
    big.write_bytes(b"x" * 2048)
    import kwhen.patch.target as target
    monkeypatch.setattr(target, "MAX_PATCH_BYTES", 1024)
    with pytest.raises(KwhenError, match="too large"):
        target.resolve_target(str(big), example)


# -- the cache never lies and always heals ----------------------------------------------

def cached_answer(example):
    """The condition of the seed's SMP-only line, through the on-disk cache."""
    from kwhen.control import line_query, open_tree
    tree = open_tree(example, "x86")
    try:
        return line_query(tree, "arch/x86/kernel/setup_percpu.c", 9).condition
    finally:
        tree.cache.close()


def test_same_size_edit_with_mtime_restored_is_seen(example):
    import kwhen.sqldata
    mk = example / "arch/x86/kernel/Makefile"
    old = os.stat(mk)
    os.utime(mk, ns=(old.st_atime_ns, old.st_mtime_ns - 10 ** 10))   # not racy: 10 s old
    assert cached_answer(example) == "SMP"
    text = mk.read_text()
    edited = text.replace("obj-$(CONFIG_SMP)\t", "obj-$(CONFIG_X86)\t")
    assert edited != text and len(edited) == len(text)
    before = os.stat(mk)
    mk.write_text(edited)
    os.utime(mk, ns=(before.st_atime_ns, before.st_mtime_ns))         # mtime put back
    assert os.stat(mk).st_mtime_ns == before.st_mtime_ns
    assert cached_answer(example) != "SMP"
    assert kwhen.sqldata.RACY_NS > 0


def cache_file():
    from kwhen.sqldata import default_cache_dir
    return default_cache_dir() / "kwhen.sqlite3"


def damage(path, offset, count=64):
    with open(path, "r+b") as f:
        f.seek(offset)
        data = bytearray(f.read(count))
        f.seek(offset)
        f.write(bytes(b ^ 0x5A for b in data))


def test_first_page_corruption_is_moved_aside_and_rebuilt(example, tmp_path, monkeypatch):
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "cache"))
    assert cached_answer(example) == "SMP"
    damage(cache_file(), 16, 80)                  # the header page: sizes, encoding
    for _ in range(2):                            # healed: the second run is quiet
        done = run_kwhen("line", "arch/x86/kernel/setup_percpu.c:9", "--tree", example,
                         "--arch", "x86", "--json")
        assert done.returncode == 0, done.stderr
        assert '"condition": "SMP"' in done.stdout
        if _ == 0:
            assert "notice" in done.stderr and len(done.stderr.strip().splitlines()) == 1
        else:
            assert done.stderr == ""
    assert (cache_file().parent / "kwhen.sqlite3.corrupt").exists()


def test_random_page_corruption_never_changes_an_answer(example, tmp_path, monkeypatch):
    import random
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "cache"))
    assert cached_answer(example) == "SMP"
    pristine = cache_file().read_bytes()
    page = 4096
    pages = len(pristine) // page
    rng = random.Random(9)
    for trial in range(12):
        cache_file().write_bytes(pristine)
        for suffix in ("-wal", "-shm"):
            (cache_file().parent / ("kwhen.sqlite3" + suffix)).unlink(missing_ok=True)
        damage(cache_file(), rng.randrange(1, pages) * page + rng.randrange(0, page - 64))
        assert cached_answer(example) == "SMP", trial
        assert cached_answer(example) == "SMP", trial     # and the next run too


def test_unusable_cache_directory_is_one_notice_and_a_run(example, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_kwhen("line", "arch/x86/kernel/setup_percpu.c:9", "--tree", example, "--arch",
                     "x86", env={"KWHEN_CACHE_DIR": str(blocker / "cache")})
    assert done.returncode == 0, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "running without it" in done.stderr


# -- exit statuses and outputs ------------------------------------------------------

MAIL_DIFF = ("\n---\ndiff --git a/mm/percpu.c b/mm/percpu.c\n--- a/mm/percpu.c\n"
             "+++ b/mm/percpu.c\n@@ -1 +1 @@\n-x\n+y\n")


@pytest.mark.parametrize("header", ["From: t <", "From::;1", "Date: Mon, 99 Foo 99999 99:99:99 +9999",
                                    'Content-Type: text/plain; charset="\x00"'])
def test_malformed_mail_headers_are_read_not_crashed_on(header):
    from kwhen.patch.mbox import read_patches
    text = f"From 0 Mon Sep 17 00:00:00 2001\n{header}\nSubject: [PATCH] x\n{MAIL_DIFF}"
    (mail,) = read_patches(text, "m.mbox")
    assert "mm/percpu.c" in mail.diff_text


def test_one_line_on_stdin_is_never_taken_for_a_path(example):
    done = run_kwhen("check", "-", "--tree", example, input="mm/percpu.c", cwd=example)
    assert "no diff" in one_line_exit_2(done)
    done = run_kwhen("check", "-", "--tree", example, input="From x Mon Sep 17 00:00:00 2001" + "x" * 5000)
    one_line_exit_2(done)


def test_unterminated_make_reference_is_exit_2_with_its_line(example):
    mk = example / "mm" / "Makefile"
    lines = mk.read_text().count("\n")
    mk.write_text(mk.read_text() + "=$( \n")
    line = one_line_exit_2(run_kwhen("file", "mm/percpu.c", "--tree", example, "--arch", "x86"))
    assert f"mm/Makefile:{lines + 1}:" in line


@pytest.mark.parametrize("output", ["directory", "missing/report.json", "/dev/full"])
def test_report_that_cannot_be_written_is_exit_2(example, tmp_path, output):
    (tmp_path / "directory").mkdir()
    target = output if output.startswith("/") else tmp_path / output
    line = one_line_exit_2(run_kwhen("check", REPO / "examples/seed-move-resync.patch",
                                     "--tree", example, "--format", "json", "-o", target))
    assert "cannot write" in line


def test_full_stdout_is_exit_2():
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "kwhen", "line",
                               "arch/x86/kernel/setup_percpu.c:9", "--tree", REPO / "examples/seed",
                               "--arch", "x86"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert "no space" in one_line_exit_2(done)


@pytest.mark.parametrize("args, status", [
    (("line", "arch/x86/kernel/setup_percpu.c:9", "--arch", "x86"), 0),
    (("check", str(REPO / "examples/seed-move-resync.patch")), 1),
])
def test_closed_pipe_exits_quietly_with_the_status_of_the_work(args, status):
    read_end, write_end = os.pipe()
    os.close(read_end)             # the reader is gone before kwhen writes: | head -0
    try:
        done = subprocess.run([sys.executable, "-m", "kwhen", *args, "--tree",
                               REPO / "examples/seed"], stdout=write_end, stderr=subprocess.PIPE,
                              text=True)
    finally:
        os.close(write_end)
    assert done.returncode == status and done.stderr == ""


def test_terminal_escapes_from_the_tree_are_escaped(example):
    mk = example / "mm" / "Makefile"
    mk.write_text(mk.read_text().replace("percpu.o", "percpu.o # \x1b]0;owned\x07\x1b[2J"))
    done = run_kwhen("file", "mm/percpu.c", "--tree", example, "--arch", "x86")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\\x1b]0;owned" in done.stdout
    done = run_kwhen("line", "mm/\x1b[31mred.c:1", "--tree", example, "--arch", "x86")
    assert "\x1b" not in one_line_exit_2(done)


def test_printable_escapes_controls_bidi_and_undecodable_bytes():
    from kwhen.report.printable import printable
    assert printable("a\x1b[2Jb\tc\nd\x9b\udcff\u202e") == "a\\x1b[2Jb\tc\nd\\x9b\\xff\\u202e"
    assert printable("x\ny", one_line=True) == "x\\x0ay"


def test_makefile_call_bomb_is_refused_in_bounded_time(example):
    import time
    mk = example / "mm" / "Makefile"
    bomb = "g1 = $(1)\n" + "".join(f"g{k} = $(call g{k - 1},$(call g{k - 1},$(1)))\n"
                                   for k in range(2, 31))
    mk.write_text(mk.read_text() + bomb + "obj-y += $(call g30,a.o)\n")
    started = time.monotonic()
    line = one_line_exit_2(run_kwhen("file", "mm/percpu.c", "--tree", example, "--arch", "x86",
                                     "--no-cache"))
    assert "mm/Makefile:" in line and "expansions" in line
    assert time.monotonic() - started < 60


# -- no orphans ----------------------------------------------------------------------

def test_scratch_tree_of_a_dead_process_is_removed_by_the_next_run(tmp_path, monkeypatch):
    import tempfile
    import time

    from kwhen.checks import runner
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = tmp_path / f"kwhen-check-{dead}-abc"
    (left / "pre").mkdir(parents=True)
    mine = tmp_path / f"kwhen-check-{os.getpid()}-def"
    mine.mkdir()
    # one a dead kwhen gave to its rm a moment ago is the rm's; one the rm
    # left long ago (killed) is removed
    busy = tmp_path / f"kwhen-check-{dead}-ghi-done"
    stale = tmp_path / f"kwhen-check-{dead}-jkl-done"
    for d in (busy, stale):
        (d / "post").mkdir(parents=True)
    os.utime(stale, (1, 1))
    runner.remove_orphaned_scratch()
    assert not left.exists() and mine.exists()
    assert busy.exists()
    for _ in range(100):
        if not any(p.name.startswith(("kwhen-check-" + dead + "-abc",
                                      "kwhen-check-" + dead + "-jkl")) for p in tmp_path.iterdir()):
            break
        time.sleep(0.05)
    assert not stale.exists()
    assert not any(p.name.startswith(f"kwhen-check-{dead}-abc") for p in tmp_path.iterdir())


def test_forked_kbuild_child_dies_with_its_parent():
    import time
    script = (
        "import os, sys, time\n"
        "from kwhen.models import _die_with_parent\n"
        "parent = os.getpid()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    _die_with_parent(parent)\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "print(pid, flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{child}/stat") as f:
            if f.read().split(") ")[1].startswith("Z"):
                return                  # dead, waiting for init to reap it
        time.sleep(0.1)
    os.kill(child, 9)
    pytest.fail("the child outlived its parent")
