"""Recreate the index from its stored documents in a new folder, then swap it in atomically.

It needs both layers below (the ingestion chunker and the index), so it lives here; the folder
swap itself is :mod:`index.swap`.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from assistant.build import open_index, open_store, store_exists
from assistant.pipeline import Ingestor, embed_chunks
from index.collection import Index
from index.embedder import Embedder, load_embedder
from index.morph import MorphTokenizer
from index.store import NewChunk
from index.swap import recover_interrupted_rebuild, staging_folder, swap_in
from ingest.errors import IndexError_
from ingest.records import Document
from ingest.settings import Settings

logger = logging.getLogger(__name__)


def _open(
    folder: Path, settings: Settings, embedder: Embedder, tokenizer: MorphTokenizer | None
) -> Index:
    return open_index(settings, embedder, tokenizer, folder=folder)


def _milvus_collection(settings: Settings, folder: Path) -> str | None:
    """The Milvus collections of the index a rebuild replaces (None with the embedded store)."""
    if settings.store != "milvus":
        return None
    from index.milvus import collection_name

    return collection_name(folder)


def _stored_dim(folder: Path, default: int) -> int:
    """The vector dimension the index in ``folder`` was built with (its manifest's)."""
    try:
        return int(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["dim"])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def _milvus_token(settings: Settings) -> str:
    return settings.milvus_token.get_secret_value() if settings.milvus_token else ""


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
    if not store_exists(settings, folder):
        raise IndexError_(f"no index at {folder} to rebuild")
    embedder = embedder or load_embedder(settings)
    new = staging_folder(folder)
    if new.exists():
        shutil.rmtree(new)  # a rebuild killed earlier
    # read directly: its manifest may name another model
    source = open_store(settings, folder, _stored_dim(folder, embedder.dim))
    tokenizer = tokenizer or MorphTokenizer()
    shared = settings.milvus_collection if settings.store == "milvus" else ""
    # new collections of their own; a shared name is pointed at them once they are swapped in
    staging_settings = settings.model_copy(update={"milvus_collection": ""})
    staging = _open(new, staging_settings, embedder, tokenizer)
    try:
        ingestor = Ingestor(
            staging,
            embedder,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            max_bytes=int(settings.max_file_mb * 1_000_000),
            load_options=settings.load_options(),
        )
        pending: list[tuple[Document, list[NewChunk]]] = []
        added_at: dict[str, float] = {}
        n_pending = n_docs = 0

        def flush() -> None:
            # straight into the new store: FAISS and BM25 are built once, when it is reopened
            staging.store.apply(put=embed_chunks(embedder, pending), delete=[], added_at=added_at)
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
        staging.store.restore_collections(source.collection_snapshot())
    finally:
        staging.close()
        source.close()
    rebuilt = _open(new, staging_settings, embedder, tokenizer)  # builds the search side
    try:
        report = rebuilt.check()
    finally:
        rebuilt.close()
    if report.problems:
        raise IndexError_(
            f"the rebuilt index in {new} failed its check ({'; '.join(report.problems)}); "
            f"the old index is unchanged"
        )
    retired = _milvus_collection(settings, folder)
    swap_in(folder)
    if retired is not None:
        from index.milvus import collection_name, drop_collections
        from index.milvus_shared import register

        current = collection_name(folder)
        if shared and current:  # other nodes find the new collections by the shared name
            register(shared, current, uri=settings.milvus_target, token=_milvus_token(settings))

        drop_collections(settings.milvus_target, _milvus_token(settings), retired)
    logger.info("rebuilt %s: %d documents, %d chunks", folder, report.documents, report.chunks)
    return report.documents
