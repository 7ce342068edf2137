"""The seam under :class:`index.collection.Index`: where dense and keyword search happen.

The store (documents, chunks, morphemes, vectors, collections; :mod:`index.storage`: SQLite,
or Milvus) is the source of truth; a backend holds what is derived from it for searching. Two
implementations: the embedded one (FAISS + bm25s files next to the store, :mod:`index.embedded`)
and Milvus (:mod:`index.milvus`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.storage import ChunkStore
from index.store import Applied

ScoresOf = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Scoped:
    """The chunk ids a scoped search may return; ``key`` changes whenever they do."""

    key: tuple[object, ...]
    ids: np.ndarray


@dataclass(frozen=True)
class Retrieved:
    """Both retrievers' top candidates, and exact scores of any candidate for fusion."""

    dense_ids: np.ndarray
    dense_scores: np.ndarray
    keyword_ids: np.ndarray
    keyword_scores: np.ndarray
    dense_of: ScoresOf | None  # None when there was no dense search
    keyword_of: ScoresOf | None  # None when there was no keyword search
    dense_seconds: float = 0.0
    keyword_seconds: float = 0.0


def empty_ids() -> np.ndarray:
    """No ids."""
    return np.zeros(0, dtype=np.int64)


def empty_scores() -> np.ndarray:
    """No scores."""
    return np.zeros(0, dtype=np.float32)


class SearchBackend(Protocol):
    """Dense and keyword search over the store's chunks, kept in step with the store."""

    def load(self, store: ChunkStore, generation: int) -> None:
        """Open (or reopen after another process changed the store) at ``generation``."""

    def update(
        self,
        store: ChunkStore,
        applied: Applied,
        added: np.ndarray,
        vectors: np.ndarray,
        in_step: bool,
    ) -> None:
        """Follow a change this process committed: ``added`` chunk ids with their vectors, and
        ``applied.removed``; ``in_step`` is False if another process committed changes since
        this backend last followed the store. On failure the backend is left consistent with
        the store (rebuilt) and the error is raised."""

    def retrieve(
        self,
        query_vector: np.ndarray | None,
        tokens: list[str] | None,
        n: int,
        scope: Scoped | None,
    ) -> Retrieved:
        """Top-n dense (when a vector is given) and keyword (when tokens are) candidates."""

    def term_statistics(self, tokens: list[str]) -> tuple[int, dict[str, int]]:
        """(chunks held, chunks holding each token)."""

    def held_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids with a dense vector, chunk ids in the keyword index)."""

    def problems(self, store: ChunkStore, rows: np.ndarray, dim: int, sample: int) -> list[str]:
        """Where this backend disagrees with the store's chunk ids ``rows`` and vectors."""

    def __len__(self) -> int:
        """Chunks held."""

    def close(self) -> None:
        """Release connections (idempotent)."""
