"""Pages, table rows and titles: what a paged or tabular document keeps through cleaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import chunk_text
from ingest.layout import (
    is_header_row,
    is_table_row,
    labelled_row,
    page_at,
    split_pages,
    table_row,
)
from ingest.reader import document_from_bytes, passage_text
from ingest.titles import choose_title, meaningful


def _lines(text: str) -> list[tuple[int, int]]:
    """A sentence splitter for tests: one sentence per '. '."""
    out, start = [], 0
    for n, ch in enumerate(text):
        if ch == "." and (n + 1 == len(text) or text[n + 1] == " "):
            out.append((start, n + 1))
            start = n + 2
    if start < len(text):
        out.append((start, len(text)))
    return out


def test_page_breaks_become_page_starts() -> None:
    text, starts = split_pages("첫 쪽 문장.\n\f\n둘째 쪽.\n\f\n\f\n넷째 쪽.")
    assert "\f" not in text
    assert text == "첫 쪽 문장.\n둘째 쪽.\n넷째 쪽."
    assert [page_at(starts, text.index(s)) for s in ("첫", "둘째", "넷째")] == [1, 2, 4]


def test_a_text_file_has_no_pages() -> None:
    doc = document_from_bytes(Path("a.txt"), "a.txt", "제목\n본문입니다.".encode())
    assert "page_starts" not in doc.meta


def test_form_feeds_survive_cleaning_as_pages() -> None:
    doc = document_from_bytes(
        Path("a.txt"), "a.txt", "제목 줄\n첫 쪽.\f둘째 쪽.\f셋째 쪽.".encode()
    )
    assert doc.text == "제목 줄\n첫 쪽.\n둘째 쪽.\n셋째 쪽."
    starts = doc.meta["page_starts"]
    assert page_at(starts, doc.text.index("셋째")) == 3


def test_table_rows_are_one_line_with_cells_separated() -> None:
    row = table_row(["이름", " 국어\n점수 ", "a|b"])
    assert row == "| 이름 | 국어 점수 | a/b |"
    assert is_table_row(row)
    assert not is_table_row("| 반쯤 열린 줄")


def test_a_chunk_cut_inside_a_table_carries_its_header() -> None:
    header = table_row(["이름", "국어", "영어", "수학"])
    rows = [table_row([f"학생{n:02d}", str(60 + n), str(70 + n), str(80 + n)]) for n in range(30)]
    text = "성적표입니다.\n" + "\n".join([header, *rows]) + "\n끝."
    spans = chunk_text(text, size=200, overlap=0, splitter=_lines)
    assert len(spans) > 2
    for span in spans:
        for line in span.text.split("\n"):
            if is_table_row(line):
                assert line in [header, *rows]  # no row is cut in two
        first = span.text.split("\n", 1)[0]
        if is_table_row(first) and first != header:
            assert span.context == f"성적표입니다.\n{header}"  # the caption just above, too
        else:
            assert span.context == ""
    later = next(s for s in spans if "학생20" in s.text)
    assert header in passage_text("성적", later.text, later.context)


def test_a_title_row_above_the_header_is_kept_and_the_header_is_the_first_row_of_cells() -> None:
    title = table_row(["주요 과제별 추진일정", "", ""])
    header = table_row(["과제", "2021", "2022"])
    rows = [table_row([f"과제{n:02d}", f"{n}개", f"{n + 1}개"]) for n in range(30)]
    text = "\n".join([title, header, *rows])
    spans = chunk_text(text, size=120, overlap=0, splitter=_lines)
    later = next(s for s in spans if "과제20" in s.text)
    assert later.context == f"{title}\n{header}"
    assert is_header_row(header)
    assert not is_header_row(title)
    assert not is_header_row("| --- | :-: | -- |")


def test_a_row_reads_with_its_header() -> None:
    header = table_row(["이름", "국어", "영어"])
    assert labelled_row(table_row(["개똥이", "89", ""]), header) == "이름: 개똥이 · 국어: 89"
    assert (
        labelled_row(table_row(["a", "b", "c", "d"]), header) == "이름: a · 국어: b · 영어: c · d"
    )
    assert labelled_row(header, "") == "이름 · 국어 · 영어"


@pytest.mark.parametrize(
    ("meta", "text", "expected"),
    [
        ("디지털 정부혁신 추진계획", "- 1 -\n본문", "디지털 정부혁신 추진계획"),
        ("PowerPoint 프레젠테이션", "5G 서비스 이용약관\n제1조", "5G 서비스 이용약관"),
        ("보고서.hwp", "- 1 -\n2024년 업무 보고\n본문", "2024년 업무 보고"),
        ("Microsoft Word - 계획안", "본문", "계획안"),
        (None, "1\n머리글\n국회 회의록\n머리글\n본문\n머리글", "국회 회의록"),
        (None, "| a | b |\n| 1 | 2 |", "fallback"),
        (None, "3 / 12\n   \n- 2 -", "fallback"),
        (None, "제목: \nAI2, 오픈 소스 LLM 출시\n\n내용:\n본문", "AI2, 오픈 소스 LLM 출시"),
        (None, "제목: 예산 보고\n본문", "예산 보고"),
    ],
)
def test_titles_skip_templates_page_numbers_and_running_headers(
    meta: str | None, text: str, expected: str
) -> None:
    assert choose_title(meta, text, "fallback") == expected


def test_an_empty_or_symbol_title_is_not_meaningful() -> None:
    assert meaningful("  ") is None
    assert meaningful("--- 1 ---") is None
    assert meaningful("제목 없음") is None


def test_pages_reach_search_hits_and_citations(fake_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    pages = [
        "표지 제목입니다.",
        "둘째 쪽은 고래 이야기입니다.",
        "셋째 쪽은 펭귄이 남극에 산다는 내용입니다.",
    ]
    (folder / "book.txt").write_text("\f".join(pages), encoding="utf-8")
    assert fake_assistant.ingest([folder]).count("added") == 1
    hits = fake_assistant.search("펭귄 남극", k=3, mode="bm25")
    top = hits[0].chunk
    assert "펭귄" in top.text
    assert top.page == 1
    assert top.page_end == 3
    assert top.pages == "pp. 1–3"


def test_the_passage_text_names_the_file_and_marks_ocr() -> None:
    text = passage_text("법률안", "의안번호 25318", source="scan_bill.pdf", scanned=True)
    assert text.startswith("법률안 (scan_bill.pdf)\n〔스캔한 쪽: OCR〕\n")
    assert text.endswith("의안번호 25318")
    assert "OCR" not in passage_text("법률안", "의안번호 25318", source="bill.pdf")
