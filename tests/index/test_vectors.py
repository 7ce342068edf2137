"""FAISS wrapper: exact and HNSW search keyed by chunk id, atomic save, strict load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors import VectorIndex
from ingest.errors import IndexError_


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("approximate", [False, True])
def test_search_finds_each_vector_under_its_id(approximate: bool) -> None:
    vecs = _unit(60)
    ids = np.arange(60, dtype=np.int64) * 7 + 3
    index = VectorIndex(16, approximate=approximate)
    index.add(ids, vecs)
    assert len(index) == 60
    for row in (0, 17, 59):
        found, scores = index.search(vecs[row], 3)
        assert found[0] == ids[row]
        assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(index.vectors_of(ids[:3]), vecs[:3])
    assert np.allclose(index.scores_for(vecs[0], ids[:2]), vecs[:2] @ vecs[0])


def test_remove_and_empty_search() -> None:
    index = VectorIndex(16)
    assert index.search(_unit(1)[0], 5)[0].size == 0
    index.add(np.array([1, 2, 3]), _unit(3))
    index.remove(np.array([2]))
    assert sorted(index.ids().tolist()) == [1, 3]


@pytest.mark.parametrize("approximate", [False, True])
def test_save_and_load_give_the_same_results(tmp_path: Path, approximate: bool) -> None:
    vecs = _unit(40)
    index = VectorIndex(16, approximate=approximate)
    index.add(np.arange(40), vecs)
    path = tmp_path / "v.faiss"
    index.save(path)
    assert not path.with_name("v.faiss.tmp").exists()
    loaded = VectorIndex.load(path, 16)
    assert loaded.approximate is approximate
    query = _unit(1, seed=9)[0]
    assert np.array_equal(loaded.search(query, 5)[0], index.search(query, 5)[0])


def test_load_rejects_damaged_or_foreign_files(tmp_path: Path) -> None:
    index = VectorIndex(16)
    index.add(np.arange(10), _unit(10))
    good = tmp_path / "good.faiss"
    index.save(good)
    data = good.read_bytes()
    cases = {
        "garbage": b"not a faiss file at all",
        "empty": b"",
        "truncated": data[: len(data) // 2],
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.faiss"
        bad.write_bytes(content)
        with pytest.raises(IndexError_, match="unreadable"):
            VectorIndex.load(bad, 16)
    with pytest.raises(IndexError_, match="dimension"):
        VectorIndex.load(good, 32)


def test_hnsw_search_breadth_is_applied_and_survives_reload(tmp_path: Path) -> None:
    vecs = _unit(2000, dim=32)
    exact = VectorIndex(32)
    exact.add(np.arange(2000), vecs)
    narrow = VectorIndex(32, approximate=True, hnsw_m=4, ef_search=10)
    narrow.add(np.arange(2000), vecs)
    assert narrow.ef_search == 10
    assert exact.ef_search is None
    queries = _unit(50, dim=32, seed=3)

    def recall(index: VectorIndex) -> float:
        return float(
            np.mean(
                [len(set(index.search(q, 10)[0]) & set(exact.search(q, 10)[0])) for q in queries]
            )
            / 10
        )

    path = tmp_path / "h.faiss"
    narrow.save(path)
    wide = VectorIndex.load(path, 32, ef_search=1000)
    assert wide.ef_search == 1000
    assert recall(wide) >= 0.99  # searching nearly the whole graph finds the exact top 10
    assert recall(wide) > recall(narrow)
