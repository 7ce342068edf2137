"""Plain records passed between ingestion, the index and the assistant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadOptions:
    """How loaders may read a file: OCR for pages without text, budgets, progress lines."""

    ocr: bool = True
    ocr_languages: str = "kor+eng"
    ocr_page_timeout: float = 60.0
    max_pages: int = 5000
    max_text_chars: int = 20_000_000  # extracted characters of one document
    max_member_mb: float = 100.0  # unpacked size of one archive member (DOCX, HWPX)
    max_unzipped_mb: float = 300.0  # unpacked size of all members of one archive
    max_html_depth: int = 1000  # element nesting of an HTML page
    parser_memory_mb: int = 1024  # address space of the parser worker process
    parser_timeout: float = 120.0  # seconds the parser worker may spend on one document
    progress: Callable[[str], None] | None = None  # short lines: "bill.pdf: page 3/12 (OCR)"

    def report(self, line: str) -> None:
        """Pass one progress line on, if anyone listens."""
        if self.progress is not None:
            self.progress(line)


@dataclass(frozen=True)
class Loaded:
    """Raw text of a file and what the format says about it.

    In ``text``, pages are separated by a form feed (``\f``) where the format knows its pages,
    and every table row is one line ``| cell | cell |`` (the table's first row is its header).
    ``meta`` may hold ``pages`` (page count) and ``ocr_pages`` (1-based pages read by OCR).
    """

    text: str
    format: str
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


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
    """A chunk's place in the cleaned text: ``text == document.text[start:end]``.

    ``context`` is text the chunk needs to be understood but does not contain: the header row
    of the table it starts inside.
    """

    start: int
    end: int
    text: str
    context: str = ""


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
    context: str = ""  # shown before the text, e.g. the header row of a table it starts inside
    page: int | None = None  # 1-based page of the chunk's start, in paged documents
    page_end: int | None = None
    ocr: bool = False  # its text was read from a page image by OCR

    @property
    def pages(self) -> str:
        """ "p. 3", "pp. 3–4" or "" for a document without pages."""
        if self.page is None:
            return ""
        if self.page_end is not None and self.page_end != self.page:
            return f"pp. {self.page}–{self.page_end}"
        return f"p. {self.page}"


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search, with its fused score and the per-retriever scores."""

    chunk: Chunk
    score: float
    dense: float | None = None
    keyword: float | None = None


@dataclass(frozen=True)
class Scope:
    """Where a question or search may look: documents in any of ``collections`` (every one
    when empty) that are also among ``documents`` (every one when empty)."""

    collections: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        """True when nothing is excluded."""
        return not self.collections and not self.documents
