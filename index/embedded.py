"""The embedded search backend: FAISS vectors and bm25s keywords in files beside the store.

Both are derived from the SQLite store and saved per store generation
(``vectors-<generation>.faiss``, ``keywords-<generation>/``); a missing, damaged or stale file
is rebuilt from the store.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.atomic import fsync_dir
from index.backend import Retrieved, Scoped, empty_ids, empty_scores
from index.failures import is_disk_full
from index.keyword import KeywordIndex
from index.storage import ChunkStore
from index.store import Applied
from index.vectors import DEFAULT_EF_SEARCH, VectorIndex
from ingest.errors import IndexError_

logger = logging.getLogger(__name__)


class EmbeddedBackend:
    """FAISS (exact, or HNSW past a threshold) plus BM25 over Kiwi morphemes."""

    def __init__(
        self,
        folder: Path,
        dim: int,
        *,
        approximate_threshold: int = 0,
        ef_search: int = DEFAULT_EF_SEARCH,
    ) -> None:
        self.folder = folder
        self.dim = dim
        self._approximate_threshold = approximate_threshold
        self._ef_search = ef_search
        self._generation = -1
        self.vectors = VectorIndex(dim)
        self.keywords = KeywordIndex([], [])
        self._masks: dict[tuple[object, ...], np.ndarray] = {}

    # -- keeping in step -------------------------------------------------------------------

    def load(self, store: ChunkStore, generation: int) -> None:
        """The saved files of ``generation`` when they hold exactly the store's chunks, else
        rebuilt from the store."""
        self._generation = generation
        self.vectors = self._load_vectors(store)
        self.keywords = self._build_keywords(store)

    def update(
        self,
        store: ChunkStore,
        applied: Applied,
        added: np.ndarray,
        vectors: np.ndarray,
        in_step: bool,
    ) -> None:
        """FAISS changed in place (rebuilt for HNSW or when crossing the threshold), BM25
        rebuilt from the stored morphemes."""
        self._generation = applied.generation
        total = store.count_chunks()
        current = self.vectors
        try:
            if not in_step:
                logger.info("the store was changed by another process; reloading FAISS")
                current = self._rebuild_vectors(store)
            elif (applied.removed and current.approximate) or (
                current.approximate != self._wants_approximate(total)
            ):
                current = self._rebuild_vectors(store)  # HNSW cannot delete; or crossing threshold
            else:
                if applied.removed:
                    current.remove(np.asarray(applied.removed, dtype=np.int64))
                if len(added):
                    current.add(added, vectors)
                self._save_vectors(current)
        except Exception:
            # Never keep a half-updated FAISS in memory. The saved file (if any) is of an
            # older generation, so the next open rebuilds it from SQLite as well.
            self.vectors = self._rebuild_vectors(store, save=False)
            self.keywords = self._build_keywords(store)
            raise
        self.vectors = current
        self.keywords = self._build_keywords(store)

    def _vector_path(self, generation: int) -> Path:
        return self.folder / f"vectors-{generation}.faiss"

    def _load_vectors(self, store: ChunkStore) -> VectorIndex:
        """The saved FAISS file of the store's generation if it holds exactly the chunk ids,
        else FAISS rebuilt from the vectors in SQLite."""
        path = self._vector_path(self._generation)
        if path.exists():
            try:
                vectors = VectorIndex.load(path, self.dim, ef_search=self._ef_search)
            except IndexError_ as exc:
                logger.warning("%s; rebuilding it from the store", exc)
            else:
                held = np.sort(vectors.ids())
                rows = np.asarray(store.chunk_ids(), dtype=np.int64)
                if np.array_equal(held, rows):
                    return vectors
                logger.warning("FAISS file %s does not match the store; rebuilding", path.name)
        return self._rebuild_vectors(store)

    def _wants_approximate(self, total: int) -> bool:
        return 0 < self._approximate_threshold <= total

    def _rebuild_vectors(self, store: ChunkStore, *, save: bool = True) -> VectorIndex:
        """FAISS from the vectors in SQLite (HNSW past the threshold), saved for this generation."""
        total = store.count_chunks()
        approximate = self._wants_approximate(total)
        vectors = VectorIndex(self.dim, approximate=approximate, ef_search=self._ef_search)
        for ids, vecs in store.iter_vectors():
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
        if not self._saved(vectors.save, path):
            return
        for old in self.folder.glob("vectors-*.faiss"):
            if old.name != path.name:
                old.unlink(missing_ok=True)

    def _saved(self, save: Callable[[Path], None], path: Path) -> bool:
        """Whether ``save(path)`` wrote the file; a full disk only costs the copy on disk
        (the in-memory index serves on, and the next open rebuilds it from the store)."""
        try:
            save(path)
        except (OSError, RuntimeError) as exc:
            if not is_disk_full(exc):
                raise
            logger.warning(
                "디스크가 가득 차서 %s를 저장하지 못했습니다; 다음에 열 때 다시 만듭니다 (disk "
                "full, not saved: %s)",
                path.name,
                exc,
            )
            return False
        return True

    def _keyword_path(self, generation: int) -> Path:
        return self.folder / f"keywords-{generation}"

    def _build_keywords(self, store: ChunkStore) -> KeywordIndex:
        """BM25 saved for the store's generation if it holds exactly the chunk ids, else
        built from the stored morphemes and saved (so the next open need not rebuild it)."""
        path = self._keyword_path(self._generation)
        rows = np.asarray(store.chunk_ids(), dtype=np.int64)
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
        for cid, toks in store.iter_tokens():
            ids.append(cid)
            tokens.append(toks)
        keywords = KeywordIndex(ids, tokens)
        if ids == rows.tolist() and self._saved(keywords.save, path):  # and not changed since
            fsync_dir(self.folder)
            for old in self.folder.glob("keywords-*"):
                if old.name != path.name and not old.name.endswith(".tmp"):
                    shutil.rmtree(old, ignore_errors=True)
        return keywords

    # -- search ----------------------------------------------------------------------------

    def _mask(self, scope: Scoped, keywords: KeywordIndex) -> np.ndarray:
        """BM25 row mask of a scope, cached while its key holds."""
        key = (self._generation, *scope.key)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.isin(keywords.ids, scope.ids, assume_unique=True)
            if len(self._masks) >= 32:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def retrieve(
        self,
        query_vector: np.ndarray | None,
        tokens: list[str] | None,
        n: int,
        scope: Scoped | None,
    ) -> Retrieved:
        """FAISS top n through an id selector; every chunk's BM25 score, out-of-scope ones
        zeroed, and its top n by partial selection."""
        vectors, keywords = self.vectors, self.keywords
        allowed = None if scope is None else scope.ids
        t0 = time.perf_counter()
        d_ids, d_scores = empty_ids(), empty_scores()
        if query_vector is not None:
            d_ids, d_scores = vectors.search(query_vector, n, allowed)
        t1 = time.perf_counter()
        k_ids, k_scores = empty_ids(), empty_scores()
        all_kw = None
        if tokens is not None:
            all_kw = keywords.scores(tokens)
            if scope is not None and len(all_kw):
                all_kw = np.where(self._mask(scope, keywords), all_kw, np.float32(0.0))
            if len(all_kw):
                # partial selection: a full sort of every chunk's score costs O(N log N)
                top = np.argpartition(-all_kw, n - 1)[:n] if len(all_kw) > n else None
                top = np.arange(len(all_kw)) if top is None else top
                top = top[np.argsort(-all_kw[top], kind="stable")]
                top = top[all_kw[top] > 0]
                k_ids, k_scores = keywords.ids[top], all_kw[top]
        t2 = time.perf_counter()
        dense_of = None
        if query_vector is not None and len(d_ids):
            q = query_vector

            def dense_of(ids: np.ndarray) -> np.ndarray:
                return vectors.scores_for(q, ids)

        keyword_of = None
        if all_kw is not None and len(all_kw):
            scores = all_kw

            def keyword_of(ids: np.ndarray) -> np.ndarray:
                return scores[np.array([keywords._row[int(c)] for c in ids])]

        return Retrieved(d_ids, d_scores, k_ids, k_scores, dense_of, keyword_of, t1 - t0, t2 - t1)

    def term_statistics(self, tokens: list[str]) -> tuple[int, dict[str, int]]:
        """(chunks in BM25, chunks holding each token)."""
        keywords = self.keywords
        return len(keywords), keywords.document_frequencies(tokens)

    # -- maintenance -----------------------------------------------------------------------

    def held_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids in FAISS, ids in BM25)."""
        return self.vectors.ids(), np.asarray(self.keywords.ids, dtype=np.int64)

    def problems(self, store: ChunkStore, rows: np.ndarray, dim: int, sample: int) -> list[str]:
        """Duplicates, missing or extra vectors, BM25 out of step, FAISS's dimension, sampled
        vectors compared with SQLite, the saved FAISS file."""
        problems: list[str] = []
        vectors = self.vectors
        held, kw_ids = self.held_ids()
        row_set, vec_set = set(rows.tolist()), set(held.tolist())
        if len(vec_set) != len(held):
            problems.append(f"{len(held) - len(vec_set)} duplicate ids in FAISS")
        if row_set - vec_set:
            problems.append(f"{len(row_set - vec_set)} chunk rows have no vector")
        if vec_set - row_set:
            problems.append(f"{len(vec_set - row_set)} vectors have no chunk row")
        if len(kw_ids) != len(rows) or set(kw_ids.tolist()) != row_set:
            problems.append("keyword index is out of step with the chunk rows")
        if vectors.dim != dim:
            problems.append(f"FAISS dimension {vectors.dim} != manifest {dim}")
        both = np.asarray(sorted(row_set & vec_set), dtype=np.int64)
        if len(both) and sample > 0:
            pick = np.random.default_rng(0).choice(both, min(sample, len(both)), replace=False)
            stored = store.vectors_of(pick.tolist())
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
        return problems

    def __len__(self) -> int:
        return len(self.vectors)

    def close(self) -> None:
        """Nothing to release: the files are written when they change."""
