"""The summary table and JSON report of an ingestion run; which files a folder yields."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ingest.reader import FileOutcome, IngestReport, collect_sources
from ingest.report import format_report, report_json

REPORT = IngestReport(
    outcomes=[
        FileOutcome("a.txt", "added", 3),
        FileOutcome("sub/b.pdf", "updated", 2),
        FileOutcome("c.md", "unchanged"),
        FileOutcome("d copy.txt", "duplicate", reason="same content as a.txt"),
        FileOutcome("old.txt", "removed"),
        FileOutcome("locked.pdf", "failed", reason="locked.pdf: PDF is password-protected"),
        FileOutcome("x.xlsx", "failed", reason="x.xlsx: unsupported file type '.xlsx'"),
    ],
    seconds=1.25,
)


def test_table_has_every_status_and_the_reasons():
    text = format_report(REPORT)
    lines = text.split("\n")
    assert lines[0] == "7 files in 1.2 s, 5 new chunks"
    table = {line.split()[0]: line.split()[1:] for line in lines[2:10]}
    assert table["added"] == ["1", "3"]
    assert table["updated"] == ["1", "2"]
    assert table["unchanged"] == ["1"]
    assert table["duplicate"] == ["1"]
    assert table["removed"] == ["1"]
    assert table["failed"] == ["2"]
    assert table["total"] == ["7", "5"]
    assert "Failed (2):\n  locked.pdf: PDF is password-protected\n  x.xlsx: unsupported" in text
    assert "Duplicates (1):\n  d copy.txt: same content as a.txt" in text
    assert "Removed (1):\n  old.txt" in text


def test_json_report_round_trips():
    data = json.loads(json.dumps(report_json(REPORT), ensure_ascii=False))
    assert data["summary"] == {
        "added": 1,
        "updated": 1,
        "unchanged": 1,
        "duplicate": 1,
        "skipped": 0,
        "removed": 1,
        "failed": 2,
    }
    assert data["new_chunks"] == 5
    assert data["files"][5] == {
        "doc_id": "locked.pdf",
        "status": "failed",
        "chunks": 0,
        "reason": "locked.pdf: PDF is password-protected",
    }


def test_collect_sources_lists_visible_files_and_broken_links(tmp_path: Path):
    root = tmp_path / "docs"
    (root / "sub dir").mkdir(parents=True)
    (root / ".git").mkdir()
    for name in ("a.txt", "sub dir/보고서 1.pdf", "notes.xlsx", ".hidden.md", ".git/x.txt"):
        (root / name).write_text("x")
    (root / "~$lock.docx").write_text("x")
    os.symlink(root / "missing.txt", root / "dangling.txt")
    ids = [s.doc_id for s in collect_sources([root, tmp_path / "single file.md"])]
    assert ids == ["a.txt", "dangling.txt", "notes.xlsx", "sub dir/보고서 1.pdf", "single file.md"]


def test_progress_reports_files_and_embedded_chunks(fake_assistant, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.txt").write_text(f"{n}번 문서의 첫 문장이다. 둘째 문장이다.")
    calls: list[tuple[int, int, str]] = []

    class Recorder:
        def __init__(self) -> None:
            self.embedded: list[int] = []

        def __call__(self, done: int, total: int, name: str) -> None:
            calls.append((done, total, name))

        def chunks(self, embedded: int) -> None:
            self.embedded.append(embedded)

    recorder = Recorder()
    report = fake_assistant.ingest([folder], progress=recorder)
    assert calls == [(0, 3, "0.txt"), (1, 3, "1.txt"), (2, 3, "2.txt"), (3, 3, "")]
    assert recorder.embedded[-1] == sum(o.chunks for o in report.outcomes) >= 3
    plain: list[int] = []
    fake_assistant.ingest([folder], progress=lambda d, t, n: plain.append(d))  # no chunks()
    assert plain == [0, 1, 2, 3]


def test_without_a_terminal_progress_goes_to_stderr_as_lines(fake_assistant, tmp_path: Path):
    import io
    import sys

    from ingest.report import progress_bar

    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(2):
        (folder / f"{n}.txt").write_text(f"{n}번 문서의 첫 문장이다. 둘째 문장이다.")
    err = io.StringIO()
    real, sys.stderr = sys.stderr, err
    try:
        with progress_bar() as progress:
            fake_assistant.ingest([folder], progress=progress)
            progress.detail("scan.pdf: page 1/2 (OCR)")  # type: ignore[attr-defined]
            progress.detail("scan.pdf: page 2/2 (OCR)")  # type: ignore[attr-defined]
            progress.detail("big.pdf: page 7/90")  # type: ignore[attr-defined]
            progress.detail("big.pdf: page 8/90")  # type: ignore[attr-defined]
    finally:
        sys.stderr = real
    lines = err.getvalue().splitlines()
    assert lines[:2] == ["[1/2] 0.txt", "[2/2] 1.txt"]
    assert any(line.endswith("chunks embedded") for line in lines)
    assert "  scan.pdf: page 2/2 (OCR)" in lines  # OCR pages are never throttled
    assert "  big.pdf: page 8/90" not in lines  # other page lines at most once a second
