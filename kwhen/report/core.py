"""The one object every report of `kwhen check` is rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field

from kwhen import __version__


@dataclass
class Report:
    """The findings of a check (kwhen.checks.messages objects) and what was
    checked: the target as given, the ids of the changes checked in order,
    the architectures, the tree's root and the kwhen that checked."""

    findings: list
    target: str
    changes: list                     # ids of the changes checked
    arches: list
    tree: str | None = None           # absolute path of the tree's root
    # per change: {"change", "checked": [arch], "unmodelled": [arch],
    # "ruled_out": {arch: why}, "not_ruled_out": why or None}
    scopes: list = field(default_factory=list)
    version: str = field(default=__version__)
    # what could not be checked (kwhen.checks.messages.Skipped): a Kconfig
    # file or makefile of the change that kwhen cannot read
    skipped: list = field(default_factory=list)
    # each change checked: {"id", "title", "author", "commit"} (for people)
    change_info: list = field(default_factory=list)
    # how kwhen was run: {"command_line": [...], "working_directory",
    # "start", "end" (ISO 8601 UTC)}; filled by control.check
    invocation: dict = field(default_factory=dict)
    # findings the parent already had, left out (no --all-findings)
    pre_existing_hidden: int = 0

    @property
    def sorted_findings(self) -> list:
        return sorted(self.findings, key=lambda f: f.sort_key)

    @property
    def summary(self) -> dict:
        """The summary as the JSON and SARIF reports carry it; `skipped`
        (what could not be checked) only when something was."""
        summary = {"target": self.target, "changes": len(self.changes),
                   "findings": len(self.findings), "arches": list(self.arches),
                   "changes_checked": list(self.changes),
                   "arches_checked": self.arches_checked,
                   "arches_ruled_out": self.arches_ruled_out, "scopes": list(self.scopes)}
        if self.skipped:
            summary["skipped"] = [s.to_json() for s in self.skipped]
        summary["pre_existing_hidden"] = self.pre_existing_hidden
        return summary

    @property
    def arches_checked(self) -> list:
        """The architectures modelled for some change."""
        out = []
        for s in self.scopes:
            out.extend(a for a in s["checked"] if a not in out)
        return out or list(self.arches)

    @property
    def arches_ruled_out(self) -> dict:
        """arch -> why, for the architectures ruled out without modelling
        for every change (the reason of the last change)."""
        if not self.scopes:
            return {}
        out = dict(self.scopes[0]["ruled_out"])
        for s in self.scopes[1:]:
            out = {a: s["ruled_out"][a] for a in out if a in s["ruled_out"]}
        return out


class RecordedFinding:
    """A finding read back from its JSON (`kwhen scan`'s database, a JSON
    report): worded as it was when written, with the properties every
    renderer reads from a live finding. `extra` fields go into its JSON
    beside the recorded ones (a scan's `commit` and `new`)."""

    def __init__(self, data: dict, **extra):
        self.data = dict(data)
        self.extra = extra

    kind = property(lambda self: self.data.get("kind", ""))
    file = property(lambda self: self.data.get("file", ""))
    line = property(lambda self: self.data.get("line"))
    message = property(lambda self: self.data.get("message", ""))
    arches = property(lambda self: list(self.data.get("arches") or []))
    phases = property(lambda self: list(self.data.get("phases") or []))
    condition_before = property(lambda self: self.data.get("condition_before"))
    condition_after = property(lambda self: self.data.get("condition_after"))
    related = property(lambda self: list(self.data.get("related") or []))
    witness_changes = property(lambda self: self.data.get("witness"))
    witness_base = property(lambda self: self.data.get("witness_base"))
    witness_text = property(lambda self: self.data.get("witness_text"))
    change = property(lambda self: self.data.get("change"))
    verified = property(lambda self: self.data.get("verified"))
    pre_existing = property(lambda self: bool(self.data.get("pre_existing")))
    witness_phase = property(lambda self: self.data.get("witness_phase"))
    unmodelled_arches = property(lambda self: list(self.data.get("arches_unmodelled") or []))
    # conditions as recorded (Kconfig expressions), the witness as its text
    before_in_words = condition_before
    after_in_words = condition_after
    witness_arch = witness_recipe = None
    witness_fragment = property(lambda self: [])

    @property
    def sort_key(self):
        return (self.change or "", self.file, self.line or 0, self.kind)

    def to_json(self) -> dict:
        return {**self.data, **self.extra}
