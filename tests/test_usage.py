"""Using kwhen day to day (issue 13): one --format for every command,
FILE:LINE:COL, paths read from --tree, --version and --help, checking
uncommitted work (--worktree, --staged, `git diff | kwhen check -`),
progress on a terminal only, and the cache command with its size cap."""

import json
import os
import pty
import select
import subprocess
import sys

import pytest

from conftest import EXAMPLE, REPO, committed, git, run_kwhen
from kwhen.control import parse_location as split_location

PATCH = REPO / "examples" / "seed-move-resync.patch"


# -- one spelling of the output format ---------------------------------------------

@pytest.mark.parametrize("command", [["line", "arch/x86/kernel/setup.c:13"], ["file", "mm/percpu.c"],
                                     ["symbol", "setup_per_cpu_areas"]])
def test_format_json_and_its_alias_agree(example, command):
    spelled = run_kwhen(*command, "--tree", example, "--arch", "x86", "--format", "json")
    alias = run_kwhen(*command, "--tree", example, "--arch", "x86", "--json")
    assert spelled.returncode == alias.returncode == 0, spelled.stderr + alias.stderr
    assert json.loads(spelled.stdout) == json.loads(alias.stdout)


def test_check_takes_json_as_an_alias_of_format_json(example):
    done = run_kwhen("check", PATCH, "--tree", example, "--json")
    assert done.returncode == 1, done.stderr
    assert {f["kind"] for f in json.loads(done.stdout)["findings"]} >= {"moved-narrowed"}


def test_every_command_spells_the_format_the_same():
    from kwhen.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in commands.items():
        if name in ("completion", "mcp"):       # (they print no report)
            continue
        options = {o for action in parser._actions for o in action.option_strings}
        assert {"--format", "--json"} <= options, name


def test_unknown_format_is_bad_input(example):
    done = run_kwhen("line", "mm/percpu.c:5", "--tree", example, "--format", "sarif")
    assert done.returncode == 2 and "invalid choice" in done.stderr


# -- locations and paths -----------------------------------------------------------------

def test_location_takes_line_and_column():
    assert split_location("mm/percpu.c:12") == ("mm/percpu.c", 12)
    assert split_location("mm/percpu.c:12:5") == ("mm/percpu.c", 12)
    assert split_location("a:b/c.c:7") == ("a:b/c.c", 7)
    with pytest.raises(Exception):
        split_location("mm/percpu.c")


def test_compiler_location_gives_the_same_answer(example):
    plain = run_kwhen("line", "arch/x86/kernel/setup.c:13", "--tree", example, "--json")
    column = run_kwhen("line", "arch/x86/kernel/setup.c:13:9", "--tree", example, "--json")
    assert plain.returncode == column.returncode == 0, column.stderr
    assert json.loads(plain.stdout) == json.loads(column.stdout)


def test_relative_path_is_read_from_tree_when_run_from_another_checkout(example, tmp_path):
    # the working directory is another checkout holding the same path
    other = tmp_path / "other"
    (other / "mm").mkdir(parents=True)
    (other / "mm" / "percpu.c").write_text("int unrelated;\n")
    done = run_kwhen("file", "mm/percpu.c", "--tree", example, "--json", cwd=other)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == "mm/percpu.c"
    assert len(json.loads(done.stdout)["blocks"]) == 2


def test_version_and_help():
    done = run_kwhen("--version")
    assert done.returncode == 0 and done.stdout.startswith("kwhen ")
    help_text = run_kwhen("--help").stdout
    for needed in ("examples:", "exit status:", "KWHEN_CACHE_DIR", "KWHEN_CACHE_MAX", "KWHEN_DEBUG",
                   "check"):
        assert needed in help_text
    check_help = run_kwhen("check", "--help").stdout
    assert "--format {text,json,sarif,html,gitlab}" in check_help
    assert "--worktree" in check_help and "--staged" in check_help


@pytest.mark.parametrize("shell", ["bash", "zsh", "tcsh"])
def test_completion_comes_from_the_parser(shell):
    pytest.importorskip("shtab")
    done = run_kwhen("completion", shell)
    assert done.returncode == 0, done.stderr
    assert "kwhen" in done.stdout and "completion" in done.stdout
    if shell != "tcsh":     # (shtab's tcsh script completes commands and choices only)
        assert "--worktree" in done.stdout


# -- checking uncommitted work --------------------------------------------------------

@pytest.fixture
def repo(example):
    """The seed example as a git repository with the 2017 patch applied in
    the work tree, uncommitted."""
    committed(example)
    git(example, "apply", str(PATCH))
    return example


def _kinds(done):
    assert done.returncode in (0, 1), done.stderr
    return {f["kind"] for f in json.loads(done.stdout)["findings"]}


def test_worktree_checks_uncommitted_changes_against_head(repo):
    assert "moved-narrowed" in _kinds(run_kwhen("check", "--worktree", "--tree", repo, "--format", "json"))
    # nothing staged yet: --staged finds nothing
    assert _kinds(run_kwhen("check", "--staged", "--tree", repo, "--format", "json")) == set()


def test_staged_checks_the_index_not_the_work_tree(repo):
    git(repo, "add", "-A")
    # the work tree then goes back to HEAD: only the index holds the change
    git(repo, "restore", "--source=HEAD", "--worktree", "--", ".")
    assert "moved-narrowed" in _kinds(run_kwhen("check", "--staged", "--tree", repo, "--format", "json"))


def test_a_diff_already_applied_in_the_work_tree_is_read_backwards(repo):
    diff = subprocess.run(["git", "diff", "HEAD"], cwd=repo, capture_output=True, text=True).stdout
    done = run_kwhen("check", "-", "--tree", repo, "--format", "json", input=diff)
    assert "moved-narrowed" in _kinds(done)


def test_worktree_with_a_target_is_bad_input(repo):
    done = run_kwhen("check", "HEAD", "--worktree", "--tree", repo)
    assert done.returncode == 2 and "--worktree" in done.stderr


def test_worktree_outside_git_is_bad_input(example):
    done = run_kwhen("check", "--worktree", "--tree", example)
    assert done.returncode == 2 and "git" in done.stderr


# -- progress ------------------------------------------------------------------------

def _on_a_terminal(args, env) -> tuple[int, str]:
    """Run kwhen with stderr on a pseudo-terminal (stdout a pipe): (status, terminal text)."""
    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kwhen", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=secondary, stdin=subprocess.DEVNULL, env=env)
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.stdout.read()
    proc.wait(timeout=60)
    os.close(main)
    return proc.returncode, seen.decode("utf-8", "replace")


def _fresh_env(tmp_path):
    env = dict(os.environ, KWHEN_CACHE_DIR=str(tmp_path / "fresh-cache"), TERM="xterm")
    env.pop("NO_COLOR", None)
    return env


def test_progress_shows_on_a_terminal(example, tmp_path):
    status, seen = _on_a_terminal(["check", PATCH, "--tree", example], _fresh_env(tmp_path))
    assert status == 1
    assert "building the x86 Kconfig model" in seen


def test_quiet_silences_progress_on_a_terminal(example, tmp_path):
    status, seen = _on_a_terminal(["check", PATCH, "--tree", example, "-q"], _fresh_env(tmp_path))
    assert status == 1
    assert seen == ""


def test_no_progress_in_a_pipe_and_log_lines_with_verbose(example, tmp_path):
    env = {"KWHEN_CACHE_DIR": str(tmp_path / "fresh-cache")}
    piped = run_kwhen("check", PATCH, "--tree", example, env=env)
    assert piped.stderr == ""
    env = {"KWHEN_CACHE_DIR": str(tmp_path / "other-cache")}
    verbose = run_kwhen("check", PATCH, "--tree", example, "-v", env=env)
    assert "kwhen: no cached x86 Kconfig model" in verbose.stderr
    assert "kwhen: building the x86 Kconfig model: done in" in verbose.stderr
    assert verbose.stdout == piped.stdout


# -- the cache command ------------------------------------------------------------------

def test_cache_shows_size_per_tree_and_arch_and_clears(example, tmp_path):
    env = {"KWHEN_CACHE_DIR": str(tmp_path / "cache")}
    assert run_kwhen("line", "mm/percpu.c:5", "--tree", example, "--arch", "x86", env=env).returncode == 0
    shown = run_kwhen("cache", "--format", "json", env=env)
    usage = json.loads(shown.stdout)
    assert usage["path"].startswith(str(tmp_path / "cache"))
    assert usage["max_bytes"] == 1 << 30
    trees = {(e["tree"], e["arch"]) for e in usage["entries"]}
    assert (str(example.resolve()), "x86") in trees
    assert all(e["bytes"] > 0 for e in usage["entries"])
    assert str(example.resolve()) in run_kwhen("cache", env=env).stdout
    # clearing another tree keeps this one; clearing this one empties it
    assert run_kwhen("cache", "clear", "--tree", tmp_path, env=env).returncode == 0
    assert json.loads(run_kwhen("cache", "--format", "json", env=env).stdout)["entries"]
    cleared = run_kwhen("cache", "clear", "--tree", example, env=env)
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    assert json.loads(run_kwhen("cache", "--format", "json", env=env).stdout)["entries"] == []
    run_kwhen("line", "mm/percpu.c:5", "--tree", example, "--arch", "x86", env=env)
    assert run_kwhen("cache", "clear", env=env).returncode == 0
    assert not (tmp_path / "cache" / "kwhen.sqlite3").exists()


def test_cache_evicts_the_least_recently_used_models(tmp_path, monkeypatch):
    import shutil

    from kwhen.control import line_query, open_tree
    from kwhen.sqldata import usage

    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "cache"))
    trees = []
    for name in ("a", "b", "c"):
        shutil.copytree(EXAMPLE, tmp_path / name)
        trees.append(tmp_path / name)
    sizes = []
    for tree in trees[:2]:
        t = open_tree(tree, "x86")
        line_query(t, "mm/percpu.c", 5)
        t.cache.close()
        sizes.append(sum(e["bytes"] for e in usage()["entries"]))
    one_tree = sizes[0]
    # room for about two trees: the third evicts the least recently used
    monkeypatch.setenv("KWHEN_CACHE_MAX", str(int(one_tree * 2.5)))
    t = open_tree(trees[0], "x86")          # a is used again: b is now the oldest
    line_query(t, "mm/percpu.c", 5)
    t.cache.close()
    t = open_tree(trees[2], "x86")
    line_query(t, "mm/percpu.c", 5)
    t.cache.close()
    kept = {e["tree"] for e in usage()["entries"]}
    assert str(trees[2].resolve()) in kept and str(trees[0].resolve()) in kept
    assert str(trees[1].resolve()) not in kept
    assert sum(e["bytes"] for e in usage()["entries"]) <= one_tree * 2.5


def test_cache_max_must_be_a_size(example):
    done = run_kwhen("line", "mm/percpu.c:5", "--tree", example, env={"KWHEN_CACHE_MAX": "lots"})
    assert done.returncode == 2 and "KWHEN_CACHE_MAX" in done.stderr
