"""BM25 keyword index: scores aligned with chunk ids."""

from __future__ import annotations

import numpy as np

from index.keyword import KeywordIndex


def test_scores_are_aligned_with_ids() -> None:
    index = KeywordIndex([10, 20, 30], [["서울", "날씨"], ["부산", "비"], []])
    scores = index.scores(["부산"])
    assert len(index) == 3
    assert scores.shape == (3,)
    assert scores[1] > 0
    assert scores[0] == scores[2] == 0
    ids, top = index.search(["부산", "서울"], 5)
    assert set(ids.tolist()) == {10, 20}
    assert np.all(top > 0)


def test_empty_index_and_empty_query() -> None:
    empty = KeywordIndex([], [])
    assert empty.scores(["서울"]).size == 0
    assert empty.search(["서울"], 3)[0].size == 0
    index = KeywordIndex([1], [["서울"]])
    assert index.scores([]).tolist() == [0.0]
