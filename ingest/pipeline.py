"""Ingest files into the index: load, clean, chunk, embed, and store, one outcome per file."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.errors import AssistantError, IngestError
from index.collection import Index
from index.embedder import Embedder
from index.store import NewChunk
from ingest.chunking import chunk_text
from ingest.clean import clean_document
from ingest.loaders import load_bytes, supported, unsupported_error
from ingest.records import Document

logger = logging.getLogger(__name__)

Status = Literal["added", "updated", "unchanged", "duplicate", "failed", "removed"]
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file."""

    doc_id: str
    status: Status
    chunks: int = 0
    reason: str = ""


@dataclass
class IngestReport:
    """Outcomes of an ingestion run."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        """Number of files with this outcome."""
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class Source:
    """A file to ingest and the id it will have."""

    path: Path
    doc_id: str


def passage_text(title: str, text: str) -> str:
    """The text embedded for a chunk: the document title gives the passage its context."""
    return f"{title}\n{text}" if title else text


def collect_sources(paths: Iterable[Path]) -> list[Source]:
    """Expand folders recursively; ids are paths relative to the root (NFC-normalised).

    Every visible file in a folder is a source, so a file no loader reads is reported as
    failed rather than silently left out; hidden files and folders and Office lock files
    (``~$name``) are skipped.
    """
    out: list[Source] = []
    for path in paths:
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                rel = sub.relative_to(path)
                if _skipped(rel) or not (sub.is_file() or sub.is_symlink()):
                    continue
                out.append(Source(sub, _nfc(rel.as_posix())))
        else:
            out.append(Source(path, _nfc(path.name)))
    return out


def _skipped(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts) or rel.name.startswith("~$")


def _nfc(name: str) -> str:
    # macOS writes decomposed Hangul in file names; one document must have one id
    return unicodedata.normalize("NFC", name)


def read_document(path: Path, doc_id: str, *, max_bytes: int) -> tuple[Document, bytes]:
    """Read and clean one file; raises IngestError naming the file and the reason."""
    name = doc_id
    if path.is_symlink() and not path.exists():
        raise IngestError(f"{name}: broken symbolic link (its target {os.readlink(path)} is gone)")
    if not path.exists():
        raise IngestError(f"{name}: file not found")
    if path.is_dir():
        raise IngestError(f"{name}: is a directory, not a file")
    if not path.is_file():
        raise IngestError(f"{name}: not a regular file (a device, socket or pipe?)")
    if not supported(doc_id):
        raise unsupported_error(name)
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(
            f"{name}: file is {size / 1e6:.1f} MB, larger than the {max_bytes / 1e6:g} MB limit"
        )
    if not os.access(path, os.R_OK):
        raise IngestError(f"{name}: permission denied (cannot read the file)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    return document_from_bytes(path, doc_id, data), data


def document_from_bytes(path: Path, doc_id: str, data: bytes) -> Document:
    """Parse and clean file bytes into a Document; ``doc_id``'s extension picks the loader."""
    if not data:
        raise IngestError(f"{doc_id}: file is empty (0 bytes)")
    if not data.strip():
        raise IngestError(f"{doc_id}: file contains only whitespace")
    loaded = load_bytes(doc_id, data)
    cleaned = clean_document(loaded.text)
    if not cleaned.text.strip():
        if cleaned.dropped:
            raise IngestError(f"{doc_id}: no article text, only page chrome (menus, footers)")
        raise IngestError(f"{doc_id}: no text in the file (whitespace only)")
    title = loaded.title or _first_line_title(cleaned.text) or Path(doc_id).stem
    meta: dict[str, Any] = {**loaded.meta, **cleaned.meta, "file": Path(doc_id).name}
    if cleaned.dropped:
        meta["chrome_lines_dropped"] = len(cleaned.dropped)
    return Document(
        doc_id=doc_id,
        text=cleaned.text,
        title=title,
        source=Path(doc_id).name,
        format=loaded.format,
        content_hash=hashlib.sha256(data).hexdigest(),
        size=len(data),
        meta=meta,
    )


def _first_line_title(text: str) -> str | None:
    first = text.split("\n", 1)[0].strip()
    return first[:120] if 0 < len(first) <= 120 else None


class Ingestor:
    """Turns files into indexed documents, skipping unchanged ones."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        *,
        chunk_size: int,
        chunk_overlap: int,
        max_bytes: int,
        batch_chunks: int = 256,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_bytes = max_bytes
        self.batch_chunks = batch_chunks

    def chunk(self, doc: Document) -> list[NewChunk]:
        """Chunk a document and tokenise its chunks (vectors filled in by :meth:`embed`)."""
        spans = chunk_text(
            doc.text,
            size=self.chunk_size,
            overlap=self.chunk_overlap,
            splitter=self.index.tokenizer.split_sentences,
        )
        tok = self.index.tokenizer.tokenize
        return [
            NewChunk(n, s.start, s.end, s.text, tok(f"{doc.title}\n{s.text}"))
            for n, s in enumerate(spans)
        ]

    def _flush(self, pending: list[tuple[Document, list[NewChunk]]], delete: list[str]) -> None:
        texts = [passage_text(d.title, c.text) for d, chunks in pending for c in chunks]
        vectors = self.embedder.embed(texts, kind="passage")
        put, row = [], 0
        for doc, chunks in pending:
            filled = [
                NewChunk(c.ordinal, c.start, c.end, c.text, c.tokens, vectors[row + i])
                for i, c in enumerate(chunks)
            ]
            row += len(chunks)
            put.append((doc, filled))
        self.index.apply(put=put, delete=delete)

    def ingest(
        self,
        sources: list[Source],
        *,
        sync_root_ids: set[str] | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest ``sources``; with ``sync_root_ids`` (the ids found on disk) also remove
        stored documents whose files are gone."""
        started = time.perf_counter()
        report = IngestReport()
        pending: list[tuple[Document, list[NewChunk]]] = []
        pending_outcomes: list[FileOutcome] = []
        seen_hashes: dict[str, str] = {}
        n_pending = 0
        # a progress callback may also count embedded chunks (the terminal bar does)
        count_chunks: Callable[[int], None] | None = getattr(progress, "chunks", None)

        def commit() -> None:
            self._commit(pending, pending_outcomes, report)
            if count_chunks is not None:
                count_chunks(sum(o.chunks for o in report.outcomes))

        for n, src in enumerate(sources):
            if progress:
                progress(n, len(sources), src.doc_id)
            try:
                doc, _ = read_document(src.path, src.doc_id, max_bytes=self.max_bytes)
                old_hash = self.index.store.document_hash(doc.doc_id)
                if old_hash == doc.content_hash:
                    report.outcomes.append(FileOutcome(doc.doc_id, "unchanged"))
                    continue
                twin = seen_hashes.get(doc.content_hash) or self.index.store.doc_with_hash(
                    doc.content_hash
                )
                if twin is not None and twin != doc.doc_id:
                    report.outcomes.append(
                        FileOutcome(doc.doc_id, "duplicate", reason=f"same content as {twin}")
                    )
                    continue
                chunks = self.chunk(doc)
                if not chunks:
                    raise IngestError(f"{doc.doc_id}: no text to index")
            except IngestError as exc:
                logger.info("failed: %s", exc)  # reported in the summary, not twice
                report.outcomes.append(FileOutcome(src.doc_id, "failed", reason=str(exc)))
                continue
            seen_hashes[doc.content_hash] = doc.doc_id
            status: Status = "updated" if old_hash else "added"
            pending.append((doc, chunks))
            pending_outcomes.append(FileOutcome(doc.doc_id, status, len(chunks)))
            n_pending += len(chunks)
            if n_pending >= self.batch_chunks:
                commit()
                pending, pending_outcomes, n_pending = [], [], 0
        commit()
        if sync_root_ids is not None:
            gone = [d.doc_id for d in self.index.documents() if d.doc_id not in sync_root_ids]
            if gone:
                self.index.remove(gone)
                report.outcomes.extend(FileOutcome(g, "removed") for g in gone)
        if progress:
            progress(len(sources), len(sources), "")
        report.seconds = time.perf_counter() - started
        return report

    def _commit(
        self,
        pending: list[tuple[Document, list[NewChunk]]],
        outcomes: list[FileOutcome],
        report: IngestReport,
    ) -> None:
        if not pending:
            return
        try:
            self._flush(pending, [])
        except AssistantError as exc:
            report.outcomes.extend(
                FileOutcome(o.doc_id, "failed", reason=f"{o.doc_id}: {exc}") for o in outcomes
            )
            return
        report.outcomes.extend(outcomes)
