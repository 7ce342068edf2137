"""The extracted-text budget (JARYO_MAX_TEXT_CHARS) holds for every format: plain text,
Markdown and images read by OCR as well as the formats parsed in the bounded worker."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.errors import IngestError
from ingest.loaders import load_bytes
from ingest.ocr import tesseract_available
from ingest.records import LoadOptions
from ingest.settings import Settings

BUDGET = r"추출한 글자 수가 한도보다 많습니다 — .* characters of text, more than 1,000 "
BUDGET += r"\(JARYO_MAX_TEXT_CHARS\)"


@pytest.mark.parametrize("name", ["long.txt", "long.md", "long.markdown"])
def test_text_file_over_the_character_budget_fails_naming_it(name: str) -> None:
    data = ("한국어 문장이다. " * 200).encode("utf-8")  # 2,000 characters
    with pytest.raises(IngestError, match=rf"^{name}: {BUDGET}"):
        load_bytes(name, data, LoadOptions(max_text_chars=1000))
    assert load_bytes(name, data, LoadOptions(max_text_chars=2000)).text.startswith("한국어")


def test_utf16_text_counts_characters_not_bytes() -> None:
    data = ("가" * 900).encode("utf-16")  # 1,802 bytes, 900 characters: within the budget
    assert len(load_bytes("wide.txt", data, LoadOptions(max_text_chars=1000)).text) == 900


def _page(words: str) -> Image.Image:
    image = Image.new("L", (1400, 160), 255)
    font = ImageFont.load_default(size=48)
    ImageDraw.Draw(image).text((20, 40), words, fill=0, font=font)
    return image


@pytest.mark.skipif(not tesseract_available(), reason="tesseract is not installed")
def test_ocr_of_a_multi_page_image_stops_at_the_character_budget() -> None:
    pages = [_page(f"Invoice page {n} total amount due") for n in range(1, 6)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], dpi=(300, 300))
    lines: list[str] = []
    options = LoadOptions(max_text_chars=40, progress=lines.append)
    with pytest.raises(IngestError, match=r"^scan\.tiff: .*more than 40 \(JARYO_MAX_TEXT_CHARS\)"):
        load_bytes("scan.tiff", buffer.getvalue(), options)
    # each page reads ~33 characters: the budget stops it on the second of five
    assert lines == ["scan.tiff: page 1/5 (OCR)", "scan.tiff: page 2/5 (OCR)"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A budget of 1,000 characters, so the over-budget file needs no big text."""
    return Settings(data_dir=tmp_path / "data", model="fake-bigram", max_text_chars=1000)


def test_over_budget_text_fails_alone_in_a_batch(tmp_path: Path, fake_assistant) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "short.txt").write_text("짧은 문서는 들어간다.", encoding="utf-8")
    (folder / "long.md").write_text("# 긴 문서\n" + "길다. " * 500, encoding="utf-8")
    outcomes = {o.doc_id: o for o in fake_assistant.ingest([folder]).outcomes}
    assert outcomes["short.txt"].status == "added"
    assert outcomes["long.md"].status == "failed"
    assert "JARYO_MAX_TEXT_CHARS" in outcomes["long.md"].reason
    assert [d.doc_id for d in fake_assistant.documents()] == ["short.txt"]
