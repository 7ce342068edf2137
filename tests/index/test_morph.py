"""Keyword tokens of text spread one syllable apart (headings and cells laid out to a width)."""

from __future__ import annotations

import pytest

from index.morph import MorphTokenizer, collapse_spread


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("부 칙\n제1조(시행일)", "부칙\n제1조(시행일)"),
        ("| 의 안 번 호 | 25318 |", "| 의안번호 | 25318 |"),
        ("  목 차  ", "  목차  "),
        ("광 교 고 등 학 교", "광교고등학교"),
        ("그 후 몇 년 동안", "그 후 몇 년 동안"),  # prose: short words, not a spread line
        ("이 법은 할 때 쓴다", "이 법은 할 때 쓴다"),
    ],
)
def test_a_spread_line_or_cell_is_one_word(text: str, expected: str) -> None:
    assert collapse_spread(text) == expected


def test_a_spread_heading_matches_the_word_asked_for() -> None:
    tok = MorphTokenizer()
    assert "의안" in tok.tokenize("| 의 안 번 호 | 25318 |")
    assert "목차" in tok.tokenize("목 차")
    assert "목차" in tok.tokenize("표지와 목차")
