"""U-Boot's phases (issue 14): U-Boot proper, SPL, TPL (VPL) built from one
tree, each with its own Makefile descent, make variables and cpp context,
read from the tree (tests/fixtures/uboot-phases: the 2023 spellings;
uboot-xpl: the 2024 ones)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kwhen.cli import main
from kwhen.cpp.headers import IncludePath, MacroEnvironment
from kwhen.cpp.phase import config_prefix
from kwhen.logic.formula import FALSE, TRUE, conj, var
from kwhen.presence import Tree
from kwhen.readfile import read_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(params=["uboot-phases", "uboot-xpl"])
def uboot(request, tmp_path) -> Path:
    tree = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param, tree)
    return tree


def _phases(tree: Tree) -> dict:
    return {p.name: tree.in_phase(p) for p in tree.phases}


def _line(path: Path, relpath: str, text: str) -> int:
    return (path / relpath).read_text().splitlines().index(text) + 1


def test_phases_are_those_makefile_autoconf_configures_and_kconfig_can_turn_on(uboot):
    tree = Tree(uboot, "sandbox")
    # Makefile.autoconf knows vpl too, but Kconfig defines no VPL symbol
    assert [p.name for p in tree.phases] == ["proper", "spl", "tpl"]
    assert [p.title for p in tree.phases] == ["U-Boot proper", "SPL", "TPL"]


def test_each_phase_descends_its_own_top_makefile(uboot):
    phases = _phases(Tree(uboot, "sandbox"))
    # drivers/ is listed by the top Makefile only, the framework by Makefile.spl/xpl only
    assert phases["proper"].file_condition("drivers/drv.c").built is TRUE
    assert phases["spl"].file_condition("drivers/drv.c").kind == "unreached"
    assert phases["proper"].file_condition("common/spl/spl.c").kind == "unreached"
    spl = phases["spl"]
    assert spl.file_condition("common/spl/spl.c").built == conj(var("SPL"), var("SPL_FRAMEWORK"))
    tpl = phases["tpl"]
    assert tpl.file_condition("common/spl/spl.c").built == conj(var("TPL"), var("TPL_FRAMEWORK"))
    # the arch Makefile is read in every phase; an earlier phase's files
    # are built only when its image is
    assert spl.file_condition("arch/sandbox/cpu/cpu.c").built == var("SPL")
    assert tpl.file_condition("arch/sandbox/cpu/cpu.c").built == var("TPL")


def test_makefile_phase_variables_follow_the_phase(uboot):
    phases = _phases(Tree(uboot, "sandbox"))
    # obj-$(CONFIG_$(SPL_)FOO) (2023) or obj-$(CONFIG_$(XPL_)FOO) (2024)
    assert phases["proper"].file_condition("lib/foo.c").built == var("FOO")
    assert phases["spl"].file_condition("lib/foo.c").built == conj(var("SPL"), var("SPL_FOO"))
    # ifdef CONFIG_SPL_BUILD / ifeq ($(CONFIG_XPL_BUILD),y)
    assert phases["proper"].file_condition("lib/early.c").built is FALSE
    assert phases["proper"].file_condition("lib/late.c").built is TRUE
    assert phases["spl"].file_condition("lib/early.c").built == var("SPL")
    assert phases["tpl"].file_condition("lib/late.c").built is FALSE


def test_config_is_enabled_is_decided_per_phase(uboot):
    phases = _phases(Tree(uboot, "sandbox"))
    foo = _line(uboot, "lib/foo.c", "int foo_enabled(void)")
    bar = _line(uboot, "lib/foo.c", "int bar_enabled(void)")
    early = _line(uboot, "lib/foo.c", "int in_spl_or_tpl(void)")
    many = _line(uboot, "lib/foo.c", "int many_foos(void)")
    proper, spl, tpl = phases["proper"], phases["spl"], phases["tpl"]
    assert proper.cpp("lib/foo.c").condition_at(foo) == var("FOO")
    assert spl.cpp("lib/foo.c").condition_at(foo) == var("SPL_FOO")
    assert tpl.cpp("lib/foo.c").condition_at(foo) == var("TPL_FOO")
    # no SPL_BAR, no TPL_BAR: CONFIG_IS_ENABLED(BAR) never holds before proper
    assert proper.space.possible(proper.line_condition("lib/foo.c", bar))
    assert not spl.space.possible(spl.line_condition("lib/foo.c", bar))
    assert not tpl.space.possible(tpl.line_condition("lib/foo.c", bar))
    # the phase's own macro (CONFIG_SPL_BUILD, CONFIG_XPL_BUILD)
    assert not proper.space.possible(proper.line_condition("lib/foo.c", early))
    assert spl.space.possible(spl.line_condition("lib/foo.c", early))
    # CONFIG_VAL(FOO_COUNT) is CONFIG_SPL_FOO_COUNT in SPL; TPL has none (0)
    assert spl.cpp("lib/foo.c").condition_at(many) == var("SPL_FOO_COUNT>2")
    assert tpl.cpp("lib/foo.c").condition_at(many) is FALSE


def _prefix(tmp_path: Path, header: str, defines: tuple) -> str | None:
    (tmp_path / "include/linux").mkdir(parents=True, exist_ok=True)
    (tmp_path / "include/linux/kconfig.h").write_text(header)

    def read(relpath):
        return read_text(tmp_path / relpath, shown=relpath)
    facts = {"USE_HOSTCC": None, **{d: 1 for d in defines},
             **{d: None for d in ("CONFIG_SPL_BUILD", "CONFIG_TPL_BUILD") if d not in defines}}
    env = MacroEnvironment(IncludePath(tmp_path, "arm", read), {}, facts, read)
    env.read("include/linux/kconfig.h", TRUE)
    return config_prefix(env)


# The placeholder trick of 2016's kconfig.h (an _IS_SPL flag turned into
# an argument that shifts which of two names is picked), written anew.
PLACEHOLDER_HEADER = """
#ifdef CONFIG_SPL_BUILD
#define IN_EARLY 1
#endif
#define MARK_1 0,
#define pick_second(ignored, val, ...) val
#define choose_(junk, cfg) pick_second(junk CONFIG_SPL_##cfg, CONFIG_##cfg)
#define choose(x, cfg) choose_(MARK_##x, cfg)
#define choose_of(x, cfg) choose(x, cfg)
#define CONFIG_VAL(cfg) choose_of(IN_EARLY, cfg)
"""


def test_phase_prefix_read_from_kconfig_h_in_the_phase_context(tmp_path):
    assert _prefix(tmp_path, PLACEHOLDER_HEADER, ()) == ""
    assert _prefix(tmp_path, PLACEHOLDER_HEADER, ("CONFIG_SPL_BUILD",)) == "SPL_"
    # (that era had no TPL_ prefix: TPL used SPL's symbols)
    assert _prefix(tmp_path, PLACEHOLDER_HEADER,
                   ("CONFIG_SPL_BUILD", "CONFIG_TPL_BUILD")) == "SPL_"
    # a header without CONFIG_VAL (Linux, or U-Boot before 2015): no prefix known
    assert _prefix(tmp_path, "#define IS_ENABLED(x) x\n", ("CONFIG_SPL_BUILD",)) is None


def test_phase_models_are_built_only_when_asked(uboot):
    tree = Tree(uboot, "sandbox")
    tree.file_condition("lib/foo.c")
    assert tree.models._phase_kbuild == {}
    tree.in_phase("tpl").file_condition("lib/foo.c")
    assert list(tree.models._phase_kbuild) == ["tpl"]


def test_line_shows_each_phase_and_phase_asks_one(uboot, capsys, monkeypatch):
    monkeypatch.chdir(uboot)
    bar = _line(uboot, "lib/foo.c", "int bar_enabled(void)")
    assert main(["line", f"lib/foo.c:{bar}", "--arch", "sandbox", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert f"lib/foo.c:{bar}: built sometimes on sandbox in U-Boot proper" in out
    assert f"lib/foo.c:{bar}: never built on sandbox in SPL, TPL" in out
    assert main(["file", "lib/early.c", "--arch", "sandbox", "--phase", "spl",
                 "--format", "json", "--no-cache"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["phase"] == "SPL" and answer["status"] == "sometimes"
    assert main(["file", "lib/early.c", "--arch", "sandbox", "--format", "json",
                 "--no-cache"]) == 0
    answers = json.loads(capsys.readouterr().out)["phases"]
    assert [(a["phase"], a["status"]) for a in answers] == [
        ("U-Boot proper", "never"), ("SPL", "sometimes"), ("TPL", "sometimes")]
    assert main(["file", "lib/early.c", "--arch", "sandbox", "--phase", "vpl"]) == 2
    assert "no phase 'vpl' (it has: proper, spl, tpl)" in capsys.readouterr().err


def test_symbol_shows_each_phase(uboot, capsys, monkeypatch):
    monkeypatch.chdir(uboot)
    assert main(["symbol", "early", "--arch", "sandbox", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "early: 1 definition(s); on sandbox in SPL:" in out
    assert "early: never built on sandbox in U-Boot proper" in out


def test_a_tree_without_phases_names_none(tmp_path, capsys, monkeypatch):
    tree = tmp_path / "mini"
    shutil.copytree(FIXTURES / "uboot-mini", tree)
    monkeypatch.chdir(tree)
    assert [p.name for p in Tree(tree, "sandbox").phases] == ["proper"]
    assert main(["file", "lib/foo.c", "--arch", "sandbox", "--format", "json",
                 "--no-cache"]) == 0
    assert "phase" not in json.loads(capsys.readouterr().out)
    assert main(["file", "lib/foo.c", "--arch", "sandbox", "--no-cache"]) == 0
    assert " in U-Boot proper" not in capsys.readouterr().out


# -- kwhen check in each phase ---------------------------------------------------

@pytest.fixture
def repo(uboot):
    from conftest import committed
    return committed(uboot)


def _commit(repo: Path, path: str, old: str, new: str) -> None:
    from conftest import git
    p = repo / path
    assert old in p.read_text()
    p.write_text(p.read_text().replace(old, new, 1))
    git(repo, "commit", "-qam", f"edit {path}")


def test_check_names_the_phases_that_lose_a_file_as_one_finding(repo):
    from conftest import check_findings
    # the phase prefix dropped: SPL and TPL now need U-Boot proper's FOO
    variable = "$(SPL_)" if (repo / "scripts/Makefile.spl").exists() else "$(XPL_)"
    _commit(repo, "lib/Makefile", f"obj-$(CONFIG_{variable}FOO)", "obj-$(CONFIG_FOO)")
    findings = check_findings(repo, "sandbox")
    assert [(f.kind, f.file) for f in findings] == [("narrowed", "lib/foo.c")]
    finding = findings[0]
    assert finding.phases == ["SPL", "TPL"]
    assert "no longer built in SPL, TPL when" in finding.message and "FOO=n" in finding.message
    assert finding.to_json()["phases"] == ["SPL", "TPL"]


def test_check_does_not_report_code_of_an_earlier_phase_dead(repo):
    _commit(repo, "lib/early.c", "return 0;", "int x = 1;\n\treturn x - 1;")
    _commit(repo, "lib/foo.c", "int in_spl_or_tpl(void)\n{\n",
            "int in_spl_or_tpl(void)\n{\n\tint y = 2;\n\n")
    from kwhen.control import CheckOptions, check
    result = check(repo, "HEAD~2..HEAD", CheckOptions(arches=["sandbox"]))
    assert [(f.kind, f.file) for f in result.findings] == []


def test_check_reports_code_no_phase_builds_dead(repo):
    from conftest import check_findings
    # CONFIG_IS_ENABLED(BAR) inside code only the earlier phases build:
    # none of them has a BAR of its own, so no phase builds the line
    _commit(repo, "lib/foo.c", "int in_spl_or_tpl(void)\n{\n",
            "int in_spl_or_tpl(void)\n{\n#if CONFIG_IS_ENABLED(BAR)\n\tbar();\n#endif\n")
    dead = [f for f in check_findings(repo, "sandbox") if f.kind == "dead-added"]
    assert len(dead) == 1
    # why, phase by phase, phases with the same reason together
    spl_only = "#ifdef CONFIG_SPL_BUILD" if (repo / "scripts/Makefile.spl").exists() \
        else "#ifdef CONFIG_XPL_BUILD"
    assert dead[0].message.endswith(f"no configuration builds: in U-Boot proper: {spl_only} never "
                                    "holds; in SPL, TPL: #if CONFIG_IS_ENABLED(BAR) never holds")


def test_a_new_file_no_makefile_compiles_is_one_finding(repo):
    from conftest import check_findings, git
    # a new file no Makefile names: one cause, however many #if blocks
    (repo / "lib/orphan.c").write_text("int orphan(void)\n{\n\treturn 0;\n}\n\n"
                                       "#ifdef CONFIG_FOO\nint foo_too(void);\n#endif\n\n"
                                       "#if CONFIG_IS_ENABLED(FOO)\nint foo_again(void);\n#endif\n")
    git(repo, "add", "lib/orphan.c")
    git(repo, "commit", "-qm", "orphan")
    dead = [f for f in check_findings(repo, "sandbox") if f.kind == "dead-added"]
    assert [(f.file, f.line) for f in dead] == [("lib/orphan.c", 1)]
    assert "no Makefile compiles the file" in dead[0].message
    assert dead[0].more and all(n["file"] == "lib/orphan.c" for n in dead[0].related)


# -- CONFIG_IS_ENABLED / IS_ENABLED / CONFIG_VAL arguments ------------------------

ARGUMENT_EDIT = """int foo_enabled(void)
{
	if (CONFIG_IS_ENABLED(CONFIG_FOO) || CONFIG_IS_ENABLED(SPL_FOO))
		return 2;
	if (CONFIG_IS_ENABLED(NOPE) || IS_ENABLED(FOO) || CONFIG_IS_ENABLED(FOO_COUNT))
		return 3;
	if (IS_ENABLED(CONFIG_FOO_COUNT) || CONFIG_IS_ENABLED(BAR) || CONFIG_IS_ENABLED(FOO))
		return 4;
"""


def _arguments(findings) -> list:
    return sorted((f.line, f.argument, f.problem, tuple(f.phases), f.fix) for f in findings
                  if f.kind == "config-test-argument")


def test_check_judges_phase_macro_arguments_in_c_in_each_phase(repo):
    from conftest import check_findings
    _commit(repo, "lib/foo.c", "int foo_enabled(void)\n{\n", ARGUMENT_EDIT)
    findings = check_findings(repo, "sandbox")
    assert _arguments(findings) == [
        (6, "CONFIG_FOO", "doubled-prefix", (), "CONFIG_IS_ENABLED(FOO)"),
        (6, "SPL_FOO", "phase-prefix", (), "CONFIG_IS_ENABLED(FOO)"),
        (8, "FOO", "missing-prefix", (), "IS_ENABLED(CONFIG_FOO)"),
        (8, "FOO_COUNT", "no-twin", ("TPL",), None),
        (8, "FOO_COUNT", "not-bool", ("U-Boot proper", "SPL"), "CONFIG_VAL(FOO_COUNT)"),
        (8, "NOPE", "undefined", (), None),
        (10, "BAR", "no-twin", ("SPL", "TPL"), "IS_ENABLED(CONFIG_BAR)"),
        (10, "CONFIG_FOO_COUNT", "not-bool", (), "CONFIG_FOO_COUNT")]
    bar = next(f for f in findings if getattr(f, "argument", None) == "BAR")
    assert bar.message.startswith("CONFIG_IS_ENABLED(BAR): no SPL_BAR or TPL_BAR exists, so it "
                                  "is always false in SPL, TPL")


def test_check_judges_the_name_alone_where_no_phase_builds_the_line(repo):
    from conftest import check_findings, git
    # a driver its series enables later (no Makefile compiles it yet): the
    # wrong names are wrong in any phase, a missing twin needs a phase
    (repo / "lib/later.c").write_text(ARGUMENT_EDIT + "\treturn 0;\n}\n")
    git(repo, "add", "lib/later.c")
    git(repo, "commit", "-qm", "a driver built later")
    assert [a[1:3] for a in _arguments(check_findings(repo, "sandbox"))] == [
        ("CONFIG_FOO", "doubled-prefix"), ("SPL_FOO", "phase-prefix"),
        ("FOO", "missing-prefix"), ("FOO_COUNT", "not-bool"), ("NOPE", "undefined"),
        ("CONFIG_FOO_COUNT", "not-bool")]


def test_check_names_a_missing_twin_of_an_if_in_the_phases_that_build_it(repo):
    from conftest import check_findings
    # only SPL and TPL build this function: U-Boot proper's BAR is no help
    _commit(repo, "lib/foo.c", "int in_spl_or_tpl(void)\n{\n",
            "int in_spl_or_tpl(void)\n{\n#if CONFIG_IS_ENABLED(BAR)\n\tbar();\n#endif\n")
    findings = [f for f in check_findings(repo, "sandbox") if f.kind == "config-test-argument"]
    assert [(f.argument, f.problem, f.phases) for f in findings] == [
        ("BAR", "no-twin", ["SPL", "TPL"])]
    assert findings[0].message.startswith(
        "CONFIG_IS_ENABLED(BAR): no SPL_BAR or TPL_BAR exists, so this is never built in SPL, TPL")


def test_check_leaves_arguments_of_unchanged_lines_and_good_ones_alone(repo):
    from conftest import check_findings
    # lib/foo.c already has CONFIG_IS_ENABLED(BAR) (no SPL_BAR): not this change's
    _commit(repo, "lib/foo.c", "\treturn 1;\n}\n#endif\n\n#if CONFIG_IS_ENABLED(BAR)",
            "\treturn CONFIG_IS_ENABLED(FOO) ? 2 : 1;\n}\n#endif\n\n"
            "#if CONFIG_IS_ENABLED(BAR)")
    assert _arguments(check_findings(repo, "sandbox")) == []


def test_scan_holds_every_phase_in_memory(uboot, tmp_path):
    # kwhen scan's models answer from memory after their directory moves on
    from kwhen.scan.models import Held, load, rehome
    from kwhen.models import ArchModels
    models = ArchModels(uboot, "sandbox")
    load(models)
    assert sorted(models._phase_kbuild) == ["spl", "tpl"]
    copy = tmp_path / "elsewhere"
    shutil.copytree(uboot, copy)
    moved = rehome(Held("sandbox", "HEAD", models), copy, "HEAD").models
    assert moved.kbuild_of(moved.phase("spl")) is models.kbuild_of(models.phase("spl"))


def test_check_judges_a_phase_variable_inside_a_makefile_name(repo):
    # obj-$(CONFIG_B$(SPL_TPL_)AR): the prefix put inside the name (as
    # sysreset's AT91 line had it) makes BSPL_AR in SPL, which nothing defines
    from conftest import check_findings, git
    variable = "SPL_TPL_" if (repo / "scripts/Makefile.spl").exists() else "PHASE_"
    with open(repo / "lib/Makefile", "a") as f:
        f.write(f"obj-$(CONFIG_B$({variable})AR) += late.o\n")
    git(repo, "commit", "-qam", "lib: a misplaced phase prefix")
    [found] = [f for f in check_findings(repo, "sandbox") if f.kind == "config-test-argument"]
    assert (found.line, found.problem, found.names, found.phases) == (
        8, "no-twin", ["BSPL_AR", "BTPL_AR"], ["SPL", "TPL"])
    assert found.message.startswith(f"CONFIG_B$({variable})AR: no BSPL_AR or BTPL_AR exists")


def test_check_judges_a_doubled_phase_prefix_in_a_makefile_no_phase_reads(repo):
    # obj-$(CONFIG_$(SPL_TPL_)SPL_FOO) in a directory no checked phase
    # descends (common/spl/ on an architecture without the SPL framework):
    # the prefix is doubled wherever it is read
    from conftest import check_findings, git
    variable = "SPL_TPL_" if (repo / "scripts/Makefile.spl").exists() else "PHASE_"
    (repo / "unread").mkdir()
    (repo / "unread/Makefile").write_text(f"obj-$(CONFIG_$({variable})SPL_FOO) += x.o\n")
    git(repo, "add", "unread/Makefile")
    git(repo, "commit", "-qm", "a makefile nothing reads")
    [found] = [f for f in check_findings(repo, "sandbox") if f.kind == "config-test-argument"]
    assert (found.file, found.line, found.problem, found.fix) == (
        "unread/Makefile", 1, "phase-prefix", f"CONFIG_$({variable})FOO")


def test_reports_carry_the_phases(repo):
    from kwhen.control import CheckOptions, check, render
    variable = "$(SPL_)" if (repo / "scripts/Makefile.spl").exists() else "$(XPL_)"
    _commit(repo, "lib/Makefile", f"obj-$(CONFIG_{variable}FOO)", "obj-$(CONFIG_FOO)")
    report = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    assert "  phases: SPL, TPL" in render(report, "text")
    sarif = json.loads(render(report, "sarif"))
    assert sarif["runs"][0]["results"][0]["properties"]["phases"] == ["SPL", "TPL"]
    assert "<dt>phases</dt><dd>SPL, TPL</dd>" in render(report, "html")


def test_the_witness_says_which_phase_it_builds(repo):
    from kwhen.control import CheckOptions, check, render
    variable = "$(SPL_)" if (repo / "scripts/Makefile.spl").exists() else "$(XPL_)"
    _commit(repo, "lib/Makefile", f"obj-$(CONFIG_{variable}FOO)", "obj-$(CONFIG_FOO)")
    report = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    text = render(report, "text")
    # U-Boot's make takes the board's defconfig (no ARCH=): its config names the arch
    assert "  witness on sandbox, building SPL: make sandbox_defconfig, then set" in text
    assert json.loads(render(report, "json"))["findings"][0]["witness_phase"] == "SPL"
    sarif = json.loads(render(report, "sarif"))
    assert sarif["runs"][0]["results"][0]["properties"]["witness"]["phase"] == "SPL"
    assert "building SPL" in render(report, "html")


def test_check_judges_a_makefile_phase_prefix_in_each_phase_reading_it(repo):
    from conftest import check_findings, git
    # $(SPL_TPL_) (2023) or $(PHASE_) (2024): SPL_BAR in SPL, TPL_BAR in TPL
    variable = "SPL_TPL_" if (repo / "scripts/Makefile.spl").exists() else "PHASE_"
    with open(repo / "lib/Makefile", "a") as f:
        f.write(f"obj-$(CONFIG_$({variable})BAR) += late.o\nobj-$(CONFIG_$({variable})NOPE) += early.o\n")
    git(repo, "commit", "-qam", "lib: phase objects")
    found = [f for f in check_findings(repo, "sandbox") if f.kind == "config-test-argument"]
    assert [(f.line, f.problem, f.names, f.phases) for f in found] == [
        (8, "no-twin", ["SPL_BAR", "TPL_BAR"], ["SPL", "TPL"]),
        (9, "undefined", ["NOPE", "SPL_NOPE", "TPL_NOPE"], [])]
    assert found[0].message == (f"CONFIG_$({variable})BAR: no SPL_BAR or TPL_BAR exists, so this "
                                "is never built in SPL, TPL")


def test_a_host_program_is_answered_once_in_no_phase(uboot, capsys, monkeypatch):
    (uboot / "tools").mkdir()
    (uboot / "tools/Makefile").write_text("# host programs\nhostprogs-y += mkimage\n"
                                          "always := $(hostprogs-y)\n")
    (uboot / "tools/mkimage.c").write_text("int main(void) { return 0; }\n")
    monkeypatch.chdir(uboot)
    assert main(["file", "tools/mkimage.c", "--arch", "sandbox", "--format", "json",
                 "--no-cache"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["kind"] == "host" and "phase" not in answer


def test_a_drivers_own_header_is_no_code_of_a_phase_that_builds_nothing_near_it(uboot):
    phases = _phases(Tree(uboot, "sandbox"))
    assert phases["proper"].file_condition("drivers/drv.h").kind == "header"
    assert phases["spl"].file_condition("drivers/drv.h").kind == "unreached"
    # a header of include/ is every phase's
    assert phases["spl"].file_condition("include/linux/kconfig.h").kind == "header"


def test_check_of_a_drivers_header_judges_only_the_phases_building_near_it(repo):
    from conftest import check_findings
    _commit(repo, "drivers/drv.h", "#if CONFIG_IS_ENABLED(FOO)", "#if CONFIG_IS_ENABLED(BAR)")
    # BAR has no SPL_/TPL_ twin, but SPL and TPL build nothing in drivers/:
    # only U-Boot proper's narrowing (FOO=y, BAR=n) is a finding
    found = check_findings(repo, "sandbox")
    assert [(f.kind, f.phases) for f in found] == [("narrowed", ["U-Boot proper"])]


def test_the_phase_macros_the_build_defines_with_flags_are_not_undefined_symbols(repo):
    from conftest import check_findings
    # CONFIG_SPL_BUILD and CONFIG_TPL_BUILD are no Kconfig symbols: the
    # makefiles define them (-DCONFIG_SPL_BUILD); a name nothing defines is
    _commit(repo, "lib/foo.c", "int foo_enabled(void)\n{\n",
            "int foo_enabled(void)\n{\n#if defined(CONFIG_SPL_BUILD) || defined(CONFIG_TPL_BUILD)\n"
            "\tearly();\n#endif\n#ifdef CONFIG_NO_SUCH_FLAG\n\tnothing();\n#endif\n")
    found = [(f.line, [r.symbol for r in f.references]) for f in check_findings(repo, "sandbox")
             if f.kind == "undefined-symbol"]
    assert found == [(9, ["NO_SUCH_FLAG"])]


def test_a_summary_names_each_architecture_once_whatever_the_phases(repo):
    from conftest import git
    from kwhen.control import CheckOptions, check, render
    # a makefile edit (both sides modelled) with no finding: the summary
    # still says what was checked, sandbox once for its four phases
    with open(repo / "lib/Makefile", "a") as f:
        f.write("# nothing built here changes\n")
    git(repo, "commit", "-qam", "lib: a comment")
    report = check(repo, "HEAD", CheckOptions(arches=["sandbox"]))
    assert report.findings == []
    assert json.loads(render(report, "json"))["summary"]["arches"] == ["sandbox"]
    assert render(report, "text").count("sandbox") == 1


def test_scan_checks_every_phase_as_check_does(repo, tmp_path, monkeypatch):
    """A scan worker checks a U-Boot commit in each phase, as `kwhen check`
    does: the same findings, naming the same phases."""
    from conftest import check_findings
    from kwhen.scan.worker import ScanWorker

    monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path / "cache"))
    variable = "$(SPL_)" if (repo / "scripts/Makefile.spl").exists() else "$(XPL_)"
    _commit(repo, "lib/Makefile", f"obj-$(CONFIG_{variable}FOO)", "obj-$(CONFIG_FOO)")
    expected = [(f.kind, f.file, f.phases) for f in check_findings(repo, "sandbox")]
    assert expected == [("narrowed", "lib/foo.c", ["SPL", "TPL"])]
    sha, parent = subprocess.run(["git", "rev-parse", "HEAD", "HEAD^"], cwd=repo, check=True,
                                 capture_output=True, text=True).stdout.split()
    worker = ScanWorker(str(repo), {"arches": ["sandbox"]}, str(tmp_path / "scan"))
    try:
        found = worker.check(sha, parent)["findings"]
    finally:
        worker.close()
    assert [(f["kind"], f["file"], f["phases"]) for f in found] == expected


def test_dead_code_blames_the_undefined_symbol_not_the_phase_macro(repo):
    """Code under an undefined CONFIG_ name beside a phase's build macro:
    the undefined name is the cause; CONFIG_SPL_BUILD / CONFIG_XPL_BUILD
    are macros of the build, not Kconfig symbols missing."""
    from conftest import check_findings
    macro = "CONFIG_SPL_BUILD" if (repo / "scripts/Makefile.spl").exists() else "CONFIG_XPL_BUILD"
    _commit(repo, "lib/late.c", "int late(void) { return 0; }",
            f"int late(void)\n{{\n#if defined(CONFIG_NO_SUCH_THING) && !defined({macro})\n"
            "\tgone();\n#endif\n\treturn 0;\n}")
    dead = [f for f in check_findings(repo, "sandbox") if f.kind == "dead-added"]
    assert [f.message.split(": ", 1)[1] for f in dead] == [
        "CONFIG_NO_SUCH_THING is defined by no Kconfig file"]
