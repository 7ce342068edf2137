"""BM25 keyword index over Kiwi morphemes (bm25s), kept beside the vectors."""

from __future__ import annotations

import numpy as np


class KeywordIndex:
    """BM25 scores for every chunk; rebuilt only when the documents change, never per query."""

    def __init__(self, ids: list[int], tokens: list[list[str]]) -> None:
        import bm25s

        self.ids = np.asarray(ids, dtype=np.int64)
        self._bm25 = bm25s.BM25()
        if ids:
            # bm25s needs at least one token per document
            self._bm25.index([t or ["\u2400"] for t in tokens], show_progress=False)
        self._row = {int(cid): row for row, cid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``self.ids``)."""
        if not len(self.ids) or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_tokens), dtype=np.float32)

    def search(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score."""
        scores = self.scores(query_tokens)
        if not len(scores):
            return np.zeros(0, dtype=np.int64), scores
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        top = top[scores[top] > 0]
        return self.ids[top], scores[top]
