"""Page breaks and table rows in loaded text: the two layout facts that survive into chunks."""

from __future__ import annotations

import bisect
import re

from ingest.clean import PAGE_BREAK

_TABLE_ROW = re.compile(r"^\|.*\|$")
_RULE_CELL = re.compile(r"^:?-+:?$")  # a Markdown table's header rule: | --- | :-: |


def table_row(cells: list[str]) -> str:
    """One table row as one line, ``| a | b |`` (spaces collapsed, ``|`` in a cell made ``/``)."""
    parts = [" ".join(c.split()).replace("|", "/") for c in cells]
    return "| " + " | ".join(parts) + " |"


def is_table_row(line: str) -> bool:
    """Whether a text line is a table row written by :func:`table_row`."""
    return len(line) >= 3 and _TABLE_ROW.match(line) is not None


def table_cells(line: str) -> list[str]:
    """The cells of a table row written by :func:`table_row` (or a Markdown table)."""
    return [cell.strip() for cell in line.strip()[1:-1].split("|")]


def is_rule_row(line: str) -> bool:
    """Whether a table row is a Markdown header rule (``| --- | :-: |``), which holds no data."""
    cells = [c for c in table_cells(line) if c]
    return bool(cells) and all(_RULE_CELL.match(c) for c in cells)


def is_header_row(line: str) -> bool:
    """Whether a table row can be its table's header: two or more filled cells and not a rule.
    A table's header is its first such row; a title row above it (one merged cell) is not."""
    return sum(1 for c in table_cells(line) if c) >= 2 and not is_rule_row(line)


def labelled_row(row: str, header: str) -> str:
    """A data row read with its header: ``| 개똥이 | 65 |`` under ``| 이름 | 영어 |`` becomes
    ``이름: 개똥이 · 영어: 65``. Empty cells are left out; a cell without a header (or equal
    to it) stands alone."""
    names = table_cells(header) if header else []
    parts = []
    for i, value in enumerate(table_cells(row)):
        if not value:
            continue
        name = names[i] if i < len(names) else ""
        parts.append(f"{name}: {value}" if name and name != value else value)
    return " · ".join(parts)


def split_pages(text: str) -> tuple[str, list[int]]:
    """Remove the page-break lines of cleaned text; return the text and where each page starts.

    ``starts[n]`` is the offset in the returned text where page ``n + 1`` begins; a page with
    no text starts where the next one does. Text without page breaks is one page.
    """
    starts = [0]
    out: list[str] = []
    offset = 0
    for line in text.split("\n"):
        if line == PAGE_BREAK:
            starts.append(offset)
            continue
        out.append(line)
        offset += len(line) + 1
    joined = "\n".join(out)
    return joined, [min(s, len(joined)) for s in starts]


def page_at(starts: list[int], offset: int) -> int:
    """The 1-based page holding the character at ``offset``."""
    return max(1, bisect.bisect_right(starts, offset))
