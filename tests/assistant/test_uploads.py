"""Uploaded files are kept exactly while a stored document has their content."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from ingest.errors import DiskFullError


def _upload(tmp_path: Path, name: str, data: bytes | str) -> tuple[str, Path]:
    tmp = tmp_path / "incoming" / f"{len(list(tmp_path.glob('incoming/*')))}.bin"
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return name, tmp


def _kept(assistant) -> set[str]:  # type: ignore[no-untyped-def]
    folder = assistant.settings.uploads_dir
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _name(data: str, suffix: str) -> str:
    return hashlib.sha256(data.encode()).hexdigest() + suffix


GOOD = "고래 연구소의 예산은 417억원이다."
OTHER = "부산의 항구는 크다. 해운대가 있다."


def test_a_failed_upload_leaves_no_file_and_a_good_one_stays(fake_assistant, tmp_path) -> None:
    report = fake_assistant.add_uploads(
        [_upload(tmp_path, "whale.txt", GOOD), _upload(tmp_path, "broken.pdf", "%PDF-1.4 junk")]
    )
    assert {o.doc_id: o.status for o in report.outcomes} == {
        "whale.txt": "added",
        "broken.pdf": "failed",
    }
    assert _kept(fake_assistant) == {_name(GOOD, ".txt")}


def test_removing_documents_deletes_their_uploads(fake_assistant, tmp_path) -> None:
    fake_assistant.add_uploads([_upload(tmp_path, "whale.txt", GOOD)])
    fake_assistant.create_collection("보관")
    fake_assistant.add_uploads([_upload(tmp_path, "busan.txt", OTHER)], collection="보관")
    assert _kept(fake_assistant) == {_name(GOOD, ".txt"), _name(OTHER, ".txt")}
    fake_assistant.remove(["whale.txt"])
    assert _kept(fake_assistant) == {_name(OTHER, ".txt")}
    fake_assistant.delete_collection("보관")
    assert _kept(fake_assistant) == set()


def test_an_updated_upload_replaces_the_old_file(fake_assistant, tmp_path) -> None:
    fake_assistant.add_uploads([_upload(tmp_path, "note.txt", GOOD)])
    report = fake_assistant.add_uploads([_upload(tmp_path, "note.txt", OTHER)])
    assert [o.status for o in report.outcomes] == ["updated"]
    assert _kept(fake_assistant) == {_name(OTHER, ".txt")}


def test_an_upload_that_fails_by_an_error_leaves_no_file(
    fake_assistant, tmp_path, monkeypatch
) -> None:
    def full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DiskFullError("디스크가 가득 차서 … (disk full)")

    monkeypatch.setattr(fake_assistant.ingestor, "ingest", full)
    with pytest.raises(DiskFullError):
        fake_assistant.add_uploads([_upload(tmp_path, "whale.txt", GOOD)])
    assert _kept(fake_assistant) == set()


def test_leftovers_go_after_an_hour_and_other_files_stay(fake_assistant, tmp_path) -> None:
    folder = fake_assistant.settings.uploads_dir
    folder.mkdir(parents=True)
    stale, fresh = folder / ("a" * 64 + ".pdf"), folder / ("b" * 64 + ".hwp")
    part = folder / ("c" * 64 + ".txt.part")  # a write killed before its rename
    for path in (stale, fresh, part, folder / "notes.txt"):
        path.write_bytes(b"x")
    hours_ago = time.time() - 7200
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(part, (hours_ago, hours_ago))
    fake_assistant.add_uploads([_upload(tmp_path, "whale.txt", GOOD)])
    # the fresh one may be another process's upload about to be ingested
    assert _kept(fake_assistant) == {fresh.name, "notes.txt", _name(GOOD, ".txt")}
