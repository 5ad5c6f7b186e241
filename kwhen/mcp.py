"""`kwhen mcp`: kwhen's queries as tools of a Model Context Protocol server
on stdio, for assistants and editors that speak MCP.

Four tools, `line`, `file`, `symbol` and `check`, each answering with the
very JSON the command line prints with `--format json`. Like the command
line's defaults, nothing from the tree is executed: no `--trust-tree`, no
`--verify`. Errors in the input are tool errors carrying kwhen's one-line
message. Needs the official SDK: `pip install 'kwhen[mcp]'`.
"""

from __future__ import annotations

import json

from kwhen import __version__, control
from kwhen.exceptions import KwhenError

INSTRUCTIONS = (
    "kwhen answers under which Kconfig/Kbuild configurations a line of a Linux (or U-Boot) "
    "tree is built. Paths are relative to the tree. Conditions are Kconfig expressions; "
    "witnesses are configurations shown as changes against the architecture's defconfig.")


def _query(kind: str, tree: str | None, arch: str | None, ask) -> str:
    opened = control.open_tree(tree or None, arch or None)
    try:
        answer = ask(opened)
    finally:
        opened.cache.close()
    return json.dumps(answer.to_json(), indent=2)


def line(location: str, tree: str = "", arch: str = "", config: str = "") -> str:
    """When is this line built? `location` is FILE:LINE (or FILE:LINE:COL),
    relative to `tree` (default: the server's working directory's git top
    level); `arch` an arch/ directory or alias such as x86_64; `config` a
    .config to evaluate under. The JSON of `kwhen line --format json`."""
    path, number = control.parse_location(location)
    return _query("line", tree, arch,
                  lambda t: control.line_query(t, path, number, config=config or None))


def file(path: str, tree: str = "", arch: str = "", config: str = "") -> str:
    """When is this file compiled, and each of its #if blocks? The JSON of
    `kwhen file --format json`."""
    return _query("file", tree, arch, lambda t: control.file_query(t, path, config=config or None))


def symbol(name: str, tree: str = "", arch: str = "") -> str:
    """Every definition of a C function (macro, variable) and when each is the
    one built. The JSON of `kwhen symbol --format json`."""
    return _query("symbol", tree, arch, lambda t: control.symbol_query(t, name))


def check(target: str = "", tree: str = "", arches: list[str] | None = None, patch: str = "") -> str:
    """Check a change for code that vanishes from configurations: `target` a
    revision (default HEAD), a range A..B, a patch or mbox file, or
    "--worktree"/"--staged"; or `patch` the text of a diff or mbox. The JSON
    of `kwhen check --format json` (findings with kind, file, line, message,
    conditions before and after, witness)."""
    options = control.CheckOptions(arches=arches or None)
    if patch:
        report = control.check(tree or None, "-", options, stdin_text=patch,
                               command_line=["kwhen", "mcp", "check"])
    else:
        report = control.check(tree or None, target or None, options,
                               command_line=["kwhen", "mcp", "check"])
    return control.render(report, "json")


TOOLS = (line, file, symbol, check)


def _safe(tool):
    """The tool with kwhen's errors as one-line tool errors (no traceback)."""
    import functools

    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(tool)
    def wrapper(*args, **kwargs):
        try:
            return tool(*args, **kwargs)
        except KwhenError as e:
            # (the SDK shows a ToolError's message to the client, hides others)
            raise ToolError(f"kwhen: error: {e}") from None
    return wrapper


def build_server():
    """The MCP server with kwhen's tools (mcp's MCPServer)."""
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        raise KwhenError("kwhen mcp needs the MCP SDK (version 2): pip install 'kwhen[mcp]'") from None
    server = MCPServer("kwhen", version=__version__, instructions=INSTRUCTIONS)
    for tool in TOOLS:
        server.tool(name=tool.__name__, description=tool.__doc__, structured_output=False)(_safe(tool))
    return server


def serve() -> None:
    """Serve on stdin/stdout until the client goes away."""
    build_server().run("stdio")
