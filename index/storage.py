"""The store seam: what the index and the layers above it ask of a document store.

Two implementations: :class:`index.store.Store` (one SQLite file, the embedded default) and
:class:`index.milvus_store.MilvusStore` (documents, chunks and collections in Milvus, so that
several app nodes share one index). Both commit every change atomically and bump a generation
counter when chunks change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

import numpy as np

from index.membership import CollectionInfo
from index.store import Applied, DocumentInfo, NewChunk, StoredDocument
from ingest.records import Chunk, Document

Snapshot = tuple[list[tuple[str, float]], list[tuple[str, str]]]


class ChunkStore(Protocol):
    """Documents, chunks (text, morphemes, vectors) and collections; the source of truth."""

    path: Path

    @property
    def read_only(self) -> bool:
        """Whether every write fails (a full disk)."""

    def close(self) -> None:
        """Release the store (idempotent)."""

    def generation(self) -> int:
        """Counter bumped by every committed change of chunks."""

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Every stored document (of one collection), oldest first."""

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its number of documents, the default first."""

    def membership_version(self) -> int:
        """Counter bumped by every change of collections or memberships."""

    def scope_chunk_ids(self, collections: list[str], documents: list[str]) -> list[int]:
        """Chunk ids a search scoped to these collections and documents may return."""

    def create_collection(self, name: str) -> None:
        """A new empty collection (ConflictError if the name is taken)."""

    def rename_collection(self, old: str, new: str) -> None:
        """Rename a collection."""

    def link(self, doc_ids: list[str], collection: str) -> None:
        """Put stored documents in a collection too (created if missing)."""

    def collection_snapshot(self) -> Snapshot:
        """Collections and memberships, to copy into a rebuilt store."""

    def restore_collections(self, snapshot: Snapshot) -> None:
        """Recreate collections and memberships taken by :meth:`collection_snapshot`."""

    def document_hash(self, doc_id: str) -> str | None:
        """Content hash of a stored document, or None."""

    def content_hashes(self) -> set[str]:
        """The content hash of every stored document."""

    def doc_with_hash(self, content_hash: str) -> str | None:
        """The id of a stored document with this content, or None."""

    def document(self, doc_id: str) -> Document | None:
        """A stored document with its cleaned text."""

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by id (missing ids are left out)."""

    def iter_vectors(self, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of every chunk, in batches."""

    def iter_tokens(self) -> Iterator[tuple[int, list[str]]]:
        """(id, morphemes) of every chunk, ordered by id."""

    def chunk_ids(self) -> list[int]:
        """Every chunk id, ascending."""

    def count_chunks(self) -> int:
        """Number of stored chunks."""

    def vectors_of(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored vectors by chunk id (missing ids are left out)."""

    def iter_documents(self) -> Iterator[StoredDocument]:
        """Every stored document with its text, oldest first."""

    def problems(self, dim: int) -> list[str]:
        """Damage the store itself can see."""

    def membership_problems(self) -> list[str]:
        """Documents in no collection; a missing default collection."""

    def chunk_ids_of(self, doc_id: str) -> list[int]:
        """Chunk ids of one document."""

    def apply(
        self,
        *,
        put: list[tuple[Document, list[NewChunk]]],
        delete: list[str],
        added_at: Mapping[str, float] | None = None,
        collection: str | None = None,
        unlink: tuple[str, list[str]] | None = None,
        drop_collection: str | None = None,
    ) -> Applied:
        """Replace/insert ``put`` documents and delete ``delete`` ids in one atomic change
        (the semantics of :meth:`index.store.Store.apply`)."""
