"""alternative-definition on tests/fixtures/check-alternatives: an edited
definition whose alternatives were left as they were is reported only when
the edit changes what the code does; comments, layout, a whole deletion and
one more board's hook are not findings."""

import pytest

from conftest import check_findings, committed_fixture
from test_check import commit
from kwhen.checks.messages import AlternativeDefinition
from kwhen.logic.formula import neg, var

SMP = "kernel/smp.c"


@pytest.fixture
def repo(tmp_path):
    return committed_fixture(tmp_path, "check-alternatives")


def findings(repo):
    return check_findings(repo, "demo")


def test_a_changed_behaviour_names_the_alternative_built_instead(repo):
    commit(repo, "flush first", {SMP: ("\tsend_ipi(cpu, func, info);\n",
                                       "\tflush_queue(cpu);\n\tsend_ipi(cpu, func, info);\n")})
    (finding,) = findings(repo)
    assert isinstance(finding, AlternativeDefinition)
    assert (finding.file, finding.line, finding.function) == (SMP, 4, "smp_call_function_single")
    assert finding.alternatives == [("kernel/up.c", 4, neg(var("SMP")))]
    assert finding.witness_changes == {"SMP": "n"}


def test_a_comment_inside_the_function_is_silent(repo):
    commit(repo, "comment", {SMP: ("\t * as well as CPU removal\n",
                                   "\t * as well as CPU removal (and hotplug)\n")})
    assert findings(repo) == []


def test_layout_inside_the_function_is_silent(repo):
    commit(repo, "layout", {SMP: ("\tif (wait)\n\t\twait_for_cpu(cpu);\n",
                                  "\tif (wait) wait_for_cpu( cpu );\n")})
    assert findings(repo) == []


def test_deleting_the_whole_definition_is_silent(repo):
    text = (repo / SMP).read_text()
    start = text.index("int smp_call_function_single(")
    end = text.index("void smp_trace")
    commit(repo, "drop", {SMP: text[:start] + text[end:]})
    assert findings(repo) == []


def test_a_removal_speaks_only_when_the_alternative_keeps_the_code(repo):
    # the uniprocessor version never waited: taking the wait out of the SMP
    # version brings the two closer
    commit(repo, "no wait", {SMP: ("\tif (wait)\n\t\twait_for_cpu(cpu);\n", "")})
    assert findings(repo) == []
    # both trace the call: the uniprocessor one still does
    commit(repo, "no trace", {SMP: ("\ttrace_cross_call(cpu, func);\n", "")})
    (finding,) = findings(repo)
    assert finding.kind == "alternative-definition"
    assert finding.alternatives == [("kernel/up.c", 4, neg(var("SMP")))]


def test_one_more_board_hook_is_silent(repo):
    commit(repo, "gamma board", {
        "Kconfig": ('\tbool "Beta board"\n', '\tbool "Beta board"\n\nconfig TARGET_GAMMA\n'
                                             '\tbool "Gamma board"\n'),
        "board/Makefile": ("obj-$(CONFIG_TARGET_BETA) += beta/\n",
                           "obj-$(CONFIG_TARGET_BETA) += beta/\nobj-$(CONFIG_TARGET_GAMMA) += gamma/\n"),
        "board/gamma/Makefile": "obj-y += board.o\n",
        "board/gamma/board.c": "/* the gamma board */\nint board_init(void)\n{\n"
                               "\tsetup_gamma_pins();\n\treturn 0;\n}\n"})
    assert findings(repo) == []
