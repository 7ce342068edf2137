"""The SQLite store: one transaction per change, a generation counter, no executable data."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pytest

from index.store import NewChunk, Store
from ingest.records import Document


def _doc(doc_id: str, text: str = "서울 날씨. 부산 비.") -> Document:
    return Document(doc_id, text, doc_id.upper(), doc_id, "txt", f"hash-{doc_id}-{text}", len(text))


def _vec(i: int, dim: int) -> np.ndarray:
    return np.full(dim, i + 1.0, dtype=np.float32)


def _chunks(n: int, dim: int = 4, *, vector: bool = True) -> list[NewChunk]:
    return [
        NewChunk(
            i, i, i + 1, f"조각 {i}", ["조각", str(i)], np.full(dim, i + 1.0) if vector else None
        )
        for i in range(n)
    ]


@pytest.fixture(params=["embedded", "milvus"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The SQLite store, or the Milvus store (milvus-lite) behind the same protocol."""
    if request.param == "milvus":
        from index.milvus_store import MilvusStore

        uri = request.getfixturevalue("milvus_lite")
        s = MilvusStore(f"t_{uuid.uuid4().hex[:12]}", 4, uri=uri)
    else:
        s = Store(tmp_path / "store.sqlite3")
    yield s
    s.close()


def test_apply_bumps_the_generation_and_reports_ids(store: Store) -> None:
    assert store.generation() == 0
    first = store.apply(put=[(_doc("a"), _chunks(2)), (_doc("b"), _chunks(1))], delete=[])
    assert (first.previous_generation, first.generation) == (0, 1)
    assert first.removed == []
    assert sorted(first.added) == store.chunk_ids()
    second = store.apply(put=[(_doc("a", "새 글."), _chunks(3))], delete=["b"])
    assert (second.previous_generation, second.generation) == (1, 2)
    assert set(second.removed) == set(first.added)  # a's old chunks and all of b's
    assert store.chunk_ids() == sorted(second.added)
    assert [d.doc_id for d in store.documents()] == ["a"]
    assert store.document("a").text == "새 글."  # type: ignore[union-attr]


def test_a_failed_change_leaves_nothing_behind(store: Store) -> None:
    store.apply(put=[(_doc("a"), _chunks(2))], delete=[])
    with pytest.raises(ValueError, match="no vectors"):
        store.apply(put=[(_doc("b"), _chunks(1, vector=False))], delete=["a"])
    assert store.generation() == 1
    assert [d.doc_id for d in store.documents()] == ["a"]
    assert store.count_chunks() == 2


def test_vectors_and_tokens_round_trip(store: Store) -> None:
    applied = store.apply(put=[(_doc("a"), _chunks(3))], delete=[])
    ids, vecs = next(store.iter_vectors())
    assert ids.tolist() == sorted(applied.added)
    assert vecs.dtype == np.float32
    assert vecs[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert dict(store.iter_tokens())[ids[1]] == ["조각", "1"]
    by_id = store.vectors_of([int(ids[2]), 999])
    assert list(by_id) == [int(ids[2])]
    assert by_id[int(ids[2])].tolist() == [3.0] * 4


def test_iter_documents_keeps_text_meta_and_added_at(store: Store) -> None:
    doc = Document("a", "본문.", "제목", "a.txt", "txt", "h", 3, {"file": "a.txt", "쪽": 2})
    store.apply(put=[(doc, _chunks(1))], delete=[], added_at={"a": 123.5})
    (stored,) = store.iter_documents()
    assert stored.document == doc
    assert stored.added_at == 123.5


@pytest.mark.embedded_only
def test_problems_sees_bad_vectors(store: Store, tmp_path: Path) -> None:
    store.apply(put=[(_doc("a"), _chunks(2))], delete=[])
    assert store.problems(4) == []
    assert store.problems(8) == ["2 stored vectors do not have dimension 8"]
    raw = sqlite3.connect(tmp_path / "store.sqlite3")
    raw.execute("UPDATE chunks SET vector = x'00' WHERE ordinal = 0")
    raw.commit()
    raw.close()
    assert store.problems(4) == ["1 stored vectors do not have dimension 4"]


@pytest.mark.embedded_only
def test_the_file_is_plain_sqlite(store: Store, tmp_path: Path) -> None:
    store.apply(put=[(_doc("a"), _chunks(1))], delete=[])
    assert (tmp_path / "store.sqlite3").read_bytes()[:16] == b"SQLite format 3\x00"
    types = {
        r[0]
        for r in sqlite3.connect(tmp_path / "store.sqlite3").execute(
            "SELECT DISTINCT typeof(vector) FROM chunks"
        )
    }
    assert types == {"blob"}


def test_pages_ocr_and_context_round_trip(store: Store) -> None:
    chunk = NewChunk(
        0, 0, 4, "| 1 | 2 |", ["1"], np.ones(4), context="| a | b |", page=3, page_end=4, ocr=True
    )
    added = store.apply(put=[(_doc("scan.pdf"), [chunk])], delete=[]).added
    got = store.chunks(added)[added[0]]
    assert (got.page, got.page_end, got.ocr, got.context) == (3, 4, True, "| a | b |")
    assert got.pages == "pp. 3–4"


def test_a_store_written_before_pages_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT"
        " NULL, format TEXT NOT NULL, content_hash TEXT NOT NULL, size INTEGER NOT NULL,"
        " added_at REAL NOT NULL, meta TEXT NOT NULL, text TEXT NOT NULL);"
        "CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT"
        " NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,"
        " tokens TEXT NOT NULL, vector BLOB NOT NULL);"
        "INSERT INTO documents VALUES ('a.txt', 'A', 'a.txt', 'txt', 'h', 1, 0, '{}', '서울');"
        "INSERT INTO chunks VALUES (7, 'a.txt', 0, 0, 2, '서울', '서울', x'0000803f');"
    )
    db.commit()
    db.close()
    old = Store(path)
    try:
        chunk = old.chunks([7])[7]
        assert (chunk.text, chunk.page, chunk.ocr, chunk.context, chunk.pages) == (
            "서울",
            None,
            False,
            "",
            "",
        )
    finally:
        old.close()
