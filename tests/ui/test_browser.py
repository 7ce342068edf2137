"""End to end in a real Chromium: the app on a free port, the real default model, the corpus."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.build import build_assistant
from ingest.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.quality, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "딥시크가 주장한 V3 개발 비용은?"
WHALE_FACT = "제주 파란고래 연구소의 2026년 예산은 417억원이다."
WHALE_QUESTION = "제주 파란고래 연구소의 2026년 예산은?"
ANSWER_TIMEOUT_MS = 120_000

# Records when the newest answer bubble first gets text and when its sources appear.
INSTALL_TIMER = """(before) => {
  const t = {start: performance.now(), first: null, sources: null};
  window.__answerTimer = t;
  const check = () => {
    const bots = document.querySelectorAll('#chat [data-testid="bot"]');
    const last = bots[bots.length - 1];
    if (t.first === null && bots.length > before && last.innerText.trim())
      t.first = performance.now();
    if (t.first !== null && t.sources === null && document.querySelector('#sources .sources'))
      t.sources = performance.now();
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


@dataclass
class Live:
    url: str
    assistant: Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Live]:
    """The real server `jaryo serve` runs (UI, API and MCP on one port; real model, shipped
    corpus), in a thread of this process on a free port."""
    import ui

    settings = Settings(data_dir=tmp_path_factory.mktemp("browser-data"), port=_free_port())
    assistant = build_assistant(settings, embedder=real_embedder)
    assistant.ingest([CORPUS])
    server = ui.BackgroundServer(ui.create_app(assistant), "127.0.0.1", settings.port).start()
    try:
        yield Live(f"{server.url}/", assistant)
    finally:
        server.stop()
        assistant.index.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live: Live) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(live.url)
    pg.wait_for_selector("#question textarea")
    yield pg
    context.close()


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def ask(page: Any, question: str) -> dict[str, float]:
    """Ask in the chat and wait for the answer's sources; returns browser-side timings (s)."""
    before = page.locator('#chat [data-testid="bot"]').count()
    page.fill("#question textarea", question)
    page.evaluate(INSTALL_TIMER, before)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "window.__answerTimer.sources !== null", timeout=ANSWER_TIMEOUT_MS, polling=50
    )
    t = page.evaluate("window.__answerTimer")
    return {
        "first_token": (t["first"] - t["start"]) / 1000,
        "total": (t["sources"] - t["start"]) / 1000,
    }


def last_answer(page: Any) -> str:
    return str(page.locator('#chat [data-testid="bot"]').last.inner_text())


def source_files(page: Any) -> list[str]:
    return [
        m.group(1)
        for m in (
            re.search(r"([\w.-]+\.(?:txt|md|pdf|html?|docx|hwpx))", t)
            for t in page.locator("#sources .source-meta").all_inner_texts()
        )
        if m
    ]


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def upload(page: Any, files: list[Path]) -> None:
    """Choose files in the documents tab, wait for them to upload, and add them to the index."""
    open_tab(page, "문서")
    page.locator("#upload input[type=file]").set_input_files([str(f) for f in files])
    for f in files:  # uploaded to Gradio's temporary folder and listed
        page.locator(f'#upload td.filename[aria-label="{f.name}"]').wait_for(timeout=60_000)
    page.click("#add-docs")
    page.locator("#upload-status").get_by_text("파일 처리").wait_for(timeout=ANSWER_TIMEOUT_MS)


# -- 1. a seed question ----------------------------------------------------------------------


def test_seed_question_is_cited_with_highlighted_evidence(page, tmp_path: Path) -> None:
    examples = page.locator("#chat").get_by_text(QUESTION)
    assert examples.count() >= 1, "example questions from the corpus on first open"
    shot(page, tmp_path, "1a-first-open")

    timings = ask(page, QUESTION)
    print(
        f"\nseed question in the browser: time to first token {timings['first_token']:.2f} s, "
        f"total answer time (sources shown) {timings['total']:.2f} s"
    )
    answer = last_answer(page)
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer)]
    assert numbers, answer
    card = page.locator("#sources details.source-card", has_text="segye-2025-deepseek.txt").first
    assert card.get_attribute("open") is not None
    marks = card.locator("mark").all_inner_texts()
    assert any("558만달러" in m for m in marks), marks

    n = int(card.get_attribute("id").removeprefix("source-"))  # type: ignore[union-attr]
    assert n in numbers
    link = page.locator(f'#chat [data-testid="bot"] a.cite[href="#source-{n}"]').last
    link.click()
    page.wait_for_function(f"location.hash === '#source-{n}'")
    assert page.locator(f"#source-{n}").is_visible()
    assert page.context.pages == [page], "a citation opens no new tab"
    shot(page, tmp_path, "1b-answer-with-sources")

    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    warm = ask(page, QUESTION)
    print(
        f"same question again (warm): time to first token {warm['first_token']:.2f} s, "
        f"total {warm['total']:.2f} s"
    )


def test_example_question_is_asked_on_click(page) -> None:
    page.locator("#chat").get_by_text(QUESTION).first.click()
    page.locator("#sources .sources").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "558만달러" in last_answer(page)


# -- 2. upload, ask, delete, ask -------------------------------------------------------------


def test_uploaded_fact_is_cited_then_forgotten_after_delete(page, tmp_path: Path) -> None:
    doc = tmp_path / "jeju-blue-whale-institute.txt"
    doc.write_text(
        f"제주 파란고래 연구소 연례 보고\n\n{WHALE_FACT} 연구소는 서귀포에 있다.\n",
        encoding="utf-8",
    )
    upload(page, [doc])
    assert "추가됨" in page.locator("#outcomes").inner_text()
    assert doc.name in page.locator("#documents").inner_text()
    shot(page, tmp_path, "2a-uploaded")

    open_tab(page, "대화")
    ask(page, WHALE_QUESTION)
    assert doc.name in source_files(page)
    assert "417억원" in last_answer(page)
    shot(page, tmp_path, "2b-new-fact-cited")

    open_tab(page, "문서")
    page.locator("#documents").get_by_text(doc.name).first.click()
    page.wait_for_function(
        "(name) => document.querySelector('#doc-pick input').value.includes(name)", arg=doc.name
    )
    page.click("#delete")
    confirm = page.locator("#confirm")
    confirm.get_by_text("삭제할까요").wait_for()
    shot(page, tmp_path, "2c-delete-confirmation")
    page.click("#confirm-delete")
    page.locator("#delete-status").get_by_text("삭제했습니다").wait_for()
    assert not confirm.is_visible()
    page.wait_for_function(
        "(name) => !document.querySelector('#documents').innerText.includes(name)", arg=doc.name
    )

    open_tab(page, "대화")
    ask(page, WHALE_QUESTION)
    assert doc.name not in source_files(page)
    assert "417억원" not in last_answer(page)
    shot(page, tmp_path, "2d-deleted-not-cited")


# -- 3. a corrupt PDF next to a good file ----------------------------------------------------


def test_corrupt_pdf_fails_with_reason_and_the_rest_is_ingested(page, tmp_path: Path) -> None:
    bad = tmp_path / "broken-report.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a real pdf\n")
    good = tmp_path / "busan-harbor-notes.txt"
    good.write_text(
        "부산항 메모\n\n부산항 신항의 2025년 물동량은 2400만TEU였다.\n", encoding="utf-8"
    )
    upload(page, [bad, good])
    rows = page.locator("#outcomes").inner_text()
    shot(page, tmp_path, "3-corrupt-pdf")
    failed = re.search(rf"{re.escape(bad.name)}\s+실패\s+0\s+(\S[^\n]+)", rows)
    assert failed, rows
    assert len(failed.group(1)) > 5  # the reason is shown
    assert re.search(rf"{re.escape(good.name)}\s+추가됨\s+[1-9]", rows), rows
    docs = page.locator("#documents").inner_text()
    assert good.name in docs
    assert bad.name not in docs


# -- 3b. a web page by address ---------------------------------------------------------------


def test_web_address_is_fetched_and_cited(
    page, live: Live, page_server, monkeypatch, tmp_path
) -> None:
    monkeypatch.setattr(
        live.assistant,
        "settings",
        live.assistant.settings.model_copy(update={"web_allow_private": True}),
    )
    url = page_server.url("/html/newspim_1.html")
    open_tab(page, "문서")
    page.fill("#web-url textarea", url)
    page.click("#add-url")
    page.locator("#upload-status").get_by_text("웹 주소 1개 처리").wait_for(
        timeout=ANSWER_TIMEOUT_MS
    )
    assert re.search(rf"{re.escape(url)}\s+추가됨\s+[1-9]", page.locator("#outcomes").inner_text())
    page.wait_for_function(
        "(url) => document.querySelector('#documents').innerText.includes(url)", arg=url
    )
    assert page.locator("#web-url textarea").input_value() == ""
    shot(page, tmp_path, "3b-web-page-added")

    page.fill("#web-url textarea", page_server.url("/nothing.html"))
    page.press("#web-url textarea", "Enter")
    page.wait_for_function(
        "document.querySelector('#outcomes').innerText.includes('the server answered HTTP 404')"
    )
    assert page.locator("#web-url textarea").input_value().endswith("/nothing.html")  # kept to fix

    open_tab(page, "대화")
    ask(page, "CNBC에 따르면 어닝 경고를 내놓은 S&P500 기업은 몇 개인가?")
    assert url in page.locator("#sources .source-meta").first.inner_text()
    assert "150여개" in last_answer(page)
    shot(page, tmp_path, "3c-web-page-cited")


# -- 4. a follow-up question -----------------------------------------------------------------


def test_followup_uses_the_conversation(page, tmp_path: Path) -> None:
    ask(page, "딥시크는 어느 도시의 스타트업이야?")
    assert "segye-2025-deepseek.txt" in source_files(page)
    ask(page, "그 회사가 주장한 V3 개발 비용은?")
    answer = last_answer(page)
    assert page.locator('#chat [data-testid="user"]').count() == 2
    assert "segye-2025-deepseek.txt" in source_files(page)
    assert "558만달러" in page.locator("#sources").inner_text()
    shot(page, tmp_path, "4-followup")

    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    assert page.locator("#sources .sources").count() == 0

    assert "558만달러" in answer


# -- what the server exposes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "gradio_api/file=/etc/passwd",
        "file=/etc/passwd",
        "gradio_api/file=pyproject.toml",
        "file=pyproject.toml",
        f"gradio_api/file={ROOT / 'pyproject.toml'}",
        f"gradio_api/file={ROOT / 'corpus' / 'segye-2025-deepseek.txt'}",
    ],
)
def test_server_does_not_serve_local_files(live: Live, path: str) -> None:
    r = httpx.get(live.url + path, timeout=10)
    assert r.status_code in (403, 404), (path, r.status_code)
    assert "root:" not in r.text


def test_server_does_not_serve_the_data_folder(live: Live) -> None:
    stored = live.assistant.settings.uploads_dir
    stored.mkdir(parents=True, exist_ok=True)
    secret = stored / "probe.txt"
    secret.write_text("secret", encoding="utf-8")
    r = httpx.get(f"{live.url}gradio_api/file={secret}", timeout=10)
    assert r.status_code in (403, 404)
