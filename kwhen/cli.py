"""The kwhen command line: parse arguments, call kwhen.control, map the
outcome to an exit status."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from kwhen import __version__, progress
from kwhen.exceptions import KwhenError
from kwhen.report.printable import printable

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3

QUERY_FORMATS = ("text", "json")
CHECK_FORMATS = ("text", "json", "sarif", "html", "gitlab")

EPILOG = """\
examples:
  kwhen line arch/x86/kernel/setup_percpu.c:246 --arch x86
  kwhen file mm/percpu.c --format json
  kwhen symbol setup_per_cpu_areas
  kwhen check                          the HEAD commit
  kwhen check --worktree               uncommitted changes against HEAD
  kwhen check v6.0..v6.1 --format sarif -o kwhen.sarif
  b4 am -o - MSGID | kwhen check -

exit status:
  0  answered; check: no findings
  1  check: findings
  2  bad input (one line on stderr naming file and line)
  3  an internal error (a bug in kwhen)

environment:
  KWHEN_CACHE_DIR  where the model cache lives (default ~/.cache/kwhen)
  KWHEN_CACHE_MAX  the cache's size cap, e.g. 500M or 2G (default 1G; least
                   recently used models are evicted first)
  KWHEN_DEBUG      set to 1 for a Python traceback on an internal error
  NO_COLOR         no colour on a terminal
"""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with kwhen's error status and one line."""

    def error(self, message):
        sys.stderr.write(f"kwhen: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def _verbosity(p: argparse.ArgumentParser, top: bool = False) -> None:
    # on the top parser and on each subcommand, so `kwhen -q check` and
    # `kwhen check -q` both work; SUPPRESS keeps a subcommand from
    # resetting what the top level said
    default = False if top else argparse.SUPPRESS
    group = p.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="no progress on stderr")
    group.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="say what kwhen is doing and why, on stderr")


def _format(p: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    p.add_argument("--format", choices=choices, default="text",
                   help="output format: " + ", ".join(choices) + " (default: text)")
    p.add_argument("--json", dest="format", action="store_const", const="json",
                   help="the same as --format json")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tree", help="the Kconfig/Kbuild tree (default: git top level of the working "
                                  "directory); relative paths are then read from it")
    p.add_argument("--arch", help="architecture: a directory under arch/, or x86_64, i386, ... "
                                  "(default: the host's)")
    p.add_argument("--phase", metavar="NAME",
                   help="U-Boot: ask about one phase (proper, spl, tpl, vpl; default: each "
                        "phase the tree has)")
    _format(p, QUERY_FORMATS)
    p.add_argument("--explain", action="store_true", help="say why free propositions are free")
    p.add_argument("--trust-tree", action="store_true",
                   help="run the tree's Kconfig $(shell,...) macros as the kernel would "
                        "(by default nothing from the tree is executed)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the model cache")
    _verbosity(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kwhen", description="Under which configurations is this code built?",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kwhen {__version__}")
    _verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")

    def command(name, help, examples=""):
        return sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                              epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("line", "the condition under which a line is built",
                "examples:\n  kwhen line mm/percpu.c:2990\n"
                "  kwhen line kernel/smp.c:100:5 --config .config --format json\n")
    p.add_argument("location", metavar="FILE:LINE[:COL]")
    p.add_argument("--config", help="evaluate under this .config instead of all configurations")
    _common(p)

    p = command("file", "a file's Kbuild condition and its #if blocks",
                "examples:\n  kwhen file mm/percpu.c\n  kwhen file drivers/net/tun.c --arch arm64\n")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--config", help="evaluate under this .config instead of all configurations")
    _common(p)

    p = command("symbol", "every definition of a function and when each is built",
                "examples:\n  kwhen symbol setup_per_cpu_areas --arch i386\n")
    p.add_argument("name")
    _common(p)

    p = command("check", "check a commit, range, patch or mbox for code that vanishes "
                         "from configurations",
                "examples:\n  kwhen check                       the HEAD commit\n"
                "  kwhen check --staged              what `git commit` would commit\n"
                "  kwhen check --worktree            uncommitted changes against HEAD\n"
                "  git diff | kwhen check -          a diff already applied is read as\n"
                "                                    HEAD (before) -> work tree (after)\n"
                "  kwhen check origin/master..       each commit of a branch, in order\n"
                "  kwhen check series.mbox --format html -o report.html\n")
    p.add_argument("target", nargs="?", metavar="TARGET",
                   help="revision (default HEAD), range A..B, patch file, mbox, or - for stdin")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--worktree", action="store_true",
                      help="check the uncommitted changes of tracked files against HEAD")
    what.add_argument("--staged", "--cached", action="store_true",
                      help="check the index (what `git commit` would commit) against HEAD")
    p.add_argument("--tree", help="the tree the target applies to (default: git top level)")
    p.add_argument("--arch", action="append", help="architecture to check (repeatable; default: "
                                                   "those whose builds reach the touched files)")
    p.add_argument("--all-arches", action="store_true", help="check every architecture")
    p.add_argument("--base", help="witnesses closest to this .config instead of the defconfig")
    p.add_argument("--all-findings", action="store_true",
                   help="also show the findings the parent already had (marked pre-existing)")
    _format(p, CHECK_FORMATS)
    p.add_argument("--output", "-o", help="write the report to this file")
    p.add_argument("--verify", action="store_true",
                   help="run the tree's own `make olddefconfig` on each witness (executes the tree's tools)")
    p.add_argument("--trust-tree", action="store_true",
                   help="run the tree's Kconfig $(shell,...) macros as the kernel would")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the model cache")
    _verbosity(p)

    p = sub.add_parser("scan", help="check every commit of a history; results in a database "
                                    "(without a range: report the results stored)")
    p.add_argument("revisions", nargs="*", metavar="RANGE",
                   help="commits as git rev-list takes them: A..B, a branch, ...")
    p.add_argument("--since", help="only commits made since this date (git's --since)")
    p.add_argument("--max-count", "-n", type=int, metavar="N", help="only the newest N non-merge commits")
    p.add_argument("--tree", help="the git work tree (default: git top level)")
    p.add_argument("--db", required=True, help="the SQLite database of the results")
    p.add_argument("--arch", action="append", help="architecture to check (repeatable)")
    p.add_argument("--all-arches", action="store_true", help="check every architecture")
    p.add_argument("--base", help="witnesses closest to this .config instead of the defconfig")
    p.add_argument("--trust-tree", action="store_true",
                   help="run the tree's Kconfig $(shell,...) macros as the kernel would")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the model cache")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this Dask scheduler's workers (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster: worker processes (default: cores)")
    p.add_argument("--run-length", type=int, help="consecutive commits handed to a worker at once")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds a commit may take before it is recorded as failed (default 1800)")
    p.add_argument("--retries", type=int, default=2,
                   help="times a commit is tried again when its worker dies (default 2)")
    p.add_argument("--retry-failed", action="store_true", help="check failed commits again")
    p.add_argument("--workdir", help="where workers keep their checkouts "
                                     "(default: scan/ in each worker's kwhen cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument("--format", choices=("text", "json", "sarif", "html"),
                   help="write a report of the results (the default without a range: text)")
    p.add_argument("--json", dest="format", action="store_const", const="json",
                   help="the same as --format json")
    p.add_argument("--output", "-o", help="write the report to this file")
    p.add_argument("--result-set", type=int, help="report on this result set of the database")
    p.add_argument("--commit-url", metavar="TEMPLATE",
                   help="HTML: link commits to TEMPLATE with {sha} replaced")
    p.add_argument("--source-url", metavar="TEMPLATE",
                   help="HTML: link locations to TEMPLATE with {sha}, {file}, {line} replaced")
    _verbosity(p)

    p = command("cache", "show the model cache (where, size per tree and architecture) or clear it",
                "examples:\n  kwhen cache\n  kwhen cache clear\n  kwhen cache clear --tree ~/linux\n")
    p.add_argument("action", nargs="?", choices=("show", "clear"), default="show")
    p.add_argument("--tree", help="clear only this tree's models")
    _format(p, QUERY_FORMATS)
    _verbosity(p)

    p = command("completion", "print a shell completion script",
                "examples:\n  kwhen completion bash > /etc/bash_completion.d/kwhen\n"
                "  kwhen completion zsh > ~/.zfunc/_kwhen\n")
    p.add_argument("shell", choices=("bash", "zsh", "tcsh"))

    command("mcp", "serve kwhen's queries over the Model Context Protocol (stdio)",
            "examples:\n  kwhen mcp            (started by an MCP client; needs pip install 'kwhen[mcp]')\n")
    return parser


def run(args) -> int:
    if args.command == "check":
        return run_check(args)
    if args.command == "scan":
        return run_scan(args)
    if args.command == "completion":
        return run_completion(args)
    from kwhen import control

    if args.command == "cache":
        return run_cache(args, control)
    if args.command == "mcp":
        from kwhen.mcp import serve
        serve()
        return EXIT_OK
    tree = control.open_tree(args.tree, args.arch, trust_tree=args.trust_tree,
                             cache=not args.no_cache)
    try:
        answers = []
        for asked in control.phase_trees(tree, args.phase):
            if args.command == "line":
                path, line = control.parse_location(args.location)
                answers.append(control.line_query(asked, path, line, config=args.config))
            elif args.command == "file":
                answers.append(control.file_query(asked, args.path, config=args.config))
            else:
                answers.append(control.symbol_query(asked, args.name))
        if "host" in (getattr(answers[0], "kind", None), getattr(answers[0], "file_kind", None)):
            answers = answers[:1]     # built for the build machine: in no phase
        answer = answers[0] if len(answers) == 1 else control.PhasedAnswer(answers)
    finally:
        tree.cache.close()
    return emit(lambda: control.write_answer(answer, as_json=args.format == "json",
                                             explain=args.explain), EXIT_OK)


def run_check(args) -> int:
    from kwhen import control

    options = control.CheckOptions(arches=args.arch, all_arches=args.all_arches, base=args.base,
                                   verify=args.verify, trust_tree=args.trust_tree,
                                   cache=not args.no_cache, all_findings=args.all_findings)
    stdin_text = None
    target = args.target
    if args.worktree or args.staged:
        if target is not None:
            raise KwhenError("--worktree and --staged check the tree's own changes: "
                             "give no TARGET with them")
        target = control.WORKTREE if args.worktree else control.STAGED
    if target == "-":
        from kwhen.patch.diff import MAX_PATCH_BYTES
        from kwhen.readfile import read_stream
        stdin_text = read_stream(sys.stdin.buffer, MAX_PATCH_BYTES, what="patch").decode(
            "utf-8", errors="surrogateescape")
    report = control.check(args.tree, target, options, stdin_text=stdin_text,
                           command_line=["kwhen", *sys.argv[1:]])
    return emit(lambda: control.write_report(report, args.format, args.output),
                EXIT_FINDINGS if report.findings else EXIT_OK, args.output)


def emit(write, status: int, output: str | None = None) -> int:
    """Write the answer and return the status of the work. A reader that went
    away (``| head -1``) is no error; a file or device that cannot take the
    output (a directory, a missing directory, a full disk) is bad input."""
    try:
        write()
        sys.stdout.flush()          # a full stdout fails here, not at exit
    except BrokenPipeError:
        _silence_stdout()
    except OSError as exc:
        from kwhen.readfile import describe_os_error
        _silence_stdout()
        raise KwhenError(f"cannot write the output: {describe_os_error(exc)}",
                         path=output or "<stdout>") from None
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit neither fails nor prints."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def run_scan(args) -> int:
    from kwhen import control

    options = {"arches": args.arch, "all_arches": args.all_arches, "base": args.base,
               "trust_tree": args.trust_tree, "cache": not args.no_cache}
    if args.revisions or args.since or args.max_count:
        summary = control.scan(args.tree, args.revisions or ["HEAD"], args.db, options,
                               since=args.since, max_count=args.max_count,
                               scheduler=args.scheduler, workers=args.workers,
                               run_length=args.run_length, retries=args.retries,
                               timeout=args.timeout, workdir=args.workdir,
                               progress=not args.no_progress, retry_failed=args.retry_failed)
        sys.stderr.write(summary.line() + "\n")
        if not args.format and not args.output:
            return EXIT_OK
    control.write_scan_report(args.db, args.format or "text", args.output,
                              result_set=args.result_set, options=options,
                              commit_url=args.commit_url, source_url=args.source_url)
    return EXIT_OK


def run_cache(args, control) -> int:
    if args.action == "clear":
        removed = control.clear_cache(args.tree)
        sys.stdout.write(f"kwhen: removed {removed} cached item(s)\n")
        return EXIT_OK
    usage = control.cache_usage()
    if args.format == "json":
        import json
        sys.stdout.write(json.dumps(usage, indent=2) + "\n")
        return EXIT_OK
    sys.stdout.write(control.format_cache_usage(usage))
    return EXIT_OK


def run_completion(args) -> int:
    try:
        import shtab
    except ImportError:
        raise KwhenError("shell completion needs shtab: pip install shtab") from None
    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return EXIT_OK


def _install_progress(args) -> None:
    quiet = getattr(args, "quiet", False)
    verbose = getattr(args, "verbose", False)
    show = not quiet and sys.stderr.isatty() and args.command not in ("mcp", "completion")
    if show or verbose:
        progress.install(progress.TerminalReporter(sys.stderr, show_steps=show, verbose=verbose))


_MAIN_PID = os.getpid()


def _terminate(signum, frame):
    # SIGTERM (a timeout, a killed CI job) unwinds like Ctrl-C, so the
    # scratch trees and the forked Kbuild process are cleaned up; a forked
    # child (which inherits the handler) just ends, as multiprocessing asks
    if os.getpid() != _MAIN_PID:
        os._exit(128 + signum)
    raise KeyboardInterrupt()


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:              # not the main thread (kwhen called from a library)
        pass
    try:
        _install_progress(args)
        return run(args)
    except KwhenError as e:
        sys.stderr.write(f"kwhen: error: {printable(str(e), one_line=True)}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("kwhen: interrupted\n")
        return EXIT_ERROR
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except Exception as e:  # a bug in kwhen, not bad input: say so in one line
        if os.environ.get("KWHEN_DEBUG"):
            raise
        sys.stderr.write(f"kwhen: internal error: {type(e).__name__}: {printable(str(e), True)} "
                         "(set KWHEN_DEBUG=1 for a traceback)\n")
        return EXIT_INTERNAL
    finally:
        progress.install(None)


if __name__ == "__main__":
    sys.exit(main())
