"""The index: SQLite store + FAISS vectors + BM25 keywords, with a manifest and hybrid search."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.atomic import fsync_dir, is_stale_temp, temp_path
from index.fusion import adaptive_weight, coverage, fuse, idf
from index.keyword import KeywordIndex
from index.membership import CollectionInfo
from index.morph import MorphTokenizer
from index.store import DocumentInfo, NewChunk, Store
from index.swap import recover_interrupted_rebuild
from index.vectors import DEFAULT_EF_SEARCH, VectorIndex
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
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
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
    ) -> None:
        self.folder = folder
        self.tokenizer = tokenizer or MorphTokenizer()
        self._lock = threading.RLock()
        self._approximate_threshold = approximate_threshold
        self._ef_search = ef_search
        recover_interrupted_rebuild(folder)
        folder.mkdir(parents=True, exist_ok=True)
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
        self.store = Store(folder / "store.sqlite3")
        self._generation = self.store.generation()  # the state FAISS and BM25 reflect
        self._vectors = self._load_vectors()
        self._keywords = self._build_keywords()
        self._scopes: dict[tuple[int, int, Scope], tuple[np.ndarray, np.ndarray]] = {}
        self.last_timings = SearchTimings()

    # -- derived indexes -------------------------------------------------------------------

    def _vector_path(self, generation: int) -> Path:
        return self.folder / f"vectors-{generation}.faiss"

    def _load_vectors(self) -> VectorIndex:
        """The saved FAISS file of the store's generation if it holds exactly the chunk ids,
        else FAISS rebuilt from the vectors in SQLite."""
        path = self._vector_path(self._generation)
        if path.exists():
            try:
                vectors = VectorIndex.load(path, self.manifest.dim, ef_search=self._ef_search)
            except IndexError_ as exc:
                logger.warning("%s; rebuilding it from the store", exc)
            else:
                held = np.sort(vectors.ids())
                rows = np.asarray(self.store.chunk_ids(), dtype=np.int64)
                if np.array_equal(held, rows):
                    return vectors
                logger.warning("FAISS file %s does not match the store; rebuilding", path.name)
        return self._rebuild_vectors()

    def _wants_approximate(self, total: int) -> bool:
        return 0 < self._approximate_threshold <= total

    def _rebuild_vectors(self, *, save: bool = True) -> VectorIndex:
        """FAISS from the vectors in SQLite (HNSW past the threshold), saved for this generation."""
        total = self.store.count_chunks()
        approximate = self._wants_approximate(total)
        vectors = VectorIndex(self.manifest.dim, approximate=approximate, ef_search=self._ef_search)
        for ids, vecs in self.store.iter_vectors():
            vectors.add(ids, vecs)
        logger.info(
            "loaded %d vectors into FAISS (%s)", len(vectors), "HNSW" if approximate else "exact"
        )
        if save:
            self._save_vectors(vectors)
        return vectors

    def _save_vectors(self, vectors: VectorIndex) -> None:
        """Save as ``vectors-<generation>.faiss``, then delete other generations' files."""
        path = self._vector_path(self._generation)
        vectors.save(path)
        for old in self.folder.glob("vectors-*.faiss"):
            if old.name != path.name:
                old.unlink(missing_ok=True)

    def _keyword_path(self, generation: int) -> Path:
        return self.folder / f"keywords-{generation}"

    def _build_keywords(self) -> KeywordIndex:
        """BM25 saved for the store's generation if it holds exactly the chunk ids, else
        built from the stored morphemes and saved (so the next open need not rebuild it)."""
        path = self._keyword_path(self._generation)
        rows = np.asarray(self.store.chunk_ids(), dtype=np.int64)
        if path.is_dir():
            try:
                keywords = KeywordIndex.load(path)
            except IndexError_ as exc:
                logger.warning("%s; rebuilding it from the store", exc)
            else:
                if np.array_equal(keywords.ids, rows):
                    return keywords
                logger.warning("keyword index %s does not match the store", path.name)
        ids, tokens = [], []
        for cid, toks in self.store.iter_tokens():
            ids.append(cid)
            tokens.append(toks)
        keywords = KeywordIndex(ids, tokens)
        if ids == rows.tolist():  # not changed by another process meanwhile
            keywords.save(path)
            fsync_dir(self.folder)
            for old in self.folder.glob("keywords-*"):
                if old.name != path.name and not old.name.endswith(".tmp"):
                    shutil.rmtree(old, ignore_errors=True)
        return keywords

    # -- reads -----------------------------------------------------------------------------

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Stored documents (of one collection)."""
        return self.store.documents(collection)

    def collections(self) -> list[CollectionInfo]:
        """Collections with their number of documents."""
        return self.store.collections()

    def _scoped(self, scope: Scope, keywords: KeywordIndex) -> tuple[np.ndarray, np.ndarray]:
        """(allowed chunk ids, BM25 row mask) of a scope, cached until documents or
        memberships change."""
        key = (self._generation, self.store.membership_version(), scope)
        hit = self._scopes.get(key)
        if hit is None:
            ids = np.asarray(
                self.store.scope_chunk_ids(list(scope.collections), list(scope.documents)),
                dtype=np.int64,
            )
            mask = np.isin(keywords.ids, ids, assume_unique=True)
            if len(self._scopes) >= 32:
                self._scopes.clear()
            hit = self._scopes[key] = (ids, mask)
        return hit

    def __len__(self) -> int:
        return len(self._vectors)

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
                return []  # only memberships changed: FAISS and BM25 stay as they are
            # From here SQLite holds the new state; FAISS and BM25 are derived from it.
            in_step = applied.previous_generation == self._generation
            self._generation = applied.generation
            total = self.store.count_chunks()
            vectors = self._vectors
            try:
                if not in_step:
                    logger.info("the store was changed by another process; reloading FAISS")
                    vectors = self._rebuild_vectors()
                elif (applied.removed and vectors.approximate) or (
                    vectors.approximate != self._wants_approximate(total)
                ):
                    vectors = self._rebuild_vectors()  # HNSW cannot delete; or crossing threshold
                else:
                    if applied.removed:
                        vectors.remove(np.asarray(applied.removed, dtype=np.int64))
                    new_vecs = [
                        c.vector for _, chunks in put for c in chunks if c.vector is not None
                    ]
                    if new_vecs:
                        vectors.add(np.asarray(applied.added, dtype=np.int64), np.stack(new_vecs))
                    self._save_vectors(vectors)
            except Exception:
                # Never keep a half-updated FAISS in memory. The saved file (if any) is of an
                # older generation, so the next open rebuilds it from SQLite as well.
                self._vectors = self._rebuild_vectors(save=False)
                self._keywords = self._build_keywords()
                raise
            self._vectors = vectors
            self._keywords = self._build_keywords()
        logger.info("index now holds %d chunks", len(self._vectors))
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
            self._vectors = self._load_vectors()
            self._keywords = self._build_keywords()
        return True

    def term_statistics(self, tokens: list[str]) -> tuple[int, dict[str, int]]:
        """(chunks in the index, chunks holding each token): the corpus side of IDF."""
        self.refresh()
        with self._lock:
            keywords = self._keywords
        return len(keywords), keywords.document_frequencies(tokens)

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
            vectors, keywords = self._vectors, self._keywords
            allowed = mask = None
            if scope is not None and not scope.everything:
                allowed, mask = self._scoped(scope, keywords)
            n = max(pool, k)
            t0 = time.perf_counter()
            d_ids = np.zeros(0, dtype=np.int64)
            d_scores = np.zeros(0, dtype=np.float32)
            if mode != "bm25" and query_vector is not None:
                d_ids, d_scores = vectors.search(query_vector, n, allowed)
            t1 = time.perf_counter()
            k_ids = np.zeros(0, dtype=np.int64)
            k_scores = np.zeros(0, dtype=np.float32)
            all_kw = None
            tokens: list[str] = []
            if mode != "dense":
                tokens = self.tokenizer.tokenize(query)
                all_kw = keywords.scores(tokens)
                if mask is not None and len(all_kw):
                    all_kw = np.where(mask, all_kw, np.float32(0.0))
                if len(all_kw):
                    # partial selection: a full sort of every chunk's score costs O(N log N)
                    top = np.argpartition(-all_kw, n - 1)[:n] if len(all_kw) > n else None
                    top = np.arange(len(all_kw)) if top is None else top
                    top = top[np.argsort(-all_kw[top], kind="stable")]
                    top = top[all_kw[top] > 0]
                    k_ids, k_scores = keywords.ids[top], all_kw[top]
            t2 = time.perf_counter()
            ranked: list[tuple[int, float, float | None, float | None]]
            if mode == "dense":
                ranked = [
                    (int(i), float(s), float(s), None) for i, s in zip(d_ids, d_scores, strict=True)
                ]
            elif mode == "bm25":
                ranked = [
                    (int(i), float(s), None, float(s)) for i, s in zip(k_ids, k_scores, strict=True)
                ]
            else:
                weight = dense_weight
                if weight is None:
                    dfs = keywords.document_frequencies(tokens)
                    idf_sum = sum(idf(len(keywords), dfs[t]) for t in tokens)
                    best = float(k_scores[0]) if len(k_scores) else 0.0
                    weight = adaptive_weight(coverage(best, idf_sum), len(tokens))
                ranked = fuse(
                    query_vector,
                    d_ids,
                    d_scores,
                    k_ids,
                    k_scores,
                    all_kw,
                    keywords,
                    vectors,
                    weight,
                )
            ranked = ranked[:k]
            chunks = self.store.chunks(i for i, *_ in ranked)
            t3 = time.perf_counter()
            self.last_timings = SearchTimings(0.0, t1 - t0, t2 - t1, t3 - t2)
        return [Hit(chunks[i], score, dense, kw) for i, score, dense, kw in ranked if i in chunks]

    def term_idf(self, terms: list[str]) -> dict[str, float]:
        """BM25-style inverse document frequency of each term (a morpheme, matched
        lower-cased) over the indexed chunks: rare terms score high, terms in no chunk highest."""
        with self._lock:
            keywords = self._keywords
        n = len(keywords)
        out: dict[str, float] = {}
        for term in dict.fromkeys(terms):
            df = int(np.count_nonzero(keywords.scores([term.lower()]) > 0)) if n else 0
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
            held = self._vectors.ids()
            kw_ids = np.asarray(self._keywords.ids, dtype=np.int64)
            docs = self.store.documents()
            vectors = self._vectors
            if generation != self._generation:
                problems.append(
                    f"the store is at generation {generation} but this index loaded "
                    f"{self._generation} (changed by another process); reopen it"
                )
            row_set, vec_set = set(rows.tolist()), set(held.tolist())
            if len(vec_set) != len(held):
                problems.append(f"{len(held) - len(vec_set)} duplicate ids in FAISS")
            if row_set - vec_set:
                problems.append(f"{len(row_set - vec_set)} chunk rows have no vector")
            if vec_set - row_set:
                problems.append(f"{len(vec_set - row_set)} vectors have no chunk row")
            if len(kw_ids) != len(rows) or set(kw_ids.tolist()) != row_set:
                problems.append("keyword index is out of step with the chunk rows")
            if vectors.dim != self.manifest.dim:
                problems.append(f"FAISS dimension {vectors.dim} != manifest {self.manifest.dim}")
            both = np.asarray(sorted(row_set & vec_set), dtype=np.int64)
            if len(both) and sample > 0:
                pick = np.random.default_rng(0).choice(both, min(sample, len(both)), replace=False)
                stored = self.store.vectors_of(pick.tolist())
                faiss_vecs = vectors.vectors_of(pick)
                differ = sum(
                    not np.allclose(stored[int(i)], v, atol=1e-5)
                    for i, v in zip(pick, faiss_vecs, strict=True)
                    if int(i) in stored
                )
                if differ:
                    problems.append(f"{differ} of {len(pick)} sampled vectors differ from SQLite")
            if not self._vector_path(self._generation).exists():
                problems.append(f"no saved FAISS file for generation {self._generation}")
        try:
            on_disk = Manifest.load(self.folder / "manifest.json")
        except IndexError_ as exc:
            problems.append(str(exc))
        else:
            if not on_disk.same_build(self.manifest):
                problems.append("manifest.json on disk differs from the one this index opened")
        problems.extend(f"document {d.doc_id!r} has no chunks" for d in docs if d.chunks == 0)
        problems.extend(self.store.membership_problems())
        return CheckReport(len(docs), len(rows), len(held), problems)

    def close(self) -> None:
        """Close the store (idempotent)."""
        self.store.close()
