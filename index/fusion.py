"""Hybrid fusion: a convex combination of z-normalised dense and BM25 scores."""

from __future__ import annotations

import numpy as np

from index.keyword import KeywordIndex
from index.vectors import VectorIndex


def _zscore(values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    if len(ref) == 0:
        return np.zeros_like(values)
    std = float(ref.std())
    return (values - float(ref.mean())) / (std if std > 1e-9 else 1.0)


def fuse(
    query_vector: np.ndarray | None,
    d_ids: np.ndarray,
    d_scores: np.ndarray,
    k_ids: np.ndarray,
    k_scores: np.ndarray,
    all_kw: np.ndarray | None,
    keywords: KeywordIndex,
    vectors: VectorIndex,
    dense_weight: float,
) -> list[tuple[int, float, float | None, float | None]]:
    """Convex combination of z-normalised dense and BM25 scores over the candidate pool."""
    cand = np.unique(np.concatenate([d_ids, k_ids]))
    if not len(cand):
        return []
    if query_vector is not None and len(d_ids):
        dense = vectors.scores_for(query_vector, cand)
        zd = _zscore(dense, d_scores)
    else:
        dense = np.zeros(len(cand), dtype=np.float32)
        zd = dense
    if all_kw is not None and len(all_kw):
        rows = np.array([keywords._row[int(c)] for c in cand])
        kw = all_kw[rows]
        zk = _zscore(kw, k_scores) if len(k_scores) else np.zeros_like(kw)
    else:
        kw = np.zeros(len(cand), dtype=np.float32)
        zk = kw
    fused = dense_weight * zd + (1.0 - dense_weight) * zk
    order = np.argsort(-fused)
    return [(int(cand[i]), float(fused[i]), float(dense[i]), float(kw[i])) for i in order]
