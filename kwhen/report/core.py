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
    version: str = field(default=__version__)

    @property
    def sorted_findings(self) -> list:
        return sorted(self.findings, key=lambda f: f.sort_key)

    @property
    def summary(self) -> dict:
        """The summary as the JSON and SARIF reports carry it."""
        return {"target": self.target, "changes": len(self.changes),
                "findings": len(self.findings), "arches": list(self.arches),
                "changes_checked": list(self.changes)}
