"""OCR with Tesseract: the real scanned bill page, image files, time limits, switches, tables."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from ingest import ocr
from ingest.errors import IngestError
from ingest.loaders import LOADERS, load_bytes, supported
from ingest.ocr import load_image, ocr_pdf_page, tesseract_available
from ingest.ocr_quality import character_error_rate
from ingest.records import LoadOptions
from ingest.rules import find_tables

SHARED = Path(__file__).resolve().parents[3] / "shared"
if not (SHARED / "realdocs").exists():
    SHARED = Path("/work/shared")
PDF_DIR = SHARED / "realdocs" / "pdf"
SCAN = PDF_DIR / "scan_bill_p1_image_only.pdf"
BILL = PDF_DIR / "bill_2125318.pdf"  # the scan is its page 1; its text layer is the reference
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")  # Debian fonts-nanum

needs_tesseract = pytest.mark.skipif(
    not tesseract_available(), reason="tesseract with Korean data is not installed"
)


def text_layer(path: Path, index: int) -> str:
    pdf = pdfium.PdfDocument(path)
    try:
        return pdf[index].get_textpage().get_text_range()
    finally:
        pdf.close()


def page_image(path: Path, index: int, dpi: int = 300) -> Image.Image:
    pdf = pdfium.PdfDocument(path)
    try:
        return pdf[index].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        pdf.close()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


@pytest.fixture(scope="module")
def scanned_text() -> str:
    """OCR of the real scanned bill page with the default options, read once for the tests."""
    if not tesseract_available():
        pytest.skip("tesseract with Korean data is not installed")
    return ocr_pdf_page(SCAN.read_bytes(), 0, LoadOptions(), name=SCAN.name)


@needs_tesseract
@pytest.mark.slow
def test_scanned_page_character_error_rate_is_within_target(scanned_text: str) -> None:
    reference = text_layer(BILL, 0)
    assert character_error_rate(reference, scanned_text).rate <= 0.06
    assert character_error_rate(reference, scanned_text, spaces=True).rate <= 0.06


@needs_tesseract
@pytest.mark.slow
def test_scanned_page_answers_its_questions(scanned_text: str) -> None:
    questions = [
        json.loads(line)
        for line in (SHARED / "evaldata" / "realdocs_qa.jsonl").read_text().splitlines()
        if line.strip()
    ]
    about_scan = [q for q in questions if q.get("source") == SCAN.name]
    assert len(about_scan) == 3
    for question in about_scan:
        assert any(answer in scanned_text for answer in question["answers"]), question
    # the ruled box of the bill number is read as a table row
    assert "| 의 안 번 호 | 25318 |" in scanned_text.splitlines()


@needs_tesseract
@pytest.mark.slow
@pytest.mark.skipif(not NANUM.exists(), reason="fonts-nanum is not installed")
def test_korean_and_english_words_are_both_read() -> None:
    from PIL import ImageFont

    image = Image.new("L", (2480, 300), 255)
    font = ImageFont.truetype(str(NANUM), 58)  # 14 pt at 300 DPI
    draw = ImageDraw.Draw(image)
    draw.text((100, 60), "NVIDIA H100 칩은 ChatGPT 같은 LLM 학습에 쓰인다.", fill=0, font=font)
    draw.text((100, 170), "탄소중립 사회로의 이행과 추진 과정에서 모든 국민의", fill=0, font=font)
    text = ocr.ocr_image(encode(image, "PNG", dpi=(300, 300)), LoadOptions())
    for word in ("NVIDIA", "H100", "ChatGPT", "LLM", "학습에", "탄소중립", "사회로의", "국민의"):
        assert word in text
    # Korean alone cannot read the English words
    korean_only = ocr.ocr_image(encode(image, "PNG"), LoadOptions(ocr_languages="kor"))
    assert "NVIDIA" not in korean_only


@needs_tesseract
@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("JPEG", ".jpg")])
def test_image_file_round_trips_through_load_image(fmt: str, suffix: str) -> None:
    data = encode(page_image(BILL, 1), fmt, dpi=(300, 300))
    lines: list[str] = []
    name = f"bill_page2{suffix}"
    loaded = load_bytes(name, data, LoadOptions(progress=lines.append))
    assert loaded.format == "image"
    assert loaded.meta == {"pages": 1, "ocr_pages": [1]}
    assert "\f" not in loaded.text
    assert character_error_rate(text_layer(BILL, 1), loaded.text).rate <= 0.05
    assert lines == [f"{name}: page 1/1 (OCR)"]


@needs_tesseract
def test_transparent_and_turned_images_are_read_upright_on_white() -> None:
    from PIL import ImageFont

    text = Image.new("RGBA", (700, 90), (0, 0, 0, 0))  # black text on transparent pixels
    ImageDraw.Draw(text).text((10, 10), "Invoice 2024 total", fill=(0, 0, 0, 255),
                              font=ImageFont.load_default(size=48))  # fmt: skip
    assert "Invoice 2024 total" in ocr.ocr_image(encode(text, "PNG"), LoadOptions())
    on_white = Image.alpha_composite(Image.new("RGBA", text.size, "white"), text)
    turned = on_white.convert("L").rotate(90, expand=True)  # stored on its side: EXIF turns it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    jpeg = encode(turned.convert("RGB"), "JPEG", exif=exif, quality=95)
    assert "Invoice 2024 total" in ocr.ocr_image(jpeg, LoadOptions())


@needs_tesseract
@pytest.mark.slow
def test_multi_page_tiff_gives_one_page_per_frame() -> None:
    frames = [page_image(BILL, 2), page_image(BILL, 4)]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    lines: list[str] = []
    loaded = load_image("bill.tiff", data, LoadOptions(progress=lines.append))
    pages = loaded.text.split("\f")
    assert len(pages) == 2
    assert loaded.meta == {"pages": 2, "ocr_pages": [1, 2]}
    for page, index in zip(pages, (2, 4), strict=True):
        assert character_error_rate(text_layer(BILL, index), page).rate <= 0.08
    assert lines == ["bill.tiff: page 1/2 (OCR)", "bill.tiff: page 2/2 (OCR)"]


@needs_tesseract
def test_a_page_over_its_time_limit_is_stopped() -> None:
    options = LoadOptions(ocr_page_timeout=0.05)
    start = time.monotonic()
    with pytest.raises(IngestError, match=r"^scan\.pdf: page 1: OCR took longer than 0\.05 s"):
        ocr_pdf_page(SCAN.read_bytes(), 0, options, name="scan.pdf")
    assert time.monotonic() - start < 10  # killed, not waited for


def test_image_without_ocr_says_so() -> None:
    data = encode(Image.new("L", (50, 50), 255), "PNG")
    with pytest.raises(IngestError) as caught:
        load_image("photo.png", data, LoadOptions(ocr=False))
    assert str(caught.value) == (
        "photo.png: image file needs OCR, which is switched off (JARYO_OCR)"
    )


def test_missing_tesseract_or_korean_data_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = encode(Image.new("L", (50, 50), 255), "PNG")
    monkeypatch.setattr(ocr, "_installed_languages", lambda: None)
    with pytest.raises(IngestError, match="install tesseract-ocr and tesseract-ocr-kor, or set "):
        load_image("photo.png", data, LoadOptions())
    assert not tesseract_available()
    monkeypatch.setattr(ocr, "_installed_languages", lambda: frozenset({"eng", "osd"}))
    with pytest.raises(IngestError, match=r"^photo\.png: OCR needs Tesseract language data kor "):
        load_image("photo.png", data, LoadOptions())


def test_corrupt_image_is_an_ingest_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "_installed_languages", lambda: frozenset({"eng", "kor"}))
    png = encode(Image.new("L", (50, 50), 255), "PNG")
    for data in (b"not an image at all", png[: len(png) // 2]):
        with pytest.raises(IngestError, match=r"^scan\.png: "):
            load_image("scan.png", data, LoadOptions())


def test_image_extensions_are_registered() -> None:
    for name in ("a.png", "b.JPG", "c.jpeg", "d.tif", "e.TIFF"):
        assert supported(name)
    assert all(LOADERS[suffix] is load_image for suffix in ocr.IMAGE_SUFFIXES)


def test_ruled_grid_is_found_cell_by_cell() -> None:
    page = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(page)
    for y in (100, 250, 400):  # a 2 x 2 grid, 300 DPI
        draw.line([(100, y), (900, y)], fill=0, width=3)
    for x in (100, 500, 900):
        draw.line([(x, 100), (x, 400)], fill=0, width=3)
    for x, y in ((200, 150), (600, 150), (200, 300), (600, 300)):
        draw.rectangle([x, y, x + 120, y + 40], fill=0)  # stands for the text of each cell
    draw.rectangle([100, 600, 900, 800], outline=0, width=3)  # one box alone: not a table
    (table,) = find_tables(np.asarray(page), 300)
    assert [len(row) for row in table.rows] == [2, 2]
    top, left, bottom, right = table.box
    assert max(top, left) <= 100
    assert bottom >= 400
    assert right >= 900
    for row, y in zip(table.rows, (150, 300), strict=True):
        for (c_top, c_left, c_bottom, c_right), x in zip(row, (200, 600), strict=True):
            assert c_top < y < y + 40 < c_bottom  # each cell holds its own block of "text"
            assert c_left < x < x + 120 < c_right


def test_error_rate_does_not_depend_on_reading_order() -> None:
    reference = "첫째 줄입니다\n둘째 줄입니다\n- 1 -"
    assert character_error_rate(reference, "- 1 -\n둘째 줄입니다\n첫째 줄입니다").rate == 0
    inserted = character_error_rate(reference, "첫째 줄입니다\n잡음\n둘째 줄입니다\n- 1 -")
    assert inserted.errors == 2
    shorter = character_error_rate("하나 둘 셋\n넷 다섯 여섯\n- 1 -", "하나 둘\n넷 다섯 여섯")
    assert shorter.errors == 1 + 3  # 셋 and the page number are missing
    spaced = character_error_rate("가나 다라", "가 나다라", spaces=True)
    assert (spaced.errors, spaced.reference_chars) == (2, 5)


@needs_tesseract
def test_a_scanned_pdf_is_read_by_ocr_and_its_passages_are_marked(
    fake_assistant, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from assistant.answers import Source

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / SCAN.name).write_bytes(SCAN.read_bytes())
    lines: list[str] = []

    class Lines:
        def __call__(self, done: int, total: int, name: str) -> None:
            pass

        def detail(self, line: str) -> None:
            lines.append(line)

    report = fake_assistant.ingest([folder], progress=Lines())
    assert report.count("added") == 1, report
    assert f"{SCAN.name}: page 1/1 (OCR)" in lines
    hit = fake_assistant.search("의안번호 25318 발의연월일", k=1, mode="bm25")[0]
    assert hit.chunk.ocr
    assert hit.chunk.pages == "p. 1"
    assert Source(1, hit).location == "p. 1 · 구절 1 · OCR 인식"


@needs_tesseract
def test_an_image_page_inside_a_text_pdf_is_read_by_ocr() -> None:
    from pypdf import PdfReader, PdfWriter

    from ingest.pdf import load_pdf

    mixed = PdfWriter()
    mixed.append(BILL, pages=(1, 3))
    mixed.add_page(PdfReader(SCAN).pages[0])
    out = io.BytesIO()
    mixed.write(out)
    loaded = load_pdf("mixed.pdf", out.getvalue(), LoadOptions())
    assert loaded.meta["ocr_pages"] == [3]
    assert "textless_pages" not in loaded.meta
    assert "25318" in loaded.text.split("\f")[2]
    with pytest.raises(IngestError, match=r"OCR is switched off \(JARYO_OCR=false\)"):
        load_pdf("scan.pdf", SCAN.read_bytes(), LoadOptions(ocr=False))
