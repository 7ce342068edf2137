"""MCP with the real `mcp` SDK client: streamable HTTP at /mcp of a live server, and `jaryo mcp`
over stdio (a subprocess with the real model)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import ALLIANCE, BAIDU, BAIDU_Q, DEEPSEEK, DEEPSEEK_Q, ROOT, Live

TOOLS = {"search_documents", "ask", "list_documents", "get_passage"}


def _http(live: Live, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    from mcp import Client

    async def run() -> tuple[Any, list[Any]]:
        async with Client(f"{live.url}/mcp") as client:
            tools = await client.list_tools()
            return tools, [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(run())


def test_tools_are_typed_and_described(live: Live) -> None:
    tools, _ = _http(live, [])
    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == TOOLS
    search = by_name["search_documents"]
    assert "한국어" in (search.description or "")
    props = search.input_schema["properties"]
    assert props["k"]["type"] == "integer"
    assert set(props["mode"]["enum"]) == {"hybrid", "dense", "bm25"}
    assert search.input_schema["required"] == ["query"]
    assert "citations" in by_name["ask"].output_schema["properties"]
    assert by_name["get_passage"].input_schema["properties"]["passage_id"]["type"] == "integer"


def test_tools_return_the_same_citations_as_the_api(live: Live) -> None:
    _, (found, answer, scoped, listing) = _http(
        live,
        [
            ("search_documents", {"query": DEEPSEEK_Q, "k": 3}),
            ("ask", {"question": DEEPSEEK_Q}),
            ("ask", {"question": DEEPSEEK_Q, "collections": ["한국"], "k": 8}),
            ("list_documents", {"collection": "세계"}),
        ],
    )
    results = found.structured_content["results"]
    assert results[0]["doc_id"] == DEEPSEEK.name
    api = live.client.post(
        "/v1/chat/completions",
        json={"model": "jaryo", "messages": [{"role": "user", "content": DEEPSEEK_Q}]},
    ).json()
    assert answer.structured_content["citations"] == api["citations"]
    assert answer.structured_content["content"] == api["choices"][0]["message"]["content"]
    assert {c["doc_id"] for c in scoped.structured_content["citations"]} <= {
        BAIDU.name,
        ALLIANCE.name,
    }
    assert {d["doc_id"] for d in listing.structured_content["documents"]} == {
        DEEPSEEK.name,
        ALLIANCE.name,
    }
    pid = results[0]["passage_id"]
    _, (passage, missing, unknown) = _http(
        live,
        [
            ("get_passage", {"passage_id": pid, "around": 30}),
            ("get_passage", {"passage_id": 10**9}),
            ("search_documents", {"query": "x", "collections": ["없는 모음"]}),
        ],
    )
    assert passage.structured_content["text"] == results[0]["text"]
    assert missing.is_error
    assert "no such passage" in missing.content[0].text
    assert unknown.is_error
    assert "없는 모음" in unknown.content[0].text


@pytest.mark.quality
@pytest.mark.slow
def test_jaryo_mcp_over_stdio_with_the_real_model(tmp_path: Path, real_embedder, onnx_dir) -> None:
    from mcp import Client, StdioServerParameters

    from assistant.build import build_assistant
    from index.embedder import share_models
    from ingest.settings import Settings

    data = tmp_path / "data"
    share_models(data, onnx_dir.parent)
    assistant = build_assistant(Settings(data_dir=data), embedder=real_embedder)
    assistant.ingest([DEEPSEEK], collection="세계")
    assistant.ingest([BAIDU], collection="한국")
    assistant.index.close()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JARYO_DATA_DIR": str(data)}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant.cli", "mcp"], env=env, cwd=str(ROOT)
    )

    async def run() -> tuple[Any, ...]:
        async with Client(params, read_timeout_seconds=120) as client:
            tools = await client.list_tools()
            found = await client.call_tool("search_documents", {"query": BAIDU_Q, "k": 2})
            answer = await client.call_tool(
                "ask", {"question": DEEPSEEK_Q, "collections": ["세계"]}
            )
            scoped = await client.call_tool(
                "ask", {"question": DEEPSEEK_Q, "collections": ["한국"]}
            )
            return tools, found, answer, scoped

    tools, found, answer, scoped = asyncio.run(run())
    assert {t.name for t in tools.tools} == TOOLS
    assert found.structured_content["results"][0]["doc_id"] == BAIDU.name
    record = answer.structured_content
    assert record["found"] is True
    assert "558만" in record["answer"]  # the real model finds the figure
    assert record["citations"][0]["doc_id"] == DEEPSEEK.name
    assert "[1]" in record["content"]
    # asked within 한국, the DeepSeek article (only in 세계) is never cited
    assert {c["doc_id"] for c in scoped.structured_content["citations"]} <= {BAIDU.name}
    check = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("ok")
