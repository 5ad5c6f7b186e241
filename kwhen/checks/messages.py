"""The kinds of finding `kwhen check` reports, as data.

As pyflakes' messages.py: one small class per kind of finding, holding its
arguments (paths, lines, conditions as Formula objects, the witness
configuration) and the template that words it. This module is the one
place where findings become English; checks produce these objects and
every renderer (text, JSON, SARIF, HTML) reads them through the same
properties (`message`, `condition_before`, `condition_after`, `related`,
`witness_changes`, `witness_base`, `witness_text`, `to_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kwhen.logic.formula import TRUE, Formula
from kwhen.logic.solver import config_line
from kwhen.wording import describe, in_words, settings


# Free propositions every compilation of C satisfies (see checks/loss.py).
_COMPILING_C = ("defined(__ASSEMBLY__)", "defined(__ASSEMBLER__)")


def lost_when(losing: Formula, types: dict, arches: list) -> str:
    """"no longer built when SMP=n", or on every configuration of the
    architectures when nothing more is needed to lose the code."""
    if losing is TRUE:
        where = f" of {', '.join(arches)}" if arches else ""
        return f"no longer built in any configuration{where}"
    return f"no longer built when {settings(losing, types)}"


@dataclass(kw_only=True, eq=False)
class Finding:
    """What every finding has: where, on which architectures, the witness
    configuration that shows it, and the change it belongs to."""

    kind = ""                         # the kind's name, e.g. "narrowed"
    meaning = ""                      # one line on what the kind means

    file: str                         # path relative to the tree
    line: int                         # 1-based, in the post-image (pre-image for removals)
    arches: list = field(default_factory=list)
    # U-Boot: the phases the finding holds in (U-Boot proper, SPL, ...);
    # empty for a tree without phases (Linux) and for findings of no phase
    phases: list = field(default_factory=list)
    # phase -> its own `losing` where the phases lose the code under
    # different conditions (SPL_FOO=n in SPL, FOO=n in proper): merge_findings
    phase_losing: dict = field(default_factory=dict, repr=False)
    # architectures not modelled that lose the same lines by their #if alone
    # (kwhen.checks.scope): named, not confirmed
    unmodelled_arches: list = field(default_factory=list)
    types: dict = field(default_factory=dict, repr=False)   # symbol -> Kconfig type, for wording
    before: Formula | None = None     # where the code was built before the change
    after: Formula | None = None      # where it is built after
    witness: object = None            # kwhen.logic.solver.Witness: a configuration showing it
    change: str | None = None         # commit id or patch subject the finding belongs to
    verified: bool | None = None      # --verify: witness survived make olddefconfig
    verify_note: str | None = None    # --verify: what make olddefconfig did
    # the parent had the defect already (kwhen.checks.preexisting): shown
    # only with --all-findings
    pre_existing: bool = False
    # U-Boot: the phase whose build the witness shows the finding in (the
    # first phase of the finding that was kept when findings merged)
    witness_phase: str | None = None
    # (number, text, condition) of the lines around `line`, for the HTML
    # report; filled by kwhen.checks.runner.code_context
    context: list = field(default_factory=list, repr=False)

    # -- wording (each kind words its own message and related locations) ------

    @property
    def message(self) -> str:
        """One sentence for people."""
        raise NotImplementedError

    def related_locations(self) -> list[tuple[str, int, str]]:
        """(file, line, message) of the other places the finding points at."""
        return []

    def lost_when(self, losing: Formula) -> str:
        """"no longer built when FOO=n"; in a tree with phases "no longer
        built in SPL when SPL_FOO=n", the phases that lose the code under the
        same settings together ("in SPL, TPL when ...; in U-Boot proper when
        FOO=n")."""
        if not self.phases:
            return lost_when(losing, self.types, self.arches)
        groups: dict = {}
        for phase in self.phases:
            lost = self.phase_losing.get(phase, losing)
            # (nothing more needed to lose it: in any configuration)
            text = "" if lost is TRUE else f" when {settings(lost, self.types)}"
            groups.setdefault(text, []).append(phase)
        return "no longer built " + "; ".join(
            f"in {', '.join(phases)}{text or ' in any configuration'}"
            for text, phases in groups.items())

    # -- what renderers read --------------------------------------------------

    @property
    def condition_before(self) -> str | None:
        return describe(self.before, self.types) if self.before is not None else None

    @property
    def condition_after(self) -> str | None:
        return describe(self.after, self.types) if self.after is not None else None

    @property
    def related(self) -> list[dict]:
        out = [{"file": f, "line": n, "message": m} for f, n, m in self.related_locations()]
        if self.verify_note is not None:
            out.append({"file": self.file, "line": self.line, "message": f"--verify: {self.verify_note}"})
        return out

    @property
    def witness_changes(self) -> dict | None:
        """symbol -> y/m/n: the witness's changes against `witness_base`."""
        if self.witness is None:
            return None
        return {name: new for name, _, new in self.witness.changes}

    @property
    def witness_base(self) -> str | None:
        return self.witness.base_name if self.witness is not None else None

    @property
    def witness_arch(self) -> str | None:
        """The architecture whose configuration the witness is (the first
        of `arches`: the views are checked in that order)."""
        return self.arches[0] if self.arches and self.witness is not None else None

    @property
    def witness_recipe(self) -> str | None:
        """How to make the witness: the make command of its base, then the
        .config lines to set (`witness_fragment`)."""
        if self.witness is None:
            return None
        base = self.witness.base_name
        if self.witness_phase and base.endswith("_defconfig"):
            # U-Boot's make takes the board's defconfig; its config names the arch
            return f"make {base.rsplit('/', 1)[-1]}"
        if base.endswith("defconfig") and "/" not in base and self.witness_arch:
            return f"make ARCH={self.witness_arch} {base}"
        if base == "defaults" and self.witness_arch:
            # no defconfig: the base is every symbol at its Kconfig default
            return f"make ARCH={self.witness_arch} alldefconfig"
        return f"cp {base} .config"

    @property
    def witness_fragment(self) -> list[str]:
        """Every setting of the witness as .config lines, those a user
        decides first and those that follow from them after, then the
        values it gives int/hex/string symbols: all that the JSON lists,
        copy-pasteable."""
        if self.witness is None:
            return []
        values = sorted((self.witness.symbol_values or {}).items())
        lines = ([config_line(name, new) for name, _, new in self.witness.changes]
                 + [f"CONFIG_{name}={value}" for name, value in values])
        # what no .config sets (a macro a header may define, a Makefile
        # construct kwhen does not evaluate), as a comment kconfig ignores;
        # that C is compiled, not assembled, goes without saying
        assumed = [name if value else f"!{name}" for name, value in sorted(self.witness.free.items())
                   if name not in _COMPILING_C]
        if assumed:
            lines.append(f"# assuming {', '.join(assumed)}")
        return lines

    @property
    def before_in_words(self) -> str | None:
        """`before` as a sentence ends: "always", "when SMP=y"."""
        return in_words(self.before, self.types) if self.before is not None else None

    @property
    def after_in_words(self) -> str | None:
        return in_words(self.after, self.types) if self.after is not None else None

    @property
    def witness_text(self) -> str | None:
        """``x86_64_defconfig + # CONFIG_SMP is not set``: how every report
        shows the witness."""
        return self.witness.describe(understood=_COMPILING_C) if self.witness is not None else None

    @property
    def sort_key(self):
        return (self.change or "", self.file, self.line, self.kind)

    def to_json(self) -> dict:
        """The documented JSON fields of a finding."""
        return {
            "kind": self.kind, "file": self.file, "line": self.line, "message": self.message,
            "arches": list(self.arches), "arches_unmodelled": list(self.unmodelled_arches),
            **({"phases": list(self.phases)} if self.phases else {}),
            "condition_before": self.condition_before, "condition_after": self.condition_after,
            "witness": self.witness_changes, "witness_base": self.witness_base,
            "witness_text": self.witness_text, "related": self.related,
            "change": self.change, "verified": self.verified,
            "pre_existing": self.pre_existing,
            **({"witness_phase": self.witness_phase} if self.witness_phase else {}),
        }


def _span(first: int, last: int) -> str:
    return f"lines {first}-{last}" if last != first else f"line {first}"


@dataclass(frozen=True)
class Place:
    """One more place a finding's cause narrows (one finding per cause: a
    change that makes a feature conditional is one finding listing every
    place it loses): lines `line`..`last` of `file`, the whole file
    (`line` 0), code moved to `file:line` from `source` ("path:line"), or
    the Kconfig `symbol` defined at `file:line`; `losing` when it is lost under another condition than the finding's
    (the same hunk guarding lines with different symbols)."""

    file: str
    line: int = 0
    last: int = 0
    source: str | None = None
    losing: Formula | None = None
    symbol: str | None = None         # a Kconfig symbol enabled in fewer configurations

    def note(self, types: dict) -> tuple[str, int, str]:
        """(file, line, message) of the related location that shows it."""
        if self.symbol is not None:
            what = f"{self.symbol}, and the files built with it, is"
        elif self.source is not None:
            what = f"code moved here from {self.source} is"
        elif not self.line:
            what = "the whole file is"
        else:
            last = self.last or self.line
            what = f"{_span(self.line, last)} {'is' if last == self.line else 'are'}"
        when = ("then" if self.losing is None else "in any configuration" if self.losing is TRUE
                else f"when {settings(self.losing, types)}")
        return (self.file, self.line or 1, f"{what} also no longer built {when} (same cause)")


@dataclass(kw_only=True, eq=False)
class MovedNarrowed(Finding):
    """Code removed at `source_file:source_line` and added at `file:line`,
    where it is built in fewer configurations (the seed's bug)."""

    kind = "moved-narrowed"
    meaning = "code moved to a place that is built in fewer configurations"

    source_file: str
    source_line: int
    losing: Formula                   # what a configuration needs to lose the code, given `before`
    others: list = field(default_factory=list)   # [Place] the same cause narrows too

    @property
    def message(self) -> str:
        return (f"code moved here from {self.source_file}:{self.source_line} is built in fewer "
                f"configurations: {self.lost_when(self.losing)}")

    def related_locations(self):
        return [(self.source_file, self.source_line,
                 f"the code was here, built {in_words(self.before, self.types)}")] + [
            p.note(self.types) for p in self.others]


@dataclass(kw_only=True, eq=False)
class NarrowedLines(Finding):
    """Lines `line`..`last` that stay put but are built in fewer
    configurations because the patch edited the #if around them."""

    kind = "narrowed"
    meaning = "code that stays put but is built in fewer configurations after the change"

    last: int
    losing: Formula
    others: list = field(default_factory=list)   # [Place] the same cause narrows too

    def related_locations(self):
        return [p.note(self.types) for p in self.others]

    @property
    def message(self) -> str:
        verb, them = ("stays", "it") if self.last == self.line else ("stay", "them")
        return (f"{_span(self.line, self.last)} {verb} but the #if around {them} changed: "
                f"{self.lost_when(self.losing)}")


@dataclass(kw_only=True, eq=False)
class NarrowedFile(Finding):
    """A source file that a Makefile edit compiles in fewer configurations."""

    kind = "narrowed"
    meaning = NarrowedLines.meaning

    losing: Formula
    others: list = field(default_factory=list)   # [Place] the same cause narrows too

    def related_locations(self):
        return [p.note(self.types) for p in self.others]

    @property
    def message(self) -> str:
        return (f"the file stays but a Makefile changed: "
                f"{self.lost_when(self.losing)}")


@dataclass(kw_only=True, eq=False)
class NarrowedSymbol(Finding):
    """A Kconfig symbol that can be enabled in fewer configurations after a
    Kconfig edit (a `depends on` added, a select dropped), at its `config`
    line, with the files built with it."""

    kind = "narrowed"
    meaning = NarrowedLines.meaning

    symbol: str
    files: list                       # source files built with the symbol
    losing: Formula
    others: list = field(default_factory=list)   # [Place] the same cause narrows too

    def related_locations(self):
        return [p.note(self.types) for p in self.others]

    @property
    def message(self) -> str:
        paths = self.files
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        return (f"{self.symbol} can no longer be enabled when {settings(self.losing, self.types)}, "
                f"so {shown} {'is' if len(paths) == 1 else 'are'} no longer built then")


@dataclass(kw_only=True, eq=False)
class DeadAdded(Finding):
    """Added lines `line`..`last` that no valid configuration builds, and why:
    `reason` is one of
      "undefined"        the #if names `symbols`, which no Kconfig defines
      "unreached"        no Makefile on `unreached_on` compiles the file
      "conflict"         the file's condition `built` and the #if's `cpp` never meet
      "impossible-if"    Kconfig admits no configuration with the #if's `cpp`
      "impossible-file"  Kconfig never allows the file's condition `built`
      "phases"           U-Boot: no phase builds it, `phase_reasons` saying
                         why in each ([(phases, why)])
    """

    kind = "dead-added"
    meaning = "added code that no valid configuration builds"

    last: int
    reason: str
    symbols: list = field(default_factory=list)
    unreached_on: list = field(default_factory=list)
    built: Formula | None = None
    cpp: Formula | None = None
    phase_reasons: list = field(default_factory=list)
    # "impossible-if": the outermost #if line that never holds, as written
    directive: str = ""
    # [(line, last)]: the other added runs of the file, dead for the same
    # file-level reason (no Makefile compiles it): one finding a file
    more: list = field(default_factory=list)

    @property
    def message(self) -> str:
        also = (f" (and {len(self.more)} more run{'s' if len(self.more) > 1 else ''} of added "
                f"lines in the file)" if self.more else "")
        return f"added {_span(self.line, self.last)}{also} no configuration builds: {self.why}"

    def related_locations(self) -> list[tuple[str, int, str]]:
        return [(self.file, first, f"added {_span(first, last)}, not built either (same cause)")
                for first, last in self.more]

    @property
    def why(self) -> str:
        show = (lambda f: describe(f, self.types))
        if self.reason == "undefined":
            return ", ".join(f"CONFIG_{n}" for n in self.symbols) + " is defined by no Kconfig file"
        if self.reason == "phases":
            return "; ".join(f"in {', '.join(phases)}: {why}" for phases, why in self.phase_reasons)
        if self.reason == "unreached":
            return f"no Makefile on {', '.join(self.unreached_on)} compiles {self.file}"
        if self.reason == "conflict":
            return f"the file is compiled only when {show(self.built)} but the #if needs {show(self.cpp)}"
        if self.reason == "impossible-if":
            if self.directive:
                return f"{self.directive} never holds"
            return f"Kconfig admits no configuration with {show(self.cpp)}"
        return f"the file is compiled only when {show(self.built)}, which Kconfig never allows"


@dataclass(kw_only=True, eq=False)
class AlternativeDefinition(Finding):
    """Function `function` changed at `file:line` while `alternatives`,
    other definitions built instead in other configurations, were not."""

    kind = "alternative-definition"
    meaning = "a definition changed while its alternatives were not"

    function: str
    alternatives: list                # [(file, line, Formula: when that one is built)]

    @property
    def message(self) -> str:
        one = len(self.alternatives) == 1
        others = ", ".join(f"{f}:{n}" for f, n, _ in self.alternatives)
        return (f"{self.function}() is changed here, but {others} "
                f"{'defines' if one else 'define'} it instead in other configurations and "
                f"{'is' if one else 'are'} left unchanged")

    def related_locations(self):
        return [(f, n, f"{self.function}() defined here is the one built "
                       f"{in_words(chosen, self.types)}")
                for f, n, chosen in self.alternatives]


@dataclass(frozen=True)
class UndefinedReference:
    """A reference to CONFIG_`symbol`, which no Kconfig file defines: in a
    file renamed from `renamed_from`, or left dangling by the removal of
    its definition at `removed_at` ("path:line")."""

    symbol: str
    renamed_from: str | None = None
    removed_at: str | None = None

    @property
    def sentence(self) -> str:
        if self.removed_at is not None:
            return (f"CONFIG_{self.symbol} is still used here, but the change removed its "
                    f"definition ({self.removed_at})")
        where = f" (in a file renamed from {self.renamed_from})" if self.renamed_from else ""
        return f"CONFIG_{self.symbol} is not defined by any Kconfig file{where}"


@dataclass(kw_only=True, eq=False)
class UndefinedSymbol(Finding):
    """References on one line to Kconfig symbols that no Kconfig defines
    (`depends on A || B` may name two)."""

    kind = "undefined-symbol"
    meaning = "a reference to a Kconfig symbol that no Kconfig defines"

    references: list                  # [UndefinedReference]

    @property
    def symbols(self) -> list[str]:
        return [r.symbol for r in self.references]

    @property
    def message(self) -> str:
        return "; ".join(r.sentence for r in self.references)


# The kinds, in the order reports list them, with what each means.
KINDS = {cls.kind: cls.meaning for cls in (MovedNarrowed, NarrowedLines, DeadAdded,
                                           AlternativeDefinition, UndefinedSymbol)}


# -- issue 11 F/G: link-level alternatives and CONFIG_ prefixes ---------------

@dataclass(kw_only=True, eq=False)
class MissingConfigPrefix(Finding):
    """An #if/#ifdef/#elif at `file:line` whose operand `symbol` is a
    Kconfig symbol's name without its CONFIG_ prefix, and which nothing in
    the tree defines as a macro: the test is never true (false for
    #ifndef), whatever the configuration."""

    kind = "missing-config-prefix"
    meaning = "an #if naming a Kconfig symbol without its CONFIG_ prefix"

    symbol: str
    directive: str                    # the directive as written, e.g. "#ifdef SMP"

    @property
    def meant(self) -> str:
        """The spelling that was probably meant."""
        return f"CONFIG_{self.symbol}"

    @property
    def message(self) -> str:
        return (f"{self.directive!r} tests {self.symbol}, a Kconfig symbol that no header, source "
                f"file or Makefile defines as a macro, so it is never defined: "
                f"{self.meant} was probably meant")


KINDS[MissingConfigPrefix.kind] = MissingConfigPrefix.meaning


@dataclass(kw_only=True, eq=False)
class ConfigTestArgument(Finding):
    """`macro`(`argument`) at `file:line` (IS_ENABLED, U-Boot's
    CONFIG_IS_ENABLED/CONFIG_VAL), in an #if or in C, whose argument no
    fitting Kconfig symbol answers. `problem` is one of
      "doubled-prefix"  CONFIG_IS_ENABLED(CONFIG_FOO): the macro adds CONFIG_ itself
      "phase-prefix"    CONFIG_IS_ENABLED(SPL_FOO): CONFIG_SPL_SPL_FOO in SPL
      "undefined"       no phase has a symbol for it (`names`: those looked for)
      "no-twin"         the phases in `phases` have no symbol of their own
                        (`names`: SPL_FOO...), so it is false there
      "not-bool"        the symbol `names[0]` is an int/hex/string one
      "missing-prefix"  IS_ENABLED(FOO) in C: CONFIG_ missing
    `fix` spells what was meant; `directive`: the use is in an #if."""

    kind = "config-test-argument"
    meaning = "an IS_ENABLED/CONFIG_IS_ENABLED/CONFIG_VAL argument no fitting Kconfig symbol answers"

    macro: str
    argument: str
    problem: str
    names: list = field(default_factory=list)
    symbol_type: str | None = None
    fix: str | None = None
    directive: bool = False

    @property
    def call(self) -> str:
        if self.macro.endswith(")"):          # a makefile's CONFIG_$(SPL_)FOO
            return f"{self.macro}{self.argument}"
        return f"{self.macro}({self.argument})"

    def _never(self, where: str) -> str:
        if self.macro == "CONFIG_VAL":
            return f"so it names an undefined macro {where}"
        return f"so this is never built {where}" if self.directive else f"so it is always false {where}"

    @property
    def message(self) -> str:
        fix = f": {self.fix} was meant" if self.fix else ""
        if self.problem == "doubled-prefix":
            return f"{self.call} writes CONFIG_ twice ({self.macro} adds it){fix}"
        if self.problem == "phase-prefix":
            return (f"{self.call} names a phase's symbol, to which {self.macro} adds the phase's "
                    f"prefix again (CONFIG_SPL_{self.argument} in SPL){fix}")
        if self.problem == "undefined":
            where = "in any phase" if self.directive else "in every phase"
            return f"{self.call}: no Kconfig file defines {' or '.join(self.names)}, {self._never(where)}"
        if self.problem == "no-twin":
            missing = " or ".join(self.names)
            text = (f"{self.call}: no {missing} exists, "
                    f"{self._never('in ' + ', '.join(self.phases))}")
            return text + (f" ({self.fix} if {self.argument} is meant there too)" if self.fix else "")
        if self.problem == "not-bool":
            article = "an" if (self.symbol_type or "")[:1] in ("i", "h") else "a"
            return (f"{self.call}: {self.names[0]} is {article} {self.symbol_type} symbol, and "
                    f"{self.macro} is true only for a bool or tristate one{fix}")
        return f"{self.call} tests a macro {self.argument} that nothing defines{fix}"


KINDS[ConfigTestArgument.kind] = ConfigTestArgument.meaning


@dataclass(kw_only=True, eq=False)
class Skipped:
    """Part of a change kwhen could not check: a Kconfig file or makefile
    of the tree, at the change's commit, that kwhen cannot read. `path` is
    relative to the repository; `unchecked` says what was left unchecked
    (source files, or "the change on ARCH")."""

    change: str | None                # commit id or patch name
    path: str | None                  # the file kwhen could not read
    line: int | None
    reason: str                       # why it could not be read
    unchecked: list = field(default_factory=list)
    arches: list = field(default_factory=list)

    @property
    def message(self) -> str:
        where = f"{self.path}:{self.line}" if self.path and self.line else (self.path or "the tree")
        at = f" at {self.change}" if self.change else ""
        return f"{where}{at} cannot be read ({self.reason}): {', '.join(self.unchecked)} not checked"

    @property
    def sort_key(self):
        return (self.change or "", self.path or "", self.line or 0)

    def to_json(self) -> dict:
        return {"change": self.change, "file": self.path, "line": self.line,
                "reason": self.reason, "unchecked": list(self.unchecked),
                "arches": list(self.arches), "message": self.message}


@dataclass(kw_only=True, eq=False)
class MissingDefinition(Finding):
    """A use of `function` at `file:line` that is built (`after`) in
    configurations where none of its `definitions` is (`missing`: the
    caller's condition without any definition's): the link, or the
    compilation, fails there. The witness is such a configuration."""

    kind = "missing-definition"
    meaning = "a use built in configurations where nothing defines what it uses"

    function: str
    definitions: list                 # [(file, line, Formula: when that definition is built)]
    missing: Formula

    @property
    def message(self) -> str:
        return (f"{self.function}() is used here, but no definition of it is built when "
                f"{describe(self.missing, self.types)}")

    def related_locations(self):
        return [(f, n, f"{self.function}() is defined here when {describe(c, self.types)}")
                for f, n, c in self.definitions]


@dataclass(kw_only=True, eq=False)
class MismatchedSignature(Finding):
    """`function` declared or defined at `file:line` with `parameters`
    parameters while its counterparts in `others` (other #if branches,
    stubs, other files) take another number."""

    kind = "mismatched-signature"
    meaning = "a definition, stub or prototype whose parameters differ from its counterparts'"

    function: str
    parameters: int
    others: list                      # [(file, line, parameters)]

    @property
    def message(self) -> str:
        shown = ", ".join(f"{f}:{n} ({c})" for f, n, c in self.others)
        return (f"{self.function}() takes {self.parameters} parameter"
                f"{'' if self.parameters == 1 else 's'} here but not at {shown}")

    def related_locations(self):
        return [(f, n, f"{self.function}() takes {c} parameter{'' if c == 1 else 's'} here")
                for f, n, c in self.others]


KINDS[MissingDefinition.kind] = MissingDefinition.meaning
KINDS[MismatchedSignature.kind] = MismatchedSignature.meaning
