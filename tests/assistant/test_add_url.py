"""Adding web pages by address through the Assistant and the CLI (fake embedder, local server)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.build import build_assistant

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT.parent / "shared" / "realdocs" / "html"


@pytest.fixture
def web_assistant(settings, fake_embedder):
    """An assistant allowed to fetch from this machine (the local test server)."""
    assistant = build_assistant(
        settings.model_copy(update={"web_allow_private": True}), embedder=fake_embedder
    )
    yield assistant
    assistant.index.close()


def test_a_page_is_added_then_unchanged_then_updated(web_assistant, page_server) -> None:
    first = (HTML / "newspim_1.html").read_bytes()
    url = page_server.route("/live", first, content_type="text/html; charset=utf-8")

    added = web_assistant.add_url(url)
    [outcome] = added.outcomes
    assert (outcome.doc_id, outcome.status) == (url, "added")
    assert outcome.chunks > 0
    [doc] = web_assistant.documents()
    assert (doc.doc_id, doc.source, doc.format) == (url, url, "html")
    assert doc.meta["url"] == url
    assert doc.meta["fetched_at"]
    snapshot = web_assistant.settings.uploads_dir / f"{hashlib.sha256(first).hexdigest()}.html"
    assert doc.meta["snapshot"] == snapshot.name
    assert snapshot.read_bytes() == first

    # the same address, written differently, is the same document
    again = web_assistant.add_url(url.replace("http://", "HTTP://") + "#top")
    assert [(o.doc_id, o.status) for o in again.outcomes] == [(url, "unchanged")]

    changed = (HTML / "news-naver.html").read_bytes()
    page_server.route("/live", changed, content_type="text/html; charset=utf-8")
    updated = web_assistant.add_url(url)
    assert [(o.doc_id, o.status) for o in updated.outcomes] == [(url, "updated")]
    assert [d.doc_id for d in web_assistant.documents()] == [url]
    hits = web_assistant.search("클로로퀸 포스페이트 생산 재개", k=3)
    assert hits
    assert all(h.chunk.doc_id == url for h in hits)
    assert not any("애널리스트" in h.chunk.text for h in hits)  # the old text is gone
    assert (
        web_assistant.settings.uploads_dir / f"{hashlib.sha256(changed).hexdigest()}.html"
    ).exists()


def test_a_failed_fetch_is_one_failed_outcome(web_assistant, page_server, settings) -> None:
    report = web_assistant.add_url(page_server.url("/missing.html"))
    [outcome] = report.outcomes
    assert outcome.status == "failed"
    assert (
        outcome.reason
        == f"{page_server.url('/missing.html')}: the server answered HTTP 404 Not Found"
    )
    assert web_assistant.documents() == []

    strict = build_assistant(settings, embedder=web_assistant.embedder)  # default: no loopback
    try:
        [refused] = strict.add_url(page_server.url("/html/news-naver.html")).outcomes
    finally:
        strict.index.close()
    assert refused.status == "failed"
    assert "is a private, loopback or link-local address" in refused.reason


def test_sync_keeps_web_pages(web_assistant, page_server, tmp_path: Path) -> None:
    url = page_server.url("/html/mozilla_bug9357.html")
    assert web_assistant.add_url(url).outcomes[0].status == "added"
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "note.txt").write_text("동기화할 폴더의 메모입니다.", encoding="utf-8")
    report = web_assistant.ingest([folder], sync=True)
    assert report.count("removed") == 0
    assert {d.doc_id for d in web_assistant.documents()} == {url, "note.txt"}


def test_cli_ingests_files_and_addresses_together(
    settings, fake_embedder, page_server, monkeypatch, tmp_path: Path
) -> None:
    import assistant.build
    from assistant.cli import main

    monkeypatch.setattr(assistant.build, "load_embedder", lambda s: fake_embedder)
    monkeypatch.setenv("JARYO_WEB_ALLOW_PRIVATE", "true")
    note = tmp_path / "note.txt"
    note.write_text("웹 페이지와 함께 넣는 파일입니다.", encoding="utf-8")
    url = page_server.url("/html/chromium_windows-949_noenc.html")
    args = ["--data-dir", str(settings.data_dir), "--model", "fake-bigram"]
    result = CliRunner().invoke(main, [*args, "ingest", "--json", str(note), url])
    assert result.exit_code == 0, result.output
    files = {f["doc_id"]: f["status"] for f in json.loads(result.stdout)["files"]}
    assert files == {"note.txt": "added", url: "added"}
    assert f"[1/1] {url}" in result.stderr  # progress names the address before fetching it

    result = CliRunner().invoke(main, [*args, "docs"])
    assert url in result.output
    assert "windows-949" in result.output  # the page's <title>

    monkeypatch.setenv("JARYO_WEB_ALLOW_PRIVATE", "false")
    result = CliRunner().invoke(main, [*args, "ingest", url])
    assert result.exit_code == 1
    assert "is a private, loopback or link-local address" in result.output
