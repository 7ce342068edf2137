"""The Milvus store: a change is visible only once its state row is written, an interrupted
one leaves the store as last committed, and two app nodes on one Milvus share one index."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from index import milvus_rows
from index.membership import DEFAULT_COLLECTION
from index.milvus_store import MilvusStore
from index.store import NewChunk
from ingest.records import Document

pytestmark = pytest.mark.parametrize("store", ["milvus"])
DIM = 4


def _doc(doc_id: str, text: str = "서울 날씨. 부산 비.") -> Document:
    return Document(doc_id, text, doc_id.upper(), doc_id, "txt", f"hash-{doc_id}-{text}", len(text))


def _chunks(n: int) -> list[NewChunk]:
    return [
        NewChunk(i, i, i + 1, f"조각 {i}", ["조각", str(i)], np.full(DIM, i + 1.0))
        for i in range(n)
    ]


@pytest.fixture
def opened(milvus_lite: str, store: str):  # type: ignore[no-untyped-def]
    """Open a store (again) by name; all closed at teardown."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    stores: list[MilvusStore] = []

    def _open() -> MilvusStore:
        s = MilvusStore(name, DIM, uri=milvus_lite)
        stores.append(s)
        return s

    yield _open
    for s in stores:
        s.close()


def _state(s: MilvusStore) -> tuple[int, list[str], list[int], list[str]]:
    return (
        s.generation(),
        [d.doc_id for d in s.documents()],
        s.chunk_ids(),
        [c.name for c in s.collections()],
    )


class Killed(BaseException):
    """Stands in for kill -9 at one write."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    """Die just before rows are inserted into ``<name>_<table>``."""
    real = milvus_rows.insert

    def insert(client, name, rows, size=500):  # type: ignore[no-untyped-def]
        if name.endswith(f"_{table}") and rows:
            raise Killed(name)
        real(client, name, rows, size)

    monkeypatch.setattr(milvus_rows, "insert", insert)


@pytest.mark.parametrize("table", ["chunks", "docs", "members", "state"])
def test_a_change_killed_before_its_state_row_is_invisible(
    opened, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:  # type: ignore[no-untyped-def]
    s = opened()
    s.apply(put=[(_doc("a"), _chunks(2)), (_doc("b"), _chunks(1))], delete=[], collection="A")
    before = _state(s)
    _kill_at(monkeypatch, table)
    with pytest.raises(Killed):
        s.apply(put=[(_doc("a", "새 글."), _chunks(3)), (_doc("c"), _chunks(1))], delete=["b"])
    monkeypatch.undo()
    again = opened()
    assert _state(again) == before
    assert again.document("a").text == "서울 날씨. 부산 비."  # type: ignore[union-attr]
    assert again.problems(DIM) == []
    assert again.membership_problems() == []
    done = again.apply(put=[(_doc("c"), _chunks(2))], delete=["b"])  # clears the leftovers
    assert again.chunk_ids() == sorted(set(before[2]) - set(done.removed) | set(done.added))
    assert [d.doc_id for d in again.documents()] == ["a", "c"]
    assert again.problems(DIM) == []


def test_a_commit_killed_before_its_deletions_is_finished_on_open(
    opened, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    s = opened()
    first = s.apply(put=[(_doc("a"), _chunks(2)), (_doc("b"), _chunks(1))], delete=[])
    monkeypatch.setattr(MilvusStore, "_finish", lambda self, tx: None)
    second = s.apply(put=[(_doc("a", "새 글."), _chunks(3))], delete=["b"])
    monkeypatch.undo()
    other = opened()  # sees the committed change at once: the journal hides the old rows
    assert other.chunk_ids() == sorted(second.added)
    assert other.document("a").text == "새 글."  # type: ignore[union-attr]
    client = other._client
    left = client.query(other._table("chunks"), filter="tx >= 0", output_fields=["id"])
    assert {int(r["id"]) for r in left} == set(second.added)  # deleted when it opened
    assert set(second.removed) == set(first.added)
    assert other.problems(DIM) == []


def test_collections_round_trip(opened) -> None:  # type: ignore[no-untyped-def]
    s = opened()
    s.apply(put=[(_doc("a"), _chunks(1))], delete=[], collection="A")
    s.link(["a"], "B")
    s.create_collection("빈 모음")
    s.rename_collection("B", "새 B")
    again = opened()
    assert [(c.name, c.documents) for c in again.collections()] == [
        (DEFAULT_COLLECTION, 0), ("A", 1), ("새 B", 1), ("빈 모음", 0),
    ]  # fmt: skip
    assert again.documents()[0].collections == ("A", "새 B")
    assert again.apply(put=[], delete=[], unlink=("A", ["a"])).deleted == []
    assert again.apply(put=[], delete=[], drop_collection="새 B").deleted == ["a"]
    assert again.documents() == []
    assert again.chunk_ids() == []


def test_two_app_nodes_share_one_index(
    open_index, index_settings, make_doc, put, fake_embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A second node (another data folder, the same Milvus and collection name) sees what
    the first wrote, and the first sees the second's writes; neither folder holds a store."""
    first = open_index()
    put(first, [make_doc(f"d{i}.txt") for i in range(5)])
    other_dir = tmp_path / "node2"
    (other_dir / "index").mkdir(parents=True)
    for name in ("manifest.json", "milvus.json"):  # all an app node keeps of the index
        shutil.copy(first.folder / name, other_dir / "index" / name)
    second = open_index(data_dir=other_dir)
    assert [d.doc_id for d in second.documents()] == [d.doc_id for d in first.documents()]
    put(second, [make_doc("from-node2.txt")], delete=["d1.txt"])
    query = make_doc("from-node2.txt").text.split(".")[0]
    hits = first.search(query, fake_embedder.embed([query], kind="query")[0], k=3)
    assert hits[0].chunk.doc_id == "from-node2.txt"
    assert "d1.txt" not in {d.doc_id for d in first.documents()}
    assert not list(first.folder.glob("*.sqlite3"))
    assert not list(other_dir.rglob("*.sqlite3"))
    assert first.check().problems == []
    assert second.check().problems == []


def test_a_node_with_an_empty_folder_finds_a_shared_index_also_after_a_rebuild(
    open_index, index_settings, make_doc, put, fake_embedder, tokenizer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from assistant.rebuild import rebuild_index

    shared = f"shared_{uuid.uuid4().hex[:8]}"
    first = open_index(milvus_collection=shared)
    put(first, [make_doc(f"d{i}.txt") for i in range(4)])
    docs = [d.doc_id for d in first.documents()]
    first.close()
    lost = open_index(milvus_collection=shared, data_dir=tmp_path / "new-machine")
    assert [d.doc_id for d in lost.documents()] == docs
    assert lost.check().problems == []
    lost.close()
    settings = index_settings.model_copy(update={"milvus_collection": shared})
    rebuild_index(settings, embedder=fake_embedder, tokenizer=tokenizer)
    again = open_index(milvus_collection=shared, data_dir=tmp_path / "another-machine")
    assert [d.doc_id for d in again.documents()] == docs
    assert again.check().problems == []
    assert again.store.name != shared  # the rebuilt collections, registered under the name
    query = make_doc("d2.txt").text.split(".")[0]
    hits = again.search(query, fake_embedder.embed([query], kind="query")[0], k=1)
    assert hits[0].chunk.doc_id == "d2.txt"
