"""A question longer than JARYO_MAX_QUESTION_CHARS is refused with one Korean line everywhere:
the assistant, the CLI, the UI callback, the REST/OpenAI API (413) and MCP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from click.testing import CliRunner

import assistant.build
import assistant.ui_callbacks as cb
from assistant.cli import main
from ingest.errors import TooLongError
from tests.service.conftest import DEEPSEEK, DEEPSEEK_Q, Live

LIMIT = 60
LONG = "딥시크 " * 40  # 160 characters


def test_the_assistant_refuses_long_questions_and_accepts_the_limit(fake_assistant) -> None:
    fake_assistant.settings = fake_assistant.settings.model_copy(
        update={"max_question_chars": LIMIT}
    )
    fake_assistant.ingest([DEEPSEEK])
    with pytest.raises(TooLongError, match=r"질문이 너무 깁니다: 160자 \(최대 60자"):
        fake_assistant.ask(LONG)
    with pytest.raises(TooLongError):
        next(fake_assistant.stream(LONG))
    with pytest.raises(TooLongError):
        fake_assistant.search(LONG)
    with pytest.raises(TooLongError):
        fake_assistant.ask("비용은?", history=[(LONG, "")])
    assert fake_assistant.ask("딥" * LIMIT).question
    with pytest.raises(gr.Error, match="질문이 너무 깁니다"):
        list(cb.respond(fake_assistant, LONG, [], []))


def test_the_cli_prints_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder
) -> None:
    monkeypatch.setattr(assistant.build, "load_embedder", lambda settings: fake_embedder)
    monkeypatch.setenv("JARYO_MAX_QUESTION_CHARS", str(LIMIT))
    args = ["--data-dir", str(tmp_path / "data"), "--model", "fake-bigram"]
    result = CliRunner().invoke(main, [*args, "ask", LONG])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: 질문이 너무 깁니다: 160자 (최대 60자, JARYO_MAX_QUESTION_CHARS) — question too long"
    ]


def _mcp(live: Live, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    from mcp import Client

    async def run() -> list[Any]:
        async with Client(f"{live.url}/mcp") as client:
            return [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(run())


def test_the_api_and_mcp_answer_413_and_a_tool_error(start: Callable[..., Live]) -> None:
    live = start(max_question_chars=LIMIT)
    live.assistant.ingest([DEEPSEEK])
    for stream in (False, True):
        body = {"model": "jaryo", "stream": stream, "messages": [{"role": "user", "content": LONG}]}
        r = live.client.post("/v1/chat/completions", json=body)
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "question_too_long"
        assert "질문이 너무 깁니다" in r.json()["error"]["message"]
    r = live.client.post("/v1/search", json={"query": LONG})
    assert r.status_code == 413
    ok = live.client.post(
        "/v1/chat/completions",
        json={"model": "jaryo", "messages": [{"role": "user", "content": DEEPSEEK_Q}]},
    )
    assert ok.status_code == 200
    refused, searched = _mcp(
        live, [("ask", {"question": LONG}), ("search_documents", {"query": LONG})]
    )
    assert refused.is_error
    assert "질문이 너무 깁니다" in refused.content[0].text
    assert searched.is_error
