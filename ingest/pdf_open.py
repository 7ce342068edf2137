"""Tables drawn with only some of their rules: rows ruled but no column lines, or the reverse.

A fund report rules each row of its table and draws no column lines; a bill's 신·구조문대비표
rules its two columns and none of its rows. The missing edges are put where the text shows
them — a column edge in a gutter that no glyph of any row crosses, a row edge on a line where
every column starts a new paragraph — and the ruled-table finder (``ingest.pdf_tables``) reads
the grid as it reads any other. Text without such rules (prose, two-column pages) is never
read as a table here: the rules have to be drawn.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from typing import Any

from ingest.pdf_words import Char, char_rows, fragments

Edge = dict[str, Any]
Box = tuple[float, float, float, float]  # x0, top, x1, bottom

MIN_RULE = 40.0  # points: shorter strokes are underlines and glyph outlines
MIN_ROWS = 3  # a band of row rules needs this many rows with two or more filled columns
ROW_LINES = 4  # ...and no row taller than this many text lines (prose between rules is)
SAME = 2.0  # points: rules this close share an end, a position
UNDERLINE = 1.0  # points: a rule this close to the bottom of a glyph underlines it
GUTTER = 0.6  # a column gutter is at least this share of the glyph height wide

# a line that starts a paragraph whatever came before: a list item, an article, a mark
LIST_ITEM = re.compile(
    r"^([0-9]{1,3}[.)]\s|\(?[0-9]{1,3}\)\s|[가나다라마바사아자차카타파하][.)]\s|\([가-하]\)|[①-⑳]|[○●◦•▪■□◆◇※\-–·*➢>]\s?|제\s?\d+\s?[조장절항]\b)"
)
# a line that ends a sentence: what follows it starts a paragraph
SENTENCE_END = re.compile(r"[.!?。:;]$|[.!?]['\"”’)\]]$|(니|었|았|였|겠|했|된|있|없)다$")
# "<신 설>", "(생 략)": an entry of its own in a 대비표; "ㅇ" a bullet in a box of terms
_MARK = re.compile(r"^([<〈(（]|ㅇ\s?\S)")


@dataclass(frozen=True)
class _Line:
    text: str
    x0: float
    top: float
    bottom: float


def complete_edges(edges: list[Edge], chars: list[Char], taken: list[Box]) -> list[Edge] | None:
    """The page's edges with those missing from tables ruled only between rows or only
    between columns put in, or None when no such table is there.

    ``edges`` are the page's merged rules; bands that overlap a table in ``taken`` (already
    found from its own rules) are left alone."""
    if not chars:
        return None
    out = list(edges)
    changed = False
    for box, tops in _row_bands(edges):
        if not any(_overlap(box, t) for t in taken):
            columns = _column_edges(box, tops, chars, edges)
            if columns:
                out = [e for e in out if not _through_text(e, box, columns)] + columns
                changed = True
    for box, xs in _column_bands(edges):
        if not any(_overlap(box, t) for t in taken):
            rows = _row_edges(box, xs, chars, edges)
            if rows:
                out += rows
                changed = True
    return out if changed else None


# -- rows ruled, columns from the text ---------------------------------------------------------


def _row_bands(edges: list[Edge]) -> list[tuple[Box, list[float]]]:
    """Runs of three or more long horizontal rules with the same ends: a box and the rules' tops."""
    rules = sorted(
        (e for e in edges if e["orientation"] == "h" and e["x1"] - e["x0"] >= MIN_RULE),
        key=lambda e: (round(e["x0"]), round(e["x1"]), e["top"]),
    )
    bands = []
    for group in _groups(rules, "x0", "x1"):
        tops = _distinct(sorted(e["top"] for e in group))
        if len(tops) >= MIN_ROWS + 1:
            x0 = min(e["x0"] for e in group)
            x1 = max(e["x1"] for e in group)
            bands.append(((x0, tops[0], x1, tops[-1]), tops))
    return bands


def _column_edges(box: Box, tops: list[float], chars: list[Char], edges: list[Edge]) -> list[Edge]:
    """Vertical edges in the gutters that the text of every row between the rules leaves."""
    x0, top, x1, bottom = box
    mine = [c for c in chars if _centre_in(c, box)]
    if not mine or _underlines(box, tops, chars):
        return []
    height = statistics.median(c.bottom - c.top for c in mine)
    rows: list[list[Char]] = [[] for _ in tops[1:]]
    for c in mine:
        y = (c.top + c.bottom) / 2
        for k in range(len(tops) - 1):
            if tops[k] <= y < tops[k + 1]:
                rows[k].append(c)
                break
    if any(len(char_rows(row)) > ROW_LINES for row in rows):
        return []  # paragraphs between rules: running text, not table rows
    gutters = _gutters(mine, x0, x1, GUTTER * height)
    filled = 0
    for row in rows:
        columns = {sum(1 for g in gutters if g[1] <= c.x0) for c in row}
        filled += len(columns) >= 2
    if not gutters or filled < MIN_ROWS:
        return []
    standing = [e["x0"] for e in edges if e["orientation"] == "v" and _crosses(e, top, bottom)]
    xs = [x0, x1]
    for lo, hi in gutters:
        inside = [x for x in standing if lo <= x <= hi]
        xs.append(inside[0] if inside else (lo + hi) / 2)  # keep a column line drawn in part
    return [_vertical(x, top, bottom) for x in xs]


def _underlines(box: Box, tops: list[float], chars: list[Char]) -> bool:
    """Whether most of the rules run along the bottoms of glyphs: text underlined line by line
    (a bill's amended words), not rules between table rows."""
    touching = 0
    for y in tops:
        touching += any(
            abs(y - c.bottom) <= UNDERLINE and c.x1 > box[0] and c.x0 < box[2] for c in chars
        )
    return touching * 2 >= len(tops)


def _gutters(chars: list[Char], x0: float, x1: float, width: float) -> list[tuple[float, float]]:
    """Horizontal spans inside ``x0``..``x1`` that no glyph covers, at least ``width`` wide,
    with text on both sides."""
    spans = sorted((c.x0, c.x1) for c in chars)
    out = []
    reach = spans[0][1]
    for a, b in spans[1:]:
        if a - reach >= width:
            out.append((reach, a))
        reach = max(reach, b)
    return [(a, b) for a, b in out if x0 < a and b < x1]


# -- columns ruled, rows from the text ---------------------------------------------------------


def _groups(rules: list[Edge], start: str, end: str) -> list[list[Edge]]:
    """Rules grouped by where they start and end (within ``SAME`` of a group's first rule)."""
    groups: list[list[Edge]] = []
    for e in rules:
        for group in groups:
            g = group[0]
            if abs(g[start] - e[start]) <= SAME and abs(g[end] - e[end]) <= SAME:
                group.append(e)
                break
        else:
            groups.append([e])
    return groups


def _column_bands(edges: list[Edge]) -> list[tuple[Box, list[float]]]:
    """Three or more long vertical rules sharing their top and bottom: a box and their x's."""
    rules = [e for e in edges if e["orientation"] == "v" and e["bottom"] - e["top"] >= MIN_RULE]
    bands = []
    ordered = sorted(rules, key=lambda e: (e["top"], e["bottom"], e["x0"]))
    for group in _groups(ordered, "top", "bottom"):
        xs = _distinct(sorted(e["x0"] for e in group))
        if len(xs) >= 3:
            top = min(e["top"] for e in group)
            bottom = max(e["bottom"] for e in group)
            bands.append(((xs[0], top, xs[-1], bottom), xs))
    return bands


def _row_edges(box: Box, xs: list[float], chars: list[Char], edges: list[Edge]) -> list[Edge]:
    """Horizontal edges where every column starts a new entry on the same line, and the band's
    top and bottom where no rule closes it; none when no line starts entries side by side."""
    x0, top, x1, bottom = box
    rules = _distinct(
        sorted(
            e["top"]
            for e in edges
            if e["orientation"] == "h"
            and e["x0"] <= x0 + SAME
            and e["x1"] >= x1 - SAME
            and top - SAME <= e["top"] <= bottom + SAME
        )
    )
    stops = _distinct(sorted({top, bottom, *rules}))
    open_ends = [y for y in (top, bottom) if not any(abs(y - r) <= SAME for r in rules)]
    out = [_horizontal(y, x0, x1) for y in open_ends]
    side_by_side = 0
    for upper, lower in itertools.pairwise(stops):
        columns = [
            _lines([c for c in chars if _centre_in(c, (a, upper, b, lower))])
            for a, b in itertools.pairwise(xs)
        ]
        if sum(1 for lines in columns if lines) < 2:
            continue
        cuts, aligned = _entry_starts(columns)
        side_by_side += aligned
        out += [_horizontal(y, x0, x1) for y in cuts]
    return out if side_by_side else []


def _lines(chars: list[Char]) -> list[_Line]:
    out = []
    for row in char_rows(chars):
        text = " ".join(f.text for f in fragments(row))
        out.append(_Line(text, row[0].x0, min(c.top for c in row), max(c.bottom for c in row)))
    return out


def _entry_starts(columns: list[list[_Line]]) -> tuple[list[float], int]:
    """Where rows begin between the lines of side-by-side columns, and how many of those
    begins have two or more columns starting an entry on the same line."""
    gaps = [
        b.top - a.bottom
        for lines in columns
        for a, b in itertools.pairwise(lines)
        if 0 <= b.top - a.bottom < 3 * (a.bottom - a.top)
    ]
    leading = statistics.median(gaps) if gaps else 0.0
    starts: list[tuple[_Line, bool]] = []
    for lines in columns:
        for k, line in enumerate(lines):
            prev = lines[k - 1] if k else None
            starts.append((line, prev is None or _starts_entry(prev, line, leading)))
    starts.sort(key=lambda s: s[0].top)
    groups: list[list[tuple[_Line, bool]]] = []
    for s in starts:
        line = s[0]
        if groups and abs(line.top - groups[-1][0][0].top) < 0.5 * (line.bottom - line.top):
            groups[-1].append(s)
        else:
            groups.append([s])
    cuts, aligned = [], 0
    for prev_group, group in itertools.pairwise(groups):
        if all(start for _, start in group):
            above = max(line.bottom for line, _ in prev_group)
            cuts.append((above + min(line.top for line, _ in group)) / 2)
            aligned += len(group) >= 2
    return cuts, aligned


def _starts_entry(prev: _Line, line: _Line, leading: float) -> bool:
    """Whether ``line`` starts a new entry of its column rather than continuing ``prev``."""
    height = max(prev.bottom - prev.top, 1.0)
    if line.top - prev.bottom > leading + 0.6 * height:
        return True  # more space than between the table's lines: a blank line
    return bool(
        SENTENCE_END.search(prev.text) or LIST_ITEM.match(line.text) or _MARK.match(line.text)
    )


# -- geometry ----------------------------------------------------------------------------------


def _distinct(values: list[float]) -> list[float]:
    """Sorted values with those within SAME of the previous one left out."""
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > SAME:
            out.append(v)
    return out


def _centre_in(c: Char, box: Box) -> bool:
    x, y = (c.x0 + c.x1) / 2, (c.top + c.bottom) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _through_text(e: Edge, box: Box, columns: list[Edge]) -> bool:
    """Whether ``e`` is a vertical stroke inside a row-ruled band off its column edges: an
    invisible line, a bar of a chart, which would cut the band's words in two."""
    if e["orientation"] != "v" or not box[0] + SAME < e["x0"] < box[2] - SAME:
        return False
    inside = min(e["bottom"], box[3]) - max(e["top"], box[1])
    if inside <= 0.5 * (box[3] - box[1]):
        return False
    return all(abs(e["x0"] - c["x0"]) > SAME for c in columns)


def _crosses(e: Edge, top: float, bottom: float) -> bool:
    return e["top"] < bottom and e["bottom"] > top


def _vertical(x: float, top: float, bottom: float) -> Edge:
    return {"x0": x, "x1": x, "top": top, "bottom": bottom, "width": 0.0, "height": bottom - top,
            "orientation": "v", "object_type": "line"}  # fmt: skip


def _horizontal(y: float, x0: float, x1: float) -> Edge:
    return {"x0": x0, "x1": x1, "top": y, "bottom": y, "width": x1 - x0, "height": 0.0,
            "orientation": "h", "object_type": "line"}  # fmt: skip
