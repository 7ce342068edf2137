"""Character error rate of OCR text against a reference text, independent of reading order.

OCR reads a page top to bottom, while a PDF's text layer may hold a box or a page number in
another order; a plain edit distance would count such a block as wholly deleted and inserted.
Here each reference line is matched to the stretch of OCR text closest to it (a semi-global
edit distance), and OCR text that no reference line matched counts as inserted, so the rate is
that of the OCR text against the reference with its lines in the best order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

__all__ = ["ErrorRate", "character_error_rate", "normalise", "space_edits"]


@dataclass(frozen=True)
class ErrorRate:
    """Edits needed per reference character; ``plain`` keeps the OCR reading order."""

    rate: float
    plain: float
    errors: int
    reference_chars: int
    ocr_chars: int


def normalise(text: str, *, spaces: bool) -> list[str]:
    """Non-empty lines in NFC, table bars dropped; single spaces, or none at all."""
    text = unicodedata.normalize("NFC", text).replace("|", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    if not spaces:
        lines = [re.sub(r"\s", "", line) for line in lines]
    return [line for line in lines if line]


def _best_end(needle: np.ndarray, hay: np.ndarray, *, anchored: bool = False) -> tuple[int, int]:
    """(edit distance, end) of the substring of ``hay`` ending at ``end`` closest to ``needle``;
    ``anchored``: of the prefixes of ``hay``."""
    columns = np.arange(len(hay) + 1)
    # a match may start anywhere, or only at the start
    row = columns.copy() if anchored else np.zeros(len(hay) + 1, dtype=np.int64)
    for i, char in enumerate(needle, start=1):
        diagonal = row[:-1] + (hay != char)
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[1:] + 1, diagonal)
        # insertions along the row: best[j] = min over k <= j of best[k] + (j - k)
        row = np.minimum.accumulate(best - columns) + columns
    end = len(row) - 1 - int(np.argmin(row[::-1]))  # of equal matches, the longest
    return int(row[end]), end


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _match(line: str, hay: np.ndarray) -> tuple[int, int, int]:
    """(distance, start, end) of the best match of ``line`` within ``hay``."""
    needle = _codes(line)
    distance, end = _best_end(needle, hay)
    _, back = _best_end(needle[::-1], hay[:end][::-1], anchored=True)  # where it starts
    return distance, end - back, end


def character_error_rate(reference: str, ocr: str, *, spaces: bool = False) -> ErrorRate:
    """The OCR text's character error rate against ``reference`` (see the module docstring)."""
    ref_lines = normalise(reference, spaces=spaces)
    ocr_lines = normalise(ocr, spaces=spaces)
    joiner = " " if spaces else ""
    ref_text, ocr_text = joiner.join(ref_lines), joiner.join(ocr_lines)
    if not ref_text:
        raise ValueError("the reference text is empty")
    hay = _codes(ocr_text)
    covered = np.zeros(len(hay), dtype=bool)
    errors = 0
    for line in ref_lines:
        distance, start, end = _match(line, hay)
        errors += distance
        covered[start:end] = True
    uncovered = ~covered
    if spaces:  # the spaces joining OCR lines are not text
        uncovered &= hay != ord(" ")
    errors += int(uncovered.sum())
    ref_chars = sum(len(line) for line in ref_lines)
    plain = Levenshtein.distance(ref_text, ocr_text) / len(ref_text)
    return ErrorRate(errors / ref_chars, plain, errors, ref_chars, len(ocr_text))


def space_edits(reference: str, ocr: str) -> tuple[int, int]:
    """(spaces the OCR text inserted, spaces it dropped), each reference line against the OCR
    text it matched."""
    hay_text = " ".join(normalise(ocr, spaces=True))
    hay = _codes(hay_text)
    inserted = dropped = 0
    for line in normalise(reference, spaces=True):
        _, start, end = _match(line, hay)
        for edit in Levenshtein.editops(line, hay_text[start:end]):
            op, i, j = edit.tag, edit.src_pos, edit.dest_pos
            if op == "insert" and hay_text[start + j] == " ":
                inserted += 1
            elif op == "delete" and line[i] == " ":
                dropped += 1
            elif op == "replace" and " " in (line[i], hay_text[start + j]):
                inserted, dropped = inserted + (line[i] != " "), dropped + (line[i] == " ")
    return inserted, dropped
