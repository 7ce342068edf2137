"""One PDF page's text as laid out: rows of words in reading order, columns and tables.

Columns are found where rows share a vertical gutter that no text crosses; each column is read
top to bottom, the left one first. Tables come from ``ingest.pdf_tables``.
"""

from __future__ import annotations

import ctypes
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest.pdf_tables import fill_table, find_tables
from ingest.pdf_words import FRAGMENT_GAP, Char, Fragment, char_rows, fragments, inside, read_chars

MIN_COLUMN_ROWS = 3  # a column split needs this many rows beside each other
MIN_COLUMN_CHARS = 8  # ...and rows this long on each side: short ones are form fields
FEW_GLYPHS = 30  # a page with fewer glyphs than this over a page-sized image is a scan


@dataclass(slots=True)
class Line:
    """A line of the page in reading order, with the box of the column it sits in."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    col_x0: float
    col_x1: float
    cells: list[list[str]] | None = None  # a table row: each cell's lines
    table_id: int | None = None


@dataclass
class PageLayout:
    """The lines of one page in reading order."""

    lines: list[Line]
    width: float
    height: float
    chars: int  # glyphs with text on the page
    image_cover: float = 0.0  # share of the page under its largest image (pages with few glyphs)

    @property
    def textless(self) -> bool:
        """No text layer, or a scan with a few stray glyphs (a stamp, a page number) on it."""
        return self.chars == 0 or (self.chars < FEW_GLYPHS and self.image_cover > 0.5)


def read_page(page: pdfium.PdfPage) -> PageLayout:
    """Lay out one page: its characters, ruled tables and columns, in reading order."""
    left, bottom, right, top = page.get_mediabox()
    width, height = right - left, top - bottom
    textpage = page.get_textpage()
    try:
        chars = read_chars(textpage, left, top)
    finally:
        textpage.close()
    tables = find_tables(page, chars, left, top, width, height) if chars else []
    # a table drawn inside another's cell keeps its own text: the smallest box claims a glyph
    tables.sort(key=lambda t: (t[0][2] - t[0][0]) * (t[0][3] - t[0][1]))
    table_chars: list[list[Char]] = [[] for _ in tables]
    text_chars: list[Char] = []
    for c in chars:
        for k, (box, _) in enumerate(tables):
            if inside(c, box):
                table_chars[k].append(c)
                break
        else:
            text_chars.append(c)
    rows = [fragments(row) for row in char_rows(text_chars)]
    for (box, cell_boxes), mine in zip(tables, table_chars, strict=True):
        table = fill_table(cell_boxes, mine)
        if table is None:  # the rules do not fit the text: read it as running text
            rows.extend(fragments(row) for row in char_rows(mine))
        elif table.rows:
            rows.append([Fragment("", box[0], box[2], box[1], box[3], box[3] - box[1], table)])
    rows = [r for r in rows if r]
    rows.sort(key=lambda r: min(f.top for f in r))
    lines: list[Line] = []
    table_id = 0  # tables numbered per page
    for row, (cx0, cx1) in _reading_order(rows):
        table = row[0].table
        if table is not None:  # a table is a row of its own
            for cells, (top, bottom) in zip(table.rows, table.row_tops, strict=True):
                lines.append(Line("", table.x0, table.x1, top, bottom, cx0, cx1, cells, table_id))
            table_id += 1
            continue
        top, bottom = min(f.top for f in row), max(f.bottom for f in row)
        text = " ".join(f.text for f in row)
        lines.append(Line(text, row[0].x0, row[-1].x1, top, bottom, cx0, cx1))
    cover = _image_cover(page, width * height) if len(chars) < FEW_GLYPHS else 0.0
    return PageLayout(lines, width, height, len(chars), cover)


def _image_cover(page: pdfium.PdfPage, area: float) -> float:
    """The share of the page's area under its largest image."""
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    best = 0.0
    for i in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, i)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            continue
        if pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            best = max(best, (right.value - left.value) * (top.value - bottom.value))
    return best / area if area > 0 else 0.0


# -- columns ---------------------------------------------------------------------------------


def _coverage_gap(rows: list[list[Fragment]], min_gap: float) -> tuple[float, float] | None:
    """The widest horizontal gap that no fragment of ``rows`` covers, inside their extent."""
    spans = sorted((f.x0, f.x1) for row in rows for f in row)
    best: tuple[float, float] | None = None
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= min_gap and (best is None or x0 - reach > best[1] - best[0]):
            best = (reach, x0)
        reach = max(reach, x1)
    return best


def _groups(rows: list[list[Fragment]], min_gap: float) -> Iterator[list[list[Fragment]]]:
    """Consecutive rows that share a vertical gutter, or that have none."""
    current: list[list[Fragment]] = []
    current_gap: tuple[float, float] | None = None
    for row in rows:
        if not current:
            current, current_gap = [row], _coverage_gap([row], min_gap) if len(row) > 1 else None
            continue
        if current_gap is not None:
            gap = _coverage_gap([*current, row], min_gap)
            if gap is None:
                yield current
                current, current_gap = [row], _coverage_gap([row], min_gap)
                continue
        elif len(row) > 1 and _coverage_gap([row], min_gap) is not None:
            yield current
            current, current_gap = [row], _coverage_gap([row], min_gap)
            continue
        else:
            gap = _coverage_gap([*current, row], min_gap)
        current.append(row)
        current_gap = gap
    if current:
        yield current


def _reading_order(
    rows: list[list[Fragment]],
) -> Iterator[tuple[list[Fragment], tuple[float, float]]]:
    """Rows in reading order: side-by-side columns one after the other, left first."""
    if not rows:
        return
    height = statistics.median(f.height for row in rows for f in row)
    for group in _groups(rows, FRAGMENT_GAP * height):
        gap = _coverage_gap(group, FRAGMENT_GAP * height) if len(group) >= MIN_COLUMN_ROWS else None
        sides = _split(group, gap) if gap else None
        if sides is None:
            x0 = min(f.x0 for row in group for f in row)
            x1 = max(f.x1 for row in group for f in row)
            for row in group:
                yield row, (x0, x1)
            continue
        for side in sides:
            yield from _reading_order(side)


def _split(
    group: list[list[Fragment]], gap: tuple[float, float]
) -> tuple[list[list[Fragment]], list[list[Fragment]]] | None:
    """The group's left and right columns, if both hold running text."""
    left = [[f for f in row if f.x1 <= gap[0] + 0.5] for row in group]
    right = [[f for f in row if f.x0 >= gap[1] - 0.5] for row in group]
    left, right = [r for r in left if r], [r for r in right if r]
    for side in (left, right):
        if len(side) < MIN_COLUMN_ROWS:
            return None
        lengths = [sum(len(f.text) for f in row) for row in side if row[0].table is None]
        if lengths and statistics.median(lengths) < MIN_COLUMN_CHARS:
            return None
    return left, right
