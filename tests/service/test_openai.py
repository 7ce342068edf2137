"""The OpenAI-compatible chat, driven by the real `openai` SDK against a live server."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from assistant.answers import Answer, Source
from ingest.records import Hit
from tests.service.conftest import (
    ALLIANCE,
    BAIDU,
    BAIDU_Q,
    DEEPSEEK,
    DEEPSEEK_Q,
    REALDOCS,
    Live,
)


@pytest.fixture(scope="module")
def client(live: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0)


def _citations(obj: object) -> list[dict]:
    extra = obj.model_extra or {}  # type: ignore[attr-defined]
    return list(extra["citations"])


def test_models_offer_one_model_per_answerer(live: Live, client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["jaryo"]

    class Scripted:
        name = "openai"

        def answer(self, question: str, hits: list[Hit]) -> Answer:
            return Answer("스크립트 답 [1].", [Source(1, hits[0])], backend="openai")

        def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
            yield "스크립트 답 [1]."
            yield self.answer(question, hits)

    live.assistant.answerers["openai"] = Scripted()
    try:
        assert [m.id for m in client.models.list()] == ["jaryo", "jaryo-llm"]
        reply = client.chat.completions.create(
            model="jaryo-llm", messages=[{"role": "user", "content": DEEPSEEK_Q}]
        )
        assert reply.choices[0].message.content.startswith("스크립트 답 [1].")
        assert (reply.model_extra or {})["jaryo"]["backend"] == "openai"
    finally:
        del live.assistant.answerers["openai"]


def test_a_chat_answer_has_markers_a_sources_list_and_citations(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="jaryo", messages=[{"role": "user", "content": DEEPSEEK_Q}]
    )
    content = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop"
    assert reply.object == "chat.completion"
    assert "[1]" in content
    answer, _, footer = content.partition("\n\n**출처**\n")
    assert footer.startswith("- [1] ")
    cites = _citations(reply)
    assert cites[0]["n"] == 1
    assert cites[0]["doc_id"] == DEEPSEEK.name
    assert cites[0]["cited"] is True
    assert cites[0]["text"] in DEEPSEEK.read_text(encoding="utf-8")
    assert {"title", "page", "page_end", "start", "end", "score", "ocr", "passage_id"} <= set(
        cites[0]
    )
    # the sentences the answer is built on are highlighted inside the cited passage
    start, end = cites[0]["highlights"][0]
    assert cites[0]["text"][start:end].strip() in answer


def test_streaming_gives_the_same_answer_and_ends_with_the_citations(
    client: openai.OpenAI,
) -> None:
    messages = [{"role": "user", "content": DEEPSEEK_Q}]
    whole = client.chat.completions.create(model="jaryo", messages=messages)
    chunks = list(client.chat.completions.create(model="jaryo", messages=messages, stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert _citations(last) == _citations(whole)
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])


def test_a_two_turn_conversation_understands_the_follow_up(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="jaryo", messages=[{"role": "user", "content": BAIDU_Q}]
    )
    follow_up = "그 회사는 어떤 칩을 쓰나?"
    second = client.chat.completions.create(
        model="jaryo",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": BAIDU_Q},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": [{"type": "text", "text": follow_up}]},
        ],
    )
    standalone = (second.model_extra or {})["jaryo"]["question"]
    assert standalone.endswith(follow_up)
    assert "바이두" in standalone  # the earlier question's topic carried over
    assert _citations(second)


def test_a_question_scoped_to_one_collection_never_cites_another(
    client: openai.OpenAI, live: Live
) -> None:
    # the DeepSeek answer is only in 세계: asked within 한국, no 세계-only document is cited
    only_world = {d.doc_id for d in live.assistant.documents("세계")} - {
        d.doc_id for d in live.assistant.documents("한국")
    }
    assert only_world == {DEEPSEEK.name}
    for stream in (False, True):
        reply = client.chat.completions.create(
            model="jaryo",
            messages=[{"role": "user", "content": DEEPSEEK_Q}],
            extra_body={"collections": ["한국"], "k": 8},
            stream=stream,
        )
        last = list(reply)[-1] if stream else reply
        cited = {c["doc_id"] for c in _citations(last)}
        assert cited, stream
        assert cited <= {BAIDU.name, ALLIANCE.name}, stream
    chosen = client.chat.completions.create(
        model="jaryo",
        messages=[{"role": "user", "content": DEEPSEEK_Q}],
        extra_body={"documents": [ALLIANCE.name]},
    )
    assert {c["doc_id"] for c in _citations(chosen)} == {ALLIANCE.name}


def test_pages_appear_in_the_sources_list_and_the_citations(live: Live) -> None:
    pdf = REALDOCS / "pdf" / "bill_2125318.pdf"
    with open(pdf, "rb") as fh:
        r = live.client.post(
            "/v1/documents", files=[("files", (pdf.name, fh))], data={"collection": "법안"}
        )
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["status"] == "added"
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0)
    reply = client.chat.completions.create(
        model="jaryo",
        messages=[{"role": "user", "content": "탄소중립위원회 위원 위촉에 청년이 포함되나?"}],
        extra_body={"collection": "법안"},
    )
    cites = _citations(reply)
    assert cites
    assert all(c["doc_id"] == pdf.name and c["page"] >= 1 for c in cites)
    assert f"p. {cites[0]['page']}" in (reply.choices[0].message.content or "")


def test_errors_come_as_openai_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert not_found.value.code == "model_not_found"
    assert "jaryo" in not_found.value.message
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="jaryo", messages=[])
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(
            model="jaryo", messages=[{"role": "assistant", "content": "안녕하세요"}]
        )
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.chat.completions.create(model="jaryo", messages=[{"role": "user", "content": " "}])
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError, match="없는 모음"):
            client.chat.completions.create(
                model="jaryo",
                messages=[{"role": "user", "content": DEEPSEEK_Q}],
                extra_body={"collections": ["없는 모음"]},
                stream=stream,
            )


def test_a_raw_stream_is_server_sent_events_ending_in_done(live: Live) -> None:
    body = {"model": "jaryo", "stream": True, "messages": [{"role": "user", "content": BAIDU_Q}]}
    with live.client.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
