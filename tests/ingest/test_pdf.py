"""The PDF loader on real Korean PDFs read in place: spacing, joins, headers, tables, columns."""

from __future__ import annotations

import io
import json
import re
from functools import cache
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.pdf import load_pdf
from ingest.pdf_text import Joiner
from ingest.records import Loaded, LoadOptions

REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "pdf"
QA = Path(__file__).resolve().parents[3] / "shared" / "evaldata" / "realdocs_qa.jsonl"

needs_realdocs = pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/realdocs missing")


@cache
def real(name: str) -> Loaded:
    """A real PDF loaded once per test session (the 331-page one takes ~15 s)."""
    return load_pdf(name, (REALDOCS / name).read_bytes(), TEXT_LAYER_ONLY)


TEXT_LAYER_ONLY = LoadOptions(ocr=False)  # these tests are about the text layer; OCR has its own


def flat(text: str) -> str:
    return " ".join(text.split())


@needs_realdocs
def test_word_spacing_that_pypdf_lost_is_kept():
    text = real("assembly_minutes_env_labor.pdf").text
    # pypdf: "폐기물관리법일부개정법률안(이주환의원대표발의)(의안번호 2126073)"
    assert "폐기물관리법 일부개정법률안(이주환 의원 대표발의)(의안번호 2126073)" in text
    # a condensed font whose letters overlap: spaces measured against the usual gap
    fund = real("fund_report_kyobo.pdf").text
    assert "글로벌 증시가 한 달 내 크게 빠졌습니다." in fund


@needs_realdocs
def test_words_broken_at_line_ends_are_joined():
    text = flat(real("assembly_minutes_env_labor.pdf").text)
    # the lines end "...최저임" / "금, ..." and "...기간제노" / "동자의 ..."
    assert "근기법이나 최저임금, 사회보험 등 법령의 예외 적용을 받고 있습니다." in text
    assert "기간제노동자의 근로계약 갱신청구권을 명시하고자 합니다." in text
    assert "최저임 금" not in text
    assert "바랍니 다" not in text
    # a break between two words keeps its space
    assert "물론 65세 이상 고령 및 장애인 노동자" in text


def test_word_wrapped_documents_keep_a_space_at_every_break():
    joiner = Joiner(["미국의 제재가 오히려 중국의", "기술 발전을 촉진하고 있다.", "둘째 문장이다."])
    assert not joiner.syllable_wrapped
    assert joiner.join("중국의 인공지능", "기술 발전을") == "중국의 인공지능 기술 발전을"


def test_syllable_wrapped_documents_join_a_split_word():
    lines = [
        "위원님 여러분 수고 많으셨습니다. 그리고 최저",
        "임금 문제와 노동자의 권리를 말씀드리겠습",
        "니다. 오늘 회의에서 최저임금 문제를 다시 말씀",
        "드리겠습니다. 노동자의 권리 문제는 오늘 다루지",
        "는 않겠습니다. 다시 한 번 위원님 여러분께 감사",
    ]
    joiner = Joiner(lines)
    assert joiner.syllable_wrapped
    assert joiner.join("그리고 최저", "임금 문제와") == "그리고 최저임금 문제와"
    assert joiner.join("말씀드리겠습", "니다. 오늘") == "말씀드리겠습니다. 오늘"
    assert joiner.join("오늘 회의에서", "최저임금 문제를") == "오늘 회의에서 최저임금 문제를"


def test_a_syllable_beside_a_number_is_no_word_of_its_own() -> None:
    """Numbers like "제15조" do not make "조" a word: "조" / "수진" is a name broken at a
    line end, while a number's counter or prefix still ends or starts a word."""
    lines = [
        "위원님 여러분 수고 많으셨습니다. 제15조 제37조 제8조 관련하여 말씀",
        "드리겠습니다. 그리고 40대 노동자의 권리를 말씀드리겠습",
        "니다. 오늘 회의에서 의사일정 제2항을 다시 말씀",
        "드리겠습니다. 노동자의 권리 문제는 오늘 다루지",
        "는 않겠습니다. 다시 한 번 위원님 여러분께 감사",
    ]
    joiner = Joiner(lines)
    assert joiner.syllable_wrapped
    assert joiner.join("사임하시고 조", "수진 위원님께서") == "사임하시고 조수진 위원님께서"
    assert (
        joiner.join("서울 강남에서 40대", "노동자가 기계에") == "서울 강남에서 40대 노동자가 기계에"
    )
    assert joiner.join("채택의 건과 의사일정", "제2항부터") == "채택의 건과 의사일정 제2항부터"


@needs_realdocs
def test_a_name_broken_at_a_line_end_is_joined() -> None:
    text = " ".join(real("assembly_minutes_env_labor.pdf").text.split())
    assert "김형동 위원님께서 사임하시고 조수진 위원님께서" in text
    assert "조 수진" not in text
    assert "16개 법령의 일부개정에 관한" in text  # a counter ends its word
    assert "시행령 일부개정령" in text  # words inside table cells count as the document's words


@needs_realdocs
def test_running_headers_and_page_numbers_appear_at_most_once():
    minutes = real("assembly_minutes_env_labor.pdf").text
    assert minutes.count("제414회-환경노동제1차(2024년5월7일)") == 1  # on 20 pages in the PDF
    patent = real("patent_1020210175798.pdf").text
    assert patent.count("공개특허 10-2023-0087131") == 1
    assert not re.search(r"^- ?\d+ ?-$", patent, re.MULTILINE)  # "- 2 -" page numbers
    # an MSDS repeats its boxed heading (a table) on all 16 pages
    assert real("welding_cert_deoksin.pdf").text.count("문서번호 : CSW-0026") == 1
    # kept once where it first appears, named as the header of every page (a question asks
    # what "각 쪽 머리글" says), and named for title pickers: it is still no title
    header = "머리글(각 쪽): 제414회-환경노동제1차(2024년5월7일) 1"
    assert minutes.splitlines()[0] == header
    assert minutes.count("머리글(각 쪽)") == 1
    assert header in real("assembly_minutes_env_labor.pdf").meta["running_headers"]
    assert patent.count("머리글(각 쪽): 공개특허 10-2023-0087131") == 1


@needs_realdocs
def test_symbol_font_glyphs_are_mapped():
    text = real("KT_5G_terms.pdf").text
    assert not re.search("[\uf000-\uf0ff]", text)  # Wingdings bullets came as private-use
    assert "▪" in text
    assert "\x02" not in text  # PDFium's mark for a hyphen at a line end


def test_symbol_font_times_and_minus(tmp_path: Path):
    data = _symbol_pdf()
    assert load_pdf("area.pdf", data, LoadOptions()).text == "Area 3 × 4 − 1 m2"


@needs_realdocs
def test_a_table_row_is_one_line_with_its_cells():
    text = real("welding_cert_deoksin.pdf").text
    lines = text.splitlines()
    assert "| 구성 성분 |  | CAS No. | TGC-50C | TGC-50G | TGC-80Ni1 |" in lines
    assert "| 니켈 | Nickel(Ni) | 7440-02-0 | - | - | 0.8~1.1 |" in lines
    # table text is not repeated in the running text
    assert all(line.startswith("| ") for line in lines if "Nickel(Ni)" in line)
    kt = real("KT_5G_terms.pdf").text.splitlines()
    assert "| 요금제명 | 월정액 | 음성통화/메시지 | 영상/부가 통화 | 데이터 |" in kt
    assert any(line.startswith("| 초이스 스페셜 | 110,000원 |") for line in kt)


@needs_realdocs
def test_two_column_pages_read_column_by_column():
    pages = real("assembly_minutes_env_labor.pdf").text.split("\f")
    page = flat(pages[6])
    left_end = page.index("대표적인 사회적 기본권입니다.")
    right_start = page.index("노동기본권을 보장받아야 합니다.")
    second_column = page.index("5인 미만 사업장부터 초단시간 노동자는 물론 65세 이상 고령")
    assert left_end < right_start < second_column
    assert "헌법에서 보장된 노동기본권을" in page  # the sentence runs on into the next column


@needs_realdocs
def test_pages_are_separated_by_form_feeds():
    minutes = real("assembly_minutes_env_labor.pdf")
    assert minutes.meta["pages"] == 20
    assert minutes.text.count("\f") == 19
    assert "textless_pages" not in minutes.meta
    assert minutes.title is None  # no /Title in this PDF


@needs_realdocs
def test_an_image_only_page_inside_a_text_pdf_is_reported():
    bill = real("bill_2125318.pdf")
    assert bill.meta["pages"] == 10
    assert bill.meta["textless_pages"] == [6]
    assert bill.text.split("\f")[5] == ""


@needs_realdocs
def test_a_scanned_pdf_is_refused_as_scanned():
    data = (REALDOCS / "scan_bill_p1_image_only.pdf").read_bytes()
    with pytest.raises(IngestError, match=r"^scan\.pdf: PDF has no text layer \(scanned\?\)"):
        load_pdf("scan.pdf", data, TEXT_LAYER_ONLY)


@needs_realdocs
def test_a_scanned_page_with_a_stamp_of_text_counts_as_scanned(build):
    from pypdf import PdfReader, PdfWriter

    def stamped_scan(writer: PdfWriter) -> None:
        page = writer.add_page(PdfReader(REALDOCS / "scan_bill_p1_image_only.pdf").pages[0])
        page.merge_page(PdfReader(io.BytesIO(build.pdf(["사본"]))).pages[0])

    def written(writer: PdfWriter) -> bytes:
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    mixed = PdfWriter()
    mixed.append(REALDOCS / "bill_2125318.pdf", pages=(0, 2))
    stamped_scan(mixed)
    loaded = load_pdf("mixed.pdf", written(mixed), TEXT_LAYER_ONLY)
    assert loaded.meta["pages"] == 3
    assert loaded.meta["textless_pages"] == [3]
    alone = PdfWriter()
    stamped_scan(alone)
    with pytest.raises(IngestError, match=r"no text layer \(scanned\?\)"):
        load_pdf("stamped.pdf", written(alone), TEXT_LAYER_ONLY)


@needs_realdocs
def test_producer_default_titles_are_not_titles(build):
    assert real("fund_report_kyobo.pdf").title is None  # "PowerPoint 프레젠테이션"
    for title in ("PowerPoint 프레젠테이션", "보고서 최종.hwp", "Microsoft Word - 문서1", "  "):
        data = build.pdf(["본문 문장이다."], title=title)
        assert load_pdf("x.pdf", data, LoadOptions()).title is None
    data = build.pdf(["본문이다."], title="AI 패권 보고서")
    assert load_pdf("x.pdf", data, LoadOptions()).title == "AI 패권 보고서"


@needs_realdocs
def test_page_limit_and_progress():
    data = (REALDOCS / "assembly_minutes_env_labor.pdf").read_bytes()
    with pytest.raises(
        IngestError, match=r"^m\.pdf: 쪽수가 .* PDF has 20 pages, more than the limit of 5 \(JARYO_"
    ):
        load_pdf("m.pdf", data, LoadOptions(max_pages=5))
    lines: list[str] = []
    load_pdf("m.pdf", data, LoadOptions(progress=lines.append))
    assert lines[-1] == "m.pdf: page 20/20"


def test_broken_pdfs_get_specific_errors(build):
    good = build.pdf(["본문 문장이다."])
    cases = {
        b"PK\x03\x04 a zip file": r"^x\.pdf: not a PDF file",
        good[: len(good) // 2]: r"^x\.pdf: truncated PDF",
        build.pdf(["비밀 문서이다."], password="s3cret"): r"^x\.pdf: PDF is password-protected",
        b"%PDF-1.7\n" + b"\x8f\x01 not really a pdf " * 40 + b"\n%%EOF\n": (
            r"^x\.pdf: corrupt or unreadable PDF"
        ),
        _no_pages_pdf(): r"^x\.pdf: PDF has no pages",
        build.pdf(None): r"^x\.pdf: PDF has no text layer \(scanned\?\)",
    }
    for data, message in cases.items():
        with pytest.raises(IngestError, match=message):
            load_pdf("x.pdf", data, TEXT_LAYER_ONLY)


@needs_realdocs
@pytest.mark.skipif(not QA.is_file(), reason="../shared/evaldata missing")
def test_every_answer_to_the_pdf_questions_is_in_the_text():
    questions = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines()]
    missing = []
    for q in questions:
        source = q.get("source", "")
        if not source.endswith(".pdf") or not q["answers"] or "scan" in source:
            continue  # the scanned page is OCR's
        text = flat(real(source).text)
        if not any(flat(a) in text for a in q["answers"]):
            missing.append((source, q["answers"][0]))
    assert missing == []


def _symbol_pdf() -> bytes:
    """A line in Helvetica with × and − from the standard Symbol font (codes 0xB4, 0x2D)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    fonts = DictionaryObject()
    for key, base in (("/F1", "/Helvetica"), ("/F2", "/Symbol")):
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(base),
            }
        )
        fonts[NameObject(key)] = writer._add_object(font)
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = DecodedStreamObject()
    content.set_data(
        b"BT /F1 12 Tf 50 800 Td (Area 3 ) Tj /F2 12 Tf (\\264) Tj /F1 12 Tf ( 4 ) Tj "
        b"/F2 12 Tf (\\055) Tj /F1 12 Tf ( 1 m2) Tj ET"
    )
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _no_pages_pdf() -> bytes:
    from pypdf import PdfWriter

    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()
