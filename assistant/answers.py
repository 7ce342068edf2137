"""Answers, their numbered sources, and the one-method Answerer interface."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
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


# A bracketed number that a document itself contains ("표 [1] 참조") is shown as 〔1〕 to the
# answerers, so that every [n] in an answer is a marker the answerer added (NFKC keeps 〔〕,
# so the LLM fence does not fold it back).
DOCUMENT_MARKER = "〔{}〕"
# An invalid marker used as a word ("비밀은 [7]에 있고"): replaced by text, not removed.
_MARKER_AS_WORD = re.compile(r"\[(\d+)\](?=[가-힣A-Za-z0-9])")


def guard_document_markers(hits: list[Hit]) -> list[Hit]:
    """``hits`` with the ``[n]`` of their own text written 〔n〕 (same length, same offsets)."""
    return [
        replace(h, chunk=replace(h.chunk, text=_MARKER.sub(_document_marker, h.chunk.text)))
        if _MARKER.search(h.chunk.text)
        else h
        for h in hits
    ]


def _document_marker(m: re.Match[str]) -> str:
    return DOCUMENT_MARKER.format(m.group(1))


def restore_sources(answer: Answer, hits: list[Hit]) -> Answer:
    """``answer`` with its sources pointing at the original ``hits`` (not the guarded ones)."""
    by_id = {h.chunk.id: h for h in hits}
    sources = [replace(s, hit=by_id.get(s.hit.chunk.id, s.hit)) for s in answer.sources]
    return replace(answer, sources=sources)


def validate_citations(answer: Answer) -> Answer:
    """Drop ``[n]`` markers that match no source, keeping the words around them (a marker used
    as a word is replaced by text), with a notice; flag an answer left with no valid citation."""
    valid = {s.number for s in answer.sources}
    invalid = sorted({int(n) for n in _MARKER.findall(answer.text)} - valid)
    text = _MARKER_AS_WORD.sub(
        lambda m: m.group(0) if int(m.group(1)) in valid else f"(없는 출처 {m.group(1)})",
        answer.text,
    )
    text = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    text = re.sub(r"[ \t]+([.,!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    flags = list(answer.flags)
    notices = [answer.notice] if answer.notice else []
    if invalid:
        flags.append("invalid-citations-removed")
        marks = ", ".join(f"[{n}]" for n in invalid)
        notices.append(f"제공된 구절에 없는 인용 {marks}을(를) 답변에서 뺐습니다.")
    if answer.found and answer.sources and not _MARKER.search(text):
        flags.append("no-valid-citation")
        marks = " ".join(f"[{s.number}]" for s in answer.sources)
        text = f"{text} {marks}".strip()
        notices.append("답변에 유효한 인용이 없어 사용된 구절을 모두 출처로 붙였습니다.")
    return Answer(
        text,
        answer.sources,
        answer.found,
        answer.backend,
        " ".join(notices),
        answer.question,
        flags,
    )
