"""The index: a store (SQLite, or Milvus) + a search backend (FAISS + BM25, or Milvus), with a
manifest and hybrid search."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.atomic import fsync_dir, is_stale_temp, temp_path
from index.backend import Scoped, SearchBackend
from index.embedded import EmbeddedBackend
from index.failures import disk_full, is_disk_full
from index.fusion import adaptive_weight, coverage, fuse, idf
from index.membership import CollectionInfo
from index.morph import MorphTokenizer
from index.storage import ChunkStore
from index.store import DocumentInfo, NewChunk, Store
from index.swap import recover_interrupted_rebuild
from index.vectors import DEFAULT_EF_SEARCH
from ingest.errors import IndexError_
from ingest.records import Document, Hit, Scope
from ingest.settings import RetrievalMode

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
REBUILD_HINT = "run `jaryo rebuild` to re-embed the stored documents with the current model"


@dataclass(frozen=True)
class Manifest:
    """What built an index: checked every time it is opened."""

    schema_version: int
    model: str
    dim: int
    normalized: bool
    chunk_size: int
    chunk_overlap: int
    created_at: float

    def save(self, path: Path) -> None:
        """Write atomically: temporary file, fsync, rename, fsync the folder."""
        tmp = temp_path(path)
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(asdict(self), fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise disk_full(path, exc) from exc
            raise
        fsync_dir(path.parent)

    def same_build(self, other: Manifest) -> bool:
        """True if both describe the same index build (the creation time aside)."""
        return asdict(self) | {"created_at": 0} == asdict(other) | {"created_at": 0}

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest; a clear error if it is unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexError_(
                f"index manifest {path} is unreadable ({exc}); {REBUILD_HINT}"
            ) from exc


@dataclass(frozen=True)
class SearchTimings:
    """Seconds spent in each stage of the last search."""

    embed: float = 0.0
    dense: float = 0.0
    keyword: float = 0.0
    fusion: float = 0.0


@dataclass(frozen=True)
class CheckReport:
    """Result of a consistency check."""

    documents: int
    chunks: int
    vectors: int
    problems: list[str]


class Index:
    """A self-describing, crash-safe document index in one folder."""

    def __init__(
        self,
        folder: Path,
        *,
        model: str,
        dim: int,
        chunk_size: int,
        chunk_overlap: int,
        approximate_threshold: int = 0,
        ef_search: int = DEFAULT_EF_SEARCH,
        tokenizer: MorphTokenizer | None = None,
        backend: SearchBackend | None = None,
        store: Callable[[], ChunkStore] | None = None,
    ) -> None:
        """Open the index in ``folder``; ``backend`` defaults to the embedded FAISS + BM25
        (``approximate_threshold`` and ``ef_search`` are its settings), ``store`` (called once
        the folder and manifest are in place) to the SQLite file ``store.sqlite3`` there."""
        self.folder = folder
        self.tokenizer = tokenizer or MorphTokenizer()
        self._lock = threading.RLock()
        recover_interrupted_rebuild(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full(folder, exc) from exc
            raise
        for leftover in folder.glob("*.tmp"):  # a save killed before its rename
            if not is_stale_temp(leftover):
                continue  # another process is writing it right now
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)
        manifest_path = folder / "manifest.json"
        if manifest_path.exists():
            self.manifest = Manifest.load(manifest_path)
            if self.manifest.schema_version != SCHEMA_VERSION:
                raise IndexError_(
                    f"index at {folder} has schema {self.manifest.schema_version}, this version "
                    f"reads {SCHEMA_VERSION}; {REBUILD_HINT}"
                )
            if self.manifest.model != model or self.manifest.dim != dim:
                raise IndexError_(
                    f"index at {folder} was built with model {self.manifest.model!r} "
                    f"(dim {self.manifest.dim}) but the settings name {model!r} (dim {dim}); "
                    f"{REBUILD_HINT}"
                )
            if (self.manifest.chunk_size, self.manifest.chunk_overlap) != (
                chunk_size,
                chunk_overlap,
            ):
                logger.warning(
                    "index was chunked with size %d/overlap %d, settings say %d/%d; "
                    "new documents use the new settings (jaryo rebuild re-chunks everything)",
                    self.manifest.chunk_size,
                    self.manifest.chunk_overlap,
                    chunk_size,
                    chunk_overlap,
                )
        else:
            self.manifest = Manifest(
                SCHEMA_VERSION, model, dim, True, chunk_size, chunk_overlap, time.time()
            )
            self.manifest.save(manifest_path)
        self.store: ChunkStore = store() if store is not None else Store(folder / "store.sqlite3")
        if backend is None:
            backend = EmbeddedBackend(
                folder, dim, approximate_threshold=approximate_threshold, ef_search=ef_search
            )
        self.backend: SearchBackend = backend
        self._generation = self.store.generation()  # the state the backend reflects
        self.backend.load(self.store, self._generation)
        self._scopes: dict[tuple[int, int, Scope], np.ndarray] = {}
        self.last_timings = SearchTimings()

    # -- reads -----------------------------------------------------------------------------

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Stored documents (of one collection)."""
        return self.store.documents(collection)

    def collections(self) -> list[CollectionInfo]:
        """Collections with their number of documents."""
        return self.store.collections()

    def _scoped(self, scope: Scope) -> Scoped:
        """The chunk ids a scope allows, cached until documents or memberships change."""
        key = (self._generation, self.store.membership_version(), scope)
        ids = self._scopes.get(key)
        if ids is None:
            ids = np.asarray(
                self.store.scope_chunk_ids(list(scope.collections), list(scope.documents)),
                dtype=np.int64,
            )
            if len(self._scopes) >= 32:
                self._scopes.clear()
            ids = self._scopes[key] = ids
        return Scoped(key[1:], ids)

    def __len__(self) -> int:
        return len(self.backend)

    @property
    def read_only(self) -> bool:
        """Whether the index was opened read-only because the disk is full."""
        return self.store.read_only

    # -- writes ----------------------------------------------------------------------------

    def apply(
        self,
        *,
        put: list[tuple[Document, list[NewChunk]]] = (),  # type: ignore[assignment]
        delete: list[str] = (),  # type: ignore[assignment]
        added_at: dict[str, float] | None = None,
        collection: str | None = None,
        unlink: tuple[str, list[str]] | None = None,
        drop_collection: str | None = None,
    ) -> list[str]:
        """Add/replace and delete documents atomically; searches see the old or new state.

        The collection arguments are those of :meth:`Store.apply`; returns the ids of the
        documents deleted.
        """
        put, delete = list(put), list(delete)
        if not put and not delete and unlink is None and drop_collection is None:
            return []
        if self.read_only:
            raise disk_full(self.store.path)
        dim = self.manifest.dim
        for doc, chunks in put:
            if not chunks:
                raise IndexError_(f"{doc.doc_id}: a document needs at least one chunk")
            for ch in chunks:
                shape = None if ch.vector is None else ch.vector.shape
                if shape != (dim,):
                    raise IndexError_(
                        f"{doc.doc_id}: chunk vector of shape {shape}, the index "
                        f"holds dimension {dim}"
                    )
        with self._lock:
            applied = self.store.apply(
                put=put,
                delete=delete,
                added_at=added_at,
                collection=collection,
                unlink=unlink,
                drop_collection=drop_collection,
            )
            if applied.generation == applied.previous_generation == self._generation:
                return []  # only memberships changed: the backend stays as it is
            # From here SQLite holds the new state; the backend is derived from it.
            in_step = applied.previous_generation == self._generation
            self._generation = applied.generation
            new_vecs = [c.vector for _, chunks in put for c in chunks if c.vector is not None]
            added = np.asarray(applied.added, dtype=np.int64)
            stacked = np.stack(new_vecs) if new_vecs else np.zeros((0, dim), dtype=np.float32)
            self.backend.update(self.store, applied, added, stacked, in_step)
        logger.info("index now holds %d chunks", len(self.backend))
        return applied.deleted

    def remove(self, doc_ids: list[str], *, collection: str | None = None) -> list[str]:
        """Delete documents, or only take them out of ``collection`` (deleting those then in
        no collection); returns the ids deleted."""
        if collection is None:
            return self.apply(delete=doc_ids)
        return self.apply(unlink=(collection, list(doc_ids)))

    def delete_collection(self, name: str) -> list[str]:
        """Delete a collection and the documents no other collection holds (returned)."""
        return self.apply(drop_collection=name)

    def refresh(self) -> bool:
        """Reload FAISS and BM25 if another process committed a change since; True if it did.

        One SQLite read per call, so every search can afford it: a running UI finds what a
        `jaryo ingest` in another terminal added.
        """
        if self.store.generation() == self._generation:
            return False
        with self._lock:
            generation = self.store.generation()
            if generation == self._generation:
                return False
            logger.info(
                "the store moved to generation %d in another process; reloading", generation
            )
            self._generation = generation
            self.backend.load(self.store, generation)
        return True

    def term_statistics(self, tokens: list[str]) -> tuple[int, dict[str, int]]:
        """(chunks in the index, chunks holding each token): the corpus side of IDF."""
        self.refresh()
        with self._lock:
            return self.backend.term_statistics(tokens)

    # -- search ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        *,
        k: int,
        mode: RetrievalMode = "hybrid",
        dense_weight: float | None = None,
        pool: int = 50,
        scope: Scope | None = None,
    ) -> list[Hit]:
        """Top-k chunks for a query; ``query_vector`` is needed unless mode is bm25.

        With a ``scope``, both retrievers search only its chunks (FAISS through an id
        selector, BM25 with every other chunk's score zeroed), so the top k is the scope's.
        Hybrid fusion weighs the dense score by ``dense_weight``, or, when None, by a weight
        chosen for the query (:func:`index.fusion.adaptive_weight`).
        """
        self.refresh()
        with self._lock:
            scoped = None
            if scope is not None and not scope.everything:
                scoped = self._scoped(scope)
            t0 = time.perf_counter()
            tokens = self.tokenizer.tokenize(query) if mode != "dense" else None
            tokenizing = time.perf_counter() - t0
            found = self.backend.retrieve(
                query_vector if mode != "bm25" else None, tokens, max(pool, k), scoped
            )
            t2 = time.perf_counter()
            ranked: list[tuple[int, float, float | None, float | None]]
            if mode == "dense":
                ranked = [
                    (int(i), float(s), float(s), None)
                    for i, s in zip(found.dense_ids, found.dense_scores, strict=True)
                ]
            elif mode == "bm25":
                ranked = [
                    (int(i), float(s), None, float(s))
                    for i, s in zip(found.keyword_ids, found.keyword_scores, strict=True)
                ]
            else:
                weight = dense_weight
                if weight is None:
                    words = tokens or []
                    chunks_held, dfs = self.backend.term_statistics(words)
                    idf_sum = sum(idf(chunks_held, dfs[t]) for t in words)
                    scores = found.keyword_scores
                    best = float(scores[0]) if len(scores) else 0.0
                    weight = adaptive_weight(coverage(best, idf_sum), len(words))
                ranked = fuse(found, weight)
            ranked = ranked[:k]
            chunks = self.store.chunks(i for i, *_ in ranked)
            t3 = time.perf_counter()
            self.last_timings = SearchTimings(
                0.0, found.dense_seconds, tokenizing + found.keyword_seconds, t3 - t2
            )
        return [Hit(chunks[i], score, dense, kw) for i, score, dense, kw in ranked if i in chunks]

    def term_idf(self, terms: list[str]) -> dict[str, float]:
        """BM25-style inverse document frequency of each term (a morpheme, matched
        lower-cased) over the indexed chunks: rare terms score high, terms in no chunk highest."""
        unique = list(dict.fromkeys(terms))
        with self._lock:
            n, freqs = self.backend.term_statistics([t.lower() for t in unique])
        out: dict[str, float] = {}
        for term in unique:
            df = freqs.get(term.lower(), 0) if n else 0
            out[term] = idf(n, df)
        return out

    # -- maintenance -----------------------------------------------------------------------

    def check(self, *, sample: int = 256) -> CheckReport:
        """Verify the index: SQLite intact; every chunk row has its vector and every vector
        its chunk row; BM25 in step; no document without chunks; the manifest matches.

        ``sample`` vectors are also compared between FAISS and SQLite.
        """
        problems: list[str] = []
        with self._lock:
            generation = self.store.generation()
            problems.extend(self.store.problems(self.manifest.dim))
            rows = np.asarray(self.store.chunk_ids(), dtype=np.int64)
            docs = self.store.documents()
            held = len(self.backend)
            if generation != self._generation:
                problems.append(
                    f"the store is at generation {generation} but this index loaded "
                    f"{self._generation} (changed by another process); reopen it"
                )
            problems.extend(self.backend.problems(self.store, rows, self.manifest.dim, sample))
        try:
            on_disk = Manifest.load(self.folder / "manifest.json")
        except IndexError_ as exc:
            problems.append(str(exc))
        else:
            if not on_disk.same_build(self.manifest):
                problems.append("manifest.json on disk differs from the one this index opened")
        problems.extend(f"document {d.doc_id!r} has no chunks" for d in docs if d.chunks == 0)
        problems.extend(self.store.membership_problems())
        return CheckReport(len(docs), len(rows), held, problems)

    def close(self) -> None:
        """Close the store and the backend (idempotent)."""
        self.backend.close()
        self.store.close()
