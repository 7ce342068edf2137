"""The Milvus backend: its BM25 (sparse vectors, inner product) and fusion rank exactly like
the embedded index; damage inside Milvus is reported by check and repaired on open."""

from __future__ import annotations

import json

import pytest

from index.collection import Index
from index.milvus import MilvusBackend, collection_name

pytestmark = pytest.mark.parametrize("store", ["milvus"])

QUERIES = ["서울 날씨", "부산 교통 발표했다", "제주 축제 열렸다", "인구 줄었다", "없는 낱말"]


def _groups(hits) -> list[tuple[frozenset[int], float]]:  # type: ignore[no-untyped-def]
    """Ranked hits as groups of equal score (within 1e-4): the order among ties is free."""
    out: list[tuple[set[int], float]] = []
    for h in hits:
        if out and abs(out[-1][1] - h.score) < 1e-4:
            out[-1][0].add(h.chunk.id)
        else:
            out.append(({h.chunk.id}, h.score))
    return [(frozenset(ids), round(score, 3)) for ids, score in out]


def _backend(index: Index) -> MilvusBackend:
    assert isinstance(index.backend, MilvusBackend)
    return index.backend


def test_milvus_ranks_exactly_like_the_embedded_index(
    index_settings, tmp_path, fake_embedder, tokenizer, ingest_worker, make_doc, put
) -> None:  # type: ignore[no-untyped-def]
    embedded_settings = index_settings.model_copy(
        update={"store": "embedded", "data_dir": tmp_path / "embedded"}
    )
    milvus = ingest_worker.open_index(index_settings, fake_embedder, tokenizer)
    embedded = ingest_worker.open_index(embedded_settings, fake_embedder, tokenizer)
    try:
        assert isinstance(milvus.backend, MilvusBackend)
        # three commits: the average chunk length moves, so every keyword row is rewritten
        for docs, delete in (
            ([make_doc(f"d{i}.txt") for i in range(10)], []),
            ([make_doc(f"d{i}.txt") for i in range(10, 25)], []),
            ([make_doc("d3.txt", seed=1)], ["d5.txt", "d6.txt"]),
        ):
            put(milvus, docs, delete)
            put(embedded, docs, delete)
        assert milvus.store.chunk_ids() == embedded.store.chunk_ids()
        n = len(embedded)
        compared = 0
        for q in QUERIES:
            vec = fake_embedder.embed([q], kind="query")[0]
            for mode in ("bm25", "dense", "hybrid"):
                want = embedded.search(q, vec, k=n, mode=mode)
                got = milvus.search(q, vec, k=n, mode=mode)
                assert _groups(got) == _groups(want), (q, mode)
                compared += len(want)
            tokens = tokenizer.tokenize(q)
            assert milvus.term_statistics(tokens) == embedded.term_statistics(tokens)
        assert compared > 3 * n
        assert milvus.check().problems == []
    finally:
        milvus.close()
        embedded.close()


@pytest.fixture
def filled(open_index, make_doc, put) -> Index:  # type: ignore[no-untyped-def]
    index = open_index()
    put(index, [make_doc(f"d{i}.txt") for i in range(12)])
    return index


def test_check_sees_damage_inside_milvus(filled: Index) -> None:
    backend = _backend(filled)
    client, dense, keywords = backend._client, backend.dense_collection, backend.keyword_collection
    assert filled.check().problems == []
    ids = filled.store.chunk_ids()
    dim = filled.manifest.dim
    client.delete(dense, ids=ids[:2])
    assert "2 chunk rows have no vector in Milvus" in filled.check().problems
    client.upsert(dense, [{"id": 10_000, "vector": [1.0] * dim}])
    assert "1 Milvus vectors have no chunk row" in filled.check().problems
    client.upsert(dense, [{"id": ids[3], "vector": [-1.0] * dim}])
    assert any("sampled vectors differ from SQLite" in p for p in filled.check().problems)
    client.upsert(keywords, [{"id": ids[4], "sparse": {7: 1.0}}])
    assert any("sampled keyword vectors differ" in p for p in filled.check().problems)
    client.delete(keywords, ids=ids[5:6])
    assert "Milvus keyword vectors are out of step with the chunk rows" in filled.check().problems


def test_milvus_behind_the_store_is_refilled_on_open(
    filled: Index, open_index, fake_embedder
) -> None:  # type: ignore[no-untyped-def]
    vec = fake_embedder.embed(["서울 날씨"], kind="query")[0]
    expected = [_groups(filled.search("서울 날씨", vec, k=8, mode=m)) for m in ("bm25", "hybrid")]
    backend = _backend(filled)
    name = collection_name(filled.folder)
    backend._client.delete(backend.dense_collection, ids=filled.store.chunk_ids()[:3])
    state = filled.folder / "milvus.json"
    state.write_text(json.dumps(json.loads(state.read_text()) | {"generation": -1}))
    filled.close()
    again = open_index()
    assert collection_name(again.folder) == name  # the same collections, refilled
    assert again.check().problems == []
    got = [_groups(again.search("서울 날씨", vec, k=8, mode=m)) for m in ("bm25", "hybrid")]
    assert got == expected


def test_a_failed_milvus_write_is_repaired(
    filled: Index, open_index, make_doc, put, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def unreachable(self, ids, vectors):  # type: ignore[no-untyped-def]
        raise ConnectionError("Milvus went away")

    monkeypatch.setattr(MilvusBackend, "_upsert_dense", unreachable)
    with pytest.raises(ConnectionError, match="went away"):
        put(filled, [make_doc("new.txt")], delete=["d1.txt"])
    assert "new.txt" in {d.doc_id for d in filled.documents()}  # SQLite committed it
    assert filled.check().problems  # Milvus is behind, and check says so
    monkeypatch.undo()
    filled.close()
    again = open_index()
    assert again.check().problems == []
    dense, keywords = again.backend.held_ids()
    assert dense.tolist() == keywords.tolist() == again.store.chunk_ids()


def test_a_rebuild_drops_the_collections_it_replaced(
    filled: Index, index_settings, fake_embedder, tokenizer, open_index
) -> None:  # type: ignore[no-untyped-def]
    from assistant.rebuild import rebuild_index

    old = collection_name(filled.folder)
    client = _backend(filled)._client
    filled.close()
    rebuild_index(index_settings, embedder=fake_embedder, tokenizer=tokenizer)
    new = collection_name(index_settings.index_dir)
    assert new is not None
    assert new != old
    assert not client.has_collection(f"{old}_dense")
    again = open_index()
    assert again.check().problems == []
    assert len(again) == again.store.count_chunks() > 0
