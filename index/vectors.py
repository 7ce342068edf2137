"""FAISS vector index over L2-normalised embeddings (inner product). The only faiss importer."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.atomic import fsync_dir, temp_path
from ingest.errors import IndexError_

logger = logging.getLogger(__name__)


DEFAULT_EF_SEARCH = 2048  # HNSW recall@10 0.968 at 1M chunks, p95 12 ms (bench/scale.py)


class VectorIndex:
    """Exact (flat) or approximate (HNSW) inner-product search keyed by chunk id."""

    def __init__(
        self,
        dim: int,
        *,
        approximate: bool = False,
        hnsw_m: int = 32,
        ef_search: int = DEFAULT_EF_SEARCH,
    ) -> None:
        self.dim = dim
        self.approximate = approximate
        inner: faiss.Index
        if approximate:
            hnsw = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.hnsw.efSearch = ef_search
            inner = hnsw
        else:
            inner = faiss.IndexFlatIP(dim)
        self._index = faiss.IndexIDMap2(inner)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given chunk ids."""
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: np.ndarray) -> None:
        """Remove the vectors of ``ids`` (exact index only; HNSW is rebuilt instead)."""
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def ids(self) -> np.ndarray:
        """Every chunk id held."""
        return faiss.vector_to_array(self._index.id_map)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) for one query vector, only among ``allowed`` ids when given.

        The filter is applied inside FAISS's search (an id selector), so a scope gets its own
        top k rather than what is left of a global top k.
        """
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params: Any = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            inner = faiss.downcast_index(self._index.index)
            if isinstance(inner, faiss.IndexHNSW):
                params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                    sel=selector, efSearch=inner.hnsw.efSearch
                )
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            k = min(k, len(allowed))
        scores, ids = self._index.search(
            query.reshape(1, -1).astype(np.float32), min(k, len(self)), params=params
        )
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` (each must be held)."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._index.reconstruct(int(i)) for i in ids])

    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact inner products of the query with the stored vectors of ``ids``."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        vecs = np.stack([self._index.reconstruct(int(i)) for i in ids])
        return vecs @ query.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write atomically: temporary file, fsync, rename, fsync the folder."""
        tmp = temp_path(path)
        try:
            faiss.write_index(self._index, str(tmp))
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a half-written file would only take room
            raise
        fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path, dim: int, *, ef_search: int = DEFAULT_EF_SEARCH) -> VectorIndex:
        """Read an index written by :meth:`save`; IndexError_ if it is unreadable or foreign."""
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexError_(f"FAISS file {path.name} is unreadable: {exc}") from exc
        if not isinstance(index, faiss.IndexIDMap2) or index.d != dim:
            raise IndexError_(
                f"FAISS file {path.name} holds {type(index).__name__} of dimension {index.d}, "
                f"not an id-mapped index of dimension {dim}"
            )
        obj = cls.__new__(cls)
        obj.dim = dim
        obj._index = index
        inner = faiss.downcast_index(index.index)
        obj.approximate = isinstance(inner, faiss.IndexHNSW)
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = ef_search
        return obj

    @property
    def ef_search(self) -> int | None:
        """HNSW's search breadth (None for an exact index)."""
        inner = faiss.downcast_index(self._index.index)
        return int(inner.hnsw.efSearch) if isinstance(inner, faiss.IndexHNSW) else None
