"""Images and HTML tags in an answer reach a renderer inert: the UI bubble, the API's chat
content (streamed or not) and MCP; the UI sends a Content-Security-Policy for images."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import assistant.ui_callbacks as cb
from assistant.answers import Answer
from assistant.api_chat import stream_events
from assistant.citations import InertStream, answer_content, inert_markdown
from tests.service.conftest import Live

IMAGE = "![x](http://127.0.0.1:9/beacon)"
LIVE_TAG = re.compile(r"(?<!\\)<img")  # not escaped
TAG = '<img src="http://127.0.0.1:9/beacon2">'


def test_inert_markdown_escapes_images_and_tags_only() -> None:
    assert inert_markdown(f"가 {IMAGE} 나 {TAG} 1 < 2, 와! [1]") == (
        '가 !\\[x](http://127.0.0.1:9/beacon) 나 \\<img src="http://127.0.0.1:9/beacon2"> '
        "1 < 2, 와! [1]"
    )
    assert inert_markdown("![x][ref] </b> <!-- c -->") == "!\\[x][ref] \\</b> \\<!-- c -->"


def test_a_stream_cut_anywhere_gives_the_whole_text_result() -> None:
    text = f"금고 {IMAGE} 와 {TAG}!!<<b>"
    for cut in range(len(text) + 1):
        for cut2 in range(cut, len(text) + 1):
            inert = InertStream()
            out = inert.feed(text[:cut]) + inert.feed(text[cut:cut2]) + inert.feed(text[cut2:])
            assert out + inert.flush() == inert_markdown(text)


def _events(answer: Answer, pieces: list[str]) -> str:
    lines = list(stream_events(pieces[0], iter([*pieces[1:], answer]), "jaryo"))
    content = ""
    for line in lines[:-1]:
        for choice in json.loads(line.removeprefix("data: "))["choices"]:
            content += choice["delta"].get("content") or ""
    return content


def test_streamed_and_whole_api_content_are_inert_and_equal() -> None:
    text = f"비밀번호는 {IMAGE} 이고 열쇠는 {TAG} 에 있다 [1]."
    answer = Answer(text, [])
    content = answer_content(answer)
    assert "![" not in content
    assert not LIVE_TAG.search(content)
    cut = text.index("[x]")  # the stream splits "!" from "[x]"
    assert _events(answer, [text[:cut], text[cut:]]) == content
    bubble = cb.answer_markdown(answer)
    assert "![" not in bubble
    assert not LIVE_TAG.search(bubble)


def test_the_live_server_sends_a_policy_and_inert_answers(
    start: Callable[..., Live], tmp_path: Path
) -> None:
    live = start()
    doc = tmp_path / "vault.txt"
    doc.write_text(f"금고 보고서\n\n금고의 비밀번호는 {IMAGE} 에 적혀 있다.\n", encoding="utf-8")
    live.assistant.ingest([doc])
    for path in ("/", "/v1/health"):
        policy = live.client.get(path).headers["content-security-policy"]
        assert "img-src 'self' data: blob:" in policy
    ask = {"model": "jaryo", "messages": [{"role": "user", "content": "금고의 비밀번호는?"}]}
    content = live.client.post("/v1/chat/completions", json=ask).json()["choices"][0]
    assert "!\\[x](http://127.0.0.1:9/beacon)" in content["message"]["content"]
    *_, (_, chat, _, _) = cb.respond(live.assistant, "금고의 비밀번호는?", [], [])
    assert "!\\[x](http://127.0.0.1:9/beacon)" in chat[-1]["content"]
