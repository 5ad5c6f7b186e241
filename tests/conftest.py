import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "seed"
LINUX = Path(os.environ.get("KWHEN_LINUX_TREE", "/opt/kwhen-linux/linux-source-6.1"))
UBOOT = Path(os.environ.get("KWHEN_UBOOT_TREE", "/opt/kwhen-uboot/u-boot-2023.01"))
# A current kernel too (Debian's linux-source-6.12): Kconfig syntax newer than 6.1's
LINUX612 = Path(os.environ.get("KWHEN_LINUX612_TREE", "/opt/kwhen-linux/linux-source-6.12"))


def linux_tree() -> Path:
    """Debian's linux-source-6.1, unpacked by .ci/run. In CI its absence is
    a failure, not a skip."""
    if not (LINUX / "Makefile").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the Linux tree is missing at {LINUX}: .ci/run should unpack it")
        pytest.skip(f"no Linux tree at {LINUX} (set KWHEN_LINUX_TREE)")
    return LINUX


def linux612_tree() -> Path:
    """Debian's linux-source-6.12, unpacked by .ci/run; required in CI."""
    if not (LINUX612 / "Makefile").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the Linux 6.12 tree is missing at {LINUX612}: .ci/run should unpack it")
        pytest.skip(f"no Linux 6.12 tree at {LINUX612} (set KWHEN_LINUX612_TREE)")
    return LINUX612


def uboot_tree() -> Path:
    """Debian's U-Boot 2023.01 sources, unpacked by .ci/run. In CI its
    absence is a failure, not a skip."""
    if not (UBOOT / "Makefile").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the U-Boot tree is missing at {UBOOT}: .ci/run should unpack it")
        pytest.skip(f"no U-Boot tree at {UBOOT} (set KWHEN_UBOOT_TREE)")
    return UBOOT


# Tests that read a real tree (Linux, U-Boot, or the oracle's make and gcc) form the
# slow tier: `pytest -m "not real"` runs the fixtures alone in seconds.
REAL_TREE_MODULES = {"test_linux", "test_oracle"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        # (tests that need PyPI are slow too: a venv, pip)
        if (module in REAL_TREE_MODULES or "linux" in item.name or "uboot_real" in item.name
                or item.get_closest_marker("network")):
            item.add_marker(pytest.mark.real)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own model cache; nothing in ~/.cache."""
    if "KWHEN_TEST_SHARED_CACHE" in os.environ:
        monkeypatch.setenv("KWHEN_CACHE_DIR", os.environ["KWHEN_TEST_SHARED_CACHE"])
    else:
        monkeypatch.setenv("KWHEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def example(tmp_path) -> Path:
    """A private copy of the bundled seed example, free to edit."""
    dest = tmp_path / "seed"
    shutil.copytree(EXAMPLE, dest)
    return dest


def run_kwhen(*args, cwd=None, input=None, env=None):
    """Run the real command line in a new process, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("KWHEN_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "kwhen", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, input=input, env=full_env, timeout=900)


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=kwhen test", "-c", "user.email=test@example.org",
                    *args], cwd=cwd, check=True, capture_output=True, text=True)


def committed(tree):
    """`tree` made a git repository whose one commit holds all of it."""
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "base")
    return tree


def committed_fixture(tmp_path: Path, name: str) -> Path:
    """A private copy of tests/fixtures/`name`, committed as one git commit."""
    dest = tmp_path / "tree"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / name, dest)
    return committed(dest)


def check_findings(repo: Path, *arches: str):
    """What `kwhen check HEAD --arch ...` finds in `repo`, as finding objects."""
    from kwhen.control import CheckOptions, check
    return check(repo, "HEAD", CheckOptions(arches=list(arches))).findings


def marker_line(path: Path, marker: str) -> int:
    """The number of the line of `path` that carries `@marker` (fixtures mark
    the lines tests ask about, so editing a fixture moves no test)."""
    for n, text in enumerate(path.read_text().splitlines(), 1):
        if f"@{marker}" in text:
            return n
    raise AssertionError(marker)
