"""Plain records passed between ingestion, the index and the assistant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """A cleaned document ready to be chunked and indexed.

    ``doc_id`` is the document's identity: its path relative to the ingested root (or the
    uploaded file name). ``text`` is the cleaned text; chunk offsets point into it.
    """

    doc_id: str
    text: str
    title: str
    source: str  # file name shown to users and used by the evaluation's relevance rule
    format: str
    content_hash: str
    size: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """A chunk's place in the cleaned text: ``text == document.text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A stored passage of a document."""

    id: int
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    title: str
    source: str


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search, with its fused score and the per-retriever scores."""

    chunk: Chunk
    score: float
    dense: float | None = None
    keyword: float | None = None
