"""A finding is the change's (issue 14): a defect the parent had already,
carried by a line the change re-indents or edits elsewhere, is left out of
`kwhen check` unless --all-findings asks for it, and is marked there."""

import json

import pytest

from conftest import committed_fixture, run_kwhen
from test_check import commit
from kwhen.control import CheckOptions, check

SCHED = "kernel/sched.c"
CALL = "\tpick_next_task();\n"
# three defects at once: a bare Kconfig name in #ifdef (so the block is
# dead), an IS_ENABLED argument without CONFIG_, a symbol no Kconfig defines
DEFECTS = ("#ifdef SMP\n\tbalance();\n#endif\n"
           "\tif (IS_ENABLED(NUMA))\n\t\tshow();\n"
           "#ifdef CONFIG_NOWHERE\n\tnever();\n#endif\n")


@pytest.fixture
def repo(tmp_path):
    repo = committed_fixture(tmp_path, "check-prefix")
    commit(repo, "defects", {SCHED: (CALL, CALL + DEFECTS)})
    return repo


def findings(repo, **options):
    return check(repo, "HEAD", CheckOptions(arches=["demo"], **options)).findings


def kinds(found):
    return sorted(f.kind for f in found)


def test_the_commit_that_writes_the_defects_owns_them(repo):
    found = findings(repo)
    assert kinds(found) == ["config-test-argument", "dead-added", "missing-config-prefix",
                            "undefined-symbol"]
    assert not any(f.pre_existing for f in found)


def test_a_reindent_of_the_defective_lines_reports_nothing_by_default(repo):
    reindented = DEFECTS.replace("\n\t", "\n\t\t").replace("#ifdef ", "#ifdef  ") \
        .replace("IS_ENABLED(NUMA))", "IS_ENABLED(NUMA) && ready)")
    commit(repo, "reindent", {SCHED: (DEFECTS, reindented)})
    assert findings(repo) == []
    every = findings(repo, all_findings=True)
    assert kinds(every) == ["config-test-argument", "dead-added", "missing-config-prefix",
                            "undefined-symbol"]
    assert all(f.pre_existing for f in every)


def test_a_new_occurrence_beside_an_old_one_is_the_changes(repo):
    # one IS_ENABLED(NUMA) removed, two added: kwhen cannot tell which is
    # new, so both stay the change's
    commit(repo, "more", {SCHED: ("\tif (IS_ENABLED(NUMA))\n\t\tshow();\n",
                                  "\tif (IS_ENABLED(NUMA) && ready)\n\t\tshow();\n"
                                  "\tif (IS_ENABLED(NUMA))\n\t\tshow_more();\n")})
    found = findings(repo)
    assert kinds(found) == ["config-test-argument", "config-test-argument"]
    assert not any(f.pre_existing for f in found)


def test_code_added_to_a_block_already_dead_is_the_changes(repo):
    commit(repo, "grow", {SCHED: ("\tnever();\n", "\tnever();\n\tnever_again();\n")})
    found = findings(repo)
    assert [(f.kind, f.line) for f in found] == [("dead-added", 14)]
    assert not found[0].pre_existing


def test_code_made_dead_by_the_change_is_the_changes(repo):
    # pick_next_task() was built; moving it under the dead #ifdef is the
    # change's doing
    text = (repo / SCHED).read_text()
    moved = text.replace(CALL, "", 1).replace("\tnever();\n", "\tnever();\n" + CALL)
    commit(repo, "move", {SCHED: moved})
    found = [f for f in findings(repo) if f.kind == "dead-added"]
    assert found and not any(f.pre_existing for f in found)


def test_a_kconfig_change_keeps_named_defects_the_changes(repo):
    # the change could have removed the definition the name needed
    commit(repo, "kconfig and directive", {
        SCHED: ("#ifdef CONFIG_NOWHERE\n", "#ifdef  CONFIG_NOWHERE\n"),
        "Kconfig": ("config VERBOSE\n", "config VERBOSE2\n\tbool\n\nconfig VERBOSE\n")})
    found = [f for f in findings(repo) if f.kind == "undefined-symbol"]
    assert found and not found[0].pre_existing


def test_reports_say_what_the_parent_had(repo):
    commit(repo, "reindent", {SCHED: ("\tnever();\n", "\t\tnever();\n")})
    text = run_kwhen("check", "HEAD", "--arch", "demo", cwd=repo)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "1 finding the parent already had is not shown (--all-findings shows it)" in text.stdout
    shown = run_kwhen("check", "HEAD", "--arch", "demo", "--all-findings", cwd=repo)
    assert shown.returncode == 1
    assert "[dead-added]" in shown.stdout and "(present before the change)" in shown.stdout
    as_json = json.loads(run_kwhen("check", "HEAD", "--arch", "demo", "--all-findings",
                                   "--format", "json", cwd=repo).stdout)
    assert [f["pre_existing"] for f in as_json["findings"]] == [True]
    hidden = json.loads(run_kwhen("check", "HEAD", "--arch", "demo", "--format", "json",
                                  cwd=repo).stdout)
    assert hidden["findings"] == [] and hidden["summary"]["pre_existing_hidden"] == 1
    sarif = json.loads(run_kwhen("check", "HEAD", "--arch", "demo", "--all-findings",
                                 "--format", "sarif", cwd=repo).stdout)
    assert [r["baselineState"] for r in sarif["runs"][0]["results"]] == ["unchanged"]
