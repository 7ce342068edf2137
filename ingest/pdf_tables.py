"""Ruled tables on a PDF page: PDFium's path edges fed to pdfplumber's cell finder.

pdfplumber (MIT) finds tables best among the permissive libraries, but parsing a page with it
(pdfminer) is ~10x slower than PDFium; its cell finder only needs the page's horizontal and
vertical edges, which PDFium's path objects give. Tables drawn with only their row rules or
only their column rules get the missing edges from ``ingest.pdf_open``.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import logging
import statistics
from collections.abc import Iterator
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest.pdf_open import complete_edges
from ingest.pdf_words import WORD_GAP, Char, Table, cell_lines, char_rows

logger = logging.getLogger(__name__)

MAX_PATH_SEGMENTS = 20_000  # pages drawn with more vector segments are not searched for tables
Box = tuple[float, float, float, float]  # x0, top, x1, bottom


def find_tables(
    page: pdfium.PdfPage, chars: list[Char], left: float, top: float, width: float, height: float
) -> list[tuple[Box, list[Box]]]:
    """Tables on the page, each as its box and its cells' boxes: ruled tables, and tables ruled
    only between rows or only between columns (``ingest.pdf_open``)."""
    from pdfplumber.table import merge_edges
    from pdfplumber.utils import filter_edges

    edges = list(_edges(page, left, top))
    if len(edges) < 3:
        return []
    edges = filter_edges(merge_edges(edges, 3, 3, 3, 3), min_length=3)
    tables = _grid_tables(edges, width, height)
    completed = complete_edges(edges, chars, [box for box, _ in tables])
    if completed is None:
        return tables
    return _grid_tables(merge_edges(completed, 3, 3, 3, 3), width, height)


def _grid_tables(
    edges: list[dict[str, Any]], width: float, height: float
) -> list[tuple[Box, list[Box]]]:
    """pdfplumber's cells and tables from the page's edges, without frames and strips."""
    from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells

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


def fill_table(cell_boxes: list[Box], chars: list[Char]) -> Table | None:
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
    for row in char_rows(chars):
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
