"""Chunk boundaries around tables, on real Korean PDFs read in place: a row keeps its caption and
header, and a table that fits in a chunk starts one rather than being cut from its caption."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from ingest.chunking import chunk_text, is_heading
from ingest.layout import is_table_row, table_row
from ingest.reader import document_from_bytes
from ingest.records import Document, LoadOptions, Span

REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "pdf"
needs_realdocs = pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/realdocs missing")


def _sentences(text: str) -> list[tuple[int, int]]:
    """A sentence splitter for tests: one sentence per '. '."""
    out, start = [], 0
    for n, ch in enumerate(text):
        if ch == "." and (n + 1 == len(text) or text[n + 1] == " "):
            out.append((start, n + 1))
            start = n + 2
    if start < len(text):
        out.append((start, len(text)))
    return out


@cache
def real(name: str) -> Document:
    path = REALDOCS / name
    return document_from_bytes(path, name, path.read_bytes(), LoadOptions(ocr=False))


def chunks(doc: Document) -> list[Span]:
    return chunk_text(doc.text, size=500, overlap=100, splitter=_sentences)


def holding(spans: list[Span], row_start: str) -> Span:
    """The first chunk with a row starting ``row_start`` (not only in its overlap)."""
    return next(s for s in spans if any(line.startswith(row_start) for line in s.text.split("\n")))


def test_a_table_that_fits_starts_a_chunk_at_its_caption() -> None:
    prose = "앞 문단의 문장입니다. " * 12
    rows = [table_row([f"요금제{n}", f"{n}0,000원"]) for n in range(8)]
    text = prose.strip() + "\n① 요금표\n" + "\n".join([table_row(["요금제명", "월정액"]), *rows])
    spans = chunk_text(text, size=300, overlap=50, splitter=_sentences)
    table = holding(spans, "| 요금제7 |")
    assert table.text.startswith("① 요금표\n| 요금제명 | 월정액 |")
    assert all(row in table.text for row in rows)


def test_a_long_table_cut_in_two_carries_its_caption_and_header() -> None:
    header = table_row(["이름", "점수"])
    rows = [table_row([f"학생{n:02d}", str(n)]) for n in range(40)]
    text = "표 3 성적\n" + "\n".join([header, *rows])
    spans = chunk_text(text, size=200, overlap=0, splitter=_sentences)
    assert len(spans) > 2
    for span in spans[1:]:
        assert span.context == f"표 3 성적\n{header}"
        assert all(is_table_row(line) for line in span.text.split("\n"))


def test_a_long_line_above_a_table_is_no_caption() -> None:
    text = "가" * 150 + "\n" + "\n".join(table_row([f"a{n}", f"b{n}"]) for n in range(30))
    spans = chunk_text(text, size=120, overlap=0, splitter=_sentences)
    assert spans[-1].context == "| a0 | b0 |"


@needs_realdocs
def test_a_bill_row_reads_with_the_comparison_tables_caption_and_header() -> None:
    spans = chunks(real("bill_2125318.pdf"))
    span = holding(spans, "| ⑥ ∼ ⑨ (생 략) | ⑥ ∼ ⑨ (현행과 같음) |")
    seen = span.context + "\n" + span.text
    assert "신ㆍ구조문대비표" in seen
    assert "| 현행 | 개정안 |" in seen


@needs_realdocs
def test_a_price_row_is_in_the_chunk_of_its_own_table() -> None:
    spans = chunks(real("KT_5G_terms.pdf"))
    span = holding(spans, "| 초이스 스페셜 | 110,000원 |")
    assert "① 초이스/스페셜/베이직\n| 요금제명 | 월정액 |" in span.text
    assert "5G 네트워크에서 호 소통된" not in span.context + span.text  # the table above


@needs_realdocs
def test_a_patent_table_keeps_its_number() -> None:
    spans = chunks(real("patent_1020210175798.pdf"))
    span = holding(spans, "| 주민등록번호 표기 형식 |")
    assert "표 1\n| 개인 정보의 표기 형식 | 정규 표현식 |" in span.context + "\n" + span.text


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("제 15 조 (일시정지 및 재이용)", True),
        ("4. 제안요청서 작성 방법", True),
        ("## EncryptVersion", True),
        ("부 칙", True),
        ("제2조(2050 탄소중립녹색성장위원회 및 2050 지방탄소중립녹색성장", False),  # wrapped
        ("제1조(시행일) 이 법은 공포 후 6개월이 경과한 날부터 시행한다.", False),  # a sentence
        ("그 후 몇 년 동안 이어졌다", False),
    ],
)
def test_section_headings(line: str, heading: bool) -> None:
    assert is_heading(line) is heading
