"""Running git: every git process kwhen starts is started here.

kwhen reads untrusted trees, and a repository can name programs for git to
run: in its .git/config, in files that config includes, in the
.gitattributes files that pick a driver for a path. git reads the
repository's own config whatever kwhen does, so each command runs with the
settings below, given on the command scope (which wins over every file), and
with options that keep drivers out of the objects kwhen reads: blobs come
from `cat-file` without --filters or --textconv, diffs with --no-ext-diff and
--no-textconv (added here, not left to callers). tests/test_git_safety.py
plants a marker-writing command behind each mechanism and runs kwhen.

The API: `run` (wait for the output), `start` (a `Running` command, read
when needed, so git works while the caller loads models), `run_limited` (refuse a runaway output),
`Blobs` (one `cat-file --batch` process), `WorkTreeStatus` (one `git status`
walk of the work tree), `toplevel` and `reap`.
"""

from __future__ import annotations

import os
import subprocess
import threading
import weakref
from pathlib import Path

from kwhen.exceptions import KwhenError

__all__ = ["GitError", "Blobs", "Running", "WorkTreeStatus", "command", "environment",
           "reap", "run", "run_limited", "start", "toplevel"]

# Settings that switch off every git feature which runs a program named in
# configuration (git 2.39's git-config(1) and gitattributes(5), searched for
# keys that take a command):
#
#   core.fsmonitor            a hook run by every command that reads the index
#   core.hooksPath            hooks (post-index-change, pre-auto-gc, ...): no
#                             hook can be found under /dev/null
#   filter.<driver>.clean/smudge/process
#                             run by `status`/`diff` when they re-read a file
#                             whose stat data changed; the drivers are listed
#                             from the repository's config (`_driver_settings`)
#                             and each emptied, which git reads as no filter
#   diff.external, diff.<driver>.command/textconv
#                             only with --ext-diff/--textconv: kwhen adds
#                             --no-ext-diff --no-textconv (`_SAFE_OPTIONS`)
#   core.pager, pager.<cmd>   --no-pager, GIT_PAGER=cat
#   core.editor, sequence.editor
#                             ":" is git's "no editor"
#   gpg.program, gpg.<format>.program, log.showSignature
#                             signatures are never verified (--no-show-signature)
#   credential.helper, core.askPass, core.sshCommand, core.gitProxy,
#   remote.<name>.uploadpack/vcs, protocol.<name>.allow (ext:: runs a command),
#   url.<base>.insteadOf, core.alternateRefsCommand
#                             all reached only by talking to a remote, which
#                             kwhen never asks for but a partial clone does on
#                             its own to fetch a missing blob: every transport
#                             is refused (GIT_ALLOW_PROTOCOL names none, and
#                             GIT_NO_LAZY_FETCH for gits that know it)
#   gc.auto, maintenance.auto git starting git gc/maintenance (and its hooks)
#   submodule.recurse, status.submoduleSummary
#                             commands entering submodules, whose config is
#                             not the one listed here
#   safe.bareRepository       a tree laid out as a bare repository (HEAD,
#                             objects/, refs/, config at its top) is not a
#                             repository for kwhen
#   alias.*, merge.<driver>.driver, mergetool/difftool.<tool>.cmd,
#   interactive.diffFilter, browser/man/guitool/sendemail/imap settings
#                             belong to commands kwhen never runs
#
# include.path and includeIf need nothing of their own: what an included
# file sets is overridden like the rest. The system and global config stay
# read (they are the user's, and may hold safe.directory); whatever they set
# among the keys above is overridden too. core.untrackedCache and
# core.preloadIndex run nothing.
_SAFE_SETTINGS = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    ("core.askPass", ""),
    ("credential.helper", ""),          # the empty value empties the helper list
    ("core.sshCommand", "false"),
    ("gpg.program", "false"),
    ("gpg.openpgp.program", "false"),
    ("gpg.x509.program", "false"),
    ("gpg.ssh.program", "false"),
    ("log.showSignature", "false"),
    ("protocol.allow", "never"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("submodule.recurse", "false"),
    ("status.submoduleSummary", "false"),
    ("safe.bareRepository", "explicit"),
    # Not safety but kwhen parsing git's output: the tree's config must not
    # colour it or quote paths.
    ("color.ui", "false"),
    ("color.diff", "false"),
    ("color.grep", "false"),
    ("color.status", "false"),
    ("core.quotePath", "false"),
    # kwhen's hard-link farms (`TreeState.materialize`) change the ctime of
    # the work tree's files; trusting it would make git re-read all 70,000
    # files of Linux on each later command (see DEVELOPERS.md).
    ("core.trustctime", "false"),
)

_SAFE_ENVIRONMENT = {
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "kwhen-reads-no-remote",   # no transport has this name
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_OPTIONAL_LOCKS": "0",
}

# Options added after the subcommand: no external diff, textconv driver or
# signature check, whatever the caller asked for. (`--no-optional-locks`
# before it: git never writes a refreshed index back for kwhen, so no
# post-index-change hook either.)
_SAFE_OPTIONS = {
    "diff": ("--no-ext-diff", "--no-textconv"),
    "diff-tree": ("--no-ext-diff", "--no-textconv"),
    "diff-index": ("--no-ext-diff", "--no-textconv"),
    "diff-files": ("--no-ext-diff", "--no-textconv"),
    "show": ("--no-ext-diff", "--no-textconv", "--no-show-signature"),
    "log": ("--no-ext-diff", "--no-textconv", "--no-show-signature"),
    "grep": ("--no-textconv",),
}


class GitError(KwhenError):
    """A git command failed; the message ends with git's own last word."""


def _driver_settings(root: str) -> tuple[tuple[str, str], ...]:
    """Each filter driver the repository's config (with its includes, and
    the user's config) defines, emptied. A driver's name is the tree's to
    choose, so they are listed rather than known in advance."""
    found = _drivers.get(root)
    if found is not None:
        return found
    try:
        proc = subprocess.run(["git", "--no-pager", "-C", root, "config", "--null",
                               "--name-only", "--get-regexp", r"^filter\..*\."],
                              capture_output=True, env=_base_environment(), stdin=subprocess.DEVNULL)
        out = proc.stdout if proc.returncode == 0 else b""
    except OSError:
        out = b""
    names = set()
    for key in out.decode("utf-8", "surrogateescape").split("\0"):
        if key.count(".") >= 2:
            names.add(key[len("filter."):key.rindex(".")])
    found = tuple((f"filter.{name}.{setting}", value) for name in sorted(names)
                  for setting, value in (("clean", ""), ("smudge", ""), ("process", ""),
                                         ("required", "false")))
    _drivers[root] = found
    return found


_drivers: dict[str, tuple] = {}


def _base_environment(extra=()) -> dict[str, str]:
    env = dict(os.environ)
    env.update(_SAFE_ENVIRONMENT)
    # GIT_CONFIG_KEY_n/VALUE_n rather than -c: a driver's name may hold "=",
    # which -c would split on. Appended after any the user set: the last wins.
    given = env.get("GIT_CONFIG_COUNT", "")
    count = int(given) if given.isdigit() else 0
    for n, (key, value) in enumerate((*_SAFE_SETTINGS, *extra), count):
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
        count = n + 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def environment(root: Path | str) -> dict[str, str]:
    """The environment of a git command in `root`: the user's, with the
    settings that make git run nothing the tree names."""
    return _base_environment(_driver_settings(str(root)))


def command(root: Path | str, subcommand: str, *args: str, config=None) -> list[str]:
    """The argument list of `git SUBCOMMAND ARGS` in `root`. `config`:
    settings for this command only (-c), e.g. {"core.quotePath": "true"}."""
    settings = [arg for key, value in (config or {}).items() for arg in ("-c", f"{key}={value}")]
    return ["git", "--no-pager", "--no-optional-locks", "-C", str(root), *settings,
            subcommand, *_SAFE_OPTIONS.get(subcommand, ()), *args]


def _failure(root, subcommand: str, returncode: int, stderr: bytes) -> GitError:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return GitError(f"git {subcommand} failed: {lines[-1] if lines else returncode}", path=str(root))


def run(root: Path | str, subcommand: str, *args: str, ok=(0,), input: bytes | None = None,
        config=None) -> bytes:
    """The standard output of a git command; GitError if its exit status is
    not in `ok` (`ok=None`: any status)."""
    try:
        proc = subprocess.run(command(root, subcommand, *args, config=config),
                              capture_output=True, input=input, env=environment(root),
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise KwhenError("git is not installed") from None
    if ok is not None and proc.returncode not in ok:
        raise _failure(root, subcommand, proc.returncode, proc.stderr)
    return proc.stdout


def start(root: Path | str, subcommand: str, *args: str, config=None,
          environ=None) -> "Running":
    """A git command running in the background while the caller does other
    work; `environ`: more environment variables."""
    return Running(root, subcommand, command(root, subcommand, *args, config=config),
                   {**environment(root), **(environ or {})})


class Running:
    """A git command started by `start`. Its output is read by `output`;
    the process is killed if the object is dropped before (or at exit)."""

    def __init__(self, root, subcommand: str, argv: list[str], env: dict):
        self.root, self.subcommand = root, subcommand
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, env=env)
        except FileNotFoundError:
            raise KwhenError("git is not installed") from None
        weakref.finalize(self, reap, self.proc)

    def output(self, ok=(0,)) -> bytes:
        """Its standard output, once it ends; GitError if its exit status is
        not in `ok`."""
        out, err = self.proc.communicate()
        if self.proc.returncode not in ok:
            raise _failure(self.root, self.subcommand, self.proc.returncode, err)
        return out


def run_limited(root: Path | str, limit: int, what: str, subcommand: str, *args: str,
                config=None) -> bytes:
    """The output of a git command, or a KwhenError naming `what` once the
    output passes `limit` bytes (the command is then killed)."""
    job = start(root, subcommand, *args, config=config)
    chunks, size = [], 0
    while True:
        chunk = job.proc.stdout.read(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            reap(job.proc)
            raise KwhenError(f"{what} changes too much to be checked (a diff of more than "
                             f"{limit >> 20} MiB)")
    job.output()        # the status (and the error, if any)
    return b"".join(chunks)


def reap(proc: subprocess.Popen) -> None:
    """End a git process kwhen no longer needs (at exit, or when its owner
    goes); one already read to its end is left alone."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def toplevel(start: Path | str) -> Path | None:
    """The top of the git work tree holding `start`, or None."""
    try:
        out = run(start, "rev-parse", "--show-toplevel")
    except (KwhenError, OSError):
        return None
    top = out.decode("utf-8", "surrogateescape").strip()
    return Path(top) if top else None


class Blobs:
    """Reads the blob `REV:PREFIXpath` through one `git cat-file --batch`
    process, started on first use. (cat-file applies no filter and no
    textconv without being asked to.)"""

    def __init__(self, root: Path, prefix: str = ""):
        self.root = root
        self.prefix = prefix          # the work tree's path in the repository
        self._proc = None
        self._lock = threading.Lock()
        self._finalizer = None

    def read(self, rev: str, relpath: str) -> bytes | None:
        """The blob's bytes, or None when `rev` has no file there."""
        name = f"{rev}:{self.prefix}{relpath}"
        if "\n" in name:         # not expressible on --batch's input
            try:
                return run(self.root, "cat-file", "blob", name)
            except GitError:
                return None
        with self._lock:
            if self._proc is None:
                self._proc = subprocess.Popen(command(self.root, "cat-file", "--batch"),
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              env=environment(self.root))
                self._finalizer = weakref.finalize(self, _close, self._proc)
            proc = self._proc
            proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) < 3 or header[-1] == b"missing":
                return None
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)
            return data if header[1] == b"blob" else None

    def close(self) -> None:
        """End the cat-file process."""
        if self._finalizer is not None:
            self._finalizer()


def _close(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=5)
    except Exception:
        proc.kill()


class WorkTreeStatus:
    """How a git work tree differs from HEAD: path (relative to the tree)
    -> `git status --porcelain` code ("??" untracked, "A " added to the
    index, " M" modified, ...). One walk of the tree, started when the
    object is made and read when first needed, so it runs while the caller
    loads models. A command makes one and shares it (revision states carry
    it as `TreeState.work_tree`, for the definition index)."""

    def __init__(self, tree: Path, prefix: str):
        self.tree = tree
        self.prefix = prefix
        self._job = start(tree, "status", "--porcelain=v1", "-z", "--untracked-files=all",
                          "--no-renames", "--ignore-submodules", "--", ".")
        self._codes: dict[str, str] | None = None

    def codes(self) -> dict[str, str]:
        """path -> status code; GitError if git status failed."""
        if self._codes is None:
            out = self._job.output()
            codes = {}
            for entry in out.decode("utf-8", "surrogateescape").split("\0"):
                if len(entry) > 3 and entry[3:].startswith(self.prefix):
                    codes[entry[3 + len(self.prefix):]] = entry[:2]
            self._codes = codes
        return self._codes
