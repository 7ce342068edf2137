"""Glyphs to words for PDF pages: PDFium's characters, grouped into rows and spaced words.

PDF producers write spaces unreliably (Hancom PDF writes none), so a space is put where the gap
between two glyph boxes is wider than the row's usual gap between letters.
"""

from __future__ import annotations

import ctypes
import itertools
import statistics
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

WORD_GAP = 0.15  # a gap this share of the glyph height wider than usual separates words
FRAGMENT_GAP = 1.0  # a gap wider than this many glyph heights splits a line into fragments

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


def read_chars(textpage: pdfium.PdfTextPage, left: float, top: float) -> list[Char]:
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


def inside(c: Char, box: tuple[float, float, float, float]) -> bool:
    x = (c.x0 + c.x1) / 2
    y = (c.top + c.bottom) / 2
    return box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1


# -- rows and words ----------------------------------------------------------------------


def char_rows(chars: list[Char]) -> list[list[Char]]:
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


def fragments(row: list[Char]) -> list[Fragment]:
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
    return [" ".join(f.text for f in fragments(row)) for row in char_rows(chars)]
