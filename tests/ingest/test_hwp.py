"""Legacy HWP 5.0 on the real files in ../shared/realdocs/hwp, read in place: text, tables,
notes, headers, 배포용, pages, titles and each refusal's own message."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loaders import load_bytes
from ingest.records import Loaded

ROOT = Path(__file__).resolve().parents[2]
REALDOCS = next(
    (p for p in (ROOT.parent / "shared" / "realdocs", Path("/work/shared/realdocs")) if p.is_dir()),
    None,
)
pytestmark = pytest.mark.skipif(REALDOCS is None, reason="../shared/realdocs is not here")


def real(name: str) -> bytes:
    assert REALDOCS is not None
    return (REALDOCS / name).read_bytes()


def load(name: str, as_name: str | None = None) -> Loaded:
    return load_bytes(as_name or Path(name).name, real(name))


def lines(loaded: Loaded) -> list[str]:
    return loaded.text.replace("\f", "\n").split("\n")


def test_report_body_text_and_its_boxed_date():
    doc = load("hwp/digital_gov_innovation.hwp")
    assert doc.format == "hwp"
    flat = " ".join(doc.text.split())
    # the cover: title, date, and the issuer in a one-column box that reads as plain text
    assert flat.startswith("디지털 정부혁신 추진계획 2019. 10. 29. 관계부처 합동")
    assert "* 관계부처 협의 21회(행안,과기정통,기재,복지,권익위,국정원 등)" in doc.text
    assert "(21년) 인감증명서 등 300종" in doc.text
    assert doc.meta["tables"] >= 20


def test_table_rows_are_one_line_with_their_cells():
    schedule = lines(load("hwp/digital_gov_innovation.hwp"))
    row = next(line for line in schedule if "| 생애주기 서비스 대폭 확대 |" in line)
    assert row.startswith("| ")
    assert row.endswith(" |")
    assert "| 2개 |" in row
    assert "| 10개 |" in row
    assert "행안‧복지‧ 교육‧고용부 등" in row
    report = lines(load("hwp/work_report.hwp"))
    header = report.index("| 차주 진행업무 |  |  |  |")
    assert report[header + 1] == "| 업무내용 | 예정일자 | 예상 문제점 | 비고 |"
    assert "| 주간업무보고서 | 부서명: 부서명 이름: 이름 일자: 2011년 00월 00주차 |" in report
    assert not any(set(line) <= set("|- ") and "-" in line for line in report)  # no |---|
    assert "| A1 | B10 B11 |" in lines(load("hwp/sample-5017.hwp"))
    assert "| 학번 | 200012345 |" in lines(load("hwp/basicsReport.hwp"))


def test_footnotes_and_endnotes_follow_the_body_with_their_references():
    doc = load("hwp/footnote-endnote.hwp")
    assert lines(doc) == [
        "각주참조[^1][^2]",
        "미주참조[^e1][^e2]",
        "[^1]: 각주입니다.",
        "[^2]: 각주 두 번째입니다.",
        "[^e1]: 미주입니다.",
        "[^e2]: 미주 두 번째입니다.",
    ]
    assert doc.meta["footnotes"] == 4
    assert doc.title == "각주참조"  # from the HWP summary information


def test_distribution_document_is_decrypted_not_its_placeholder():
    doc = load("hwp/distribution.hwp")
    assert doc.meta["distribution"] is True
    assert "②기초금액 : 금72,300,000원(금칠천이백삼십만원)(※부가가치세 포함)" in doc.text
    assert "입찰금액의 25/1000 이상을 납부하여야 하며" in doc.text
    assert "⑤입찰서 제출 기간 : 2024. 12. 13(수) 10:10 ~ 2024. 12. 20(금) 17:00" in doc.text
    assert "배포용 문서입니다" not in doc.text  # the sentence BodyText holds instead
    assert doc.title == "무궁화동산등"


def test_headers_and_footers_are_read_once_each():
    doc = load("hwp/basicsReport.hwp")
    # two header controls with the same text: it is kept once, not on every page
    assert doc.text.count("리포트 제목 / 전공명") == 1
    assert doc.meta["headers_footers"] == 1
    exam = load("hwp/korean_exam_template.hwp")
    assert exam.meta["headers_footers"] == 1
    assert "| 제 1 교시 |  | 국어 영역(화법과 작문) | 짝수형 |  |" in lines(exam)
    assert "2. [A]를 바탕으로 할 때, <보기>의 ㉠, ㉡에 들어갈 말로 적절한 것은? [3점]" in exam.text


def test_pages_follow_the_saved_layout():
    report = load("hwp/basicsReport.hwp")
    assert report.meta["pages"] == 6  # the page count in its summary information
    assert report.text.count("\f") == 5
    pages = report.text.split("\f")
    assert pages[2].startswith("차 례")
    assert "03 결론                 45" in pages[2]
    sample = load("hwp/sample-5017.hwp").text.split("\f")
    assert len(sample) == 2
    assert sample[1] == "다음 페이지"
    one_page = load("hwp/work_report.hwp")
    assert "\f" not in one_page.text
    assert "pages" not in one_page.meta


def test_titles_come_from_the_summary_information_only():
    assert load("hwp/sample-5017.hwp").title == "제목입니다."
    assert load("hwp/work_report.hwp").title is None  # its summary has no title


def test_no_markdown_syntax_is_left():
    # ("**" stays: Korean reports mark second-level notes with it, as digital_gov does)
    for name in ("hwp/digital_gov_innovation.hwp", "hwp/work_report.hwp", "hwp/sample-5017.hwp"):
        doc = load(name)
        assert "![" not in doc.text
        assert "](" not in doc.text
        assert "<br>" not in doc.text
        assert not any(line.startswith("#") for line in lines(doc))
    # images, headings and the link of work_report's last line leave only their text
    assert lines(load("hwp/work_report.hwp"))[-1] == "이 문서는 나눔글꼴로 작성되었습니다. 설치하기"


def test_password_protected_hwp5_has_its_own_message():
    with pytest.raises(IngestError, match=r"^password-12345\.hwp: password-protected HWP 5\.0 "):
        load("hwp/password-12345.hwp")


def test_hwp3_is_refused_with_what_to_do():
    with pytest.raises(IngestError) as err:
        load("hwp/HWP3-password-123456.hwp")
    message = str(err.value)
    assert message.startswith("HWP3-password-123456.hwp: a password-protected HWP 3.0 document")
    assert "HWP 3.0 (Hangul 97 and older) is not supported" in message
    assert "HWPX (.hwpx) or PDF" in message


def test_chart_only_and_empty_table_documents_say_so():
    with pytest.raises(IngestError, match=r"^chart_01_single_column\.hwp: .*only a chart, no text"):
        load("hwp/chart_01_single_column.hwp")
    with pytest.raises(IngestError, match=r"^table\.hwp: HWP document holds only empty tables"):
        load("hwp/table.hwp")


def test_other_files_named_hwp_are_not_hwp():
    with pytest.raises(IngestError, match=r"^bill\.hwp: not an HWP document \(no HWP 5\.0 or HWPX"):
        load_bytes("bill.hwp", real("pdf/bill_2125318.pdf"))


def test_hwpx_saved_as_hwp_is_read_as_hwpx():
    doc = load("hwpx/Table.hwpx", as_name="성적표.hwp")
    assert doc.format == "hwpx"
    assert "| 개똥이 | 89 | 65 | 78 |" in lines(doc)


def test_garbage_and_damaged_hwp_fail_quickly_with_ingest_error():
    rng = random.Random(12)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    samples = [ole + rng.randbytes(20_000), ole + b"\xff" * 4096]
    good = real("hwp/sample-5017.hwp")
    for _ in range(12):  # the real file with a run of its bytes overwritten
        out = bytearray(good)
        at = rng.randrange(512, len(out) - 600)
        out[at : at + 512] = rng.randbytes(512)
        samples.append(bytes(out))
    for n, data in enumerate(samples):
        started = time.perf_counter()
        try:
            doc = load_bytes(f"손상{n}.hwp", data)
        except IngestError as exc:
            reason = str(exc)
        else:
            reason = f"손상{n}.hwp: loaded" if doc.text.strip() else "empty text"
        assert reason.startswith(f"손상{n}.hwp: ")
        assert time.perf_counter() - started < 5
