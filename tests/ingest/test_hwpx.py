"""HWPX on the real files in ../shared/realdocs/hwpx, read in place (tables, headers and footers,
refusals), and on small packages built here for what no real file shows (notes, page breaks)."""

from __future__ import annotations

import io
import zipfile
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
needs_realdocs = pytest.mark.skipif(REALDOCS is None, reason="../shared/realdocs is not here")

_NS = (
    'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
    'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'
)


def load(name: str, as_name: str | None = None) -> Loaded:
    assert REALDOCS is not None
    return load_bytes(as_name or Path(name).name, (REALDOCS / name).read_bytes())


def lines(loaded: Loaded) -> list[str]:
    return loaded.text.replace("\f", "\n").split("\n")


def package(section: str, extra: dict[str, str] | None = None) -> bytes:
    """An HWPX package whose section0.xml holds ``section`` (the paragraphs' XML)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr(
            "Contents/section0.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><hs:sec {_NS}>{section}</hs:sec>',
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def para(text: str, attrs: str = "", inner: str = "", tops: tuple[int, ...] = ()) -> str:
    segs = "".join(f'<hp:lineseg textpos="0" vertpos="{top}"/>' for top in tops)
    layout = f"<hp:linesegarray>{segs}</hp:linesegarray>" if tops else ""
    return f"<hp:p {attrs}><hp:run>{inner}<hp:t>{text}</hp:t></hp:run>{layout}</hp:p>"


@needs_realdocs
def test_table_rows_are_one_line_header_first():
    doc = load("hwpx/Table.hwpx")
    assert doc.format == "hwpx"
    text = lines(doc)
    header = text.index("| 이름 | 국어 | 영어 | 수학 |")
    assert text[header + 1] == "| 개똥이 | 89 | 65 | 78 |"
    assert text[header + 2] == "| 칠득이 | 77 | 77 | 77 |"
    assert "| 육손이 | 66 | 66 | 66 |" in text
    assert text[0] == "C반 기말고사"
    assert doc.meta["tables"] == 1


@needs_realdocs
def test_form_tables_footer_and_properties():
    doc = load("hwpx/A_form.hwpx")
    text = lines(doc)
    spec = text.index("| 글자체 | 크기 | 장평 | 자간 | 줄간격 | 박스안 줄간격 |")
    assert text[spec + 1] == "| 신명조 | 11 | 97 | 0 | 160% | 신명조, 150% |"
    assert "광 교 고 등 학 교" in text  # the footer
    assert "| 2026학년도 (몇)학년 (1)학기 (1)차 정기시험 (과목명)과 문항지 |" not in text
    assert "2026학년도 (몇)학년 (1)학기 (1)차 정기시험 (과목명)과 문항지" in text  # one-cell box
    assert "이 시험문제의 저작권은 샘플지역고등학교에 있습니다." in doc.text
    assert doc.meta["headers_footers"] == 2
    assert doc.title == "출제원안양식(다단)97.10"
    assert doc.meta["author"] == "전산실"
    assert "\f" not in doc.text  # two-column layout: no page breaks are claimed


@needs_realdocs
def test_headers_and_footers_are_text():
    doc = load("hwpx/HeaderFooter.hwpx")
    assert lines(doc) == ["머리말 테스트", "꼬리말"]
    assert doc.meta["headers_footers"] == 2


@needs_realdocs
def test_article_paragraphs():
    doc = load("hwpx/multipara.hwpx")
    assert "김하성의 시즌 3호 홈런." in doc.text
    assert "홈런 한방으로 3타점을 추가하며 통산 102타점째를 마크했다." in doc.text
    assert "시즌 전적 16승 14패를 기록했으며" in doc.text


@needs_realdocs
def test_encrypted_hwpx_is_not_called_corrupt():
    with pytest.raises(IngestError) as err:
        load("hwpx/HWP5-password-123456.hwpx")
    assert str(err.value).startswith(
        "HWP5-password-123456.hwpx: password-protected/encrypted HWPX document — remove the"
    )
    assert "XMLSyntaxError" not in str(err.value)


@needs_realdocs
def test_chart_only_hwpx_says_so():
    with pytest.raises(IngestError, match=r"^chart_01_single_column\.hwpx: .*only a chart, no"):
        load("hwpx/chart_01_single_column.hwpx")


@needs_realdocs
def test_binary_hwp_named_hwpx_is_read_as_hwp():
    doc = load("hwp/footnote-endnote.hwp", as_name="각주.hwpx")
    assert doc.format == "hwp"
    assert "[^2]: 각주 두 번째입니다." in lines(doc)


def test_footnotes_endnotes_and_their_references():
    note = "<hp:ctrl><hp:{kind}><hp:subList>{body}</hp:subList></hp:{kind}></hp:ctrl>"
    body = para("각주의 글.")
    section = para("본문 문장.", inner=note.format(kind="footNote", body=body)) + para(
        "둘째 문장.", inner=note.format(kind="endNote", body=para("미주의 글."))
    )
    doc = load_bytes("주석.hwpx", package(section))
    assert lines(doc) == [
        "[^1]본문 문장.",
        "[^e1]둘째 문장.",
        "[^1]: 각주의 글.",
        "[^e1]: 미주의 글.",
    ]
    assert doc.meta["footnotes"] == 2


def test_page_breaks_explicit_and_from_the_saved_layout():
    section = (
        para("첫 쪽.", tops=(0, 1600))
        + para("둘째 쪽 위.", tops=(0,))  # back at the top: a new page
        + para("둘째 쪽 아래.", tops=(1600,))
        + para("셋째 쪽.", attrs='pageBreak="1"', tops=(1600,))  # explicit page break
    )
    doc = load_bytes("쪽.hwpx", package(section))
    assert doc.text.split("\f") == ["첫 쪽.", "둘째 쪽 위.\n둘째 쪽 아래.", "셋째 쪽."]
    assert doc.meta["pages"] == 3


def test_zip_without_sections_is_not_an_hwpx_document():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(IngestError, match=r"^a\.hwpx: not an HWPX document \(no Contents/section"):
        load_bytes("a.hwpx", out.getvalue())


def test_truncated_hwpx_is_corrupt():
    data = package(para("잘린 문서."))
    with pytest.raises(IngestError, match=r"^b\.hwpx: corrupt HWPX document \("):
        load_bytes("b.hwpx", data[: len(data) // 2])
