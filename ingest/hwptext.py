"""Plain text from hwp2md's blocks (HWP 5.0 and HWPX), laid out as the loader contract says.

Paragraphs are lines; a table row is one line ``| a | b |``; footnotes and endnotes follow the
body as ``[^1]: text`` / ``[^e1]: text``, referenced in the body as ``[^1]`` / ``[^e1]``
(hwp2md's notation, kept so a note and the sentence citing it can be matched). A table
of one column (a box around a heading or a notice) becomes plain lines. Images are
dropped; headings, links and equations keep only their text. Used inside the parser worker.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hwp2md.blocks import Image, Link, Math, Note, NoteRef, Paragraph, Table

PAGE_BREAK = "\f"


@dataclass
class TextStats:
    """What a document held, for the loader's meta and its "no text" messages."""

    tables: int = 0  # with rows and columns (a one-column box is text)
    empty_tables: int = 0
    notes: int = 0
    images: int = 0
    charts: int = 0
    headers_footers: int = 0
    text_chars: int = 0  # characters outside charts (a chart's values alone are no text)


@dataclass
class TextBuilder:
    """Collects rendered lines; charts and running headers are counted apart from body text."""

    lines: list[str] = field(default_factory=list)
    stats: TextStats = field(default_factory=TextStats)
    _running: set[str] = field(default_factory=set)

    def add_blocks(self, blocks: Sequence[Any]) -> None:
        """Append body blocks (a chart is the library's "차트" paragraph and its table)."""
        i = 0
        while i < len(blocks):
            block = blocks[i]
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if _is_chart_caption(block) and isinstance(nxt, Table):
                self.stats.charts += 1
                self.lines.append(block.text)
                self.lines.extend(table_rows(nxt))
                i += 2
                continue
            self._add(block)
            i += 1

    def add_running(self, blocks: Sequence[Any]) -> None:
        """A header's or footer's blocks, once per distinct text (they repeat on every page)."""
        rendered: list[str] = []
        for block in blocks:
            if isinstance(block, Paragraph):
                text = paragraph_text(block)
                if text:
                    rendered.append(text)
            elif isinstance(block, Table):
                rendered.extend(table_rows(block))
        key = " ".join(" ".join(rendered).split())
        if not key or key in self._running:
            return
        self._running.add(key)
        self.stats.headers_footers += 1
        self.stats.text_chars += len(key)
        self.lines.extend(rendered)

    def page_break(self) -> None:
        """Start a new page: the form feed goes on a line of its own."""
        if self.lines:
            self.lines.append(PAGE_BREAK)

    def text(self) -> str:
        """The rendered text: lines joined by line breaks, pages by form feeds."""
        pages: list[list[str]] = [[]]
        for line in self.lines:
            if line == PAGE_BREAK:
                pages.append([])
            else:
                pages[-1].append(line)
        while len(pages) > 1 and not pages[-1]:
            pages.pop()
        return PAGE_BREAK.join("\n".join(page) for page in pages)

    def _add(self, block: Any) -> None:
        if isinstance(block, Paragraph):
            text = paragraph_text(block)
            if text:
                self.lines.append(text)
                self.stats.text_chars += len(text)
        elif isinstance(block, Table):
            rows = table_rows(block)
            self.stats.tables += bool(rows) and rows[0].startswith("| ")
            self.stats.empty_tables += not rows
            self.stats.text_chars += sum(len(r) for r in rows)
            self.lines.extend(rows)
        elif isinstance(block, Note):
            self.stats.notes += 1
            label = f"[^{block.number}]" if block.kind == "footnote" else f"[^e{block.number}]"
            body = " ".join(t for t in (paragraph_text(p) for p in block.paragraphs) if t)
            self.lines.append(f"{label}: {body}".rstrip())
            self.stats.text_chars += len(body)
        elif isinstance(block, Image):
            self.stats.images += 1


def _is_chart_caption(block: Any) -> bool:
    # hwp2md renders a chart as Paragraph("차트" or "차트: <title>") followed by its data table
    return isinstance(block, Paragraph) and (
        block.text == "차트" or block.text.startswith("차트: ")
    )


def inline_text(items: Iterable[Any]) -> str:
    """A paragraph's inlines as text: link text, equation script, note references."""
    parts: list[str] = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, Link):
            parts.append(item.text)
        elif isinstance(item, Math):
            parts.append(item.script)
        elif isinstance(item, NoteRef):
            parts.append(f"[^{item.number}]" if item.kind == "footnote" else f"[^e{item.number}]")
    return "".join(parts)


def paragraph_text(para: Paragraph) -> str:
    """One paragraph with its list label ("1.", "가.", or "-" for a bullet)."""
    text = (inline_text(para.inlines) if para.inlines else para.text).strip()
    info = para.list_info
    if not text or info is None:
        return text
    label = "-" if info.kind == "bullet" else info.label
    return f"{label} {text}" if label else text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")


def table_rows(table: Table) -> list[str]:
    """Each row as ``| a | b |``. Blank rows and columns (form lines, spacers) are dropped;
    a table left with one column is a box around text (a heading, a notice) and its rows
    become plain lines."""
    if table.cells:
        grid = [[_cell(inline_text(cell)) for cell in row] for row in table.cells]
    else:
        grid = [[_cell(cell) for cell in row] for row in table.rows]
    grid = [row for row in grid if any(row)]
    width = max((len(row) for row in grid), default=0)
    keep = [c for c in range(width) if any(c < len(row) and row[c] for row in grid)]
    grid = [[row[c] if c < len(row) else "" for c in keep] for row in grid]
    if len(keep) == 1:
        return [row[0] for row in grid]
    return ["| " + " | ".join(row) + " |" for row in grid]


class PageTracker:
    """Page starts from the line layout Hangul saves with each top-level paragraph: a line
    whose vertical position is above the previous line's is on a new page (as is a paragraph
    with an explicit page break). Off for multi-column layouts, which restart per column."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._last: int | None = None

    def breaks(self, explicit: bool, tops: Sequence[int]) -> tuple[int, int]:
        """(page breaks before a paragraph, page breaks inside it), from its explicit flag and
        its lines' vertical positions."""
        if not self.enabled:
            return 0, 0
        if not tops:
            return int(explicit and self._last is not None), 0
        before = self._last is not None and (explicit or tops[0] < self._last)
        inside = sum(1 for a, b in itertools.pairwise(tops) if b < a)
        self._last = tops[-1]
        return int(before), inside
