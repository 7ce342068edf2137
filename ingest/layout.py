"""Page breaks and table rows in loaded text: the two layout facts that survive into chunks."""

from __future__ import annotations

import bisect
import re

from ingest.clean import PAGE_BREAK

_TABLE_ROW = re.compile(r"^\|.*\|$")


def table_row(cells: list[str]) -> str:
    """One table row as one line, ``| a | b |`` (spaces collapsed, ``|`` in a cell made ``/``)."""
    parts = [" ".join(c.split()).replace("|", "/") for c in cells]
    return "| " + " | ".join(parts) + " |"


def is_table_row(line: str) -> bool:
    """Whether a text line is a table row written by :func:`table_row`."""
    return len(line) >= 3 and _TABLE_ROW.match(line) is not None


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
