"""One PDF page's text as laid out: PDFium characters grouped into words, lines, columns, tables.

PDFium (pypdfium2) gives each character's box; the words, line order and columns are
rebuilt here from the geometry, because the text order and the spaces that PDF producers
write are unreliable (Hancom PDF writes no space characters at all). Ruled tables are found
with pdfplumber's cell finder fed with the page's line and rectangle edges read by PDFium,
which is ~10x faster than letting pdfplumber parse the page again.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import logging
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

logger = logging.getLogger(__name__)

WORD_GAP = 0.15  # a gap this share of the glyph height wider than usual separates words
FRAGMENT_GAP = 1.0  # a gap wider than this many glyph heights splits a line into fragments
MIN_COLUMN_ROWS = 3  # a column split needs this many rows beside each other
MIN_COLUMN_CHARS = 8  # ...and rows this long on each side: short ones are form fields
MAX_PATH_SEGMENTS = 20_000  # pages drawn with more vector segments are not searched for tables

# Glyphs from Symbol and Wingdings fonts come as private-use code points (U+F020-U+F0FF).
_SYMBOL_FONT = {
    0x2D: "−", 0xB4: "×", 0xB8: "÷", 0xB1: "±", 0xA3: "≤", 0xB3: "≥", 0xB9: "≠", 0xBB: "≈",
    0xB7: "•", 0xD7: "·", 0xAE: "→", 0xAC: "←", 0xAD: "↑", 0xAF: "↓", 0xB0: "°", 0xA5: "∞",
    0xD6: "√", 0xE5: "∑", 0xB6: "∂", 0x44: "Δ", 0x57: "Ω", 0x61: "α", 0x62: "β", 0x6D: "μ",
    0x70: "π", 0x73: "σ", 0xE0: "◊", 0xA8: "♦", 0xA7: "♣", 0xA9: "♥", 0xAA: "♠",
}  # fmt: skip
_WINGDINGS = {
    0x6C: "●", 0x6D: "○", 0x6E: "■", 0x6F: "□", 0x70: "◻", 0x71: "❑", 0x75: "◆", 0x76: "❖",
    0x77: "◆", 0x9F: "•", 0xA1: "○", 0xA7: "▪", 0xA8: "◻", 0xD8: "➢", 0xE0: "➔", 0xE8: "➔",
    0xF0: "⇨", 0xF8: "➢", 0xFB: "✗", 0xFC: "✓", 0xFD: "☒", 0xFE: "☑", 0x9E: "·",
}  # fmt: skip
_CONTROL = {0x02: "-", 0x09: " ", 0xA0: " ", 0xAD: "", 0x200B: "", 0xFEFF: ""}


@dataclass(slots=True)
class Char:
    """A glyph with its box in top-down page coordinates (points)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    space_before: bool = False  # the PDF wrote a space character right before it


@dataclass(slots=True)
class Fragment:
    """A run of words on one baseline, or a whole table (``table`` set)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    height: float
    table: Table | None = None


@dataclass
class Table:
    """A ruled table: rows of cells, each cell the lines of text inside it."""

    rows: list[list[list[str]]]
    x0: float
    x1: float
    top: float
    bottom: float
    row_tops: list[tuple[float, float]] = field(default_factory=list)


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
    chars: int  # glyphs with text on the page; 0 means no text layer


def read_page(page: pdfium.PdfPage, table_start: int = 0) -> PageLayout:
    """Lay out one page: its characters, ruled tables and columns, in reading order."""
    left, bottom, right, top = page.get_mediabox()
    width, height = right - left, top - bottom
    textpage = page.get_textpage()
    try:
        chars = _chars(textpage, left, top)
    finally:
        textpage.close()
    tables = find_tables(page, left, top, width, height) if chars else []
    table_chars: list[list[Char]] = [[] for _ in tables]
    text_chars: list[Char] = []
    for c in chars:
        for k, (box, _) in enumerate(tables):
            if _inside(c, box):
                table_chars[k].append(c)
                break
        else:
            text_chars.append(c)
    rows = [_fragments(row) for row in _rows(text_chars)]
    for (box, cell_boxes), mine in zip(tables, table_chars, strict=True):
        table = _fill_table(cell_boxes, mine)
        if table is None:  # the rules do not fit the text: read it as running text
            rows.extend(_fragments(row) for row in _rows(mine))
        elif table.rows:
            rows.append([Fragment("", box[0], box[2], box[1], box[3], box[3] - box[1], table)])
    rows = [r for r in rows if r]
    rows.sort(key=lambda r: min(f.top for f in r))
    lines: list[Line] = []
    table_id = table_start
    for row, (cx0, cx1) in _reading_order(rows):
        tables_here = [f for f in row if f.table is not None]
        if tables_here:
            for f in tables_here:
                assert f.table is not None
                for cells, (rt, rb) in zip(f.table.rows, f.table.row_tops, strict=True):
                    lines.append(Line("", f.x0, f.x1, rt, rb, cx0, cx1, cells, table_id))
                table_id += 1
            continue
        text = " ".join(f.text for f in row)
        lines.append(
            Line(
                text,
                row[0].x0,
                row[-1].x1,
                min(f.top for f in row),
                max(f.bottom for f in row),
                cx0,
                cx1,
            )
        )
    return PageLayout(lines, width, height, len(chars))


# -- characters ------------------------------------------------------------------------------


def _chars(textpage: pdfium.PdfTextPage, left: float, top: float) -> list[Char]:
    raw = textpage.raw
    rect = pdfium_c.FS_RECTF()
    out: list[Char] = []
    space = False
    for i in range(pdfium_c.FPDFText_CountChars(raw)):
        if pdfium_c.FPDFText_IsGenerated(raw, i):
            continue  # PDFium's own guesses at spaces and line ends: the geometry decides here
        code = pdfium_c.FPDFText_GetUnicode(raw, i)
        if code in (0x20, 0x3000, 0x0D, 0x0A):
            space = True
            continue
        if 0xF020 <= code <= 0xF0FF:
            text = _symbol(raw, i, code)
        elif code in _CONTROL:
            text = _CONTROL[code]
        else:
            text = chr(code)
        if not text or text.isspace():
            space = True
            continue
        pdfium_c.FPDFText_GetLooseCharBox(raw, i, rect)
        if rect.right < rect.left or rect.top < rect.bottom:
            continue
        x0, x1 = rect.left - left, rect.right - left
        out.append(Char(text, x0, x1, top - rect.top, top - rect.bottom, space))
        space = False
    return out


def _symbol(raw: Any, index: int, code: int) -> str:
    """A private-use glyph of a symbol font, by the font's name."""
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(raw, index, buf, len(buf), ctypes.byref(flags))
    font = buf.value.decode("latin-1").lower()
    table = _WINGDINGS if "wingding" in font or "webding" in font else _SYMBOL_FONT
    return table.get(code - 0xF000, "•")


def _inside(c: Char, box: tuple[float, float, float, float]) -> bool:
    x = (c.x0 + c.x1) / 2
    y = (c.top + c.bottom) / 2
    return box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1


# -- lines and words -------------------------------------------------------------------------


def _rows(chars: list[Char]) -> list[list[Char]]:
    """Characters grouped by baseline, each row sorted left to right."""
    rows: list[list[Char]] = []
    centre = size = 0.0
    for c in sorted(chars, key=lambda c: c.top + c.bottom):
        y, h = (c.top + c.bottom) / 2, c.bottom - c.top
        if rows and abs(y - centre) <= 0.45 * max(min(h, size), 1.0):
            rows[-1].append(c)
            n = len(rows[-1])
            centre += (y - centre) / n
        else:
            rows.append([c])
            centre, size = y, h
    for row in rows:
        row.sort(key=lambda c: c.x0)
    return rows


def _fragments(row: list[Char]) -> list[Fragment]:
    """Split a row at wide gaps; words inside a fragment are separated by one space.

    Glyph boxes of condensed fonts overlap, so a word gap is measured against the row's
    usual gap between letters rather than against zero.
    """
    height = statistics.median(c.bottom - c.top for c in row) or 1.0
    gaps = [c.x0 - p.x1 for p, c in itertools.pairwise(row)]
    usual = statistics.median(gaps) if gaps else 0.0
    usual = min(max(usual, -0.25 * height), 0.05 * height)
    out: list[Fragment] = []
    parts = [row[0].text]
    start = prev = row[0]
    top, bottom = prev.top, prev.bottom
    for c, gap in zip(row[1:], gaps, strict=True):
        if gap > FRAGMENT_GAP * height:
            out.append(Fragment("".join(parts), start.x0, prev.x1, top, bottom, height))
            parts, start, top, bottom = [], c, c.top, c.bottom
        elif c.space_before or gap - usual > WORD_GAP * min(height, c.bottom - c.top):
            parts.append(" ")
        parts.append(c.text)
        top, bottom = min(top, c.top), max(bottom, c.bottom)
        prev = c
    out.append(Fragment("".join(parts), start.x0, prev.x1, top, bottom, height))
    return out


def cell_lines(chars: list[Char]) -> list[str]:
    """The text lines of a table cell, top to bottom."""
    return [" ".join(f.text for f in _fragments(row)) for row in _rows(chars)]


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


# -- tables ----------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # x0, top, x1, bottom


def find_tables(
    page: pdfium.PdfPage, left: float, top: float, width: float, height: float
) -> list[tuple[Box, list[Box]]]:
    """Ruled tables on the page: each table's box and its cells' boxes."""
    from pdfplumber.table import (
        cells_to_tables,
        edges_to_intersections,
        intersections_to_cells,
        merge_edges,
    )
    from pdfplumber.utils import filter_edges

    edges = list(_edges(page, left, top))
    if len(edges) < 4:
        return []
    edges = merge_edges(edges, 3, 3, 3, 3)
    edges = filter_edges(edges, min_length=3)
    cells = intersections_to_cells(edges_to_intersections(edges, 3, 3))
    out: list[tuple[Box, list[Box]]] = []
    for group in cells_to_tables(cells):
        x0 = min(c[0] for c in group)
        t = min(c[1] for c in group)
        x1 = max(c[2] for c in group)
        b = max(c[3] for c in group)
        xs = {c[0] for c in group}
        ys = {c[1] for c in group}
        if len(xs) < 2 or len(ys) < 2:
            continue  # a box around a paragraph, a one-row strip: not a table
        if (x1 - x0) * (b - t) > 0.8 * width * height and len(group) < 4:
            continue  # a page frame
        out.append(((x0, t, x1, b), group))
    return out


def _fill_table(cell_boxes: list[Box], chars: list[Char]) -> Table | None:
    """Rows of cell texts for the cells of one table (pdfplumber's row/column grid), or None
    when the grid's rules cut through words (fills and frames that are not a table)."""
    from pdfplumber.table import Table as GridTable

    index = _CellIndex(cell_boxes)
    where = [index.find(c) for c in chars]
    if _cut_words(chars, where) >= 2:
        return None
    by_cell: dict[int, list[Char]] = {}
    for c, k in zip(chars, where, strict=True):
        if k is not None:
            by_cell.setdefault(k, []).append(c)
    number = {box: k for k, box in enumerate(cell_boxes)}
    rows: list[list[list[str]]] = []
    tops: list[tuple[float, float]] = []
    for row in GridTable(None, cell_boxes).rows:  # type: ignore[arg-type]  # rows need no page
        cells = [cell_lines(by_cell.get(number[box], [])) if box else [] for box in row.cells]
        if any(cells):
            boxes = [box for box in row.cells if box is not None]
            rows.append(cells)
            tops.append((min(bx[1] for bx in boxes), max(bx[3] for bx in boxes)))
    # columns empty in every row are artefacts of doubled rules
    keep = [j for j in range(len(rows[0]) if rows else 0) if any(r[j] for r in rows)]
    rows = [[r[j] for j in keep] for r in rows]
    x0 = min(c[0] for c in cell_boxes)
    x1 = max(c[2] for c in cell_boxes)
    return Table(rows, x0, x1, min(c[1] for c in cell_boxes), max(c[3] for c in cell_boxes), tops)


class _CellIndex:
    """Which cell of a grid holds a point: the grid's lines cut the table into slots."""

    def __init__(self, boxes: list[Box]) -> None:
        self.xs = sorted({b[0] for b in boxes} | {b[2] for b in boxes})
        self.ys = sorted({b[1] for b in boxes} | {b[3] for b in boxes})
        self.slots: dict[tuple[int, int], int] = {}
        for k, (x0, t, x1, b) in enumerate(boxes):
            for i in range(bisect.bisect_left(self.xs, x0), bisect.bisect_left(self.xs, x1)):
                for j in range(bisect.bisect_left(self.ys, t), bisect.bisect_left(self.ys, b)):
                    self.slots.setdefault((i, j), k)

    def find(self, c: Char) -> int | None:
        """The number of the cell holding the centre of ``c``, if any."""
        i = bisect.bisect_right(self.xs, (c.x0 + c.x1) / 2) - 1
        j = bisect.bisect_right(self.ys, (c.top + c.bottom) / 2) - 1
        return self.slots.get((i, j))


def _cut_words(chars: list[Char], where: list[int | None]) -> int:
    """How many pairs of neighbouring letters of one word fall in two different cells."""
    cell = {id(c): k for c, k in zip(chars, where, strict=True)}
    cut = 0
    for row in _rows(chars):
        height = statistics.median(c.bottom - c.top for c in row) or 1.0
        for a, b in itertools.pairwise(row):
            if b.x0 - a.x1 > WORD_GAP * height or b.space_before:
                continue
            ca, cb = cell[id(a)], cell[id(b)]
            if ca is not None and cb is not None and ca != cb:
                cut += 1
    return cut


def _edges(page: pdfium.PdfPage, left: float, top: float) -> Iterator[dict[str, Any]]:
    """Horizontal and vertical edges of the page's paths (lines, rectangles, cell borders)."""
    raw = page.raw
    segments = 0
    matrix = pdfium_c.FS_MATRIX()
    x, y = ctypes.c_float(), ctypes.c_float()
    for i in range(pdfium_c.FPDFPage_CountObjects(raw)):
        obj = pdfium_c.FPDFPage_GetObject(raw, i)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        n = pdfium_c.FPDFPath_CountSegments(obj)
        segments += n
        if segments > MAX_PATH_SEGMENTS:
            logger.debug("page has over %d path segments: no table search", MAX_PATH_SEGMENTS)
            return
        if not pdfium_c.FPDFPageObj_GetMatrix(obj, matrix):
            continue
        a, b, c, d, e, f = matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f
        points: list[tuple[float, float]] = []
        start: tuple[float, float] | None = None
        for j in range(n):
            seg = pdfium_c.FPDFPath_GetPathSegment(obj, j)
            pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
            px = a * x.value + c * y.value + e - left
            py = top - (b * x.value + d * y.value + f)
            kind = pdfium_c.FPDFPathSegment_GetType(seg)
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO or not points:
                start = (px, py)
            elif kind == pdfium_c.FPDF_SEGMENT_LINETO:
                yield from _edge(points[-1], (px, py))
            points.append((px, py))
            if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
                yield from _edge((px, py), start)


def _edge(p: tuple[float, float], q: tuple[float, float]) -> Iterator[dict[str, Any]]:
    (x0, y0), (x1, y1) = p, q
    if abs(y1 - y0) < 1.0 and abs(x1 - x0) >= 1.0:
        lo, hi = min(x0, x1), max(x0, x1)
        yield {"x0": lo, "x1": hi, "top": y0, "bottom": y0, "width": hi - lo, "height": 0.0,
               "orientation": "h", "object_type": "line"}  # fmt: skip
    elif abs(x1 - x0) < 1.0 and abs(y1 - y0) >= 1.0:
        lo, hi = min(y0, y1), max(y0, y1)
        yield {"x0": x0, "x1": x0, "top": lo, "bottom": hi, "width": 0.0, "height": hi - lo,
               "orientation": "v", "object_type": "line"}  # fmt: skip
