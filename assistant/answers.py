"""Answers, their numbered sources, and the one-method Answerer interface."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ingest.records import Hit

NOT_FOUND = "제공된 문서에서 이 질문에 대한 답을 찾지 못했습니다."
NOT_FOUND_HINT = "가장 가까운 구절을 아래에 표시합니다. 직접 확인해 보세요."

_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Source:
    """A numbered passage an answer may cite; ``highlights`` are offsets into the chunk text."""

    number: int
    hit: Hit
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def location(self) -> str:
        """Human-readable place of the passage in its document."""
        c = self.hit.chunk
        parts = [c.pages] if c.pages else []
        parts.append(f"구절 {c.ordinal + 1}")
        if not c.pages:
            parts.append(f"{c.start:,}–{c.end:,}자")
        if c.ocr:
            parts.append("OCR 인식")
        return " · ".join(parts)


@dataclass(frozen=True)
class Answer:
    """A composed answer with ``[n]`` markers and the sources they point at."""

    text: str
    sources: list[Source]
    found: bool = True
    backend: str = "extractive"
    notice: str = ""  # e.g. an LLM error that made us fall back, or "no valid citation"
    question: str = ""  # the standalone question actually searched
    flags: list[str] = field(default_factory=list)

    def cited_numbers(self) -> list[int]:
        """Source numbers cited in the text, in order of first appearance."""
        seen: list[int] = []
        for m in _MARKER.finditer(self.text):
            n = int(m.group(1))
            if n not in seen:
                seen.append(n)
        return seen

    def render(self) -> str:
        """The answer followed by its numbered source list (CLI output)."""
        lines = [self.text]
        if self.notice:
            lines += ["", f"※ {self.notice}"]
        if self.sources:
            lines += ["", "출처:" if self.found else "가장 가까운 구절:"]
            for s in self.sources:
                c = s.hit.chunk
                lines.append(f"[{s.number}] {c.title} — {c.source}, {s.location}")
        return "\n".join(lines)


def not_found(question: str, hits: list[Hit], notice: str = "") -> Answer:
    """'Not in the documents', showing the closest passages for the reader to check."""
    sources = [Source(n + 1, h) for n, h in enumerate(hits[:3])]
    return Answer(
        f"{NOT_FOUND} {NOT_FOUND_HINT}" if sources else NOT_FOUND,
        sources,
        found=False,
        notice=notice,
        question=question,
    )


class Answerer(Protocol):
    """Composes an answer to a question from retrieved passages."""

    name: str

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Answer ``question`` citing ``hits`` as sources [1], [2], …"""
        ...

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Yield text as it is produced, then the final :class:`Answer`."""
        ...


def validate_citations(answer: Answer) -> Answer:
    """Drop ``[n]`` markers that match no source; flag an answer left with no valid citation."""
    valid = {s.number for s in answer.sources}
    text = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", answer.text)
    text = re.sub(r"[ \t]+([.,!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    flags = list(answer.flags)
    notice = answer.notice
    if text != answer.text.strip():
        flags.append("invalid-citations-removed")
    if answer.found and answer.sources and not _MARKER.search(text):
        flags.append("no-valid-citation")
        marks = " ".join(f"[{s.number}]" for s in answer.sources)
        text = f"{text} {marks}".strip()
        notice = (notice + " " if notice else "") + (
            "답변에 유효한 인용이 없어 사용된 구절을 모두 출처로 붙였습니다."
        )
    return Answer(
        text, answer.sources, answer.found, answer.backend, notice, answer.question, flags
    )
