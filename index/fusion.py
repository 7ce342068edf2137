"""Hybrid fusion: a convex combination of z-normalised dense and BM25 scores, its dense weight
chosen per query.

A question whose words the best BM25 passage holds, IDF-weighted, almost all of (KorQuAD copies
its paragraph's words) is best served by BM25; a short question or one the best BM25 passage
covers poorly (a paraphrase, words the index never saw) by the dense side. The weight is
``sigmoid(a + b · coverage + c · ln(1 + tokens))`` where ``coverage`` is the best BM25 score over
the sum of the query morphemes' IDFs. The three numbers are a listwise fit on KorQuAD 1.0 dev
(``bench/fusion.py``: 5-fold cross-validation by article, then checked on ``seed_qa.jsonl`` and
``realdocs_qa.jsonl``, which took no part in the fit).
"""

from __future__ import annotations

import math

import numpy as np

from index.backend import Retrieved

# (a, b, c) of the adaptive dense weight, fitted by bench/fusion.py
ADAPTIVE = (4.047, -4.152, -1.130)


def _zscore(values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    if len(ref) == 0:
        return np.zeros_like(values)
    std = float(ref.std())
    return (values - float(ref.mean())) / (std if std > 1e-9 else 1.0)


def idf(n: int, df: int) -> float:
    """BM25's (Lucene's) inverse document frequency of a term in ``df`` of ``n`` chunks."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def coverage(best_keyword: float, idf_sum: float) -> float:
    """The best BM25 score as a share of what the query's morphemes' IDFs would give."""
    return best_keyword / idf_sum if idf_sum > 0 else 0.0


def adaptive_weight(
    cover: float, tokens: int, params: tuple[float, float, float] = ADAPTIVE
) -> float:
    """The dense weight for a query of ``tokens`` morphemes whose best BM25 passage has
    ``cover`` (see :func:`coverage`)."""
    a, b, c = params
    x = a + b * cover + c * math.log1p(tokens)
    return 1.0 / (1.0 + math.exp(-x))


def fuse(
    found: Retrieved, dense_weight: float
) -> list[tuple[int, float, float | None, float | None]]:
    """Convex combination of z-normalised dense and BM25 scores over the candidate pool.

    Every candidate gets both retrievers' exact scores (``found.dense_of``/``keyword_of``),
    each z-normalised by the mean and spread of that retriever's own top candidates.
    """
    cand = np.unique(np.concatenate([found.dense_ids, found.keyword_ids]))
    if not len(cand):
        return []
    if found.dense_of is not None:
        dense = found.dense_of(cand)
        zd = _zscore(dense, found.dense_scores)
    else:
        dense = np.zeros(len(cand), dtype=np.float32)
        zd = dense
    if found.keyword_of is not None:
        kw = found.keyword_of(cand)
        k_scores = found.keyword_scores
        zk = _zscore(kw, k_scores) if len(k_scores) else np.zeros_like(kw)
    else:
        kw = np.zeros(len(cand), dtype=np.float32)
        zk = kw
    fused = dense_weight * zd + (1.0 - dense_weight) * zk
    order = np.argsort(-fused)
    return [(int(cand[i]), float(fused[i]), float(dense[i]), float(kw[i])) for i in order]
