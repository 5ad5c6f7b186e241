"""missing-config-prefix on tests/fixtures/check-prefix: an added #if that
names a Kconfig symbol without CONFIG_ and that nothing defines as a macro,
with the spelling that was meant; bare names that a header or a Makefile
defines stay silent."""

import pytest

from conftest import check_findings, committed_fixture
from test_check import commit
from kwhen.checks.messages import MissingConfigPrefix

SCHED = "kernel/sched.c"
CALL = "\tpick_next_task();\n"


@pytest.fixture
def repo(tmp_path):
    return committed_fixture(tmp_path, "check-prefix")


def findings(repo):
    return check_findings(repo, "demo")


def test_a_bare_kconfig_name_is_reported_with_its_prefix(repo):
    commit(repo, "smp", {SCHED: (CALL, CALL + "#ifdef SMP\n\tbalance();\n#endif\n"
                                       "#if IS_ENABLED(NUMA) && defined(CONFIG_SMP)\n"
                                       "\tbalance_nodes();\n#endif\n")})
    found = findings(repo)
    assert [(f.kind, f.file, f.line, f.symbol, f.meant) for f in found] == [
        ("missing-config-prefix", SCHED, 7, "SMP", "CONFIG_SMP"),
        ("missing-config-prefix", SCHED, 10, "NUMA", "CONFIG_NUMA")]
    assert all(isinstance(f, MissingConfigPrefix) for f in found)
    assert found[0].directive == "#ifdef SMP"


def test_names_defined_as_macros_or_not_kconfig_symbols_are_silent(repo):
    commit(repo, "legitimate", {SCHED: (CALL, CALL + "#if HZ > 100\n\tfast_tick();\n#endif\n"
                                                     "#ifdef VERBOSE\n\tshow();\n#endif\n"
                                                     "#if defined(CONFIG_SMP) && defined(ARCH_HAS_FOO)\n"
                                                     "\tbalance();\n#endif\n#ifdef DEBUG\n\tdump();\n#endif\n")})
    assert findings(repo) == []


def test_a_definition_added_by_the_same_change_counts(repo):
    commit(repo, "own macro", {
        "include/linux/param.h": ("#define HZ CONFIG_HZ\n", "#define HZ CONFIG_HZ\n#define SMP 1\n"),
        SCHED: (CALL, CALL + "#ifdef SMP\n\tbalance();\n#endif\n")})
    assert findings(repo) == []


def test_is_enabled_in_c_without_prefix_or_of_an_int_symbol_is_reported(repo):
    # (issue 14: IS_ENABLED arguments checked in C as well; a tree without
    # phases names none)
    commit(repo, "c-tests", {SCHED: (CALL, CALL + "\tif (IS_ENABLED(NUMA) || IS_ENABLED(CONFIG_HZ))\n"
                                                  "\t\tbalance();\n"
                                                  "\tif (IS_ENABLED(HZ) || IS_ENABLED(CONFIG_SMP))\n"
                                                  "\t\tshow();\n")})
    found = [f for f in findings(repo) if f.kind == "config-test-argument"]
    assert [(f.line, f.argument, f.problem, f.fix, f.phases) for f in found] == [
        (7, "NUMA", "missing-prefix", "IS_ENABLED(CONFIG_NUMA)", []),
        (7, "CONFIG_HZ", "not-bool", "CONFIG_HZ", [])]
    assert "phases" not in found[0].to_json()
