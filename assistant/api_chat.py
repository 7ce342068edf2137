"""OpenAI-compatible chat completions: the messages become a question and its history, the
answer comes back with [n] markers, a sources list, and the citations as data."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answers import Answer
from assistant.citations import (
    Citation,
    InertStream,
    answer_content,
    answer_parts,
    citations,
    inert_markdown,
)
from ingest.errors import AssistantError, NotFoundError
from ingest.records import Scope
from ingest.settings import RetrievalMode

# One model per answerer; other answerers (tests add some) are offered as jaryo-NAME.
MODEL_NAMES = {"extractive": "jaryo", "openai": "jaryo-llm"}
OWNER = "jaryo"
FOOTER_MARK = "\n\n**출처**"  # where our own sources list starts in an earlier answer
FOOTER_MARK_NEAREST = "\n\n**가장 가까운 구절**"


def model_name(backend: str) -> str:
    """The model id clients see for an answerer."""
    return MODEL_NAMES.get(backend, f"jaryo-{backend}")


def backend_of(model: str, backends: list[str]) -> str:
    """The answerer behind a model id; NotFoundError naming the models on offer."""
    for backend in backends:
        if model_name(backend) == model:
            return backend
    offered = ", ".join(model_name(b) for b in backends)
    raise NotFoundError(f"the model {model!r} does not exist (models: {offered})")


class TextPart(BaseModel):
    """One part of a multi-part message; only text parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """A message of the conversation."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        if self.content is None:
            return ""
        return "\n".join(p.text or "" for p in self.content if p.type == "text")


class ScopeFields(BaseModel):
    """Where to look: collections and/or chosen documents (everything when both are empty)."""

    collection: str | None = Field(None, description="Only this collection (shorthand).")
    collections: list[str] = Field(
        default_factory=list, description="Only documents in any of these collections."
    )
    documents: list[str] = Field(
        default_factory=list, description="Only these documents (ids as GET /v1/documents lists)."
    )

    def scope(self) -> Scope | None:
        """The retrieval scope these fields name, or None for everything."""
        names = [*self.collections, *([self.collection] if self.collection else [])]
        if not names and not self.documents:
            return None
        return Scope(tuple(dict.fromkeys(names)), tuple(dict.fromkeys(self.documents)))


class ChatRequest(ScopeFields):
    """An OpenAI chat completion request; jaryo's own fields may come in the body (extra_body)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description="jaryo (extractive) or jaryo-llm (the configured LLM).")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve.")
    mode: RetrievalMode | None = Field(None, description="hybrid, dense or bm25.")


def conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """(question, earlier (question, answer) turns) of an OpenAI messages list.

    System and tool messages are ignored: the documents, not the client, decide what is said.
    """
    turns: list[tuple[str, str]] = []
    pending: str | None = None
    talk = [m for m in messages if m.role in ("user", "assistant")]
    if not talk or talk[-1].role != "user":
        raise AssistantError("the last message must be the user's question")
    for m in talk[:-1]:
        if m.role == "user":
            if pending is not None:
                turns.append((pending, ""))
            pending = m.text().strip()
        elif pending is not None:
            turns.append((pending, _without_footer(m.text())))
            pending = None
    if pending is not None:
        turns.append((pending, ""))
    question = talk[-1].text().strip()
    if not question:
        raise AssistantError("the question (the last user message) is empty")
    return question, [(q, a) for q, a in turns if q]


def _without_footer(text: str) -> str:
    for mark in (FOOTER_MARK, FOOTER_MARK_NEAREST):
        if mark in text:
            text = text[: text.index(mark)]
    return text.strip()


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "found": answer.found,
        "backend": answer.backend,
        "notice": answer.notice,
        "question": answer.question,
        "answer": answer.text,
    }


def _dump(items: list[Citation]) -> list[dict[str, Any]]:
    return [c.model_dump() for c in items]


def completion(answer: Answer, model: str) -> dict[str, Any]:
    """A non-streamed chat completion carrying the citations in a top-level field."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer_content(answer)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": None,
        "citations": _dump(citations(answer)),
        "jaryo": _extras(answer),
    }


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream_events(first: str | Answer, rest: Iterator[str | Answer], model: str) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format; the last chunk carries the citations.

    ``first`` is the stream's first item, taken before the response started so that errors
    in retrieval (an unknown collection) still get their status code.
    """
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return _event(body)

    yield chunk({"role": "assistant", "content": ""})
    streamed = ""
    inert = InertStream()  # the same text answer_content gives, images and HTML inert
    final: Answer | None = None
    try:
        for item in _chain(first, rest):
            if isinstance(item, Answer):
                final = item
                break
            piece = inert.feed(item)
            if piece:
                streamed += piece
                yield chunk({"content": piece})
    except AssistantError as exc:
        yield _event(error_body(str(exc), "server_error", code="answer_failed"))
        yield "data: [DONE]\n\n"
        return
    if final is None:  # Assistant.stream always ends with an Answer
        raise RuntimeError("the answer stream ended without an answer")
    content = answer_content(final)
    if content.startswith(streamed):  # the tail includes any "!" or "<" still held back
        tail = content[len(streamed) :]
    else:  # the validated text differs from what was streamed: add only notice and sources
        tail = inert.flush() + inert_markdown(
            "".join("\n\n" + part for part in answer_parts(final)[1:])
        )
    if tail:
        yield chunk({"content": tail})
    yield chunk({}, "stop", citations=_dump(citations(final)), jaryo=_extras(final))
    yield "data: [DONE]\n\n"


def _chain(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str | Answer]:
    yield first
    yield from rest


def error_body(
    message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error JSON."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
