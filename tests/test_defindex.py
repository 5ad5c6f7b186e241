"""The cached index of where C identifiers may be defined (kwhen/defindex.py):
the definition styles it must see, freshness against the work tree and
HEAD, and falling back to git grep when the cache is damaged."""

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import committed, git, run_kwhen
from kwhen import defindex
from kwhen.control import open_tree, symbol_query
from kwhen.definitions import files_defining
from kwhen.cpp.definitions import find_definitions
from kwhen.sqldata import Cache

# One file per definition style; user.c only calls and mentions.
STYLES = {
    "split.c": "static int\nsplit_line(void)\n{\n\treturn 0;\n}\n",
    "oneline.c": "int one_line(void) { return helper(); }\n",
    "weak.c": "void __weak weak_one(void)\n{\n}\n",
    "attrs.c": "__printf(1, 2) __cold\nvoid log_it(const char *fmt, ...)\n{\n}\n",
    "attr_group.c": "static __attribute__((unused)) int grouped(int a)\n{\n\treturn a;\n}\n",
    "macro.h": "#ifndef X\n# define lower_macro(x) ((x) + 1)\n#endif\n",
    "variable.c": "int counter = 3;\nstatic long table[4] __read_mostly = { 1 };\n",
    "struct.c": "static struct {\n\tint a;\n} after_body[] = {\n\t{ 1 },\n};\n",
    "user.c": ("void user(void)\n{\n\tsplit_line();\n\tone_line();\n\tweak_one();\n"
               "\tlog_it(\"x\");\n\tgrouped(1);\n\tcounter = lower_macro(table[0]);\n}\n"),
}
EXPECTED = {
    "split_line": ["split.c"], "one_line": ["oneline.c"], "weak_one": ["weak.c"],
    "log_it": ["attrs.c"], "grouped": ["attr_group.c"], "lower_macro": ["macro.h"],
    "counter": ["variable.c"], "table": ["variable.c"], "after_body": ["struct.c"],
}


def make_repo(root: Path, files: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def fresh_index(root: Path, cache_dir: Path) -> defindex.DefinitionIndex:
    """The index as a new kwhen command sees it."""
    return defindex.for_root(root, Cache(cache_dir))


def tree_of(root: Path, cache_dir: Path):
    """What files_defining needs of a Tree (these repos have no Kconfig)."""
    return SimpleNamespace(root=root, cache=Cache(cache_dir),
                           models=SimpleNamespace(built_model=False, origin=None))


@pytest.fixture
def styles(tmp_path):
    return make_repo(tmp_path / "styles", STYLES)


def test_finds_every_definition_style_and_not_the_callers(styles, tmp_path):
    index = fresh_index(styles, tmp_path / "cache")
    for name, files in EXPECTED.items():
        assert index.files_defining(name) == files, name
        # the index is a superset of what find_definitions finds, here exactly it
        defined = [p for p in STYLES if find_definitions(STYLES[p], name, p)]
        assert defined == files, name


def test_stored_index_is_reused_by_the_next_command(styles, tmp_path):
    first = fresh_index(styles, tmp_path / "cache")
    assert first.files_defining("split_line") == ["split.c"]
    assert first._grep is not None                     # built by this one
    second = fresh_index(styles, tmp_path / "cache")
    assert second._grep is None                        # read from the cache
    assert second.files_defining("split_line") == ["split.c"]
    assert second.files_defining("one_line") == ["oneline.c"]


def test_names_with_capitals_are_left_to_grep(styles, tmp_path):
    (styles / "upper.h").write_text("#define UPPER_THING 1\n")
    git(styles, "add", "-A")
    git(styles, "commit", "-qm", "upper")
    index = fresh_index(styles, tmp_path / "cache")
    assert index.files_defining("UPPER_THING") is None
    assert files_defining(tree_of(styles, tmp_path / "cache"), "UPPER_THING") == ["upper.h"]
    # beside a name the index covers, only the other is grepped for: not
    # every file that calls split_line (user.c)
    assert files_defining(tree_of(styles, tmp_path / "cache"),
                          ["UPPER_THING", "split_line"]) == ["split.c", "upper.h"]


def test_work_tree_edits_are_seen_at_once(styles, tmp_path):
    cache = tmp_path / "cache"
    fresh_index(styles, cache).files_defining("split_line")       # build and store
    # a new definition in a tracked file, one removed from another
    (styles / "user.c").write_text(STYLES["user.c"] + "int split_line(void)\n{\n\treturn 1;\n}\n")
    (styles / "oneline.c").write_text("int other(void) { return 0; }\n")
    index = fresh_index(styles, cache)
    assert index._grep is None
    assert index.files_defining("split_line") == ["split.c", "user.c"]
    # a dirty file that mentions the name is a candidate: find_definitions decides
    assert index.files_defining("one_line") == ["user.c"]
    assert "oneline.c" not in index.files_defining("one_line")
    # the file dirty when the index was built stays re-read after it is reverted
    git(styles, "checkout", "--", "user.c", "oneline.c")
    fresh_index(styles, cache).files_defining("x")
    assert fresh_index(styles, cache).files_defining("split_line") == ["split.c"]
    assert fresh_index(styles, cache).files_defining("one_line") == ["oneline.c"]


def test_index_built_on_a_dirty_tree_stays_right_when_cleaned(styles, tmp_path):
    cache = tmp_path / "cache"
    (styles / "split.c").write_text("int nothing_here;\n")
    assert fresh_index(styles, cache).files_defining("split_line") == []
    git(styles, "checkout", "--", "split.c")
    index = fresh_index(styles, cache)
    assert index._grep is None              # same HEAD tree: the stored index
    assert index.files_defining("split_line") == ["split.c"]


def test_a_new_commit_updates_the_index_from_the_files_it_changed(styles, tmp_path):
    cache = tmp_path / "cache"
    fresh_index(styles, cache).files_defining("split_line")
    (styles / "dir").mkdir()
    (styles / "dir/more.c").write_text("int\nsplit_line(void)\n{\n\treturn 2;\n}\n")
    (styles / "oneline.c").write_text("int other(void) { return 0; }\n")
    git(styles, "add", "-A")
    git(styles, "commit", "-qm", "another definition, one removed")
    index = fresh_index(styles, cache)
    assert index._grep is None and index._built is not None     # updated, not rebuilt
    assert index.files_defining("split_line") == ["dir/more.c", "split.c"]
    assert index.files_defining("one_line") == []
    assert index.files_defining("other") == ["oneline.c"]
    # and stored for the new tree
    again = fresh_index(styles, cache)
    assert again._built is None and again.files_defining("split_line") == ["dir/more.c", "split.c"]


def test_untracked_files_are_not_searched(styles, tmp_path):
    # as with git grep before the index: only tracked files count
    (styles / "untracked.c").write_text("int split_line(void) { return 3; }\n")
    assert fresh_index(styles, tmp_path / "cache").files_defining("split_line") == ["split.c"]


def test_damaged_items_fall_back_to_grep(styles, tmp_path):
    cache_dir = tmp_path / "cache"
    fresh_index(styles, cache_dir).files_defining("split_line")
    db = sqlite3.connect(cache_dir / "kwhen.sqlite3")
    db.execute("UPDATE item SET data = X'00' WHERE kind = 'defindex' AND key LIKE '%:n%'")
    db.commit()
    db.close()
    index = fresh_index(styles, cache_dir)
    assert index.files_defining("split_line") is None        # the checksum fails
    # grep: the files mentioning it, a superset that find_definitions narrows
    assert files_defining(tree_of(styles, cache_dir), "split_line") == ["split.c", "user.c"]


def test_corrupt_database_is_replaced(styles, tmp_path):
    cache_dir = tmp_path / "cache"
    fresh_index(styles, cache_dir).files_defining("split_line")
    (cache_dir / "kwhen.sqlite3").write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (cache_dir / f"kwhen.sqlite3{suffix}").unlink(missing_ok=True)
    assert fresh_index(styles, cache_dir).files_defining("split_line") == ["split.c"]


def test_no_index_outside_git_or_without_cache(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert defindex.for_root(plain, Cache(tmp_path / "cache")) is None
    assert defindex.for_root(plain, Cache(enabled=False)) is None


@pytest.fixture
def seed_repo(example):
    return committed(example)


def test_symbol_sees_an_edit_made_after_the_index(seed_repo):
    first = symbol_query(open_tree(seed_repo, "x86"), "setup_per_cpu_areas", witnesses=False)
    assert sorted(d.path for d in first.definitions) == [
        "arch/x86/kernel/setup_percpu.c", "mm/percpu.c", "mm/percpu.c"]
    main = seed_repo / "init/main.c"
    main.write_text(main.read_text() + "\nvoid __weak setup_per_cpu_areas(void)\n{\n}\n")
    (seed_repo / "arch/x86/kernel/setup_percpu.c").write_text("/* gone */\n")
    again = symbol_query(open_tree(seed_repo, "x86"), "setup_per_cpu_areas", witnesses=False)
    assert sorted(d.path for d in again.definitions) == ["init/main.c", "mm/percpu.c", "mm/percpu.c"]


def test_symbol_output_same_with_and_without_cache(seed_repo, tmp_path):
    args = ("symbol", "setup_per_cpu_areas", "--arch", "x86", "--tree", seed_repo)
    env = {"KWHEN_CACHE_DIR": str(tmp_path / "symbol-cache")}
    uncached = run_kwhen(*args, "--no-cache", env=env)
    cold = run_kwhen(*args, env=env)
    warm = run_kwhen(*args, env=env)
    assert uncached.returncode == 0, uncached.stderr
    assert "setup_percpu.c:4" in uncached.stdout
    assert cold.stdout == uncached.stdout
    assert warm.stdout == uncached.stdout


def test_a_process_that_built_the_model_greps_and_leaves_the_index_to_the_next(styles, tmp_path):
    cold = SimpleNamespace(root=styles, cache=Cache(tmp_path / "cache"),
                           models=SimpleNamespace(built_model=True, origin=None))
    assert files_defining(cold, "split_line") == ["split.c", "user.c"]    # grep: mentions
    index = fresh_index(styles, tmp_path / "cache")
    assert index._grep is not None          # nothing was stored: this one builds
    warm = SimpleNamespace(root=styles, cache=Cache(tmp_path / "cache"),
                           models=SimpleNamespace(built_model=False, origin=None))
    assert files_defining(warm, "split_line") == ["split.c"]
