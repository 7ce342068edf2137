"""Which files a folder yields, under which ids: links stay inside, ids are unique per batch."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from ingest.reader import collect_sources


def _outcomes(report) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {o.doc_id: (o.status, o.reason) for o in report.outcomes}


def test_links_are_followed_only_inside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("비밀", encoding="utf-8")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "real.txt").write_text("본문", encoding="utf-8")
    os.symlink(root / "real.txt", root / "alias.txt")
    os.symlink(outside, root / "passwd.txt")
    os.symlink(root / "loop.txt", root / "loop.txt")
    found = {s.doc_id: s.problem for s in collect_sources([root])}
    assert found["real.txt"] == ""
    assert found["alias.txt"] == ""
    assert "outside the ingested folder" in found["passwd.txt"]
    assert "symbolic link loop" in found["loop.txt"]
    allowed = {s.doc_id: s.problem for s in collect_sources([root], allow_outside=True)}
    assert allowed["passwd.txt"] == ""


def test_an_outside_link_fails_alone_and_is_never_indexed(fake_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash", encoding="utf-8")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("고래는 바다에 산다. 펭귄은 남극에 산다.", encoding="utf-8")
    os.symlink(tmp_path / "passwd", root / "passwd.txt")
    report = fake_assistant.ingest([root])
    got = _outcomes(report)
    assert got["good.txt"][0] == "added"
    assert got["passwd.txt"][0] == "failed"
    assert "outside the ingested folder" in got["passwd.txt"][1]
    assert [d.doc_id for d in fake_assistant.documents()] == ["good.txt"]


def test_two_files_with_one_id_in_a_batch_fail_only_the_second(
    fake_assistant, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "report.txt").write_text("가 보고서의 첫 문장이다.", encoding="utf-8")
    (tmp_path / "b" / "report.txt").write_text("나 보고서는 내용이 다르다.", encoding="utf-8")
    nfd = unicodedata.normalize("NFD", "보고.txt")
    (tmp_path / "a" / "보고.txt").write_text("합성형 이름의 파일이다.", encoding="utf-8")
    (tmp_path / "b" / nfd).write_text("분해형 이름의 파일이다.", encoding="utf-8")
    report = fake_assistant.ingest(
        [tmp_path / "a" / "report.txt", tmp_path / "b" / "report.txt",
         tmp_path / "a" / "보고.txt", tmp_path / "b" / nfd]
    )  # fmt: skip
    statuses = sorted((o.doc_id, o.status) for o in report.outcomes)
    assert statuses == [
        ("report.txt", "added"),
        ("report.txt", "failed"),
        ("보고.txt", "added"),
        ("보고.txt", "failed"),
    ]
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert all("same document id" in o.reason for o in failed)
    assert sorted(d.doc_id for d in fake_assistant.documents()) == ["report.txt", "보고.txt"]
