"""Collections: memberships kept in SQLite, scoped search inside both retrievers, migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assistant.pipeline import Ingestor, embed_chunks
from index.collection import Index
from index.membership import DEFAULT_COLLECTION
from index.store import Store
from ingest.errors import AssistantError, ConflictError, NotFoundError
from ingest.records import Document, Scope


def _doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, text, doc_id, doc_id, "txt", f"hash-{doc_id}-{text}", len(text))


@pytest.fixture
def add(fake_embedder, index_settings):  # type: ignore[no-untyped-def]
    """Chunk, embed and store documents into a collection."""

    def _add(index: Index, docs: list[Document], collection: str | None = None) -> None:
        ingestor = Ingestor(
            index,
            fake_embedder,
            chunk_size=index_settings.chunk_size,
            chunk_overlap=index_settings.chunk_overlap,
            max_bytes=1 << 20,
        )
        put = embed_chunks(fake_embedder, [(d, ingestor.chunk(d)) for d in docs])
        index.apply(put=put, collection=collection)

    return _add


def _groups(index: Index) -> dict[str, tuple[str, ...]]:
    return {d.doc_id: d.collections for d in index.documents()}


def _search(index: Index, embedder, query: str, scope: Scope | None, mode="hybrid", k=5):  # type: ignore[no-untyped-def]
    vec = embedder.embed([query], kind="query")[0]
    return index.search(query, vec, k=k, mode=mode, scope=scope)


def test_documents_land_in_the_default_collection_and_keep_theirs(open_index, add) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    add(index, [_doc("a.txt", "서울 날씨는 맑다.")])
    add(index, [_doc("b.txt", "부산 날씨는 흐리다.")], "여행")
    assert _groups(index) == {"a.txt": (DEFAULT_COLLECTION,), "b.txt": ("여행",)}
    # re-storing a changed document keeps its collections and adds the new one
    add(index, [_doc("b.txt", "부산 날씨는 비가 온다.")], "날씨")
    assert _groups(index)["b.txt"] == ("날씨", "여행")
    names = [(c.name, c.documents) for c in index.collections()]
    assert names == [(DEFAULT_COLLECTION, 1), ("여행", 1), ("날씨", 1)]


def test_deleting_a_collection_deletes_only_documents_no_other_holds(open_index, add) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    add(index, [_doc("only-a.txt", "대구 교통 소식."), _doc("both.txt", "인천 공항 소식.")], "A")
    add(index, [_doc("both.txt", "인천 공항 소식.")], "B")
    assert _groups(index)["both.txt"] == ("A", "B")
    deleted = index.delete_collection("A")
    assert deleted == ["only-a.txt"]
    assert _groups(index) == {"both.txt": ("B",)}
    assert [c.name for c in index.collections()] == [DEFAULT_COLLECTION, "B"]
    assert index.check().problems == []
    # the deleted document's chunks are gone from FAISS and BM25 as well
    assert sorted(int(i) for i in index.backend.held_ids()[0]) == index.store.chunk_ids()
    with pytest.raises(NotFoundError):
        index.delete_collection("A")
    with pytest.raises(ConflictError):
        index.delete_collection(DEFAULT_COLLECTION)


def test_taking_a_document_out_of_its_last_collection_deletes_it(open_index, add) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    add(index, [_doc("x.txt", "광주 축제 소식.")], "A")
    add(index, [_doc("x.txt", "광주 축제 소식.")], "B")
    assert index.remove(["x.txt"], collection="A") == []
    assert _groups(index) == {"x.txt": ("B",)}
    assert index.remove(["x.txt"], collection="B") == ["x.txt"]
    assert index.documents() == []
    assert len(index) == 0


def test_rename_and_create_check_names(open_index, add) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    add(index, [_doc("a.txt", "서울 날씨.")], "옛 이름")
    index.store.rename_collection("옛 이름", " 새 이름 ")
    assert _groups(index) == {"a.txt": ("새 이름",)}
    index.store.create_collection("빈 모음")
    with pytest.raises(ConflictError):
        index.store.create_collection("빈 모음")
    with pytest.raises(ConflictError):
        index.store.rename_collection("빈 모음", "새 이름")
    with pytest.raises(ConflictError):
        index.store.rename_collection(DEFAULT_COLLECTION, "다른")
    with pytest.raises(NotFoundError):
        index.store.rename_collection("없는", "다른")
    for bad in ("", "   ", "a\x00b", "가" * 101):
        with pytest.raises(AssistantError):
            index.store.create_collection(bad)
    assert [c.name for c in index.collections()] == [DEFAULT_COLLECTION, "새 이름", "빈 모음"]


def test_a_scope_gets_its_own_top_k_not_the_rest_of_a_global_one(  # type: ignore[no-untyped-def]
    open_index, add, fake_embedder
) -> None:
    index = open_index()
    # 60 documents in A match the query far better than the one document in B
    add(index, [_doc(f"a{i}.txt", f"서울 날씨 서울 날씨 {i}번 소식.") for i in range(60)], "A")
    add(index, [_doc("b.txt", "제주 공원에는 오늘 서울 사람이 많았다.")], "B")
    for mode in ("hybrid", "dense", "bm25"):
        everything = _search(index, fake_embedder, "서울 날씨", None, mode, k=50)
        assert all(h.chunk.doc_id != "b.txt" for h in everything), mode
        scoped = _search(index, fake_embedder, "서울 날씨", Scope(("B",)), mode)
        assert [h.chunk.doc_id for h in scoped] == ["b.txt"], mode
    by_doc = _search(index, fake_embedder, "서울 날씨", Scope((), ("a3.txt", "b.txt")), k=10)
    assert {h.chunk.doc_id for h in by_doc} == {"a3.txt", "b.txt"}
    both = _search(index, fake_embedder, "서울 날씨", Scope(("B",), ("a3.txt",)))
    assert both == []  # a3 is not in B
    with pytest.raises(NotFoundError, match="없는"):
        _search(index, fake_embedder, "서울", Scope(("없는",)))
    with pytest.raises(NotFoundError, match=r"nope\.txt"):
        _search(index, fake_embedder, "서울", Scope((), ("nope.txt",)))


def test_a_cached_scope_follows_membership_changes(open_index, add, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    add(index, [_doc("a.txt", "서울 날씨 소식.")], "A")
    add(index, [_doc("b.txt", "서울 교통 소식.")], "B")
    scope = Scope(("A",))
    assert {h.chunk.doc_id for h in _search(index, fake_embedder, "서울", scope)} == {"a.txt"}
    index.store.link(["b.txt"], "A")  # no chunk changes, only a membership
    assert {h.chunk.doc_id for h in _search(index, fake_embedder, "서울", scope)} == {
        "a.txt",
        "b.txt",
    }


@pytest.mark.embedded_only
def test_a_scoped_hnsw_search_filters_inside_faiss(open_index, add, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index(approximate_threshold=5)
    add(index, [_doc(f"a{i}.txt", f"서울 날씨 {i}번.") for i in range(10)], "A")
    add(index, [_doc("b.txt", "부산 바다.")], "B")
    assert index.backend.vectors.approximate
    hits = _search(index, fake_embedder, "서울 날씨", Scope(("B",)), "dense")
    assert [h.chunk.doc_id for h in hits] == ["b.txt"]


def test_a_store_from_before_collections_puts_its_documents_in_the_default(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL,
            source TEXT NOT NULL, format TEXT NOT NULL, content_hash TEXT NOT NULL,
            size INTEGER NOT NULL, added_at REAL NOT NULL, meta TEXT NOT NULL,
            text TEXT NOT NULL);
        CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT
            NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
            tokens TEXT NOT NULL, vector BLOB NOT NULL);
        CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO documents VALUES ('old.txt', 'Old', 'old.txt', 'txt', 'h', 3, 1.0, '{}', 'abc');
        """
    )
    db.execute(
        "INSERT INTO chunks VALUES (1, 'old.txt', 0, 0, 3, 'abc', 'abc', ?)",
        (np.ones(4, dtype=np.float32).tobytes(),),
    )
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert [(d.doc_id, d.collections) for d in store.documents()] == [
            ("old.txt", (DEFAULT_COLLECTION,))
        ]
        assert store.membership_problems() == []
    finally:
        store.close()


def test_check_sees_a_document_in_no_collection(open_index, add) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    add(index, [_doc("a.txt", "서울 날씨.")], "A")
    if isinstance(index.store, Store):
        index.store._db.execute("DELETE FROM memberships")
    else:  # Milvus: the membership rows deleted behind the store's back
        index.store._client.delete(index.store._table("members"), filter="tx >= 0")
    assert "1 documents belong to no collection" in index.check().problems


def test_rebuild_keeps_collections(  # type: ignore[no-untyped-def]
    open_index, add, index_settings, fake_embedder, tokenizer
) -> None:
    from assistant.rebuild import rebuild_index

    index = open_index()
    add(index, [_doc("a.txt", "서울 날씨.")], "A")
    add(index, [_doc("a.txt", "서울 날씨.")], "B")
    add(index, [_doc("b.txt", "부산 날씨.")])
    index.store.create_collection("빈 모음")
    index.close()
    rebuild_index(index_settings, embedder=fake_embedder, tokenizer=tokenizer)
    again = open_index()
    assert _groups(again) == {"a.txt": ("A", "B"), "b.txt": (DEFAULT_COLLECTION,)}
    assert [c.name for c in again.collections()] == [DEFAULT_COLLECTION, "A", "B", "빈 모음"]
    assert again.check().problems == []
