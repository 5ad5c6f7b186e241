"""The README's quick start, run as written on a fresh machine would run it:
in a fresh clone of this repository, with Debian's own python3 first on
PATH (externally managed: hence the venv), its output compared with the
output the README shows. Needs PyPI (pip installs kwhen's dependencies
into the venv): marked `network`, in the slow tier CI runs."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.network

DEBIAN_PYTHON = Path("/usr/bin/python3")


def readme_quick_start() -> tuple[list[str], str]:
    """(the quick start's command lines that run kwhen, the output shown after them)."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    commands = [line for lang, body in blocks if lang == "sh" for line in body.splitlines()
                if "kwhen " in line]
    shown = next(body for lang, body in blocks if lang == "")
    return commands, shown


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def test_readme_quick_start_runs_as_written(tmp_path):
    if not DEBIAN_PYTHON.exists():
        pytest.skip("no /usr/bin/python3 (Debian's)")
    commands, shown = readme_quick_start()
    assert commands, "the README's quick start has no kwhen command"
    clone = tmp_path / "kwhen"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("PIP_REQUIRE")}
    env["PATH"] = f"/usr/bin:/bin:{os.environ.get('PATH', '')}"
    env["KWHEN_CACHE_DIR"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path / "home")       # nothing from this user's configuration
    assert shutil.which("python3", path=env["PATH"]) == str(DEBIAN_PYTHON)
    outputs = []
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                              text=True, timeout=1200)
        # kwhen check with findings: exit status 1, as the README says
        assert done.returncode in (0, 1), done.stderr[-3000:]
        outputs.append(done.stdout)
    assert _normalised("".join(outputs)) == _normalised(shown)
