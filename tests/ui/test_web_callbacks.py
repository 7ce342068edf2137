"""The 문서 tab's 웹 주소 box: callbacks with the fake embedder and a local page server."""

from __future__ import annotations

import gradio as gr
import pytest

import ui
from assistant import ui_callbacks as cb
from assistant.build import build_assistant
from ingest.reader import IngestReport


@pytest.fixture
def web_assistant(settings, fake_embedder):
    assistant = build_assistant(
        settings.model_copy(update={"web_allow_private": True}), embedder=fake_embedder
    )
    yield assistant
    assistant.index.close()


def test_an_address_is_fetched_and_shown_like_an_upload(web_assistant, page_server) -> None:
    url = page_server.url("/html/newspim_1.html")
    calls: list[tuple] = []
    result = cb.add_url(
        web_assistant, f"  {url}  ", progress=lambda p, desc: calls.append((p, desc))
    )
    [row] = result.outcomes
    assert row[:2] == [url, "추가됨"]
    assert row[2] > 0
    assert result.failed == 0
    assert "웹 주소 1개 처리" in result.summary
    assert "추가됨 1" in result.summary
    assert calls[0] == ((0, 1), f"{url} 가져오는 중")
    assert calls[-1] == ((1, 1), "완료")
    assert url in [r[1] for r in cb.document_rows(web_assistant)]

    again = cb.add_url(web_assistant, url)
    assert again.outcomes[0][1] == "변경 없음"


def test_a_failed_address_names_the_reason(web_assistant, page_server) -> None:
    url = page_server.route("/photo.png", b"\x89PNG....", content_type="image/png")
    result = cb.add_url(web_assistant, url + "#top")
    [row] = result.outcomes
    assert row[:2] == [url, "실패"]
    assert row[3].startswith("unsupported content type 'image/png'")  # the row names the URL
    assert result.failed == 1
    assert "실패 1" in result.summary


def test_an_address_without_a_scheme_gets_https(web_assistant, monkeypatch) -> None:
    asked: list[str] = []

    def add_url(url: str, **_: object) -> IngestReport:
        asked.append(url)
        return IngestReport()

    monkeypatch.setattr(web_assistant, "add_url", add_url)
    cb.add_url(web_assistant, "news.example.kr/a/1")
    assert asked == ["https://news.example.kr/a/1"]


def test_an_empty_address_asks_for_one(web_assistant) -> None:
    with pytest.raises(gr.Error, match="웹 주소"):
        cb.add_url(web_assistant, "  ")


def test_the_documents_tab_has_the_address_box(web_assistant) -> None:
    app = ui.build_app(web_assistant)
    boxes = [b for b in app.blocks.values() if isinstance(b, gr.Textbox) and b.label == "웹 주소"]
    assert len(boxes) == 1
    assert boxes[0].elem_id == "web-url"
    buttons = [b for b in app.blocks.values() if isinstance(b, gr.Button)]
    assert any(b.elem_id == "add-url" and b.value == "가져오기" for b in buttons)
