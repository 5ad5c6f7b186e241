"""The command line and API on the bundled seed example: what a user types
and what they rely on seeing."""

import json
from pathlib import Path

import pytest

from conftest import run_kwhen
from kwhen.control import file_query, line_query, open_tree, symbol_query
from kwhen.logic.formula import neg, var


def test_line_in_smp_only_file_is_built_exactly_when_smp(example):
    tree = open_tree(example, "x86")
    cond = tree.line_condition("arch/x86/kernel/setup_percpu.c", 9)
    assert tree.space.equivalent(cond, var("SMP"))
    answer = line_query(tree, "arch/x86/kernel/setup_percpu.c", 9)
    assert answer.status == "sometimes"
    assert answer.witness_not_built.values["SMP"] == "n"
    assert answer.witness_built.values["SMP"] == "y"


def test_line_json_has_the_documented_fields(example):
    done = run_kwhen("line", "arch/x86/kernel/setup.c:13", "--tree", example, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for key in ("path", "line", "arch", "status", "condition", "kbuild_condition",
                "cpp_condition", "witness_built", "witness_not_built", "directives"):
        assert key in data
    assert data["status"] == "sometimes"
    assert data["cpp_condition"] == "X86_32"
    # the witness for "built" must turn 64BIT off: the resync is 32-bit only
    assert data["witness_built"]["changes"]["64BIT"] == "n"


def test_symbol_shows_which_definition_is_built_when(example):
    answer = symbol_query(open_tree(example, "x86"), "setup_per_cpu_areas")
    by_place = {(d.path, d.line): d for d in answer.definitions}
    x86 = by_place[("arch/x86/kernel/setup_percpu.c", 4)]
    generic_smp = by_place[("mm/percpu.c", 5)]
    uniprocessor = by_place[("mm/percpu.c", 12)]
    assert x86.chosen_condition == "SMP"
    assert generic_smp.chosen_status == "never"      # x86 selects HAVE_SETUP_PER_CPU_AREA
    assert uniprocessor.chosen_condition == "!SMP"
    assert uniprocessor.witness.values["SMP"] == "n"
    assert answer.conflicts == []


def test_file_lists_blocks_with_conditions(example):
    answer = file_query(open_tree(example, "x86"), "mm/percpu.c")
    assert answer.status == "always"
    statuses = [(b["start"], b["status"]) for b in answer.blocks]
    assert statuses == [(4, "never"), (11, "sometimes")]


def test_config_says_which_layer_excludes_the_line(example, tmp_path):
    up = tmp_path / "up.config"
    up.write_text("# CONFIG_SMP is not set\nCONFIG_64BIT=y\nCONFIG_X86_64=y\n")
    done = run_kwhen("line", "arch/x86/kernel/setup_percpu.c:9", "--tree", example,
                     "--config", up, "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)["config"]
    assert verdict["built"] == "no" and verdict["excluded_by"] == "kbuild"
    assert "setup_percpu.o" in verdict["reason"]

    done = run_kwhen("line", "arch/x86/kernel/setup.c:13", "--tree", example,
                     "--config", up, "--json")
    verdict = json.loads(done.stdout)["config"]
    assert verdict["built"] == "no" and verdict["excluded_by"] == "cpp"
    assert "CONFIG_X86_32" in verdict["reason"]


def test_i386_fixes_64bit_off(example):
    tree = open_tree(example, "i386")
    assert tree.space.certain(neg(var("64BIT")))
    assert tree.space.status(tree.line_condition("arch/x86/kernel/setup.c", 13)) == "always"


def test_text_output_reads_like_the_readme(example):
    done = run_kwhen("line", "arch/x86/kernel/setup_percpu.c:9", "--tree", example)
    assert done.returncode == 0
    assert "built sometimes on x86" in done.stdout
    assert "# CONFIG_SMP is not set" in done.stdout


@pytest.mark.parametrize("args, fragment", [
    (["line", "arch/x86/kernel/setup.c:13", "--arch", "vax"], "unknown architecture 'vax'"),
    (["line", "arch/x86/kernel/setup.c:999"], "outside the file"),
    (["line", "arch/x86/kernel/nothere.c:1"], "no such file"),
    (["line", "/etc/passwd:1"], "outside the tree"),
    (["line", "arch/x86/kernel/setup.c"], "expected FILE:LINE"),
    (["symbol", "no_such_function_anywhere"], "no definition"),
])
def test_bad_input_is_one_line_and_status_2(example, args, fragment):
    done = run_kwhen(*args, "--tree", example)
    assert done.returncode == 2
    assert fragment in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_not_a_tree(tmp_path):
    done = run_kwhen("line", "x.c:1", "--tree", tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_malformed_kconfig_names_file_and_line(example):
    kconfig = example / "arch/x86/Kconfig"
    kconfig.write_text(kconfig.read_text() + "\nconfig BROKEN\n\tbool \"unterminated\n")
    done = run_kwhen("line", "arch/x86/kernel/setup.c:13", "--tree", example)
    assert done.returncode == 2
    assert "arch/x86/Kconfig:" in done.stderr and "Traceback" not in done.stderr


def test_malformed_makefile_names_file_and_line(example):
    mk = example / "arch/x86/kernel/Makefile"
    mk.write_text(mk.read_text() + "ifeq ($(CONFIG_SMP),y)\nobj-y += more.o\n")
    done = run_kwhen("line", "arch/x86/kernel/setup.c:13", "--tree", example)
    assert done.returncode == 2
    assert "arch/x86/kernel/Makefile:" in done.stderr and "Traceback" not in done.stderr


def test_malformed_c_names_file_and_line(example):
    c = example / "arch/x86/kernel/setup.c"
    c.write_text(c.read_text() + "#endif\n")
    done = run_kwhen("line", "arch/x86/kernel/setup.c:13", "--tree", example)
    assert done.returncode == 2
    assert "arch/x86/kernel/setup.c:" in done.stderr and "Traceback" not in done.stderr


def test_unchanged_tree_reuses_the_cached_model(example, monkeypatch):
    open_tree(example, "x86").model            # fills the cache
    import kwhen.kconfig.translate as translate

    def fail(*a, **k):
        raise AssertionError("the model was rebuilt although nothing changed")
    monkeypatch.setattr(translate, "build_model", fail)
    tree = open_tree(example, "x86")
    assert tree.space.status(tree.line_condition("arch/x86/kernel/setup_percpu.c", 9)) == "sometimes"


def test_edited_kconfig_invalidates_the_model(example):
    tree = open_tree(example, "x86")
    assert tree.space.possible(neg(var("SMP")))
    kconfig = example / "Kconfig"
    kconfig.write_text(kconfig.read_text().replace(
        'config SMP\n\tbool "Symmetric multi-processing support"',
        'config SMP\n\tdef_bool y'))
    tree = open_tree(example, "x86")
    assert not tree.space.possible(neg(var("SMP")))   # the new rule, not the cached one


def test_corrupt_cache_is_rebuilt_not_fatal(example, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(cache_dir))
    open_tree(example, "x86").model
    db = cache_dir / "kwhen.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    done = run_kwhen("line", "arch/x86/kernel/setup_percpu.c:9", "--tree", example, "--json",
                     env={"KWHEN_CACHE_DIR": str(cache_dir)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kbuild_condition"] == "SMP"


def test_items_of_other_kwhen_code_are_not_used(example, tmp_path, monkeypatch):
    import kwhen.sqldata as sqldata
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "c"))
    open_tree(example, "x86").model                        # fills the cache
    monkeypatch.setattr(sqldata, "code_digest", lambda: "kwhen as edited since")
    import kwhen.kconfig.translate as translate
    built = []
    real = translate.build_model
    monkeypatch.setattr(translate, "build_model", lambda *a, **k: built.append(1) or real(*a, **k))
    open_tree(example, "x86").model
    assert built == [1]                                    # rebuilt, not reused


def test_cached_kbuild_conditions_equal_fresh_ones(example, tmp_path, monkeypatch):
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "c"))
    open_tree(example, "x86").kbuild                      # fills the cache
    cached = open_tree(example, "x86").kbuild.files
    fresh = open_tree(example, "x86", cache=False).kbuild.files
    assert sorted(cached) == sorted(fresh) and len(fresh) > 3
    assert all(cached[path] == fresh[path] for path in fresh)
    assert "no/such/file.c" not in cached


def test_cached_model_reads_enabling_conditions_on_demand(example, tmp_path, monkeypatch):
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "c"))
    fresh = open_tree(example, "x86").model
    cached = open_tree(example, "x86").model
    assert cached.enable_data is None           # not loaded with the model
    assert cached.enable_conditions() == fresh.enable_conditions()
    assert str(cached.enable_conditions()["SMP"]) == "y"


def test_damaged_cached_kbuild_part_is_recomputed(example, tmp_path, monkeypatch):
    import sqlite3
    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "c"))
    truth = open_tree(example, "x86", cache=False).kbuild.files
    open_tree(example, "x86").kbuild
    db = sqlite3.connect(tmp_path / "c" / "kwhen.sqlite3")
    with db:   # every file now reads "never built", but its checksum no longer matches
        db.execute("UPDATE part SET data = ? WHERE kind = 'kbuild'", (b"[false, false]",))
    db.close()
    files = open_tree(example, "x86").kbuild.files
    assert all(files[path] == truth[path] for path in truth)


def test_concurrent_processes_agree(example, tmp_path):
    import subprocess
    import sys
    env_cache = str(tmp_path / "shared")
    procs = [subprocess.Popen([sys.executable, "-m", "kwhen", "line", "arch/x86/kernel/setup_percpu.c:9",
                               "--tree", str(example), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**__import__("os").environ, "KWHEN_CACHE_DIR": env_cache})
             for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    conditions = {json.loads(out)["condition"] for out, _ in outputs}
    assert conditions == {"SMP"}


def test_cached_answer_equals_fresh_answer(example):
    first = line_query(open_tree(example, "x86"), "arch/x86/kernel/setup.c", 13).to_json()
    second = line_query(open_tree(example, "x86"), "arch/x86/kernel/setup.c", 13).to_json()
    fresh = line_query(open_tree(example, "x86", cache=False), "arch/x86/kernel/setup.c", 13).to_json()
    assert first == second == fresh


def test_check_base_takes_a_fragment(example, tmp_path):
    # witnesses closest to a fragment completed as olddefconfig would; what
    # is not a configuration is refused
    fragment = tmp_path / "up.config"
    fragment.write_text("# CONFIG_SMP is not set\n")
    done = run_kwhen("line", "arch/x86/kernel/setup_percpu.c:9", "--tree", example,
                     "--config", fragment, "--json")
    assert json.loads(done.stdout)["config"]["built"] == "no"
    patch = Path(__file__).resolve().parent.parent / "examples" / "seed-move-resync.patch"
    done = run_kwhen("check", patch, "--tree", example, "--base", fragment)
    assert done.returncode == 1, done.stderr
    assert "up.config" in done.stdout
    bad = tmp_path / "notes.txt"
    bad.write_text("remember to set SMP\n")
    done = run_kwhen("check", patch, "--tree", example, "--base", bad)
    assert done.returncode == 2 and f"{bad}:1:" in done.stderr
