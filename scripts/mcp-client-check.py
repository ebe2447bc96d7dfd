#!/usr/bin/env python3
"""Drives an MCP server over Streamable HTTP with the official MCP Python SDK client.

    python scripts/mcp-client-check.py URL TOOL [ARGS_JSON]

Needs the venv that scripts/setup-mcp-venv makes (it prints that python's path); run with
another python, the script re-executes itself with that venv's python when the venv exists:

    "$(scripts/setup-mcp-venv)" scripts/mcp-client-check.py http://127.0.0.1:8080/mcp cache_status '{}'

Connects to URL sending `Authorization: Bearer $SEXTANT_MCP_KEY` (no Authorization header when
the variable is unset or empty), does the initialize handshake (initialize, then
notifications/initialized), lists the tools, and prints their names as one JSON array on the
first line of stdout. Then calls TOOL with the JSON object ARGS_JSON (default "{}") and prints
the result as one JSON object on the second line:
{"content": [...], "isError": bool[, "structuredContent": ...]}.

Exit status: 0 when the call succeeded; 1 on any failure (server unreachable, an HTTP error
status such as 401, a JSON-RPC error, a timeout, TOOL not among the listed tools, or a result
with isError true), with one line starting "mcp-client-check: error:" on stderr; 2 on bad usage.
SEXTANT_MCP_TIMEOUT (seconds, default 30) bounds the whole exchange.
"""

from __future__ import annotations

import json
import os
import sys

PROG = "mcp-client-check"


def fail(message: str, code: int = 1) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(code)


try:
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    try:  # mcp 2.x (the version setup-mcp-venv pins) speaks httpx2 and names the error MCPError
        import httpx2 as httpx
        from mcp.shared.exceptions import MCPError
    except ImportError:  # mcp 1.24 to 1.x: httpx and McpError
        import httpx
        from mcp.shared.exceptions import McpError as MCPError
except ImportError as e:  # pragma: no cover - depends on the interpreter it is run with
    # Run with a python lacking the SDK: hand over to the venv's python when it exists.
    venv_py = os.path.join(
        os.environ.get("SEXTANT_CACHE") or os.path.expanduser("~/.cache/sextant"), "venv-mcp", "bin", "python"
    )
    if os.access(venv_py, os.X_OK) and os.path.realpath(sys.prefix) != os.path.realpath(
        os.path.dirname(os.path.dirname(venv_py))
    ):
        os.execv(venv_py, [venv_py, *sys.argv])
    fail(
        f"cannot import the MCP Python SDK ({e}); run this script with the python that "
        "scripts/setup-mcp-venv prints",
        2,
    )


try:
    BaseExceptionGroup
except NameError:  # Python 3.10: anyio depends on the backport
    from exceptiongroup import BaseExceptionGroup


def leaves(exc: BaseException) -> list[BaseException]:
    """The non-group exceptions inside a (possibly nested) exception group."""
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out.extend(leaves(sub))
        return out
    return [exc]


def describe(exc: BaseException, url: str, timeout: float, http_errors: list[str]) -> str:
    causes = leaves(exc)
    for c in causes:
        if isinstance(c, httpx.ConnectError):
            return f"cannot connect to {url}: {c or type(c).__name__}"
    for c in causes:
        if isinstance(c, httpx.TimeoutException):
            return f"HTTP timeout talking to {url}: {type(c).__name__}"
    for c in causes:
        if isinstance(c, TimeoutError):
            return f"no complete answer from {url} within {timeout:g} s (SEXTANT_MCP_TIMEOUT)"
    parts = []
    for c in causes:
        if isinstance(c, MCPError):
            parts.append(f"JSON-RPC error {c.error.code}: {c.error.message}")
        else:
            parts.append(f"{type(c).__name__}: {c}")
    if http_errors:
        if any(e.startswith(("HTTP 401 ", "HTTP 403 ")) for e in http_errors):
            http_errors = [*http_errors, "check SEXTANT_MCP_KEY"]
        parts.insert(0, "; ".join(http_errors))
    return "; ".join(parts) or repr(exc)


async def run(url: str, tool: str, arguments: dict, timeout: float) -> int:
    key = os.environ.get("SEXTANT_MCP_KEY", "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if not key:
        print(f"{PROG}: warning: SEXTANT_MCP_KEY is not set; sending no Authorization header", file=sys.stderr)

    # The SDK turns an HTTP error status into a generic JSON-RPC error; note the status here so
    # the message can say "HTTP 401" instead.
    http_errors: list[str] = []

    async def note_status(response: httpx.Response) -> None:
        if response.status_code >= 400 and not (
            response.request.method in ("GET", "DELETE") and response.status_code == 405
        ):
            http_errors.append(f"HTTP {response.status_code} from {response.request.method} {response.request.url}")

    result = None
    names: list[str] = []
    http_client = httpx.AsyncClient(
        headers=headers,
        timeout=httpx.Timeout(timeout),
        event_hooks={"response": [note_status]},
    )
    try:
        with anyio.fail_after(timeout):
            async with http_client:
                async with streamable_http_client(url, http_client=http_client) as streams:
                    read, write = streams[0], streams[1]
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        listed = await session.list_tools()
                        names = [t.name for t in listed.tools]
                        print(json.dumps(names), flush=True)
                        if tool in names:
                            result = await session.call_tool(tool, arguments)
    except Exception as e:  # every failure becomes one clear line (exception groups included)
        fail(describe(e, url, timeout, http_errors))
    if result is None:
        fail(f"the server offers no tool named {tool!r} (it lists {names})")

    wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)  # camelCase, as on the wire
    out = {"content": wire.get("content", []), "isError": bool(wire.get("isError", False))}
    if "structuredContent" in wire:
        out["structuredContent"] = wire["structuredContent"]
    print(json.dumps(out), flush=True)
    if out["isError"]:
        texts = [c.get("text", "") for c in out["content"] if c.get("type") == "text"]
        fail(f"tool {tool!r} returned isError=true: {' '.join(texts)[:500]}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    url, tool = argv[1], argv[2]
    raw = argv[3] if len(argv) == 4 else "{}"
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as e:
        fail(f"ARGS_JSON is not valid JSON ({e}): {raw!r}", 2)
    if not isinstance(arguments, dict):
        fail(f"ARGS_JSON must be a JSON object, got {raw!r}", 2)
    try:
        timeout = float(os.environ.get("SEXTANT_MCP_TIMEOUT", "30"))
    except ValueError:
        fail(f"SEXTANT_MCP_TIMEOUT must be a number of seconds, got {os.environ['SEXTANT_MCP_TIMEOUT']!r}", 2)
    return anyio.run(run, url, tool, arguments, timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
