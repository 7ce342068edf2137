"""A document's title: its metadata title when meaningful, else its first heading-like line."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ingest.layout import is_table_row

# Titles that office programs write for you, not the author
_TEMPLATE_TITLES = re.compile(
    r"^(?:powerpoint\s*프레젠테이션|powerpoint\s+presentation|프레젠테이션\d*|슬라이드\s*\d*|"
    r"제목\s*없음|무제|untitled|document\d*|문서\s*\d*|noname|new\s+document|"
    r"microsoft\s+word\s*-\s*.*|한글\s*문서|hwp\s*문서)$",
    re.IGNORECASE,
)
_FILE_NAME = re.compile(r"\.(?:hwpx?|docx?|pdf|pptx?|xlsx?|txt|html?|odt|rtf)$", re.IGNORECASE)
_PAGE_NUMBER = re.compile(
    r"^[-–—\s(\[]*(?:p(?:age)?\.?\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?[-–—\s)\]]*(?:쪽|페이지)?$",
    re.IGNORECASE,
)
_ROMAN_OR_BULLET = re.compile(r"^(?:[ivxlcdm]+\.?|[-–—·•*]+)$", re.IGNORECASE)
_HAS_WORD = re.compile(r"[가-힣A-Za-z]{2}")
_TITLE_LABEL = re.compile(r"^(?:제\s?목|title|subject)\s*[:：]\s*", re.IGNORECASE)
_LONGEST = 120
_LOOK_AT = 15  # first lines searched for a heading


def meaningful(title: str | None) -> str | None:
    """``title`` cleaned, or None when it is empty, a file name or an office template's text."""
    if not title:
        return None
    title = " ".join(title.split())
    if title.lower().startswith("microsoft word - "):
        title = title[len("microsoft word - ") :]
    if _FILE_NAME.search(title):
        return None
    if not title or _TEMPLATE_TITLES.match(title) or not _HAS_WORD.search(title):
        return None
    return title[:200]


def heading_like(line: str, repeated: set[str]) -> bool:
    """A line that could be a title: short, has words, not a page number, table row or header."""
    line = line.strip()
    return (
        0 < len(line) <= _LONGEST
        and not line.endswith((":", "："))  # a label such as "내용:"
        and _HAS_WORD.search(line) is not None
        and not _PAGE_NUMBER.match(line)
        and not _ROMAN_OR_BULLET.match(line)
        and not is_table_row(line)
        and line not in repeated
        and meaningful(line) is not None
    )


def choose_title(
    meta_title: str | None, text: str, fallback: str, *, avoid: Iterable[str] = ()
) -> str:
    """The metadata title if meaningful, else the first heading-like line, else ``fallback``.

    Lines repeated three or more times in the text (running headers and footers) never count,
    nor lines starting with one of ``avoid`` (running headers a loader kept only once).
    """
    avoid = tuple(a for a in avoid if a)
    if title := meaningful(meta_title):
        return title
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    counts: dict[str, int] = {}
    for line in lines:
        if len(line) <= _LONGEST:
            counts[line] = counts.get(line, 0) + 1
    repeated = {line for line, n in counts.items() if n >= 3}
    for line in lines[:_LOOK_AT]:
        line = _TITLE_LABEL.sub("", line)
        if avoid and line.startswith(avoid):
            continue
        if heading_like(line, repeated):
            return line
    return fallback
