"""config-test-argument: the argument of IS_ENABLED(), U-Boot's
CONFIG_IS_ENABLED() or CONFIG_VAL() that no fitting Kconfig symbol
answers, on a line the change adds, in an #if or in C (`if
(CONFIG_IS_ENABLED(DM))`); and a makefile's `CONFIG_$(SPL_)FOO` whose
name, with the phase's $(SPL_) (`$(SPL_TPL_)`, `$(PHASE_)`, `$(XPL_)`, as
the tree's Kbuild.include sets them in that phase), is no symbol in a
phase that reads the makefile.

CONFIG_IS_ENABLED(FOO) tests CONFIG_FOO in U-Boot proper and
CONFIG_SPL_FOO in SPL (the prefix each phase adds is read from the tree's
kconfig.h: `kwhen.cpp.phase`). So, in each phase whose build reaches the
line (its condition there is possible):

- CONFIG_IS_ENABLED(CONFIG_FOO) and CONFIG_IS_ENABLED(SPL_FOO) name
  symbols no phase has (the prefix written twice);
- a name no phase has at all is a symbol that does not exist;
- a phase without its own symbol (no SPL_FOO) never takes the branch:
  U-Boot's commonest configuration bug;
- CONFIG_IS_ENABLED of an int/hex/string symbol is true only when its
  value happens to be 1: CONFIG_VAL was meant;
- IS_ENABLED(FOO) in C (the #if case is missing-config-prefix's) and
  IS_ENABLED(CONFIG_X) of an int/hex/string X.

A name some architecture's Kconfig defines counts as existing (as for
undefined-symbol); the type is the checked architecture's.
"""

from __future__ import annotations

import re

from kwhen.checks.lines import patch_lines
from kwhen.checks.messages import ConfigTestArgument
from kwhen.checks.prefix import defined_as_macro
from kwhen.checks.symbols_index import defined_symbols
from kwhen.cpp.expression import PHASE_PREFIX
from kwhen.sources import CODE_SUFFIXES, is_makefile

PHASE_MACROS = ("CONFIG_IS_ENABLED", "CONFIG_VAL", "CONFIG_IF_ENABLED_INT")
KCONFIG_TESTS = ("IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE")
_CALL = re.compile(r"\b(" + "|".join(PHASE_MACROS + KCONFIG_TESTS) +
                   r")\s*\(\s*([A-Za-z_]\w*)\s*[,)]")
_COMMENT = re.compile(r"/\*.*?(?:\*/|$)|//.*$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BOOLISH = ("bool", "tristate")
# problems of the name alone, whichever phase builds the line (not "no-twin")
_IN_ANY_PHASE = ("doubled-prefix", "phase-prefix", "undefined", "missing-prefix", "not-bool")
# built for the build machine or outside Kconfig (tools see TOOLS_ symbols)
_OUTSIDE = ("tools/", "scripts/", "usr/")


def _uses(change):
    """(path, line, macro, argument, in a directive) of each test the
    change adds, once per line."""
    seen = set()
    for path, line, text in patch_lines(change.file_patches, "+"):
        if not path.endswith(CODE_SUFFIXES) or path.startswith(_OUTSIDE):
            continue
        stripped = text.strip()
        if stripped.startswith(("*", "/*", "//")):
            continue
        code = _COMMENT.sub(" ", _STRING.sub('""', text))
        for macro, argument in _CALL.findall(code):
            key = (path, line, macro, argument)
            if key not in seen:
                seen.add(key)
                yield path, line, macro, argument, stripped.startswith("#")


# the variable may stand anywhere in the name: CONFIG_$(SPL_)FOO, and
# CONFIG_FOO_$(SPL_TPL_)BAR (sysreset's misplaced prefix, 71d4393f846)
_MAKE_REF = re.compile(r"CONFIG_(\w*)\$\((\w+)\)(\w+)")


def _makefile_uses(change):
    """(path, line, head, variable, rest) of each CONFIG_$(SPL_)FOO-like
    name on a line the change adds to a makefile."""
    for path, line, text in patch_lines(change.file_patches, "+"):
        if not is_makefile(path):
            continue
        for head, variable, rest in _MAKE_REF.findall(text.split("#", 1)[0]):
            yield path, line, head, variable, rest


def _makefile_findings(change, views, symbols) -> list:
    """obj-$(CONFIG_$(SPL_)FOO): in each phase that reads the makefile, the
    name the phase's $(SPL_) makes must be a symbol."""
    uses = list(_makefile_uses(change))
    if not uses or views[0].phase is None:
        return []
    from kwhen.kbuild.tree import phase_words

    words: dict = {}
    findings = []
    for path, line, head, variable, rest in uses:
        directory = path.rsplit("/", 1)[0] if "/" in path else "."
        missing, looked, anywhere = [], [], []
        for view in views:
            tree = view.post
            key = (view.arch, tree.phase_name)
            if key not in words:
                words[key] = phase_words(tree.root, tree.srcarch, tree.arch, tree.model.symbols,
                                         tree.phase or tree.phases[0], _PHASE_VARIABLES)
            value = words[key].get(variable)
            if value is not None:
                anywhere.append((view, head + value + rest))
            descended = tree.kbuild.dirs.get(directory)
            if value is None or descended is None or not view.space.possible(descended):
                continue
            looked.append(head + value + rest)
            if head + value + rest not in symbols:
                missing.append((view, head + value + rest))
        if not looked and anywhere and rest.startswith(_PHASE_PREFIXES) and (
                head + rest in symbols or head + rest[4:] in symbols):
            # no checked phase reads the makefile (another architecture's,
            # or common/spl/ where x86 has no SPL framework), but a phase
            # prefix after $(SPL_TPL_) is doubled in every phase that does
            finding = _finding(f"CONFIG_{head}$({variable})", rest, "phase-prefix",
                               [v for v, _n in anywhere],
                               fix=f"CONFIG_{head}$({variable}){rest[4:]}"
                               if head + rest[4:] in symbols else f"CONFIG_{head}{rest}")
            finding.file, finding.line, finding.directive = path, line, True
            finding.types = views[0].post.symbol_types
            findings.append(finding)
            continue
        if not missing:
            continue
        macro = f"CONFIG_{head}$({variable})"
        names = list(dict.fromkeys(name for _v, name in missing))
        if len(missing) == len(looked):
            finding = _finding(macro, rest, "undefined", [v for v, _n in missing],
                               names=_shown(names))
        else:
            finding = _finding(macro, rest, "no-twin", [v for v, _n in missing], names=names)
            finding.phases = list(dict.fromkeys(v.phase for v, _n in missing))
        finding.file, finding.line, finding.directive = path, line, True
        finding.types = views[0].post.symbol_types
        findings.append(finding)
    return findings


# the prefixes a phase's variable adds (a name after one must not repeat it)
_PHASE_PREFIXES = ("SPL_", "TPL_", "VPL_")

# the make variables U-Boot's makefiles prefix a phase's symbols with
_PHASE_VARIABLES = ("SPL_", "SPL_TPL_", "PHASE_", "XPL_", "SPL_TPL_VPL_")


def run(change, context) -> list[ConfigTestArgument]:
    views = context.views
    if not views:
        return []
    symbols = None
    findings = []
    if any(True for _ in _makefile_uses(change)):
        symbols = defined_symbols(context.root, change.post, views[0].post.cache)
        findings.extend(_makefile_findings(change, views, symbols))
    uses = list(_uses(change))
    if not uses:
        return findings
    if symbols is None:
        symbols = defined_symbols(context.root, change.post, views[0].post.cache)
    prefixes = [v.post.phase_facts().get(PHASE_PREFIX) for v in views]
    macros: dict = {}
    for path, line, macro, argument, directive in uses:
        built = [(v, p) for v, p in zip(views, prefixes) if _reaches(v, path, line)]
        # a line no checked phase builds (a file of another architecture, a
        # driver its series enables later) still gets the defects that
        # hold in any phase: the name itself is wrong
        anywhere = not built
        if anywhere:
            built = list(zip(views, prefixes))
        if macro in PHASE_MACROS:
            found = _phase_macro(macro, argument, built, symbols)
        else:
            found = _kconfig_test(macro, argument, built, symbols, directive,
                                  lambda name: macros.setdefault(
                                      name, defined_as_macro(context.root, change.post, name)))
        if anywhere:
            found = [f for f in found if f.problem in _IN_ANY_PHASE]
        for finding in found:
            finding.file, finding.line, finding.directive = path, line, directive
            finding.types = views[0].post.symbol_types
            findings.append(finding)
    return findings


def _reaches(view, path: str, line: int) -> bool:
    """Whether some configuration of the view builds the line."""
    try:
        return view.space.possible(view.post_line(path, line))
    except Exception:       # a file kwhen cannot read says nothing here
        return False


def _arches(views) -> list:
    return list(dict.fromkeys(v.arch for v in views))


def _phase_macro(macro, argument, built, symbols) -> list:
    known = [(v, p) for v, p in built if p is not None]
    if not known:
        return []            # a tree whose kconfig.h kwhen cannot read (or none)
    missing = [(v, p) for v, p in known if p + argument not in symbols]
    every_prefix = sorted({p for _v, p in known if p}) + [""]
    if missing:
        views = [v for v, _p in missing]
        earlier = [p for p in every_prefix if p and argument.startswith(p)]
        if argument.startswith("CONFIG_"):
            bare = argument[len("CONFIG_"):]
            return [_finding(macro, argument, "doubled-prefix", views, fix=f"{macro}({bare})")]
        if earlier and argument in symbols:
            bare = argument[len(earlier[0]):]
            fix = (f"{macro}({bare})" if bare in symbols else
                   f"CONFIG_{argument}" if macro == "CONFIG_VAL" else f"IS_ENABLED(CONFIG_{argument})")
            return [_finding(macro, argument, "phase-prefix", views, fix=fix)]
        names = [p + argument for p in every_prefix]
        if not any(name in symbols for name in names):
            return [_finding(macro, argument, "undefined", views, names=_shown(names))]
        lacking = list(dict.fromkeys(p + argument for _v, p in missing))
        fix = (f"IS_ENABLED(CONFIG_{argument})" if macro != "CONFIG_VAL" else f"CONFIG_{argument}") \
            if argument in symbols and all(p for _v, p in missing) \
            and known[0][0].post.symbol_types.get(argument) in _BOOLISH else None
        finding = _finding(macro, argument, "no-twin", views, names=lacking, fix=fix)
        finding.phases = list(dict.fromkeys(v.phase or "U-Boot proper" for v in views))
        return [finding] + _not_bool(macro, argument, known)
    return _not_bool(macro, argument, known)


def _not_bool(macro, argument, known) -> list:
    """CONFIG_IS_ENABLED of an int/hex/string symbol, in the phases where it is one."""
    if macro == "CONFIG_VAL":
        return []
    wrong = [(v, p + argument, v.post.symbol_types.get(p + argument)) for v, p in known]
    wrong = [(v, name, t) for v, name, t in wrong if t is not None and t not in _BOOLISH]
    if not wrong:
        return []
    finding = _finding(macro, argument, "not-bool", [v for v, _n, _t in wrong],
                       names=[wrong[0][1]], fix=f"CONFIG_VAL({argument})")
    finding.symbol_type = wrong[0][2]
    finding.phases = list(dict.fromkeys(v.phase for v, _n, _t in wrong if v.phase))
    return [finding]


def _shown(names: list) -> list:
    """The names looked for, U-Boot proper's first."""
    return sorted(names, key=lambda n: (len(n), n))


def _kconfig_test(macro, argument, built, symbols, directive, is_macro) -> list:
    views = [v for v, _p in built]
    if not argument.startswith("CONFIG_"):
        # (in an #if this is missing-config-prefix's finding)
        if directive or argument not in symbols or is_macro(argument):
            return []
        return [_finding(macro, argument, "missing-prefix", views,
                         fix=f"{macro}(CONFIG_{argument})")]
    name = argument[len("CONFIG_"):]
    kinds = {v.post.symbol_types.get(name) for v in views} - {None}
    wrong = sorted(t for t in kinds if t not in _BOOLISH)
    if not wrong:
        return []
    finding = _finding(macro, argument, "not-bool", views, names=[name], fix=argument)
    finding.symbol_type = wrong[0]
    return [finding]


def _finding(macro, argument, problem, views, names=(), fix=None) -> ConfigTestArgument:
    return ConfigTestArgument(file="", line=0, macro=macro, argument=argument, problem=problem,
                              names=list(names), fix=fix, arches=_arches(views))
