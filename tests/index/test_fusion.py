"""The query-adaptive dense weight of hybrid fusion."""

from __future__ import annotations

import pytest

from index.fusion import adaptive_weight, coverage, idf


def test_poorly_covered_questions_lean_on_the_dense_side() -> None:
    copied = adaptive_weight(coverage(7.0, 10.0), 8)  # BM25's best passage holds most words
    paraphrased = adaptive_weight(coverage(2.0, 10.0), 8)
    assert 0.0 < copied < 0.4 < paraphrased < 1.0


def test_short_questions_lean_on_the_dense_side() -> None:
    assert adaptive_weight(0.6, 2) > adaptive_weight(0.6, 12)


def test_a_query_bm25_cannot_score_is_left_to_the_dense_side() -> None:
    assert coverage(0.0, 0.0) == 0.0
    assert adaptive_weight(0.0, 3) > 0.9


def test_idf_is_lucene_bm25s() -> None:
    assert idf(10, 0) > idf(10, 5) > idf(10, 10) > 0.0
    assert idf(1, 1) == pytest.approx(0.2876820724517809)
