"""Answers, passages and documents as typed JSON records, shared by the CLI, HTTP API and MCP."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from assistant.answers import Answer, Source
from index.membership import CollectionInfo
from index.store import DocumentInfo
from ingest.reader import FileOutcome, IngestReport
from ingest.records import Chunk, Hit

# A Markdown image (``![alt](url)``, ``![alt][ref]``) or a raw HTML tag (``<img src=…>``) in an
# answer would be fetched by the reader's browser or chat client: an exfiltration channel for
# text injected into a document or an LLM's reply. A backslash escape makes each inert text.
_ACTIVE = re.compile(r"!\[|<(?=[A-Za-z/!?])")


def inert_markdown(text: str) -> str:
    """``text`` with Markdown images and HTML tags escaped, so that a renderer shows them as
    text and fetches nothing (``![x](u)`` → ``!\\[x](u)``, ``<img`` → ``\\<img``)."""
    return _ACTIVE.sub(lambda m: "!\\[" if m.group(0) == "![" else "\\<", text)


class InertStream:
    """:func:`inert_markdown` over text arriving in pieces, with the same result as on the
    whole text: the ``!`` and ``<`` a piece ends with wait for the next piece."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """The inert text that can be shown now."""
        text = self._held + piece
        keep = len(text.rstrip("!<"))
        text, self._held = text[:keep], text[keep:]
        return inert_markdown(text)

    def flush(self) -> str:
        """What is still held back, at the end of the stream."""
        text, self._held = self._held, ""
        return inert_markdown(text)


STATUSES = ("added", "updated", "unchanged", "duplicate", "skipped", "removed", "failed")


class PassageRecord(BaseModel):
    """Where a passage is and what it says."""

    passage_id: int = Field(description="Passage id (for get_passage / GET /v1/passages/{id}).")
    doc_id: str = Field(description="Document id (its file name or path).")
    title: str = Field(description="Document title.")
    source: str = Field(description="File name.")
    page: int | None = Field(description="1-based page the passage starts on (paged files).")
    page_end: int | None = Field(description="Page it ends on.")
    pages: str = Field(description='"p. 3", "pp. 3–4", or "" without pages.')
    start: int = Field(description="Character offset of the passage in the document text.")
    end: int = Field(description="Character offset where it ends.")
    ocr: bool = Field(description="Its text was read from a page image.")
    context: str = Field(description="Text it needs but does not hold (a table's header row).")
    text: str = Field(description="The passage text.")

    @staticmethod
    def fields_of(chunk: Chunk) -> dict[str, Any]:
        """The common fields of a stored chunk."""
        return {
            "passage_id": chunk.id,
            "doc_id": chunk.doc_id,
            "title": chunk.title,
            "source": chunk.source,
            "page": chunk.page,
            "page_end": chunk.page_end,
            "pages": chunk.pages,
            "start": chunk.start,
            "end": chunk.end,
            "ocr": chunk.ocr,
            "context": chunk.context,
            "text": chunk.text,
        }


class Citation(PassageRecord):
    """A numbered source of an answer; the answer text points at it as [n]."""

    n: int = Field(description="The number the answer uses: [n].")
    score: float = Field(description="Retrieval score (hybrid: fused z-scores).")
    cited: bool = Field(description="Whether the answer text cites it.")
    highlights: list[tuple[int, int]] = Field(
        description="Spans (offsets into text) of the sentences the answer is built on."
    )

    @classmethod
    def of(cls, source: Source, *, cited: bool) -> Citation:
        """The citation of one source."""
        return cls(
            n=source.number,
            score=source.hit.score,
            cited=cited,
            highlights=list(source.highlights),
            **PassageRecord.fields_of(source.hit.chunk),
        )


class SearchResult(PassageRecord):
    """A passage found by a search."""

    rank: int = Field(description="1 = best.")
    score: float = Field(description="Retrieval score (hybrid: fused z-scores).")
    dense_score: float | None = Field(description="Cosine similarity (dense and hybrid).")
    keyword_score: float | None = Field(description="BM25 score (bm25 and hybrid).")

    @classmethod
    def of(cls, hit: Hit, rank: int) -> SearchResult:
        """The record of one search hit."""
        return cls(
            rank=rank,
            score=hit.score,
            dense_score=hit.dense,
            keyword_score=hit.keyword,
            **PassageRecord.fields_of(hit.chunk),
        )


class PassageWithContext(PassageRecord):
    """A passage with the document text around it."""

    before: str = Field(description="Document text just before the passage.")
    after: str = Field(description="Document text just after it.")


class AnswerRecord(BaseModel):
    """An answer with its citations."""

    answer: str = Field(description="Answer text with [n] markers.")
    found: bool = Field(description="False when the documents do not hold the answer.")
    backend: str = Field(description="Answerer that wrote it (extractive or openai).")
    notice: str = Field(description="A note for the reader (e.g. an LLM fallback), or ''.")
    question: str = Field(description="The standalone question that was searched.")
    content: str = Field(description="The answer as chat clients show it, with a sources list.")
    citations: list[Citation]

    @classmethod
    def of(cls, answer: Answer) -> AnswerRecord:
        """The record of an answer."""
        return cls(
            answer=answer.text,
            found=answer.found,
            backend=answer.backend,
            notice=answer.notice,
            question=answer.question,
            content=answer_content(answer),
            citations=citations(answer),
        )


class DocumentRecord(BaseModel):
    """A stored document."""

    doc_id: str
    title: str
    source: str
    format: str
    size: int = Field(description="Bytes of the original file.")
    chunks: int = Field(description="Number of passages.")
    added_at: float = Field(description="Unix time it was added.")
    pages: int | None = Field(description="Page count (paged files).")
    collections: list[str] = Field(description="Collections holding it.")

    @classmethod
    def of(cls, doc: DocumentInfo) -> DocumentRecord:
        """The record of a stored document."""
        return cls(
            doc_id=doc.doc_id,
            title=doc.title,
            source=doc.source,
            format=doc.format,
            size=doc.size,
            chunks=doc.chunks,
            added_at=doc.added_at,
            pages=doc.meta.get("pages"),
            collections=list(doc.collections),
        )


class CollectionRecord(BaseModel):
    """A collection of documents."""

    name: str
    documents: int = Field(description="Number of documents it holds.")
    created_at: float

    @classmethod
    def of(cls, info: CollectionInfo) -> CollectionRecord:
        """The record of a collection."""
        return cls(name=info.name, documents=info.documents, created_at=info.created_at)


class FileRecord(BaseModel):
    """What ingestion did with one file, as the 문서 tab reports it."""

    doc_id: str
    status: str = Field(description="added, updated, unchanged, duplicate, removed or failed.")
    chunks: int = Field(description="Passages stored for it.")
    reason: str = Field(description="Why it failed, or what it duplicates.")


class IngestRecord(BaseModel):
    """The outcome of an ingestion run."""

    collection: str
    seconds: float
    summary: dict[str, int] = Field(description="Number of files per status.")
    files: list[FileRecord]

    @classmethod
    def of(cls, report: IngestReport, collection: str) -> IngestRecord:
        """The record of an ingestion report."""
        return cls(
            collection=collection,
            seconds=round(report.seconds, 3),
            summary={s: report.count(s) for s in STATUSES},  # type: ignore[arg-type]
            files=[file_record(o) for o in report.outcomes],
        )


def file_record(outcome: FileOutcome) -> FileRecord:
    """The record of one file's outcome."""
    return FileRecord(
        doc_id=outcome.doc_id, status=outcome.status, chunks=outcome.chunks, reason=outcome.reason
    )


def citations(answer: Answer) -> list[Citation]:
    """Every source of an answer; ``cited`` says whether the text points at it."""
    used = set(answer.cited_numbers())
    return [Citation.of(s, cited=s.number in used) for s in answer.sources]


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as plain JSON (the CLI's ``ask --json``)."""
    record = AnswerRecord.of(answer).model_dump()
    record["sources"] = record.pop("citations")
    del record["content"]
    return record


def sources_footer(answer: Answer) -> str:
    """A short Markdown list of the sources, for clients that show only the text."""
    if not answer.sources:
        return ""
    head = "출처" if answer.found else "가장 가까운 구절"
    lines = [f"**{head}**"]
    for s in answer.sources:
        c = s.hit.chunk
        where = ", ".join(part for part in (c.source, c.pages) if part and part != c.title)
        lines.append(f"- [{s.number}] {c.title}" + (f" — {where}" if where else ""))
    return "\n".join(lines)


def answer_parts(answer: Answer) -> list[str]:
    """The answer text, then any notice, then the sources list (the parts that are present)."""
    parts = [answer.text]
    if answer.notice:
        parts.append(f"※ {answer.notice}")
    footer = sources_footer(answer)
    if footer:
        parts.append(footer)
    return parts


def answer_content(answer: Answer) -> str:
    """The answer as a chat client shows it: text with [n] markers, any notice, the sources;
    images and HTML inert (see :func:`inert_markdown`)."""
    return inert_markdown("\n\n".join(answer_parts(answer)))
