"""PDF tables drawn without some of their rules come out as rows; prose and columns do not."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from ingest.layout import is_table_row, labelled_row
from ingest.pdf import load_pdf
from ingest.records import Loaded, LoadOptions
from tests.ingest.builders import make_drawn_pdf

REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs" / "pdf"
needs_realdocs = pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/realdocs missing")
TEXT_LAYER_ONLY = LoadOptions(ocr=False)


@cache
def real(name: str) -> Loaded:
    return load_pdf(name, (REALDOCS / name).read_bytes(), TEXT_LAYER_ONLY)


def rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if is_table_row(line)]


def load(data: bytes) -> str:
    return load_pdf("drawn.pdf", data, LoadOptions(ocr=False)).text


# -- drawn fixtures ----------------------------------------------------------------------------


def _rows_ruled() -> bytes:
    """A score table ruled between its rows, with no column lines (as a fund report draws)."""
    cells = [["이름", "국어", "영어"], ["개똥이", "70", "65"], ["육손이", "66", "80"]]
    cells += [["말숙이", "90", "95"]]
    texts = [
        (60 + 120 * j, 116 + 24 * i, value)
        for i, row in enumerate(cells)
        for j, value in enumerate(row)
    ]
    rules = [(50, 100 + 24 * i, 400, 100 + 24 * i) for i in range(len(cells) + 1)]
    return make_drawn_pdf(texts, rules)


def _columns_ruled() -> bytes:
    """A 신·구조문대비표: a ruled header row, then two columns ruled apart and no row rules;
    entries that run over several lines."""
    texts = [(120, 116, "현 행"), (320, 116, "개 정 안")]
    left = ["① 위원회는 위원장", "1명을 둔다.", "<신 설>", "③ (생 략)"]
    right = ["① 위원회는 위원장", "2명을 둔다.", "② 위원장은 호선", "한다.", "③ (현행과 같음)"]
    left_y = [140, 154, 168, 196]
    right_y = [140, 154, 168, 182, 196]
    texts += [(60, y, t) for y, t in zip(left_y, left, strict=True)]
    texts += [(260, y, t) for y, t in zip(right_y, right, strict=True)]
    rules = [(50, 100, 450, 100), (50, 124, 450, 124)]
    rules += [(x, 100, x, 210) for x in (50, 250, 450)]
    return make_drawn_pdf(texts, rules)


def test_a_table_ruled_only_between_rows_comes_out_as_rows() -> None:
    text = load(_rows_ruled())
    assert rows(text) == [
        "| 이름 | 국어 | 영어 |",
        "| 개똥이 | 70 | 65 |",
        "| 육손이 | 66 | 80 |",
        "| 말숙이 | 90 | 95 |",
    ]
    assert labelled_row(rows(text)[1], rows(text)[0]) == "이름: 개똥이 · 국어: 70 · 영어: 65"


def test_a_table_ruled_only_between_columns_comes_out_as_entries() -> None:
    text = load(_columns_ruled())
    assert rows(text) == [
        "| 현행 | 개정안 |",  # a header spread one syllable apart is read as its words
        "| ① 위원회는 위원장 1명을 둔다. | ① 위원회는 위원장 2명을 둔다. |",
        "| <신 설> | ② 위원장은 호선 한다. |",
        "| ③ (생 략) | ③ (현행과 같음) |",
    ]


def test_prose_in_a_box_with_a_rule_between_its_columns_stays_prose() -> None:
    """Two columns of running text in a frame: nothing starts side by side, no table."""
    left = ["비가 밤새 내려 강물이", "둑을 넘었고 마을 사람", "들이 모래주머니를 쌓"]
    right = ["시장은 아침 일찍 주민", "회의를 열어 대피 계획", "을 설명하고 도움을 청"]
    texts = [(60, 130 + 14 * i, t) for i, t in enumerate(left)]
    texts += [(260, 130 + 14 * i, t) for i, t in enumerate(right)]
    rules = [(50, 110, 450, 110), (50, 180, 450, 180)] + [(x, 110, x, 180) for x in (50, 250, 450)]
    text = load(make_drawn_pdf(texts, rules))
    assert rows(text) == []
    assert "비가 밤새 내려 강물이" in text


def test_lines_under_prose_are_no_table() -> None:
    """Rules of one width under every line, text touching them: underlined prose."""
    lines = ["국회는 법률을 제정한다", "정부는 법률을 집행한다", "법원은 법률을 해석한다"]
    texts = [(60, 130 + 20 * i, t) for i, t in enumerate(lines)]
    rules = [(55, 110, 300, 110)] + [(55, 132.3 + 20 * i, 300, 132.3 + 20 * i) for i in range(3)]
    text = load(make_drawn_pdf(texts, rules))
    assert rows(text) == []


# -- real documents ----------------------------------------------------------------------------


@needs_realdocs
def test_the_fund_reports_unruled_columns_are_rows_with_their_header() -> None:
    table = rows(real("fund_report_kyobo.pdf").text)
    header = "| 클래스 | 1개월 | 3개월 | 6개월 | 1년 | 연초후 | 설정후 |"
    assert table[0] == header
    assert "| A1 | -6.71 | -4.39 | 2.62 | 13.85 | 11.42 | 181.23 |" in table
    assert "| BM | -3.76 | -.98 | -2.32 | 9.74 | 5.26 | 37.79 |" in table
    a1 = next(row for row in table if row.startswith("| A1 |"))
    assert "1년: 13.85" in labelled_row(a1, header)


@needs_realdocs
def test_the_bills_comparison_table_is_one_row_per_entry() -> None:
    pages = real("bill_2125318.pdf").text.split("\f")
    table = [row for page in pages[6:] for row in rows(page)]
    assert table[0] == "| 현행 | 개정안 |"
    row = "| ⑥ ∼ ⑨ (생 략) | ⑥ ∼ ⑨ (현행과 같음) |"
    assert row in table
    assert labelled_row(row, table[0]) == "현행: ⑥ ∼ ⑨ (생 략) · 개정안: ⑥ ∼ ⑨ (현행과 같음)"
    assert "| ④ (생 략) | ④ (현행과 같음) |" in table
    # every row has the two columns: underlined words are not ruled cells
    assert all(len(row.split(" | ")) == 2 for row in table)
    # the bill's prose pages hold no table
    assert all(rows(page) == [] for page in pages[:6])


@needs_realdocs
def test_prose_and_two_column_pages_get_no_table_rows() -> None:
    minutes = real("assembly_minutes_env_labor.pdf").text.split("\f")
    # the ruled tables of the minutes' report pages only; its two-column pages stay prose
    assert [n + 1 for n, page in enumerate(minutes) if rows(page)] == [14, 17, 18, 19, 20]
    patent = real("patent_1020210175798.pdf").text.split("\f")
    assert [n + 1 for n, page in enumerate(patent) if rows(page)] == [9]
