"""Find ruled tables (cells drawn with lines) in a scanned page image, for OCR cell by cell."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

__all__ = ["Table", "find_tables"]

Box = tuple[int, int, int, int]  # top, left, bottom, right (bottom and right exclusive)

_TEXT_DARK = 128  # grey level below which a pixel is text ink
_RULE_CONTRAST = 55  # a rule pixel is this much darker than the paper (thin rules are grey)
_MIN_RULE_INCH = 0.4  # a horizontal rule is at least this long (longer than any glyph stroke)
_MIN_VERTICAL_INCH = 0.15  # a cell's side rule: one line of 10-point text is ~0.14 inch
_MAX_THICK_INCH = 0.04  # thicker dark runs are filled areas or pictures, not rules
_TOUCH_INCH = 0.03  # how far a rule's end may stop short of the rule it meets


@dataclass(frozen=True)
class _Rule:
    lo: int  # first row (horizontal) or column (vertical) of the rule's thickness
    hi: int  # last one, inclusive
    start: int  # where the rule begins along its length
    end: int  # where it ends, inclusive

    @property
    def mid(self) -> int:
        return (self.lo + self.hi) // 2


@dataclass(frozen=True)
class Table:
    """A ruled table: its outer box and, row by row, the inside of each cell."""

    box: Box
    rows: tuple[tuple[Box, ...], ...]


def _long_runs(ink: np.ndarray, length: int) -> np.ndarray:
    """The pixels of ``ink`` that lie on a horizontal run of at least ``length`` ink pixels."""
    out = np.zeros_like(ink)
    width = ink.shape[1]
    rows = np.flatnonzero(ink.sum(axis=1) >= length)  # only these can hold such a run
    if width < length or rows.size == 0:
        return out
    sub = ink[rows]
    csum = np.zeros((rows.size, width + 1), dtype=np.int32)
    np.cumsum(sub, axis=1, dtype=np.int32, out=csum[:, 1:])
    full = (csum[:, length:] - csum[:, :-length]) == length  # the window starting here is ink
    # pixel x lies on a full window starting in [x - length + 1, x]: a sliding sum over starts
    padded = np.zeros((rows.size, width + length), dtype=np.int32)
    np.cumsum(full, axis=1, dtype=np.int32, out=padded[:, length : length + full.shape[1]])
    padded[:, length + full.shape[1] :] = padded[
        :, length + full.shape[1] - 1 : length + full.shape[1]
    ]
    out[rows] = (padded[:, length : length + width] - padded[:, :width]) > 0
    return out


def _rules(on_rule: np.ndarray, max_thick: int) -> list[_Rule]:
    """Horizontal rules: runs of rule pixels in neighbouring rows that overlap, merged."""
    open_: list[list[int]] = []  # [lo, hi, start, end] still growing
    done: list[_Rule] = []
    for y in np.flatnonzero(on_rule.any(axis=1)):
        row = np.concatenate(([False], on_rule[y], [False]))
        edges = np.flatnonzero(row[1:] != row[:-1])
        segments = list(zip(edges[::2], edges[1::2] - 1, strict=True))
        still = []
        for seg in open_:
            if seg[1] < y - 1:  # no row continued it
                done.append(_Rule(*seg))
            else:
                still.append(seg)
        open_ = still
        for start, end in segments:
            for seg in open_:
                if seg[1] == y - 1 and start <= seg[3] and end >= seg[2]:
                    seg[1], seg[2], seg[3] = int(y), min(seg[2], int(start)), max(seg[3], int(end))
                    break
            else:
                open_.append([int(y), int(y), int(start), int(end)])
    done.extend(_Rule(*seg) for seg in open_)
    return [r for r in done if r.hi - r.lo + 1 <= max_thick]


def _touches(h: _Rule, y: int, x: int, slack: int) -> bool:
    return h.lo - slack <= y <= h.hi + slack and h.start - slack <= x <= h.end + slack


def find_tables(gray: np.ndarray, dpi: int) -> list[Table]:
    """Ruled tables of two or more cells in a greyscale page image (``gray[y, x]``, 0 = black).

    A table is a group of horizontal rules joined by vertical rules that run from one to
    another; a single ruled box is not a table (its text is read with the page).
    """
    paper = int(np.median(gray[::4, ::4]))  # most of a page is paper
    ink = gray < min(200, paper - _RULE_CONTRAST)
    max_thick = max(2, round(dpi * _MAX_THICK_INCH))
    slack = max(2, round(dpi * _TOUCH_INCH))
    horizontal = _rules(_long_runs(ink, round(dpi * _MIN_RULE_INCH)), max_thick)
    columns = np.ascontiguousarray(ink.T)
    vertical_t = _rules(_long_runs(columns, round(dpi * _MIN_VERTICAL_INCH)), max_thick)
    if len(horizontal) < 2 or len(vertical_t) < 2:
        return []
    # a vertical rule counts if both its ends meet a horizontal rule
    joins: list[tuple[_Rule, int, int]] = []  # vertical rule, index of top and bottom rules
    for v in vertical_t:
        tops = [i for i, h in enumerate(horizontal) if _touches(h, v.start, v.mid, slack)]
        bottoms = [i for i, h in enumerate(horizontal) if _touches(h, v.end, v.mid, slack)]
        if tops and bottoms and tops[0] != bottoms[-1]:
            joins.append((v, tops[0], bottoms[-1]))
    parent = list(range(len(horizontal)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for v, a, b in joins:
        parent[find(a)] = find(b)
        for i, h in enumerate(horizontal):  # the rules between its ends that it crosses
            if v.start <= h.mid <= v.end and h.start - slack <= v.mid <= h.end + slack:
                parent[find(i)] = find(b)
    groups: dict[int, list[int]] = {}
    for i in range(len(horizontal)):
        groups.setdefault(find(i), []).append(i)
    tables = []
    for members in groups.values():
        sides = [v for v, a, _ in joins if find(a) == find(members[0])]
        table = _grid([horizontal[i] for i in members], sides, slack, gray < _TEXT_DARK)
        if table is not None:
            tables.append(table)
    return sorted(tables, key=lambda t: t.box)


def _text_rows(cells: list[Box], ink: np.ndarray) -> list[tuple[Box, ...]]:
    """The cells of one band cut at the pixel rows that are blank in every cell."""
    top, bottom = min(c[0] for c in cells), max(c[2] for c in cells)
    used = np.zeros(bottom - top, dtype=bool)
    for c_top, left, c_bottom, right in cells:
        used[c_top - top : c_bottom - top] |= ink[c_top:c_bottom, left:right].any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], used, [False])).astype(np.int8)))
    lines = [(int(a), int(b)) for a, b in zip(edges[::2] + top, edges[1::2] + top, strict=True)]
    if len(lines) <= 1:
        return [tuple(cells)]
    # cut halfway between text lines, so each cut keeps the whole of its line
    cuts = (
        [top] + [(a_end + b_start) // 2 for (_, a_end), (b_start, _) in pairwise(lines)] + [bottom]
    )
    return [
        tuple((max(a, c[0]), c[1], min(b, c[2]), c[3]) for c in cells) for a, b in pairwise(cuts)
    ]


def _grid(
    horizontal: list[_Rule], vertical: list[_Rule], slack: int, ink: np.ndarray
) -> Table | None:
    """Cells of one table: between neighbouring horizontal rules, split by the vertical rules
    that cross that band; a cell whose bottom is not ruled runs on into the next band. A band
    whose cells' text lines are all separated by blank pixel rows is split into one row per
    text line, as tables often rule only their header and their outer edges."""
    if len(horizontal) < 2 or len(vertical) < 2:
        return None
    levels: list[_Rule] = []  # one rule per distinct height, top to bottom
    for h in sorted(horizontal, key=lambda r: r.mid):
        if levels and h.lo <= levels[-1].hi + slack:
            last = levels[-1]
            levels[-1] = _Rule(last.lo, h.hi, min(last.start, h.start), max(last.end, h.end))
        else:
            levels.append(h)
    rows: list[tuple[Box, ...]] = []
    taken: set[tuple[int, int]] = set()  # (left x, band) of cells already part of a taller one
    for band in range(len(levels) - 1):
        top, bottom = levels[band], levels[band + 1]
        middle = (top.hi + bottom.lo) // 2
        xs = sorted(v.mid for v in vertical if v.start - slack <= middle <= v.end + slack)
        cells: list[Box] = []
        tall = False
        for left, right in pairwise(xs):
            if right - left <= 2 * slack or (left, band) in taken:
                continue
            end = band + 1  # extend down until a rule closes the cell
            centre = (left + right) // 2
            while end < len(levels) - 1 and not _touches(levels[end], levels[end].mid, centre, 0):
                taken.add((left, end))
                end += 1
                tall = True
            inner = (
                top.hi + 1 + slack // 2,
                left + slack,
                levels[end].lo - slack // 2,
                right - slack,
            )
            if inner[2] > inner[0] and inner[3] > inner[1]:
                cells.append(inner)
        if cells:
            rows.extend([tuple(cells)] if tall else _text_rows(cells, ink))
    if sum(len(row) for row in rows) < 2:
        return None
    box = (levels[0].lo, min(v.mid for v in vertical) - slack, levels[-1].hi + 1,
           max(v.mid for v in vertical) + slack + 1)  # fmt: skip
    return Table(box=box, rows=tuple(rows))
