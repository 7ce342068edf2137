"""In a real Chromium: an answer quoting a Markdown image or an <img> tag fetches nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeEmbedder, PageServer
from tests.service.conftest import Live, service_settings, start_live
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, ask, last_answer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def beacon() -> Iterator[PageServer]:
    server = PageServer()
    server.route("/beacon", b"GIF89a", content_type="image/gif")
    server.route("/beacon2", b"GIF89a", content_type="image/gif")
    yield server
    server.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    running = start_live(service_settings(tmp_path / "data"), FakeEmbedder())
    yield running
    running.stop()


@pytest.fixture
def page(live: Live) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        pg = browser.new_page(locale="ko-KR")
        pg.set_default_timeout(30_000)
        pg.goto(f"{live.url}/")
        pg.wait_for_selector("#question textarea")
        yield pg
        browser.close()


def test_an_answer_quoting_images_makes_no_request(
    page: Any, live: Live, beacon: PageServer, tmp_path: Path
) -> None:
    doc = tmp_path / "vault.txt"
    doc.write_text(
        "금고 보고서\n\n"
        f"금고의 비밀번호는 ![x]({beacon.url('/beacon')}) 에 적혀 있다. "
        f'금고의 열쇠는 <img src="{beacon.url("/beacon2")}"> 관리실에 있다.\n',
        encoding="utf-8",
    )
    live.assistant.ingest([doc])
    ask(page, "금고의 비밀번호와 열쇠는 어디에 있나?")
    page.wait_for_timeout(500)
    assert beacon.requests == []
    shown = last_answer(page)
    assert f"![x]({beacon.url('/beacon')})" in shown  # quoted as text, not drawn
    assert "<img" in shown
    assert page.locator('#chat [data-testid="bot"] img').count() == 0
    policy = live.client.get("/").headers["content-security-policy"]
    assert policy.startswith("img-src 'self' data:")
