"""Recreate the index from its stored documents in a new folder, then swap folders atomically.

The swap is two renames: ``index`` → ``index.old``, then ``index.new`` → ``index``. A process
killed at any point leaves a loadable index: before the first rename the old one is untouched;
between the renames :func:`recover_interrupted_rebuild` (called whenever an index is opened)
finishes the swap, because ``index.new`` is marked complete before the first rename.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from assistant.errors import IndexError_
from assistant.settings import Settings
from index.collection import Index
from index.embedder import Embedder, load_embedder
from index.morph import MorphTokenizer
from index.store import NewChunk, Store
from index.vectors import fsync_dir
from ingest.pipeline import Ingestor, passage_text
from ingest.records import Document

logger = logging.getLogger(__name__)

COMPLETE_MARK = "REBUILD-COMPLETE"


def staging_folder(folder: Path) -> Path:
    """Where a rebuild writes the new index."""
    return folder.with_name(folder.name + ".new")


def retired_folder(folder: Path) -> Path:
    """Where the old index waits during the swap."""
    return folder.with_name(folder.name + ".old")


def recover_interrupted_rebuild(folder: Path) -> None:
    """Finish (or undo) a swap that a killed rebuild left half done."""
    new, old = staging_folder(folder), retired_folder(folder)
    if not folder.exists() and old.exists():
        if (new / COMPLETE_MARK).exists():
            logger.warning("finishing an interrupted rebuild: %s becomes the index", new.name)
            os.rename(new, folder)
        else:
            logger.warning("undoing an interrupted rebuild: restoring %s", old.name)
            os.rename(old, folder)
        fsync_dir(folder.parent)
    if folder.exists() and old.exists():
        shutil.rmtree(old)
    (folder / COMPLETE_MARK).unlink(missing_ok=True)


def _swap_in(folder: Path) -> None:
    new, old = staging_folder(folder), retired_folder(folder)
    (new / COMPLETE_MARK).touch()
    fsync_dir(new)
    if old.exists():
        shutil.rmtree(old)
    os.rename(folder, old)
    os.rename(new, folder)
    fsync_dir(folder.parent)
    shutil.rmtree(old)
    (folder / COMPLETE_MARK).unlink(missing_ok=True)


def _open(
    folder: Path, settings: Settings, embedder: Embedder, tokenizer: MorphTokenizer | None
) -> Index:
    return Index(
        folder,
        model=embedder.name,
        dim=embedder.dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        approximate_threshold=settings.approximate_threshold,
        ef_search=settings.hnsw_ef_search,
        tokenizer=tokenizer,
    )


def _embed(
    embedder: Embedder, pending: list[tuple[Document, list[NewChunk]]]
) -> list[tuple[Document, list[NewChunk]]]:
    texts = [passage_text(d.title, c.text) for d, chunks in pending for c in chunks]
    vectors = embedder.embed(texts, kind="passage")
    put, row = [], 0
    for doc, chunks in pending:
        put.append(
            (
                doc,
                [
                    NewChunk(c.ordinal, c.start, c.end, c.text, c.tokens, vectors[row + i])
                    for i, c in enumerate(chunks)
                ],
            )
        )
        row += len(chunks)
    return put


def rebuild_index(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    tokenizer: MorphTokenizer | None = None,
    batch_chunks: int = 256,
) -> int:
    """Re-chunk and re-embed every stored document with the current settings and model.

    Returns the number of documents in the rebuilt index. The old index stays in use until
    the new one is complete and checked. ``embedder`` and ``tokenizer`` default to the ones
    the settings name (tests pass fakes).
    """
    folder = settings.index_dir
    recover_interrupted_rebuild(folder)
    source_path = folder / "store.sqlite3"
    if not source_path.exists():
        raise IndexError_(f"no index at {folder} to rebuild")
    embedder = embedder or load_embedder(settings)
    new = staging_folder(folder)
    if new.exists():
        shutil.rmtree(new)  # a rebuild killed earlier
    source = Store(source_path)  # read directly: its manifest may name another model
    tokenizer = tokenizer or MorphTokenizer()
    staging = _open(new, settings, embedder, tokenizer)
    try:
        ingestor = Ingestor(
            staging,
            embedder,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            max_bytes=int(settings.max_file_mb * 1_000_000),
        )
        pending: list[tuple[Document, list[NewChunk]]] = []
        added_at: dict[str, float] = {}
        n_pending = n_docs = 0

        def flush() -> None:
            # straight into the new store: FAISS and BM25 are built once, when it is reopened
            staging.store.apply(put=_embed(embedder, pending), delete=[], added_at=added_at)
            logger.info("rebuild: %d documents re-embedded", n_docs)
            pending.clear()
            added_at.clear()

        for stored in source.iter_documents():
            chunks = ingestor.chunk(stored.document)
            if not chunks:
                logger.warning("%s: no text to index; left out", stored.document.doc_id)
                continue
            pending.append((stored.document, chunks))
            added_at[stored.document.doc_id] = stored.added_at
            n_pending += len(chunks)
            n_docs += 1
            if n_pending >= batch_chunks:
                flush()
                n_pending = 0
        if pending:
            flush()
    finally:
        staging.close()
        source.close()
    rebuilt = _open(new, settings, embedder, tokenizer)  # builds FAISS and BM25 from the new store
    try:
        report = rebuilt.check()
    finally:
        rebuilt.close()
    if report.problems:
        raise IndexError_(
            f"the rebuilt index in {new} failed its check ({'; '.join(report.problems)}); "
            f"the old index is unchanged"
        )
    _swap_in(folder)
    logger.info("rebuilt %s: %d documents, %d chunks", folder, report.documents, report.chunks)
    return report.documents
