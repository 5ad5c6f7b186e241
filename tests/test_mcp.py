"""`kwhen mcp`, driven as an assistant would: the official SDK's client
starts the server over stdio, lists its tools and calls each; the answers
are the JSON the command line prints with --format json."""

import asyncio
import json
import os
import sys

import pytest

from conftest import REPO, run_kwhen

mcp = pytest.importorskip("mcp", reason="the MCP SDK is the mcp extra (.ci/run installs it)")

PATCH = REPO / "examples" / "seed-move-resync.patch"


def _calls(example, calls):
    """Start `kwhen mcp`, list its tools, make `calls` [(tool, arguments)]:
    (tool names, [(is_error, text)])."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "kwhen", "mcp"], cwd=str(example),
        env=dict(os.environ, PYTHONPATH=str(REPO)))

    async def session():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                names = sorted(t.name for t in (await client.list_tools()).tools)
                answers = []
                for tool, arguments in calls:
                    result = await client.call_tool(tool, arguments)
                    answers.append((result.is_error, "".join(c.text for c in result.content)))
                return names, answers

    return asyncio.run(asyncio.wait_for(session(), 300))


def _cli_json(*args):
    done = run_kwhen(*args, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_mcp_tools_answer_as_the_command_line(example):
    tree = str(example)
    names, answers = _calls(example, [
        ("line", {"location": "arch/x86/kernel/setup.c:13", "tree": tree, "arch": "x86"}),
        ("file", {"path": "mm/percpu.c", "tree": tree, "arch": "x86"}),
        ("symbol", {"name": "setup_per_cpu_areas", "tree": tree, "arch": "x86"}),
        ("check", {"patch": PATCH.read_text(), "tree": tree}),
        ("line", {"location": "nowhere.c:1", "tree": tree, "arch": "x86"}),
    ])
    assert names == ["check", "file", "line", "symbol"]
    (e1, line), (e2, file), (e3, symbol), (e4, check), (bad, message) = answers
    assert not (e1 or e2 or e3 or e4)
    assert json.loads(line) == _cli_json("line", "arch/x86/kernel/setup.c:13", "--tree", tree, "--arch", "x86")
    assert json.loads(file) == _cli_json("file", "mm/percpu.c", "--tree", tree, "--arch", "x86")
    assert json.loads(symbol) == _cli_json("symbol", "setup_per_cpu_areas", "--tree", tree, "--arch", "x86")
    done = run_kwhen("check", "-", "--tree", tree, "--format", "json", input=PATCH.read_text())
    from_cli = json.loads(done.stdout)
    assert json.loads(check)["findings"] == from_cli["findings"]
    assert "moved-narrowed" in {f["kind"] for f in from_cli["findings"]}
    # bad input: a tool error with kwhen's one line, the server still up
    assert bad and "no such file" in message
