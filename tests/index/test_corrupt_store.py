"""A damaged SQLite store, or a full disk inside a commit, is one readable line naming the
file and what to do, never a SQLite traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import assistant.build
from assistant.cli import main
from index.store import Store
from ingest.errors import DiskFullError, IndexError_

CORRUPT = "가 손상되었습니다 — 백업에서 되살리거나, 색인 폴더 "


@pytest.fixture
def cli(tmp_path: Path, fake_embedder, monkeypatch):  # type: ignore[no-untyped-def]
    """Run the CLI on a data folder under tmp_path with the fake embedder."""
    monkeypatch.setattr(assistant.build, "load_embedder", lambda settings: fake_embedder)
    base = ["--data-dir", str(tmp_path / "data"), "--model", "fake-bigram"]

    def run(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, [*base, *args])

    return run


def _ingest_some(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(12):
        (docs / f"doc{n}.txt").write_text(f"{n}번 문서의 본문이다. " * 100, encoding="utf-8")
    assert cli("ingest", str(docs)).exit_code == 0
    return tmp_path / "data" / "index" / "store.sqlite3"


def _assert_one_corrupt_line(result, store: Path) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, sqlite3.Error)
    assert result.output.startswith(f"error: 색인 저장소 {store}{CORRUPT}")
    assert "`jaryo ingest`" in result.output
    assert result.output.count("\n") == 1


def test_a_file_that_is_no_database_names_itself_and_the_way_out(cli, tmp_path: Path) -> None:
    store = _ingest_some(cli, tmp_path)
    store.write_bytes(b"this is not a database at all " * 200)
    for command in ("docs", "check"):
        result = cli(command)
        _assert_one_corrupt_line(result, store)
        assert "file is not a database" in result.output


def test_damaged_pages_are_a_corrupt_store_not_a_traceback(cli, tmp_path: Path) -> None:
    store = _ingest_some(cli, tmp_path)
    data = bytearray(store.read_bytes())
    assert len(data) > 16 * 4096
    data[4096 : len(data) - 4096] = b"\xa5" * (len(data) - 8192)  # all but the first and last page
    store.write_bytes(bytes(data))
    for command in ("docs", "check"):
        result = cli(command)
        _assert_one_corrupt_line(result, store)
        assert "malformed" in result.output


def test_a_full_disk_at_commit_is_not_hidden_behind_cannot_rollback(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite3")

    class FullAtCommit:
        """The connection, except that COMMIT meets a full disk (SQLite then rolls back)."""

        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.db, name)

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "COMMIT":
                self.db.execute("ROLLBACK")
                error = sqlite3.OperationalError("database or disk is full")
                error.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
                raise error
            return self.db.execute(sql, *args)

    real = store._db
    store._db = FullAtCommit(real)  # type: ignore[assignment]
    with pytest.raises(DiskFullError, match=r"^디스크가 가득 차서 .*database or disk is full"):
        store.create_collection("보고서")
    store._db = real
    assert [c.name for c in store.collections()] == ["기본"]  # nothing half-written
    store.close()


def test_opening_a_store_that_is_no_database_is_an_index_error(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(IndexError_, match=r"store\.sqlite3가 손상되었습니다"):
        Store(path)


def test_the_api_answers_a_full_disk_with_507_and_a_corrupt_store_with_500() -> None:
    from assistant.api import from_assistant_error
    from index.failures import corrupt_store, disk_full

    full = from_assistant_error(disk_full(Path("data/index/store.sqlite3")))
    assert (full.status, full.code) == (507, "disk_full")
    corrupt = corrupt_store(Path("data/index/store.sqlite3"), sqlite3.DatabaseError("malformed"))
    assert (from_assistant_error(corrupt).status, from_assistant_error(corrupt).code) == (
        500,
        "index_error",
    )
