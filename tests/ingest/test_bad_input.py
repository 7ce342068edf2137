"""Bad input: each file fails with a reason naming it, the batch goes on, and the index then
holds exactly the good documents."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from ingest.reader import Source
from ingest.settings import Settings

LIMIT_MB = 0.2


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A small file-size limit, so the 'too large' case needs no big file."""
    return Settings(data_dir=tmp_path / "data", model="fake-bigram", max_file_mb=LIMIT_MB)


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def mixed_folder(tmp_path: Path, build) -> tuple[Path, set[str], dict[str, str]]:
    """A folder of good and bad files: (folder, good ids, {bad id: expected reason})."""
    folder = tmp_path / "docs"
    article = build.article
    pdf = build.pdf(["PDF 본문 문장이다.", "둘째 줄이다."], title="PDF 문서")
    docx = build.docx(["워드 문서의 문단이다."], title="워드 문서")
    hwpx = build.hwpx([["한글 문서의 문단이다."]], title="한글 문서")
    write(folder, "good.txt", article)
    write(folder, "좋은 기사 파일.txt", "띄어쓰기와 한글이 든 파일 이름도 읽힌다.\n")
    write(folder, "sub/report.pdf", pdf)
    write(folder, "brief.docx", docx)
    write(folder, "gov.hwpx", hwpx)
    write(folder, "page.html", "<html><body><p>웹 페이지 본문이다.</p></body></html>")
    good = {"good.txt", "좋은 기사 파일.txt", "sub/report.pdf", "brief.docx", "gov.hwpx"}
    good.add("page.html")

    write(folder, "empty.txt", b"")
    write(folder, "blank.md", " \n\t\r\n   \n")
    write(folder, "junk.txt", bytes(range(256)) * 8)
    write(folder, "truncated.pdf", pdf[: len(pdf) // 2])
    write(folder, "garbage.pdf", b"%PDF-1.7\n" + b"\x8f\x01 not really a pdf " * 40 + b"\n%%EOF\n")
    write(folder, "locked.pdf", build.pdf(["비밀 문서이다."], password="s3cret"))
    write(folder, "scanned.pdf", build.pdf(None))
    write(folder, "corrupt.docx", docx[: len(docx) // 2])
    write(folder, "old-word.docx", b"\xd0\xcf\x11\xe0 an old binary .doc renamed")
    write(folder, "corrupt.hwpx", hwpx[: len(hwpx) // 2])
    write(folder, "legacy.hwp", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    write(folder, "sheet.xlsx", b"PK\x03\x04 spreadsheet")
    write(folder, "big.txt", "가" * int(LIMIT_MB * 1_000_000))  # 3 bytes each: over the limit
    write(folder, "사본 good.txt", article)
    os.symlink(folder / "gone.txt", folder / "link.txt")
    write(folder, ".hidden.txt", "숨은 파일은 건너뛴다.")
    write(folder, "~$brief.docx", b"office lock file")
    bad = {
        "empty.txt": "file is empty",
        "blank.md": "only whitespace",
        "junk.txt": "not a text file",
        "truncated.pdf": "truncated PDF",
        "garbage.pdf": "corrupt or unreadable PDF",
        "locked.pdf": "password-protected",
        "scanned.pdf": r"no text layer \(scanned\?\) and OCR found no text",
        "corrupt.docx": "corrupt DOCX",
        "old-word.docx": r"corrupt DOCX \(not a zip archive",
        "corrupt.hwpx": "corrupt HWPX",
        "legacy.hwp": r"corrupt HWP document \(",
        "sheet.xlsx": r"unsupported file type '\.xlsx'",
        "big.txt": rf"larger than the {LIMIT_MB:g} MB limit",
        "link.txt": "broken symbolic link",
    }
    return folder, good, bad


def test_mixed_folder_keeps_exactly_the_good_documents(fake_assistant, mixed_folder):
    folder, good, bad = mixed_folder
    report = fake_assistant.ingest([folder])
    by_id = {o.doc_id: o for o in report.outcomes}
    assert set(by_id) == good | set(bad) | {"사본 good.txt"}
    for doc_id in good:
        assert by_id[doc_id].status == "added", by_id[doc_id]
        assert by_id[doc_id].chunks >= 1
    for doc_id, reason in bad.items():
        outcome = by_id[doc_id]
        assert outcome.status == "failed", outcome
        assert outcome.reason.startswith(f"{doc_id}: "), outcome.reason
        assert outcome.chunks == 0
        assert re.search(reason, outcome.reason), outcome.reason
    dup = by_id["사본 good.txt"]
    assert dup.status == "duplicate"
    assert "good.txt" in dup.reason

    assert {d.doc_id for d in fake_assistant.documents()} == good
    check = fake_assistant.index.check()
    assert check.problems == []
    assert check.documents == len(good)
    assert check.chunks == check.vectors == sum(by_id[g].chunks for g in good)


def test_failed_update_keeps_the_previous_good_version(fake_assistant, tmp_path, build):
    path = write(tmp_path, "note.txt", build.article)
    assert fake_assistant.ingest([path]).count("added") == 1
    before = fake_assistant.index.check()
    path.write_bytes(b"\x00\x01binary now\x00" * 50)
    report = fake_assistant.ingest([path])
    assert [o.status for o in report.outcomes] == ["failed"]
    after = fake_assistant.index.check()
    assert (after.documents, after.chunks, after.problems) == (before.documents, before.chunks, [])


def test_directory_given_as_a_file(fake_assistant, tmp_path):
    folder = tmp_path / "notes.txt"
    folder.mkdir()
    report = fake_assistant.ingestor.ingest([Source(folder, "notes.txt")])
    (outcome,) = report.outcomes
    assert outcome.status == "failed"
    assert outcome.reason == "notes.txt: is a directory, not a file"


def test_missing_file(fake_assistant, tmp_path):
    report = fake_assistant.ingest([tmp_path / "없는 파일.txt"])
    assert report.outcomes[0].reason == "없는 파일.txt: file not found"


def test_unreadable_file_simulated(fake_assistant, tmp_path, monkeypatch):
    path = write(tmp_path, "secret.txt", "읽을 수 없는 파일이다.")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != path and real_access(p, mode))
    report = fake_assistant.ingest([path])
    assert report.outcomes[0].status == "failed"
    assert report.outcomes[0].reason == "secret.txt: permission denied (cannot read the file)"
    assert fake_assistant.documents() == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their mode, so chmod 000 cannot make one unreadable",
)
def test_unreadable_file_real(fake_assistant, tmp_path):
    path = write(tmp_path, "secret.txt", "읽을 수 없는 파일이다.")
    path.chmod(0)
    try:
        report = fake_assistant.ingest([path])
    finally:
        path.chmod(0o600)
    assert "permission denied" in report.outcomes[0].reason


def test_decomposed_korean_file_name_gets_the_composed_id(fake_assistant, tmp_path):
    name = unicodedata.normalize("NFD", "한글 이름 문서.txt")
    folder = tmp_path / "in"
    write(folder, name, "자모로 풀어 쓴 파일 이름도 같은 문서이다.")
    report = fake_assistant.ingest([folder])
    assert [o.doc_id for o in report.outcomes] == ["한글 이름 문서.txt"]
    assert report.outcomes[0].status == "added"


def test_reingest_is_unchanged_and_sync_removes_gone_files(fake_assistant, tmp_path, build):
    folder = tmp_path / "corpus"
    write(folder, "a.txt", build.article)
    write(folder, "b.txt", "둘째 문서의 문장이다.")
    assert fake_assistant.ingest([folder]).count("added") == 2
    calls = len(fake_assistant.embedder.calls)
    again = fake_assistant.ingest([folder])
    assert again.count("unchanged") == 2
    assert len(fake_assistant.embedder.calls) == calls  # nothing re-embedded
    shutil.move(folder / "b.txt", tmp_path / "b.txt")
    synced = fake_assistant.ingest([folder], sync=True)
    assert [(o.doc_id, o.status) for o in synced.outcomes] == [
        ("a.txt", "unchanged"),
        ("b.txt", "removed"),
    ]
    assert [d.doc_id for d in fake_assistant.documents()] == ["a.txt"]
