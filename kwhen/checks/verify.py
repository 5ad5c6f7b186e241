"""--verify: does a witness survive the kernel's own Kconfig?

This is the one place where kwhen runs the tree's tools, and only when asked:
the witness is written as a .config in a scratch output directory (O=) and
`make ARCH=<arch> olddefconfig` resolves it. The witness is verified when
every symbol it changed keeps the value kwhen gave it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from kwhen.kconfig.dotconfig import read_dotconfig
from kwhen.logic.solver import config_line


def _write_config(path: Path, base: dict, changes: dict) -> None:
    values = dict(base)
    values.update(changes)
    path.write_text("".join(config_line(name, value) + "\n" for name, value in sorted(values.items())))


def verify_witness(tree_root: Path, arch: str, base: dict, changes: dict, out_dir: Path) -> tuple:
    """(verified, note) for one witness."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_config(out_dir / ".config", base, changes)
    try:
        done = subprocess.run(["make", "-s", "-C", str(tree_root), f"O={out_dir}", f"ARCH={arch}",
                               "olddefconfig"], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"could not run make: {e}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["make failed"])[-1]
        return None, f"make olddefconfig failed: {last}"
    resolved = read_dotconfig(out_dir / ".config")
    lost = [name for name, value in changes.items() if resolved.get(name, "n") != value]
    if lost:
        return False, "olddefconfig changed " + ", ".join(
            f"{n} to {resolved.get(n, 'n')}" for n in sorted(lost)[:8])
    return True, "olddefconfig kept every changed symbol"


def run(findings, views, scratch: Path) -> None:
    """Verify the witness of each finding on the first of its
    architectures, recording the verdict and make's word on the finding."""
    by_arch = {v.arch: v for v in views}
    for n, finding in enumerate(findings):
        if not finding.witness_changes or not finding.arches:
            continue
        view = by_arch.get(finding.arches[0])
        if view is None:
            continue
        base = view.base_values or view.post.model.base
        arch = view.post.arch
        finding.verified, finding.verify_note = verify_witness(
            view.post.root, arch, base, finding.witness_changes, scratch / f"verify-{n}")
