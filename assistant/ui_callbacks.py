"""UI callbacks: small functions of (assistant, inputs) -> outputs, testable without a browser."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from assistant.answers import Answer, Source


def _highlight(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    out, pos = [], 0
    for s, e in sorted(spans):
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def sources_html(answer: Answer) -> str:
    """Numbered source cards with the cited sentences highlighted."""
    if not answer.sources:
        return ""
    head = "출처" if answer.found else "가장 가까운 구절"
    cards = [f"<h4>{head}</h4>"]
    for s in answer.sources:
        cards.append(_source_card(s))
    return "\n".join(cards)


def _source_card(s: Source) -> str:
    c = s.hit.chunk
    return (
        f'<details id="source-{s.number}" class="source" open>'
        f"<summary>[{s.number}] {html.escape(c.title)} — {html.escape(c.source)}, "
        f"{html.escape(s.location)} · 점수 {s.hit.score:.2f}</summary>"
        f'<p class="passage">{_highlight(c.text, s.highlights)}</p></details>'
    )


def respond(
    assistant: Any, question: str, chat: list[dict[str, str]], turns: list[tuple[str, str]]
) -> Iterator[tuple[str, list[dict[str, str]], str, list[tuple[str, str]]]]:
    """Stream an answer into the chat; then show its sources."""
    question = (question or "").strip()
    if not question:
        yield "", chat, "", turns
        return
    chat = [*chat, {"role": "user", "content": question}, {"role": "assistant", "content": ""}]
    text = ""
    for item in assistant.stream(question, history=turns):
        if isinstance(item, Answer):
            chat[-1] = {"role": "assistant", "content": item.text}
            yield "", chat, sources_html(item), [*turns, (question, item.text)]
            return
        text += item
        chat[-1] = {"role": "assistant", "content": text}
        yield "", chat, "", turns
