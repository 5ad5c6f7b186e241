"""The kwhen command line: parse arguments, call kwhen.control, map the
outcome to an exit status."""

from __future__ import annotations

import argparse
import os
import sys

from kwhen.exceptions import KwhenError
from kwhen.report.printable import printable

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that exits with kwhen's error status and one line."""

    def error(self, message):
        sys.stderr.write(f"kwhen: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tree", help="the Kconfig/Kbuild tree (default: git top level of the working directory)")
    p.add_argument("--arch", help="architecture: a directory under arch/, or x86_64, i386, ... "
                                  "(default: the host's)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--explain", action="store_true", help="say why free propositions are free")
    p.add_argument("--trust-tree", action="store_true",
                   help="run the tree's Kconfig $(shell,...) macros as the kernel would "
                        "(by default nothing from the tree is executed)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the model cache")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kwhen", description="Under which configurations is this code built?")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("line", help="the condition under which a line is built")
    p.add_argument("location", metavar="FILE:LINE")
    p.add_argument("--config", help="evaluate under this .config instead of all configurations")
    _common(p)

    p = sub.add_parser("file", help="a file's Kbuild condition and its #if blocks")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--config", help="evaluate under this .config instead of all configurations")
    _common(p)

    p = sub.add_parser("symbol", help="every definition of a function and when each is built")
    p.add_argument("name")
    _common(p)

    p = sub.add_parser("check", help="check a commit, range, patch or mbox for code that vanishes "
                                     "from configurations")
    p.add_argument("target", nargs="?", metavar="TARGET",
                   help="revision (default HEAD), range A..B, patch file, mbox, or - for stdin")
    p.add_argument("--tree", help="the tree the target applies to (default: git top level)")
    p.add_argument("--arch", action="append", help="architecture to check (repeatable; default: "
                                                   "those whose builds reach the touched files)")
    p.add_argument("--all-arches", action="store_true", help="check every architecture")
    p.add_argument("--base", help="witnesses closest to this .config instead of the defconfig")
    p.add_argument("--format", choices=("text", "json", "sarif", "html"), default="text")
    p.add_argument("--output", "-o", help="write the report to this file")
    p.add_argument("--verify", action="store_true",
                   help="run the tree's own `make olddefconfig` on each witness (executes the tree's tools)")
    p.add_argument("--trust-tree", action="store_true",
                   help="run the tree's Kconfig $(shell,...) macros as the kernel would")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the model cache")

    p = sub.add_parser("scan", help="check every commit of a history; results in a database "
                                    "(without a range: report the results stored)")
    p.add_argument("revisions", nargs="*", metavar="RANGE",
                   help="commits as git rev-list takes them: A..B, a branch, ...")
    p.add_argument("--since", help="only commits made since this date (git's --since)")
    p.add_argument("--max-count", "-n", type=int, metavar="N", help="only the newest N commits")
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
    p.add_argument("--output", "-o", help="write the report to this file")
    p.add_argument("--result-set", type=int, help="report on this result set of the database")
    p.add_argument("--commit-url", metavar="TEMPLATE",
                   help="HTML: link commits to TEMPLATE with {sha} replaced")
    p.add_argument("--source-url", metavar="TEMPLATE",
                   help="HTML: link locations to TEMPLATE with {sha}, {file}, {line} replaced")
    return parser


def _split_location(text: str) -> tuple[str, int]:
    path, sep, line = text.rpartition(":")
    if not sep or not line.isdigit():
        raise KwhenError(f"expected FILE:LINE, got '{text}'")
    return path, int(line)


def run(args) -> int:
    if args.command == "check":
        return run_check(args)
    if args.command == "scan":
        return run_scan(args)
    from kwhen import control

    tree = control.open_tree(args.tree, args.arch, trust_tree=args.trust_tree,
                             cache=not args.no_cache)
    try:
        if args.command == "line":
            path, line = _split_location(args.location)
            answer = control.line_query(tree, path, line, config=args.config)
        elif args.command == "file":
            answer = control.file_query(tree, args.path, config=args.config)
        else:
            answer = control.symbol_query(tree, args.name)
    finally:
        tree.cache.close()
    return emit(lambda: control.write_answer(answer, as_json=args.json, explain=args.explain),
                EXIT_OK)


def run_check(args) -> int:
    from kwhen import control

    options = control.CheckOptions(arches=args.arch, all_arches=args.all_arches, base=args.base,
                                   verify=args.verify, trust_tree=args.trust_tree,
                                   cache=not args.no_cache)
    stdin_text = None
    if args.target == "-":
        from kwhen.patch.diff import MAX_PATCH_BYTES
        from kwhen.readfile import read_stream
        stdin_text = read_stream(sys.stdin.buffer, MAX_PATCH_BYTES, what="patch").decode(
            "utf-8", errors="surrogateescape")
    report = control.check(args.tree, args.target, options, stdin_text=stdin_text)
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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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


if __name__ == "__main__":
    sys.exit(main())
