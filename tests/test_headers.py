"""Macros from headers (issue 10): a C file's #if lines read with the
macros its #includes define, along Kbuild's include path."""

from pathlib import Path

from conftest import linux_tree, marker_line
from kwhen.control import open_tree
from kwhen.logic.formula import FALSE, TRUE, neg, var

FIXTURES = Path(__file__).parent / "fixtures"


def test_macros_from_headers_decide_the_files_if_lines():
    root = FIXTURES / "cpp-headers"
    tree = open_tree(root, "x86", cache=False)
    test_c = root / "drv" / "test.c"

    def line(marker):
        return tree.line_condition("drv/test.c", marker_line(test_c, marker))

    space = tree.space
    # PAGE_SIZE = _AC(1,UL) << PAGE_SHIFT, PAGE_SHIFT 14 or 12 by Kconfig
    assert space.equivalent(line("small_pages"), neg(var("BIG_PAGES")))
    # VA_BITS is (CONFIG_VA_BITS), an int symbol 48 with BIG_PAGES, else 39
    assert space.equivalent(line("big_va"), var("BIG_PAGES"))
    # TABLE_BITS is VA_BITS - 9 (39) with BIG_PAGES, else 2 + VA_BITS (41)
    assert space.equivalent(line("table_over_40"), neg(var("BIG_PAGES")))
    assert space.equivalent(line("table_is_39"), var("BIG_PAGES"))
    # 1 << PAGE_SHIFT_BITS, which is 14 or 12 (Kconfig's defaults, no prompt)
    assert space.equivalent(line("shifted_big"), var("BIG_PAGES"))
    # 1 << USER_SHIFT: a user may set any value in the range, so it stays open
    assert any(v.startswith("cpp(") for v in line("user_size").variables())
    # asm-generic/io.h defines PCI_IOBASE, asm/io.h #undefs it afterwards
    assert space.equivalent(line("pci_iobase"), FALSE)
    # #undef under a Kconfig #if in a later header
    assert space.equivalent(line("feature"), neg(var("NO_FEATURE")))
    # asm/barrier.h is the wrapper Kbuild generates for asm-generic/barrier.h
    assert space.equivalent(line("barrier"), TRUE)
    # a guarded header included twice is read once
    assert space.equivalent(line("twice"), FALSE)
    # headers named through macros (#include PICK(PICK_FILE), a stringized
    # path) are read, so nothing is left unknown by them
    assert space.equivalent(line("computed_include"), TRUE)
    # nothing defines it (and every header before was read): never
    assert space.equivalent(line("nothing"), FALSE)
    # after generated/bounds.h, only the names its generator DEFINEs are open
    assert space.equivalent(line("something_else"), FALSE)
    things = line("things")
    assert things.variables() and all(v.startswith("cpp(") for v in things.variables())
    # the compiler predefines __x86_64__: left free
    assert space.status(line("builtin")) == "sometimes"
    # after a header kwhen cannot read, a macro the tree defines is the
    # tree's (its #ifndef default included); one nobody defines stays free
    assert space.equivalent(line("wide"), var("BIG_PAGES"))
    assert space.status(line("mystery")) == "sometimes"


def test_a_header_asked_about_directly_starts_in_an_unknown_context():
    root = FIXTURES / "cpp-headers"
    tree = open_tree(root, "x86", cache=False)
    # twice.h's #ifdef TWICE_SEEN depends on who included it before
    cond = tree.line_condition("include/linux/twice.h", 5)
    assert tree.space.status(cond) == "sometimes"


def test_linux_header_macros_on_x86_64():
    tree = open_tree(linux_tree(), "x86_64")
    space = tree.space

    def at(path, line):        # the preprocessor's part of the answer
        return space.status(tree.cpp(path).condition_at(line))

    # BITS_PER_LONG == 64 && defined(__BIG_ENDIAN): x86 is little-endian
    assert at("net/ethtool/bitset.c", 726) == "never"
    # BITS_PER_LONG == 64 on x86_64
    assert at("net/ipv4/udp.c", 1472) == "always"
    # PCI_IOBASE: x86 has no PCI I/O window (asm-generic/io.h not defining it)
    assert at("drivers/pci/pci.c", 4226) == "never"


def test_linux_page_size_and_arch_macros_on_x86_64_and_arm64():
    """PAGE_SIZE is 4K on x86; on arm64 it is 1 << CONFIG_ARM64_PAGE_SHIFT,
    which the 4K/16K/64K page-size choice decides. __ARCH_WANT_SYS_GETPGRP
    comes from each architecture's asm/unistd.h (arm64: for COMPAT), read
    past arm64's generated asm/cpucaps.h and asm/sysreg-defs.h."""
    root = linux_tree()
    x86, arm64 = open_tree(root, "x86_64"), open_tree(root, "arm64")

    def cond(tree, path, text):
        lines = (root / path).read_text().splitlines()
        return tree.cpp(path).condition_at(lines.index(text) + 2)

    trident = ("sound/pci/trident/trident_memory.c", "#if PAGE_SIZE == 4096")
    assert x86.space.status(cond(x86, *trident)) == "always"
    assert arm64.space.equivalent(cond(arm64, *trident), var("ARM64_4K_PAGES"))
    slob = ("mm/slob.c", "#if PAGE_SIZE <= (32767 * 2)")
    assert arm64.space.equivalent(cond(arm64, *slob), neg(var("ARM64_64K_PAGES")))
    getpgrp = ("kernel/sys.c", "#ifdef __ARCH_WANT_SYS_GETPGRP")
    assert x86.space.status(cond(x86, *getpgrp)) == "always"
    assert arm64.space.equivalent(cond(arm64, *getpgrp), var("COMPAT"))
    # asm/sysreg-defs.h is generated: only the names its sysreg table makes
    # are free, so a macro the tree's headers never define stays undefined
    mremap = ("mm/mremap.c", "#ifndef arch_supports_page_table_move")
    assert arm64.space.status(cond(arm64, *mremap)) == "always"
    # past include/trace/define_trace.h's #include TRACE_INCLUDE(TRACE_INCLUDE_FILE)
    softirq = ("kernel/softirq.c", "#ifndef __ARCH_IRQ_STAT")
    assert arm64.space.status(cond(arm64, *softirq)) == "always"
    assert x86.space.status(cond(x86, *softirq)) == "never"


def test_a_patch_states_structure_is_cached_unless_the_state_changes_what_it_reads(
        tmp_path, monkeypatch):
    """kwhen check reads a changed file in the patch's states: its #if
    structure is kept in the cache by its text, so the next check does not
    read its headers again, unless the state changes one of them."""
    import shutil

    import kwhen.cpp.directives as directives
    from kwhen.patch.target import TreeState

    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "cpp-headers", root)
    text = (root / "drv" / "test.c").read_text() + "int added;\n"
    line = marker_line(root / "drv" / "test.c", "feature")

    def feature(overlay):
        tree = open_tree(root, "x86").with_state(TreeState(root, overlay))
        return tree.space, tree.cpp("drv/test.c").condition_at(line)

    space, first = feature({"drv/test.c": text})
    assert space.equivalent(first, neg(var("NO_FEATURE")))

    def no_scan(*args, **kwargs):
        raise AssertionError("scanned again")
    monkeypatch.setattr(directives, "scan", no_scan)
    assert feature({"drv/test.c": text})[1] is first        # another run: from the cache
    monkeypatch.undo()
    # asm/io.h no longer drops FEATURE in this state: read afresh
    io = (root / "arch/x86/include/asm/io.h").read_text().replace("#undef FEATURE\n", "")
    space, changed = feature({"drv/test.c": text, "arch/x86/include/asm/io.h": io})
    assert space.equivalent(changed, TRUE)


def test_the_compilers_predefined_macros_follow_the_architecture_and_kconfig():
    root = FIXTURES / "cpp-compiler"

    def status(tree, path, marker):
        return tree.space.status(tree.line_condition(path, marker_line(root / path, marker)))

    x86 = open_tree(root, "x86", cache=False)
    assert x86.space.equivalent(
        x86.line_condition("drv/test.c", marker_line(root / "drv/test.c", "x86_64")), var("64BIT"))
    assert x86.space.equivalent(
        x86.line_condition("drv/test.c", marker_line(root / "drv/test.c", "ilp32")),
        neg(var("64BIT")))
    assert status(x86, "drv/test.c", "big") == "never"          # x86 is little-endian
    assert status(x86, "drv/test.c", "aarch64eb") == "never"    # no other target's macros
    assert status(x86, "drv/test.c", "sparc") == "never"
    assert status(x86, "drv/test.c", "no_gnuc") == "never"      # every kernel compiler has it
    assert status(x86, "drv/test.c", "sse") == "sometimes"      # follows -m flags: free
    # boot/Makefile compiles for a target of its own: __x86_64__ unknown there
    assert status(x86, "boot/setup.c", "x86_64") == "sometimes"
    assert status(x86, "boot/setup.c", "no_gnuc") == "never"

    arm64 = open_tree(root, "arm64", cache=False)
    big = arm64.line_condition("drv/test.c", marker_line(root / "drv/test.c", "big"))
    assert arm64.space.equivalent(big, var("CPU_BIG_ENDIAN"))
    eb = arm64.line_condition("drv/test.c", marker_line(root / "drv/test.c", "aarch64eb"))
    assert arm64.space.equivalent(eb, var("CPU_BIG_ENDIAN"))
    assert status(arm64, "drv/test.c", "x86_64") == "never"
    assert status(arm64, "drv/test.c", "ilp32") == "never"


def test_a_symbol_never_set_on_the_architecture_does_not_count_against_the_bound():
    root = FIXTURES / "cpp-dead-symbol"
    tree = open_tree(root, "x86", cache=False)
    abc = tree.line_condition("drv/test.c", marker_line(root / "drv/test.c", "abc"))
    assert tree.space.equivalent(abc, var("A") & var("B") & var("C"))


def test_a_makefiles_d_flags_reach_its_directory_and_what_it_says_below():
    """`ccflags-$(CONFIG_DBG_VERBOSE) += -DDEBUG` defines DEBUG in its own
    directory exactly when DBG_VERBOSE, `subdir-ccflags-y` below it too,
    an -U in a subdirectory takes it back; flags kwhen reads without a
    condition (CFLAGS_a.o, an architecture Makefile's) leave their macro
    free where they reach; elsewhere nothing defines the macro: never."""
    root = FIXTURES / "cpp-flags"
    tree = open_tree(root, "x86", cache=False)

    def cond(path, marker):
        return tree.cpp(path).condition_at(marker_line(root / path, marker))

    def status(path, marker):
        return tree.space.status(cond(path, marker))

    assert tree.space.equivalent(cond("dbg/a.c", "debug"), var("DBG_VERBOSE"))
    assert [status("dbg/a.c", m) for m in ("trace", "only_a", "everywhere")] == \
        ["always", "sometimes", "sometimes"]
    assert [status("dbg/sub/b.c", m) for m in ("debug", "trace", "only_a", "everywhere")] == \
        ["never", "always", "never", "sometimes"]
    assert [status("dbg/sub/quiet/c.c", m) for m in ("debug", "trace")] == ["never", "never"]
    assert [status("plain/c.c", m) for m in ("debug", "trace", "only_a", "everywhere")] == \
        ["never", "never", "never", "sometimes"]
    # dbg/lib/deep.c is dbg/Makefile's object: dbg's flags, dbg's -I inc/
    assert tree.space.equivalent(cond("dbg/lib/deep.c", "debug"), var("DBG_VERBOSE"))
    assert [status("dbg/lib/deep.c", m) for m in ("shared", "nothing")] == ["always", "never"]


def test_a_skimmed_header_frees_nothing_through_an_include_no_build_compiles():
    root = FIXTURES / "cpp-skim"
    tree = open_tree(root, "x86", cache=False)
    line = marker_line(root / "drv" / "skim.c", "nothing")
    assert tree.space.status(tree.cpp("drv/skim.c").condition_at(line)) == "never"
