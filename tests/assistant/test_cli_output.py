"""What the CLI prints of names it did not choose (file names, titles)."""

from __future__ import annotations

from assistant.cli import printable


def test_control_and_format_characters_of_file_names_are_escaped() -> None:
    assert printable("보고서\x1b[31m\u202e.txt") == "보고서\\x1b[31m\\u202e.txt"
    assert printable("탭\t줄\n") == "탭\\t줄\\n"


def test_ordinary_korean_names_are_printed_as_they_are() -> None:
    assert printable("정상 파일 (최종).hwp") == "정상 파일 (최종).hwp"
