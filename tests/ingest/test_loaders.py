"""Each format loads from a fixture the test builds: text, title and metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loaders import LOADERS, load_bytes, supported
from ingest.reader import document_from_bytes


def doc(name: str, data: bytes):
    return document_from_bytes(Path(name), name, data)


def test_every_documented_format_has_a_loader():
    assert set(LOADERS) >= {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".hwpx", ".hwp"}
    assert supported("보고서 최종.HWPX")
    assert not supported("sheet.xlsx")


def test_text_title_is_first_line_and_encoding_is_recorded(build):
    d = doc("기사.txt", build.article.encode("cp949"))
    assert d.title == "미국 제재의 반작용… 중국, 최신형 칩 빼고 AI 개발"
    assert d.format == "txt"
    assert d.meta["encoding"] == "cp949"
    assert d.meta["file"] == "기사.txt"
    assert d.size == len(build.article.encode("cp949"))
    assert len(d.content_hash) == 64


def test_markdown_heading_is_the_title():
    d = doc("notes.md", "# 딥시크 메모\n\n딥시크는 R1을 공개했다.\n".encode())
    assert d.format == "md"
    assert d.title == "딥시크 메모"


def test_long_first_line_falls_back_to_file_name():
    d = doc("long-article.txt", ("가나다 " * 60 + "끝.").encode())
    assert d.title == "long-article"


HTML = """<!doctype html><html lang="ko"><head><meta charset="utf-8">
<title>딥시크의 출현 | 세계일보</title>
<meta property="og:site_name" content="세계일보">
<meta property="article:published_time" content="2025-02-03T23:09:43+09:00">
<style>.x { color: red }</style><script>var tracking = "딥시크 스크립트";</script>
</head><body>
<nav>홈 정치 경제 사회</nav>
<header><h1>딥시크의 <b>출현</b></h1></header>
<main>
<p>딥시크의 출현은 최고 AI를 개발하기 위해
   고성능 칩에 막대한 돈을 들여야 한다는 <a href="#">통념</a>을 깼다.</p>
<p>미 증시에서는 AI거품이 꺼질 수 있다는 공포가 덮쳤다.<br>줄바꿈 뒤 문장이다.</p>
<ul><li>첫째 항목</li><li>둘째 항목</li></ul>
</main>
<aside>많이 본 뉴스</aside>
<footer>Copyright ⓒ 세계일보 All rights reserved.</footer>
</body></html>"""


@pytest.mark.parametrize("ext", [".html", ".htm"])
def test_html_keeps_main_text_and_drops_chrome(ext):
    d = doc("page" + ext, HTML.encode())
    assert d.format == "html"
    assert d.title == "딥시크의 출현"
    lines = d.text.split("\n")
    assert (
        "딥시크의 출현은 최고 AI를 개발하기 위해 고성능 칩에 막대한 돈을 들여야 한다는 "
        "통념을 깼다." in lines
    )
    assert "미 증시에서는 AI거품이 꺼질 수 있다는 공포가 덮쳤다." in lines
    assert "줄바꿈 뒤 문장이다." in lines
    assert "둘째 항목" in lines
    for chrome in ("tracking", "color: red", "홈 정치", "많이 본 뉴스", "Copyright"):
        assert chrome not in d.text
    assert d.meta["publisher"] == "세계일보"
    assert d.meta["date"] == "2025-02-03"


def test_html_title_falls_back_to_title_tag_and_decodes_euc_kr():
    page = "<html><head><title>공지 사항</title></head><body><p>본문 문장이다.</p></body></html>"
    d = doc("old.htm", page.encode("euc-kr"))
    assert d.title == "공지 사항"
    assert d.text == "본문 문장이다."


def test_pdf_text_layer_title_and_wrapped_lines(build):
    data = build.pdf(
        ["미국의 제재가 오히려 중국의 인공지능 기술", "발전을 촉진하고 있다.", "둘째 문장이다."],
        title="AI 패권 보고서",
    )
    d = doc("report.pdf", data)
    assert d.format == "pdf"
    assert d.title == "AI 패권 보고서"
    assert d.meta["author"] == "홍길동"
    assert d.meta["pages"] == 1
    # the line the PDF wrapped mid-sentence is joined back
    assert d.text.split("\n") == [
        "미국의 제재가 오히려 중국의 인공지능 기술 발전을 촉진하고 있다.",
        "둘째 문장이다.",
    ]


def test_pdf_with_empty_user_password_opens(build):
    d = doc("locked-for-editing.pdf", build.pdf(["편집만 잠긴 문서이다."], password=""))
    assert d.text == "편집만 잠긴 문서이다."


def test_pdf_whose_fonts_lack_a_unicode_map(build):
    data = build.pdf(["글꼴에 유니코드 표가 없는 문서이다."], private_use=True)
    with pytest.raises(IngestError, match=r"^broken\.pdf: PDF text layer cannot be decoded"):
        doc("broken.pdf", data)


def test_docx_paragraphs_tables_and_properties(build):
    data = build.docx(["첫 문단이다.", "표 다음의 둘째 문단이다."], title="정책 브리프")
    d = doc("brief.docx", data)
    assert d.format == "docx"
    assert d.title == "정책 브리프"
    assert d.meta["author"] == "김철수"
    assert d.text.split("\n") == [
        "첫 문단이다.",
        "국가 | 연구자 수",
        "중국 | 41만여명",
        "표 다음의 둘째 문단이다.",
    ]


def test_hwpx_sections_in_order_with_table_text_once(build):
    data = build.hwpx(
        [["첫 구역 첫 문단.", "첫 구역 둘째 문단."], ["둘째 구역 문단."]],
        title="공공 문서",
        table_cell="표 안의 글.",
    )
    d = doc("공문 2024.hwpx", data)
    assert d.format == "hwpx"
    assert d.title == "공공 문서"
    assert d.meta["author"] == "행정안전부"
    assert d.text.split("\n") == [
        "첫 구역 첫 문단.",
        "표:",
        "표 안의 글.",
        "첫 구역 둘째 문단.",
        "둘째 구역 문단.",
    ]


def test_hwpx_without_title_uses_first_line(build):
    d = doc("a.hwpx", build.hwpx([["본문 첫 줄."]]))
    assert d.title == "본문 첫 줄."


def test_hwpx_saved_as_hwp_is_read(build):
    d = doc("renamed.hwp", build.hwpx([["확장자만 바뀐 HWPX."]]))
    assert d.text == "확장자만 바뀐 HWPX."


def test_damaged_legacy_hwp_is_reported_corrupt():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    with pytest.raises(IngestError, match=r"^옛 문서\.hwp: corrupt HWP document \("):
        doc("옛 문서.hwp", ole)


def test_unsupported_extension_names_file_and_lists_formats():
    with pytest.raises(IngestError, match=r"sheet\.xlsx: unsupported file type '\.xlsx'.*\.pdf"):
        load_bytes("sheet.xlsx", b"data")
