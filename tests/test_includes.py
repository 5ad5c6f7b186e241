"""Files compiled through #include (issue 10): a .c that no Makefile names
is built where it is included, with its includer's macros."""

import json
from pathlib import Path

from conftest import linux_tree, marker_line, run_kwhen
from kwhen.control import file_query, line_query, open_tree
from kwhen.logic.formula import conj, disj, neg, var

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_c_file_included_by_two_includers_is_built_through_either():
    root = FIXTURES / "include-c-two-includers"
    tree = open_tree(root, "x86", cache=False)
    shared = root / "drv" / "shared.c"
    one, two_m = var("ONE"), var("TWO=m")

    def line(marker):
        return tree.line_condition("drv/shared.c", marker_line(shared, marker))

    file = tree.file_condition("drv/shared.c")
    assert file.kind == "included"
    assert sorted(r.includer for r in file.through) == ["drv/one.c", "drv/two.c"]
    assert tree.space.equivalent(line("everywhere"), disj(one, var("TWO"), two_m))
    # FROM_ONE is defined by one.c before its #include; two.c leaves it to
    # whatever may define it elsewhere (free)
    from_one = var("defined(FROM_ONE)")
    assert tree.space.equivalent(line("from_one"), disj(one, conj(disj(var("TWO"), two_m), from_one)))
    assert tree.space.equivalent(line("from_two"), conj(disj(var("TWO"), two_m), neg(from_one)))
    # MODULE: only two.o can be a module
    assert tree.space.equivalent(line("module"), two_m)


def test_line_and_file_answers_say_through_which_file():
    root = FIXTURES / "include-c-two-includers"
    tree = open_tree(root, "x86", cache=False)
    answer = line_query(tree, "drv/shared.c", marker_line(root / "drv" / "shared.c", "from_one"))
    assert answer.file_kind == "included"
    assert answer.status == "sometimes"
    assert answer.condition.startswith("ONE ||")
    data = answer.to_json()
    assert [(t["path"], t["line"]) for t in data["built_through"]] == [("drv/one.c", 3), ("drv/two.c", 2)]
    whole = file_query(tree, "drv/shared.c")
    assert whole.kind == "included" and whole.status == "sometimes"
    assert [b["status"] for b in whole.blocks] == ["sometimes", "sometimes", "sometimes"]
    done = run_kwhen("line", "drv/shared.c:4", "--tree", root, "--arch", "x86")
    assert done.returncode == 0, done.stderr
    assert "through:    #include at drv/one.c:3 (ONE)" in done.stdout
    assert "#include at drv/two.c:2 (TWO)" in done.stdout


def test_a_c_file_included_under_an_ifdef_is_built_when_the_ifdef_holds(tmp_path):
    root = FIXTURES / "include-c-ifdef"
    tree = open_tree(root, "x86", cache=False)
    extra = tree.line_condition("lib/extra.c", marker_line(root / "lib" / "extra.c", "extra"))
    assert tree.space.equivalent(extra, var("EXTRA"))
    assert tree.file_condition("lib/orphan.c").kind == "unreached"
    config = tmp_path / "off.config"
    config.write_text("# CONFIG_EXTRA is not set\n")
    done = run_kwhen("line", "lib/extra.c:2", "--tree", root, "--arch", "x86",
                     "--config", config, "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)["config"]
    assert verdict["built"] == "no" and "lib/core.c:4" in verdict["reason"]


def test_linux_sched_clock_is_built_through_build_utility():
    tree = open_tree(linux_tree(), "x86_64")
    file = tree.file_condition("kernel/sched/clock.c")
    assert file.kind == "included"
    assert [r.includer for r in file.through] == ["kernel/sched/build_utility.c"]
    answer = line_query(tree, "kernel/sched/clock.c", 75, witnesses=False)
    assert answer.status == "always"
    assert answer.through[0]["path"] == "kernel/sched/build_utility.c"
    # the rt-mutex core is built with RT_MUTEXES, through rtmutex_api.c
    rt = tree.file_condition("kernel/locking/rtmutex.c")
    assert tree.space.equivalent(rt.built, conj(var("RT_MUTEXES"), neg(var("PREEMPT_RT")))) \
        or tree.space.equivalent(rt.built, var("RT_MUTEXES"))
    nfs42 = tree.file_condition("fs/nfs/nfs42xdr.c")
    assert nfs42.kind == "included"
    assert tree.space.possible(nfs42.built) and not tree.space.certain(nfs42.built)


def test_includers_anywhere_in_the_tree_and_of_a_rule_made_object():
    """lib/vdso/gettime.c is included from vdso/ (not beside it, not one
    directory up); vdso/vgettime.c is an object the directory's own rules
    make (`targets`), and sub/vgettime32.c includes it with BUILD32."""
    root = FIXTURES / "include-c-far"
    tree = open_tree(root, "x86", cache=False)
    far = tree.file_condition("lib/vdso/gettime.c")
    # (two routes: vgettime.c made on its own, and inside sub/vgettime32.c)
    assert far.kind == "included" and {(r.includer, r.root) for r in far.through} == {
        ("vdso/vgettime.c", "vdso/vgettime.c"), ("vdso/vgettime.c", "vdso/sub/vgettime32.c")}
    made = tree.file_condition("vdso/vgettime.c")
    assert made.kind == "source" and tree.space.status(made.built) == "sometimes"
    built32 = tree.line_condition("vdso/vgettime.c",
                                  marker_line(root / "vdso" / "vgettime.c", "built32"))
    assert tree.space.status(built32) == "sometimes"
    gettime = tree.line_condition("lib/vdso/gettime.c",
                                  marker_line(root / "lib" / "vdso" / "gettime.c", "gettime"))
    assert tree.space.status(gettime) == "sometimes"
    # a directory a recipe descends ($(MAKE) $(build)=$(obj)/nested)
    nested = tree.file_condition("vdso/nested/nested.c")
    assert nested.kind == "source" and tree.space.status(nested.built) == "sometimes"
