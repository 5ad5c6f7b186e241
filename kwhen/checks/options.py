"""The options of `kwhen check`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckOptions:
    """What `kwhen check` was asked: the --arch, --all-arches, --base,
    --verify, --trust-tree and --no-cache options."""

    arches: list | None = None      # explicit --arch values
    all_arches: bool = False
    base: str | None = None         # --base .config instead of defconfig
    verify: bool = False            # run make olddefconfig on witnesses
    trust_tree: bool = False
    cache: bool = True
    all_findings: bool = False      # also the findings the parent had (marked pre-existing)
