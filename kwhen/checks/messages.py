"""The kinds of finding `kwhen check` reports. Findings are data; checks
produce them, reporters render them, nothing here prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

KINDS = {
    "moved-narrowed": "code moved to a place that is built in fewer configurations",
    "narrowed": "code that stays put but is built in fewer configurations after the change",
    "dead-added": "added code that no valid configuration builds",
    "alternative-definition": "a definition changed while its alternatives were not",
    "undefined-symbol": "a reference to a Kconfig symbol that no Kconfig defines",
}


@dataclass
class Finding:
    kind: str                         # one of KINDS
    file: str                         # path relative to the tree
    line: int                         # 1-based, in the post-image (pre-image for removals)
    message: str                      # one sentence for people
    arches: list = field(default_factory=list)
    condition_before: str | None = None
    condition_after: str | None = None
    witness: dict | None = None       # symbol -> y/m/n: the changes against witness_base
    witness_base: str | None = None   # e.g. "x86_64_defconfig"
    witness_text: str | None = None   # "x86_64_defconfig + # CONFIG_SMP is not set"
    related: list = field(default_factory=list)  # [{"file", "line", "message"}]
    change: str | None = None         # commit id or patch subject the finding belongs to
    verified: bool | None = None      # --verify: witness survived make olddefconfig

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def sort_key(self):
        return (self.change or "", self.file, self.line, self.kind)
