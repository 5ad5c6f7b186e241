"""missing-definition and mismatched-signature on tests/fixtures/check-linkage
(two architectures, alpha and beta): what the change adds or edits must
still be provided, with matching parameters, in every configuration that
builds a use of it; stubs, weak defaults, assembly labels and calls the
compiler drops under IS_ENABLED() are no findings."""

import pytest

from conftest import check_findings, committed_fixture
from test_check import commit
from kwhen.checks.messages import MismatchedSignature, MissingDefinition
from kwhen.logic.formula import TRUE, neg, var

CORE = "kernel/core.c"
FOO_H = "include/linux/foo.h"
CALL = "\tfoo_init();\n"


@pytest.fixture
def repo(tmp_path):
    return committed_fixture(tmp_path, "check-linkage")


def findings(repo):
    return check_findings(repo, "alpha", "beta")


def shapes(found):
    return sorted((f.kind, f.file, f.line, f.function, tuple(f.arches)) for f in found)


def test_a_prototype_added_to_one_branch_without_a_stub(repo):
    commit(repo, "foo_reset", {
        FOO_H: ("int foo_init(void);\n", "int foo_init(void);\nint foo_reset(int how);\n"),
        "drivers/foo.c": "int foo_init(void)\n{\n\treturn probe_foo();\n}\n\n"
                         "int foo_reset(int how)\n{\n\treturn reset_foo(how);\n}\n",
        CORE: (CALL, CALL + "\tfoo_reset(1);\n")})
    found = findings(repo)
    assert shapes(found) == [("missing-definition", CORE, 8, "foo_reset", ("alpha", "beta"))]
    (missing,) = found
    assert isinstance(missing, MissingDefinition)
    assert missing.missing is neg(var("FOO")) and missing.witness_changes == {"FOO": "n"}
    assert missing.definitions == [("drivers/foo.c", 6, var("FOO"))]


def test_an_unconditional_call_to_a_conditional_function(repo):
    commit(repo, "sync", {CORE: (CALL, CALL + "\tbar_sync();\n")})
    (missing,) = findings(repo)
    assert (missing.kind, missing.file, missing.line, missing.function) == \
        ("missing-definition", CORE, 8, "bar_sync")
    assert missing.witness_changes == {"BAR": "n"}


def test_a_macro_defined_in_one_branch_only(repo):
    commit(repo, "flags", {
        FOO_H: ("int foo_init(void);\n", "int foo_init(void);\n#define foo_flags() 3\n"),
        CORE: ("\treturn 0;\n", "\treturn foo_flags();\n")})
    (missing,) = findings(repo)
    assert (missing.kind, missing.file, missing.function) == ("missing-definition", CORE, "foo_flags")
    assert missing.missing is neg(var("FOO"))


def test_a_function_of_one_architecture_only(repo):
    commit(repo, "relax", {CORE: (CALL, CALL + "\tarch_relax();\n")})
    (missing,) = findings(repo)
    assert (missing.function, missing.arches, missing.missing) == ("arch_relax", ["beta"], TRUE)


def test_a_stub_whose_parameters_differ(repo):
    commit(repo, "foo_init takes flags", {
        FOO_H: ("int foo_init(void);\n", "int foo_init(int flags);\n"),
        "drivers/foo.c": ("int foo_init(void)\n", "int foo_init(int flags)\n"),
        CORE: (CALL, "\tfoo_init(0);\n")})
    found = [f for f in findings(repo) if f.kind == "mismatched-signature"]
    assert found and all(isinstance(f, MismatchedSignature) for f in found)
    (mismatch,) = {(f.file, f.line, f.parameters, tuple(f.others)) for f in found}
    assert mismatch == ("drivers/foo.c", 4, 1, ((FOO_H, 6, 0),))


@pytest.mark.parametrize("guarded", [
    "\tif (IS_ENABLED(CONFIG_BAR))\n\t\tbar_sync();\n",
    "\tif (IS_ENABLED(CONFIG_BAR) && foo_init())\n\t\tbar_sync();\n",
    "\tif (foo_init() && IS_ENABLED(CONFIG_BAR) && bar_ready())\n\t{\n\t\tbar_sync();\n\t}\n",
    "\tif (!IS_ENABLED(CONFIG_BAR))\n\t\treturn 0;\n\tbar_sync();\n",
    "\tif (!IS_ENABLED(CONFIG_BAR)) {\n\t\tfoo_init();\n\t} else {\n\t\tbar_sync();\n\t}\n",
    "\tIS_ENABLED(CONFIG_BAR) && bar_ready() && bar_sync();\n",
    "#ifdef CONFIG_BAR\n\tbar_sync();\n#endif\n",
])
def test_calls_the_compiler_or_the_preprocessor_drops_are_silent(repo, guarded):
    commit(repo, "guarded", {CORE: (CALL, CALL + guarded)})
    assert [f for f in findings(repo) if f.kind == "missing-definition"] == []


def test_stubs_weak_defaults_and_assembly_are_definitions(repo):
    # foo_init: a static inline stub without FOO; arch_hook: weak default on
    # beta; fast_copy: an assembly label on alpha, C on beta
    commit(repo, "more calls", {CORE: ("\treturn 0;\n",
                                       "\tfoo_init();\n\tarch_hook();\n\tfast_copy(0, 0, 1);\n"
                                       "\treturn 0;\n")})
    assert findings(repo) == []
