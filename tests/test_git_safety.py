"""git executes nothing from the tree (issue 9).

Each mechanism by which a repository can make git run a program is planted
in a copy of the seed example, as a command that creates a marker file.
kwhen symbol, kwhen check (HEAD), kwhen check FILE.patch and kwhen check A..B
then run in the repository, and no marker may appear. Each test also shows
that its mechanism is live: plain git, run as a user would, creates the
marker -- so a test cannot pass because the trap was never armed.
"""

import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLE, committed, git, run_kwhen
from kwhen import git as kwhen_git

MOVE_PATCH = Path(__file__).resolve().parent.parent / "examples" / "seed-move-resync.patch"


def plain_git(repo: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """git as a user runs it, with no help from kwhen."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, **kwargs)


def stat_dirty(repo: Path, when: int) -> None:
    """Give every file of the work tree another mtime, so git must re-read
    each one (through its clean filter) to compare it with the index."""
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            os.utime(os.path.join(dirpath, name), (when, when))


def seed_history(dest: Path, extra: dict | None = None, sign_with: Path | None = None) -> Path:
    """The seed example (plus the `extra` files) as a repository of two
    commits, the base and the move of examples/seed-move-resync.patch
    (signed by the program `sign_with`), with, beside it, a patch that
    applies to its work tree (the move undone)."""
    shutil.copytree(EXAMPLE, dest)
    for name, text in (extra or {}).items():
        (dest / name).write_text(text)
    committed(dest)
    subprocess.run(["git", "-C", str(dest), "apply", str(MOVE_PATCH)], check=True)
    git(dest, "add", "-A")
    signing = ["-c", f"gpg.program={sign_with}", "-c", "user.signingKey=kwhen-test",
               "commit", "-S"] if sign_with else ["commit"]
    git(dest, *signing, "-qm", "move")
    undo = plain_git(dest, "diff", "HEAD", "HEAD~1", check=True).stdout
    (dest.parent / f"{dest.name}-undo.patch").write_bytes(undo)
    return dest


def set_config(repo: Path, *pairs: tuple[str, str]) -> None:
    for key, value in pairs:
        plain_git(repo, "config", key, value, check=True)


class Trapped:
    """A repository with traps, and what running kwhen in it did: the
    commands' results and the markers that existed right after."""

    def __init__(self, repo: Path, markers: Path):
        self.repo, self.markers = repo, markers
        patch = repo.parent / f"{repo.name}-undo.patch"
        self.results = []
        for args in (["symbol", "setup_per_cpu_areas"], ["check"], ["check", str(patch)],
                     ["check", "HEAD~1..HEAD"]):
            # no --tree: the tree is found with git, as for a user in it
            self.results.append((args, run_kwhen(*args, cwd=repo)))
        self.fired = sorted(p.name for p in markers.iterdir())

    def assert_ran_clean(self, marker: str) -> None:
        for args, done in self.results:
            assert done.returncode in (0, 1), (args, done.stderr)
            assert "Traceback" not in done.stderr
        assert marker not in self.fired, f"kwhen let git run {marker}"

    def assert_armed(self, marker: str) -> None:
        """The trap works for plain git (else its test proves nothing)."""
        assert (self.markers / marker).exists(), f"the {marker} trap is not armed"


def hook(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    path.chmod(0o755)


def new_markers(base: Path) -> Path:
    markers = base / "markers"
    markers.mkdir()
    return markers


FAKE_GPG = """#!/bin/sh
# signs anything (what git needs to see of gpg); verifying leaves a marker
case " $* " in
*" -bsau "*) cat >/dev/null
             echo "[GNUPG:] SIG_CREATED " >&2
             printf -- '-----BEGIN PGP SIGNATURE-----\\n\\nfake\\n-----END PGP SIGNATURE-----\\n' ;;
*) touch "$KWHEN_TEST_MARKERS/gpg" ;;
esac
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> "Trapped":
    """One repository carrying every mechanism that does not need a key of
    another (the included config and the remotes have their own)."""
    base = tmp_path_factory.mktemp("hostile")
    markers = new_markers(base)
    fake_gpg = base / "fake-gpg"
    fake_gpg.write_text(FAKE_GPG.replace("$KWHEN_TEST_MARKERS", str(markers)))
    fake_gpg.chmod(0o755)
    # .gitattributes committed before any driver exists, so committing runs none
    attributes = "*.c filter=cleaner diff=viewer\n*.h filter=server\nKconfig filter=a=b\n"
    repo = seed_history(base / "seed", {".gitattributes": attributes}, sign_with=fake_gpg)
    m = markers
    set_config(repo,
               ("core.fsmonitor", f"touch '{m}/fsmonitor'"),
               ("filter.cleaner.clean", f"touch '{m}/clean'; cat"),
               ("filter.cleaner.smudge", f"touch '{m}/smudge'; cat"),
               ("filter.cleaner.required", "true"),
               ("filter.server.process", f"touch '{m}/process'"),
               ("filter.a=b.clean", f"touch '{m}/odd-driver-name'; cat"),
               ("diff.viewer.textconv", f"touch '{m}/textconv'; cat"),
               ("diff.external", f"touch '{m}/external-diff'; true"),
               ("core.pager", f"touch '{m}/pager'; cat"),
               ("pager.log", f"touch '{m}/pager'; cat"),
               ("log.showSignature", "true"),
               ("gpg.program", str(fake_gpg)),
               ("core.editor", f"touch '{m}/editor'"),
               ("credential.helper", f"!touch '{m}/credential'"),
               ("core.sshCommand", f"touch '{m}/ssh'; false"))
    hook(repo / ".git" / "hooks" / "post-index-change", m / "hook")
    hook(repo / ".git" / "hooks" / "post-checkout", m / "hook")
    stat_dirty(repo, 1_500_000_000)
    return Trapped(repo, markers)


@pytest.fixture(scope="module")
def included(tmp_path_factory):
    """fsmonitor set by a file in the tree that .git/config includes."""
    base = tmp_path_factory.mktemp("included")
    markers = new_markers(base)
    repo = seed_history(base / "seed")
    (repo.parent / "evil.config").write_text(
        f"[core]\n\tfsmonitor = touch '{markers}/include'\n")
    set_config(repo, ("include.path", "../../evil.config"))
    stat_dirty(repo, 1_500_000_000)
    return Trapped(repo, markers)


def partial_clone(base: Path) -> Path:
    """A clone without the blobs of HEAD~1: git fetches them from the
    remote when someone reads them, unless told not to."""
    src = seed_history(base / "src" / "seed")
    set_config(src, ("uploadpack.allowFilter", "true"))
    repo = base / "seed"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"file://{src}", str(repo)],
                   check=True, capture_output=True)
    shutil.copy(src.parent / "seed-undo.patch", repo.parent / "seed-undo.patch")
    return repo


@pytest.fixture(scope="module")
def ext_remote(tmp_path_factory):
    """A partial clone whose remote is an ext:: URL (a command), allowed."""
    base = tmp_path_factory.mktemp("ext")
    markers = new_markers(base)
    repo = partial_clone(base)
    set_config(repo, ("remote.origin.url", f"ext::sh -c touch% {markers}/ext% ;false"),
               ("protocol.ext.allow", "always"))
    return Trapped(repo, markers)


@pytest.fixture(scope="module")
def ssh_remote(tmp_path_factory):
    """A partial clone whose remote is reached with the tree's sshCommand."""
    base = tmp_path_factory.mktemp("ssh")
    markers = new_markers(base)
    repo = partial_clone(base)
    set_config(repo, ("remote.origin.url", "ssh://example.invalid/seed"),
               ("core.sshCommand", f"touch '{markers}/remote-ssh'; false"))
    return Trapped(repo, markers)


def in_a_terminal(repo: Path, *args: str) -> None:
    """Run git with a terminal as its output, where it starts a pager."""
    main, secondary = pty.openpty()
    try:
        subprocess.run(["git", "-C", str(repo), *args], stdin=secondary, stdout=secondary,
                       stderr=secondary, timeout=60)
    finally:
        os.close(secondary)
        os.close(main)


# Each mechanism: its marker, and plain git's command that shows it is armed.
CONTROLS = {
    "fsmonitor": lambda repo: plain_git(repo, "status"),
    # (the process filter, which fails, would stop git before it writes the index)
    "hook": lambda repo: (stat_dirty(repo, 1_600_000_000),
                          plain_git(repo, "-c", "filter.server.process=", "status")),
    "clean": lambda repo: (stat_dirty(repo, 1_600_000_100), plain_git(repo, "status")),
    "odd-driver-name": lambda repo: (stat_dirty(repo, 1_600_000_200), plain_git(repo, "status")),
    "process": lambda repo: (stat_dirty(repo, 1_600_000_300), plain_git(repo, "status")),
    "smudge": lambda repo: (os.unlink(repo / "init" / "main.c"),
                            plain_git(repo, "checkout", "--", "init/main.c")),
    "textconv": lambda repo: plain_git(repo, "diff", "--no-ext-diff", "HEAD~1", "HEAD"),
    "external-diff": lambda repo: plain_git(repo, "diff", "HEAD~1", "HEAD"),
    "pager": lambda repo: in_a_terminal(repo, "log", "-1"),
    "gpg": lambda repo: plain_git(repo, "show", "-s", "HEAD"),
    "editor": lambda repo: plain_git(repo, "config", "--edit", env={
        k: v for k, v in os.environ.items() if k not in ("GIT_EDITOR", "VISUAL", "EDITOR")}),
}
# Set in the hostile repository too, but reached only through a remote
# (test_partial_clone_fetches_nothing): credential.helper, core.sshCommand.


@pytest.mark.parametrize("mechanism", sorted(CONTROLS))
def test_tree_config_runs_nothing(hostile, mechanism):
    hostile.assert_ran_clean(mechanism)
    CONTROLS[mechanism](hostile.repo)
    hostile.assert_armed(mechanism)


def test_included_config_runs_nothing(included):
    included.assert_ran_clean("include")
    plain_git(included.repo, "status")
    included.assert_armed("include")


@pytest.mark.parametrize("remote, marker", [("ext_remote", "ext"), ("ssh_remote", "remote-ssh")])
def test_partial_clone_fetches_nothing(request, remote, marker):
    """kwhen check reads HEAD~1's blobs, which a partial clone does not have:
    git must not reach the remote for them (running its URL's command or
    the tree's ssh)."""
    trapped = request.getfixturevalue(remote)
    for args, done in trapped.results:
        assert "Traceback" not in done.stderr
    assert marker not in trapped.fired
    plain_git(trapped.repo, "cat-file", "-p", "HEAD~1:arch/x86/kernel/setup.c")
    trapped.assert_armed(marker)


def test_tree_laid_out_as_a_bare_repository_is_none(tmp_path):
    """A tree whose top holds HEAD, objects/, refs/ and a config is, for
    git, a repository found by walking into it; its config (here making the
    tree its own work tree, with an fsmonitor) must not be read."""
    markers = new_markers(tmp_path)
    tree = tmp_path / "seed"
    shutil.copytree(EXAMPLE, tree)
    subprocess.run(["git", "init", "-q", "--bare", str(tree)], check=True)
    set_config(tree, ("core.bare", "false"), ("core.worktree", str(tree)),
               ("core.fsmonitor", f"touch '{markers}/bare'"))
    assert kwhen_git.toplevel(tree) is None     # not a repository to kwhen
    for args in (["symbol", "setup_per_cpu_areas"], ["check", str(MOVE_PATCH)]):
        done = run_kwhen(*args, cwd=tree)
        assert done.returncode in (0, 1), (args, done.stderr)
    assert not (markers / "bare").exists()
    plain_git(tree, "status")
    assert (markers / "bare").exists()
