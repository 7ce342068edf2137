"""`jaryo rebuild`: re-embed the stored documents into a new folder and swap it in atomically."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant import build
from assistant.build import open_store
from assistant.rebuild import rebuild_index
from index.collection import Index
from index.swap import COMPLETE_MARK, recover_interrupted_rebuild, retired_folder, staging_folder
from ingest.errors import IndexError_
from ingest.records import Document


class OtherEmbedder:
    """A second fake model with another name and dimension."""

    name = "fake-other"
    dim = 24

    def embed(self, texts: list[str], *, kind: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for ch in text:
                out[row, ord(ch) % self.dim] += 1.0
            out[row, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def built(open_index, make_doc, put, index_settings):  # type: ignore[no-untyped-def]
    index = open_index()
    put(index, [make_doc(f"d{i}.txt") for i in range(10)])
    index.remove(["d4.txt"])
    docs = [(d.doc_id, d.added_at, d.meta) for d in index.documents()]
    texts = {d: index.store.document(d).text for d, _, _ in docs}  # type: ignore[union-attr]
    index.close()
    return docs, texts


def test_rebuild_with_new_chunk_settings(
    built, index_settings, fake_embedder, tokenizer, open_index
) -> None:  # type: ignore[no-untyped-def]
    docs, texts = built
    settings = index_settings.model_copy(update={"chunk_size": 400})
    n = rebuild_index(settings, embedder=fake_embedder, tokenizer=tokenizer)
    assert n == len(docs) == 9
    folder = settings.index_dir
    assert not staging_folder(folder).exists()
    assert not retired_folder(folder).exists()
    assert not (folder / COMPLETE_MARK).exists()
    index = open_index(chunk_size=400)
    assert [(d.doc_id, d.added_at, d.meta) for d in index.documents()] == docs
    assert {d: index.store.document(d).text for d, _, _ in docs} == texts  # type: ignore[union-attr]
    assert index.manifest.chunk_size == 400
    assert all(d.chunks == 1 for d in index.documents())  # every generated document fits
    assert index.check().problems == []


def test_rebuild_after_a_model_change(built, index_settings, tokenizer) -> None:  # type: ignore[no-untyped-def]
    settings = index_settings.model_copy(update={"model": OtherEmbedder.name})

    def open_other() -> Index:  # with the store and backend the settings name
        return build.open_index(settings, OtherEmbedder(), tokenizer)  # type: ignore[arg-type]

    with pytest.raises(IndexError_, match="jaryo rebuild"):
        open_other()
    assert rebuild_index(settings, embedder=OtherEmbedder(), tokenizer=tokenizer) == 9
    index = open_other()
    try:
        assert index.manifest.model == "fake-other"
        assert index.check().problems == []
        query = "서울 소식"
        hits = index.search(query, OtherEmbedder().embed([query], kind="query")[0], k=3)
        assert hits
    finally:
        index.close()


def test_a_failed_rebuild_leaves_the_old_index(
    built, index_settings, fake_embedder, tokenizer, open_index
) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        name, dim = "fake-bigram", 65

        def embed(self, texts: list[str], *, kind: str) -> np.ndarray:
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        rebuild_index(index_settings, embedder=Broken(), tokenizer=tokenizer, batch_chunks=2)
    index = open_index()
    assert len(index.documents()) == 9
    assert index.check().problems == []
    # the next rebuild clears the half-built folder and succeeds
    assert staging_folder(index_settings.index_dir).exists()
    index.close()
    assert rebuild_index(index_settings, embedder=fake_embedder, tokenizer=tokenizer) == 9
    assert not staging_folder(index_settings.index_dir).exists()


def test_nothing_to_rebuild(index_settings, fake_embedder, tokenizer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IndexError_, match="no index"):
        rebuild_index(index_settings, embedder=fake_embedder, tokenizer=tokenizer)


def _half_swapped(folder: Path, *, complete: bool) -> None:
    """Stage a second index as if a rebuild had been killed between its two renames."""
    new = staging_folder(folder)
    os.rename(folder, retired_folder(folder))
    if complete:
        (new / COMPLETE_MARK).touch()


@pytest.mark.parametrize("complete", [True, False])
def test_a_swap_killed_between_its_renames_is_recovered(
    built, index_settings, tokenizer, fake_embedder, open_index, make_doc, put, complete: bool
) -> None:  # type: ignore[no-untyped-def]
    folder = index_settings.index_dir
    # the would-be new index: the old documents plus one
    shutil.copytree(folder, staging_folder(folder))
    old = [make_doc(d) for d, _, _ in built[0]]
    if index_settings.store == "milvus":  # the copy would name the same Milvus collections
        (staging_folder(folder) / "milvus.json").unlink()
    extra = build.open_index(
        index_settings, fake_embedder, tokenizer, folder=staging_folder(folder)
    )
    if index_settings.store == "milvus":
        put(extra, old)
    put(extra, [make_doc("only-in-new.txt")])
    extra.close()
    _half_swapped(folder, complete=complete)
    assert not folder.exists()
    index = open_index()
    names = {d.doc_id for d in index.documents()}
    assert ("only-in-new.txt" in names) is complete
    assert len(names) == (10 if complete else 9)
    assert index.check().problems == []
    assert not retired_folder(folder).exists()
    assert not (folder / COMPLETE_MARK).exists()


def test_recovery_removes_a_retired_folder_left_after_the_swap(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    retired_folder(folder).mkdir()
    (retired_folder(folder) / "store.sqlite3").write_bytes(b"old")
    recover_interrupted_rebuild(folder)
    assert folder.exists()
    assert not retired_folder(folder).exists()


def test_cli_check_and_rebuild(
    built, index_settings, tokenizer, fake_embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import assistant.build
    import assistant.rebuild
    from assistant.cli import main

    monkeypatch.setattr(assistant.build, "load_embedder", lambda settings: fake_embedder)
    monkeypatch.setattr(assistant.rebuild, "load_embedder", lambda settings: fake_embedder)
    monkeypatch.setattr(assistant.rebuild, "MorphTokenizer", lambda: tokenizer)
    monkeypatch.setenv("JARYO_CHUNK_SIZE", "80")
    monkeypatch.setenv("JARYO_CHUNK_OVERLAP", "10")
    monkeypatch.setenv("JARYO_STORE", index_settings.store)
    monkeypatch.setenv("JARYO_MILVUS_URI", index_settings.milvus_uri)
    args = ["--data-dir", str(index_settings.data_dir), "--model", "fake-bigram"]
    runner = CliRunner()
    result = runner.invoke(main, [*args, "check"])
    assert result.exit_code == 0, result.output
    assert "9 documents" in result.output
    assert result.output.rstrip().endswith("ok")

    store = open_store(index_settings, index_settings.index_dir, fake_embedder.dim)
    store.apply(put=[(Document("bare.txt", "x", "x", "bare.txt", "txt", "h"), [])], delete=[])
    store.close()
    result = runner.invoke(main, [*args, "check"])
    assert result.exit_code == 1, result.output
    assert "problem: document 'bare.txt' has no chunks" in result.output

    result = runner.invoke(main, [*args, "rebuild"])
    assert result.exit_code == 0, result.output
    assert "10 stored documents" in result.output
    result = runner.invoke(main, [*args, "check"])
    assert result.exit_code == 0, result.output
