"""Ingest files into the index: read, chunk, embed and store, one outcome per file.

It joins the two layers below it (ingestion reads and chunks, the index stores and searches).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from index.collection import Index
from index.embedder import Embedder
from index.failures import disk_full
from index.fairness import background_work
from index.membership import DEFAULT_COLLECTION, clean_name
from index.store import NewChunk
from ingest.chunking import chunk_text
from ingest.errors import AssistantError, DiskFullError, IngestError
from ingest.layout import page_at
from ingest.reader import (
    FileOutcome,
    IngestReport,
    Progress,
    Source,
    Status,
    passage_text,
    read_document,
)
from ingest.records import Document, LoadOptions

logger = logging.getLogger(__name__)

Pending = list[tuple[Document, list[NewChunk]]]


def embed_chunks(embedder: Embedder, pending: Pending) -> Pending:
    """The same documents and chunks with their vectors filled in (one embedding call); the
    file name is left out of the embedded text (see :func:`passage_text`)."""
    texts = [
        passage_text(d.title, c.text, c.context, scanned=c.ocr)
        for d, chunks in pending
        for c in chunks
    ]
    vectors = embedder.embed(texts, kind="passage")
    put, row = [], 0
    for doc, chunks in pending:
        filled = [replace(c, vector=vectors[row + i]) for i, c in enumerate(chunks)]
        row += len(chunks)
        put.append((doc, filled))
    return put


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
        load_options: LoadOptions | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_bytes = max_bytes
        self.batch_chunks = batch_chunks
        self.load_options = load_options or LoadOptions()

    def chunk(self, doc: Document) -> list[NewChunk]:
        """Chunk a document and tokenise its chunks (vectors filled in by :meth:`embed`)."""
        spans = chunk_text(
            doc.text,
            size=self.chunk_size,
            overlap=self.chunk_overlap,
            splitter=self.index.tokenizer.split_sentences,
        )
        tok = self.index.tokenizer.tokenize
        starts: list[int] | None = doc.meta.get("page_starts")
        ocr_pages = set(doc.meta.get("ocr_pages", ()))
        out = []
        for n, s in enumerate(spans):
            page: int | None = None
            page_end: int | None = None
            scanned = False
            if starts:
                page, page_end = page_at(starts, s.start), page_at(starts, max(s.start, s.end - 1))
                scanned = any(p in ocr_pages for p in range(page, page_end + 1))
            tokens = tok(
                passage_text(doc.title, s.text, s.context, source=doc.source, scanned=scanned)
            )
            out.append(
                NewChunk(
                    n, s.start, s.end, s.text, tokens, None, s.context, page, page_end, scanned
                )
            )
        return out

    def _flush(self, pending: Pending, delete: list[str], collection: str | None = None) -> None:
        self.index.apply(
            put=embed_chunks(self.embedder, pending), delete=delete, collection=collection
        )

    def ingest(
        self,
        sources: list[Source],
        *,
        sync_root_ids: set[str] | None = None,
        progress: Progress | None = None,
        collection: str | None = None,
    ) -> IngestReport:
        """Ingest ``sources`` into ``collection`` (the default one when None); with
        ``sync_root_ids`` (the ids found on disk) also take the documents of that collection
        whose files are gone out of it (deleting those no other collection holds).

        A file already stored, unchanged or under another name, joins the collection. Its
        turns at Kiwi and the model are those of background work, so answers asked meanwhile
        share them fairly with it (:mod:`index.fairness`).
        """
        with background_work():
            return self._ingest(sources, sync_root_ids, progress, collection)

    def _ingest(
        self,
        sources: list[Source],
        sync_root_ids: set[str] | None,
        progress: Progress | None,
        collection: str | None,
    ) -> IngestReport:
        target = clean_name(collection or DEFAULT_COLLECTION)  # a bad name fails before work
        if self.index.read_only:
            raise disk_full(self.index.store.path)  # before reading and embedding every file
        started = time.perf_counter()
        report = IngestReport()
        pending: list[tuple[Document, list[NewChunk]]] = []
        pending_outcomes: list[FileOutcome] = []
        seen_hashes: dict[str, str] = {}
        n_pending = 0
        # a progress callback may also count embedded chunks and hear the loaders' page lines
        count_chunks: Callable[[int], None] | None = getattr(progress, "chunks", None)
        detail: Callable[[str], None] | None = getattr(progress, "detail", None)
        options = replace(self.load_options, progress=detail) if detail else self.load_options

        full: DiskFullError | None = None  # once met, every later file fails without work

        def commit() -> None:
            nonlocal full
            full = self._commit(pending, pending_outcomes, report, target) or full
            if count_chunks is not None:
                count_chunks(sum(o.chunks for o in report.outcomes))

        ids_in_batch: dict[str, Source] = {}
        for n, src in enumerate(sources):
            if progress:
                progress(n, len(sources), src.doc_id)
            try:
                if full is not None:
                    raise IngestError(f"{src.doc_id}: {full}")
                if src.problem:
                    raise IngestError(src.problem)
                first = ids_in_batch.setdefault(src.doc_id, src)
                if first is not src:
                    raise IngestError(
                        f"{src.doc_id}: another file of this batch has the same document id "
                        f"({first.path}); add their common folder instead, or rename one"
                    )
                doc = (
                    src.document
                    or read_document(
                        src.path, src.doc_id, max_bytes=self.max_bytes, options=options
                    )[0]
                )
                old_hash = self.index.store.document_hash(doc.doc_id)
                if old_hash == doc.content_hash:
                    self.index.store.link([doc.doc_id], target)
                    report.outcomes.append(FileOutcome(doc.doc_id, "unchanged"))
                    continue
                twin = seen_hashes.get(doc.content_hash) or self.index.store.doc_with_hash(
                    doc.content_hash
                )
                if twin is not None and twin != doc.doc_id:
                    if twin not in seen_hashes.values():
                        self.index.store.link([twin], target)
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
        if sync_root_ids is not None and target in {c.name for c in self.index.collections()}:
            held = self.index.documents(target)
            gone = [d.doc_id for d in held if d.doc_id not in sync_root_ids]
            if gone:
                self.index.remove(gone, collection=target)
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
        collection: str | None = None,
    ) -> DiskFullError | None:
        """Store the pending documents; their outcomes go to ``report`` (failed, with the
        reason, if the index refused them); returns the error if the disk was full."""
        if not pending:
            return None
        try:
            self._flush(pending, [], collection)
        except AssistantError as exc:
            report.outcomes.extend(
                FileOutcome(o.doc_id, "failed", reason=f"{o.doc_id}: {exc}") for o in outcomes
            )
            return exc if isinstance(exc, DiskFullError) else None
        report.outcomes.extend(outcomes)
        return None
