"""The Index: SQLite and FAISS kept in step, self-describing, rebuilt from SQLite when stale."""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import index as index_package
from index.collection import Index
from index.store import NewChunk
from index.vectors import VectorIndex
from ingest.errors import IndexError_

QUERIES = ["서울 날씨", "부산 교통 발표했다", "제주 축제 열렸다"]


def _ids(index: Index) -> tuple[list[int], list[int], list[int]]:
    return (
        index.store.chunk_ids(),
        sorted(int(i) for i in index.backend.held_ids()[0]),
        sorted(int(i) for i in index.backend.held_ids()[1]),
    )


def _assert_in_step(index: Index) -> None:
    rows, held, keywords = _ids(index)
    assert rows == held == keywords
    assert index.check().problems == []


def _results(index: Index, embedder) -> list[list[tuple[int, float]]]:  # type: ignore[no-untyped-def]
    out = []
    for q in QUERIES:
        vec = embedder.embed([q], kind="query")[0]
        for mode in ("hybrid", "dense", "bm25"):
            hits = index.search(q, vec, k=5, mode=mode)
            out.append([(h.chunk.id, round(h.score, 5)) for h in hits])
    return out


@pytest.fixture
def filled(open_index, make_doc, put) -> Index:  # type: ignore[no-untyped-def]
    index = open_index()
    put(index, [make_doc(f"d{i}.txt") for i in range(12)])
    return index


def test_add_replace_delete_keep_faiss_and_sqlite_in_step(open_index, make_doc, put) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    _assert_in_step(index)
    put(index, [make_doc(f"d{i}.txt") for i in range(8)])
    _assert_in_step(index)
    before = set(index.store.chunk_ids_of("d3.txt"))
    put(index, [make_doc("d3.txt", seed=1)], delete=["d5.txt", "d6.txt"])
    _assert_in_step(index)
    assert before.isdisjoint(index.store.chunk_ids_of("d3.txt"))
    assert {d.doc_id for d in index.documents()} == {f"d{i}.txt" for i in (0, 1, 2, 3, 4, 7)}
    index.remove(["d0.txt"])
    _assert_in_step(index)
    assert len(index) == index.store.count_chunks()


def test_reopening_gives_the_same_results(filled: Index, open_index, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    expected = _results(filled, fake_embedder)
    assert any(expected)
    filled.close()
    again = open_index()
    assert _results(again, fake_embedder) == expected
    _assert_in_step(again)


def _current_faiss(index: Index) -> Path:
    (path,) = index.folder.glob("vectors-*.faiss")
    assert path.name == f"vectors-{index.store.generation()}.faiss"
    return path


@pytest.mark.embedded_only
@pytest.mark.parametrize("damage", ["garbage", "truncated", "stale", "missing", "wrong-dim"])
def test_a_bad_faiss_file_is_rebuilt_from_sqlite(
    filled: Index, open_index, fake_embedder, make_doc, put, damage: str
) -> None:  # type: ignore[no-untyped-def]
    path = _current_faiss(filled)
    old = path.read_bytes()
    put(filled, [make_doc("late.txt")])  # so that `old` is one generation behind
    expected = _results(filled, fake_embedder)
    path = _current_faiss(filled)
    filled.close()
    if damage == "garbage":
        path.write_bytes(b"\x80\x04not faiss")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "stale":
        path.write_bytes(old)  # a previous generation's vectors under the current name
    elif damage == "missing":
        path.unlink()
    else:
        other = VectorIndex(8)
        other.add(np.array([1]), np.ones((1, 8), dtype=np.float32))
        other.save(path)
    again = open_index()
    _assert_in_step(again)
    assert _results(again, fake_embedder) == expected
    assert _current_faiss(again).read_bytes() != b"\x80\x04not faiss"


def test_leftover_temporary_files_are_removed(filled: Index, open_index) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    folder = filled.folder
    filled.close()
    (folder / "vectors-99.faiss.tmp").write_bytes(b"half written")
    (folder / "manifest.json.tmp").write_text("{")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    (folder / f"keywords-7.{gone}.tmp").mkdir()  # its writer has exited
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as writer:
        live = folder / f"keywords-8.{writer.pid}.tmp"  # another process is writing it now
        live.mkdir()
        try:
            again = open_index()
            assert [p.name for p in folder.glob("*.tmp")] == [live.name]
        finally:
            writer.kill()
    _assert_in_step(again)


def test_other_model_or_schema_is_a_clear_error(filled: Index, open_index) -> None:  # type: ignore[no-untyped-def]
    folder = filled.folder
    filled.close()
    with pytest.raises(IndexError_, match="jaryo rebuild") as err:
        Index(folder, model="other-model", dim=64, chunk_size=80, chunk_overlap=10)
    assert "fake-bigram" in str(err.value)
    assert "other-model" in str(err.value)
    with pytest.raises(IndexError_, match="jaryo rebuild"):
        Index(folder, model="fake-bigram", dim=32, chunk_size=80, chunk_overlap=10)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"schema_version": 99}))
    with pytest.raises(IndexError_, match=r"schema 99.*jaryo rebuild"):
        open_index()
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_, match=r"unreadable.*jaryo rebuild"):
        open_index()


def test_changed_chunk_settings_only_warn(filled: Index, open_index, caplog) -> None:  # type: ignore[no-untyped-def]
    filled.close()
    again = open_index(chunk_size=300)
    assert "jaryo rebuild" in caplog.text
    _assert_in_step(again)


@pytest.mark.embedded_only
def test_growing_past_the_threshold_switches_to_hnsw_and_back(
    open_index, make_doc, put, fake_embedder
) -> None:  # type: ignore[no-untyped-def]
    index = open_index(approximate_threshold=30)
    put(index, [make_doc(f"d{i}.txt") for i in range(4)])
    assert len(index) < 30
    assert not index.backend.vectors.approximate
    n = 4
    while len(index) < 30:
        put(index, [make_doc(f"d{n}.txt"), make_doc(f"d{n + 1}.txt")])
        n += 2
    assert index.backend.vectors.approximate
    _assert_in_step(index)
    probe = index.store.chunks(index.store.chunk_ids()[:1])
    cid, chunk = next(iter(probe.items()))
    vec = index.store.vectors_of([cid])[cid]
    assert index.search(chunk.text, vec, k=1, mode="dense")[0].chunk.id == cid
    assert index.search(chunk.text, vec, k=3, mode="hybrid")
    expected = _results(index, fake_embedder)
    assert index.backend.vectors.ef_search == 2048  # the default search breadth
    index.close()
    again = open_index(approximate_threshold=30, hnsw_ef_search=512)
    assert again.backend.vectors.approximate
    assert again.backend.vectors.ef_search == 512  # the setting applies to a saved index too
    assert _results(again, fake_embedder) == expected
    # deleting (HNSW cannot delete: rebuilt) back below the threshold returns to exact search
    docs = [d.doc_id for d in again.documents()]
    while len(again) >= 30:
        again.remove([docs.pop()])
        _assert_in_step(again)
    assert not again.backend.vectors.approximate


def test_bad_input_is_rejected_before_anything_is_stored(filled: Index, make_doc) -> None:  # type: ignore[no-untyped-def]
    generation = filled.store.generation()
    doc = make_doc("bad.txt")
    wrong_dim = NewChunk(0, 0, 3, "서울", ["서울"], np.ones(5, dtype=np.float32))
    with pytest.raises(IndexError_, match="dimension"):
        filled.apply(put=[(doc, [wrong_dim])])
    with pytest.raises(IndexError_, match="at least one chunk"):
        filled.apply(put=[(doc, [])])
    assert filled.store.generation() == generation
    _assert_in_step(filled)


@pytest.mark.embedded_only
def test_a_failed_faiss_save_leaves_memory_in_step(
    filled: Index, open_index, make_doc, put, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def broken_disk(self, path):  # type: ignore[no-untyped-def]
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(VectorIndex, "save", broken_disk)
    with pytest.raises(OSError, match="Input/output"):
        put(filled, [make_doc("new.txt")], delete=["d1.txt"])
    rows, held, keywords = _ids(filled)
    assert rows == held == keywords
    assert "new.txt" in {d.doc_id for d in filled.documents()}
    monkeypatch.undo()
    filled.close()
    _assert_in_step(open_index())


@pytest.mark.embedded_only
def test_a_full_disk_costs_only_the_saved_faiss_copy(
    filled: Index, open_index, make_doc, put, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    def full_disk(self, path):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(VectorIndex, "save", full_disk)
    put(filled, [make_doc("new.txt")], delete=["d1.txt"])  # SQLite committed: no error
    assert "디스크가 가득 차서 vectors-" in caplog.text
    rows, held, keywords = _ids(filled)
    assert rows == held == keywords
    assert "new.txt" in {d.doc_id for d in filled.documents()}
    assert [p for p in filled.check().problems if "no saved FAISS file" in p]
    monkeypatch.undo()
    filled.close()
    _assert_in_step(open_index())  # rebuilt from the store and saved, now there is room


def test_another_writer_is_noticed(filled: Index, open_index, make_doc, put) -> None:  # type: ignore[no-untyped-def]
    other = open_index()
    put(other, [make_doc("from-other.txt")], delete=["d2.txt"])
    assert any("another process" in p for p in filled.check().problems)
    put(filled, [make_doc("mine.txt")])  # notices the foreign commit and reloads FAISS
    _assert_in_step(filled)
    assert {"from-other.txt", "mine.txt"} <= {d.doc_id for d in filled.documents()}


def test_a_search_sees_what_another_process_committed(
    filled: Index, open_index, make_doc, put, fake_embedder
) -> None:  # type: ignore[no-untyped-def]
    doc = make_doc("from-other.txt", 7)
    query = doc.text.split(".")[0]
    other = open_index()
    put(other, [doc], delete=["d2.txt"])
    other.close()
    hits = filled.search(query, fake_embedder.embed([query], kind="query")[0], k=3)
    assert hits[0].chunk.doc_id == "from-other.txt"
    assert "d2.txt" not in {h.chunk.doc_id for h in hits}
    assert filled.check().problems == []
    assert filled.refresh() is False  # nothing new since


@pytest.mark.embedded_only
def test_check_reports_problems(filled: Index, make_doc) -> None:  # type: ignore[no-untyped-def]
    assert filled.check().problems == []
    some = np.asarray(filled.store.chunk_ids()[:2], dtype=np.int64)
    filled.backend.vectors.remove(some)
    assert "2 chunk rows have no vector" in filled.check().problems
    filled.backend.vectors.add(np.array([10_000]), np.ones((1, filled.manifest.dim), np.float32))
    assert "1 vectors have no chunk row" in filled.check().problems
    filled.store.apply(put=[(make_doc("empty.txt"), [])], delete=[])
    problems = filled.check().problems
    assert "document 'empty.txt' has no chunks" in problems
    assert "keyword index is out of step with the chunk rows" not in problems
    manifest = json.loads((filled.folder / "manifest.json").read_text())
    (filled.folder / "manifest.json").write_text(json.dumps(manifest | {"dim": 3}))
    assert "manifest.json on disk differs from the one this index opened" in filled.check().problems


@pytest.mark.embedded_only
def test_check_sees_vectors_that_differ_from_sqlite(filled: Index) -> None:  # type: ignore[no-untyped-def]
    cid = filled.store.chunk_ids()[0]
    filled.backend.vectors.remove(np.array([cid]))
    filled.backend.vectors.add(np.array([cid]), -np.ones((1, filled.manifest.dim), np.float32))
    assert any("differ from SQLite" in p for p in filled.check().problems)


def test_nothing_is_unpickled(filled: Index, open_index, fake_embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = filled.folder
    filled.close()

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the index must not unpickle anything")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    again = open_index()
    _results(again, fake_embedder)
    for path in folder.rglob("*"):
        if path.is_dir():
            continue
        head = path.read_bytes()[:16]
        assert not head.startswith(b"\x80"), f"{path.name} looks like a pickle"
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".npy":
            assert head.startswith(b"\x93NUMPY"), path.name
        else:
            assert path.suffix in {".faiss", ".sqlite3-wal", ".sqlite3-shm"} or head == (
                b"SQLite format 3\x00"
            ), path.name


def test_index_modules_do_not_use_pickle() -> None:
    banned = {"pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve"}
    for source in Path(index_package.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & banned, source
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in banned, source
            elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                assert isinstance(node.value, ast.Constant), source
                assert node.value.value is False, source


def test_fresh_index_folder_holds_a_manifest(open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    manifest = json.loads((index.folder / "manifest.json").read_text())
    assert manifest["model"] == "fake-bigram"
    assert manifest["dim"] == 65
    assert manifest["normalized"] is True
    assert manifest["schema_version"] >= 1
    assert {"chunk_size", "chunk_overlap", "created_at"} <= set(manifest)


@pytest.mark.embedded_only
def test_bm25_is_saved_and_reused_on_open(
    filled: Index, open_index, fake_embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from index.store import Store

    expected = _results(filled, fake_embedder)
    folder = filled.folder
    assert [p.name for p in folder.glob("keywords-*")] == [f"keywords-{filled.store.generation()}"]
    filled.close()

    def no_rebuild(self):  # type: ignore[no-untyped-def]
        raise AssertionError("BM25 should be loaded, not rebuilt from tokens")

    monkeypatch.setattr(Store, "iter_tokens", no_rebuild)
    again = open_index()
    assert _results(again, fake_embedder) == expected
    _assert_in_step(again)


@pytest.mark.embedded_only
@pytest.mark.parametrize("damage", ["garbage", "stale-ids", "params"])
def test_a_bad_bm25_folder_is_rebuilt(
    filled: Index, open_index, fake_embedder, damage: str
) -> None:  # type: ignore[no-untyped-def]
    expected = _results(filled, fake_embedder)
    (path,) = filled.folder.glob("keywords-*")
    filled.close()
    if damage == "garbage":
        for f in path.glob("*.npy"):
            f.write_bytes(b"\x80\x04garbage")
    elif damage == "stale-ids":
        np.save(path / "ids.npy", np.arange(3, dtype=np.int64))
    else:
        (path / "jaryo-params.json").write_text('{"k1": 9}')
    again = open_index()
    _assert_in_step(again)
    assert _results(again, fake_embedder) == expected
