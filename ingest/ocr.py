"""Read scanned pages and image files with Tesseract (Debian tesseract-ocr + its Korean data).

Choices measured in bench/ocr.py on a real scanned bill page: page segmentation mode 6 (one
uniform block; the default mode 3 drops the body text of this page), PDF pages rendered at
300 DPI, one OpenMP thread per Tesseract process (3x faster than Tesseract's default
threads on a busy two-core machine: 2.4 s against 7.8 s a page, median of 3).
Ruled table cells are read apart from the page, stacked one under another: in mode 6 a cell's
text that sits between two text lines of the next column is cut in half and misread (the bill
number "25318" came out as "26918"), and on a page of ruled tables mode 6 lost 40 % of the text;
read apart they come out right, and each table row becomes one line ``| cell | cell |``.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from ingest.budgets import check_text
from ingest.errors import IngestError
from ingest.records import Loaded, LoadOptions
from ingest.rules import Table, find_tables

__all__ = [
    "IMAGE_SUFFIXES",
    "PAGE_SEGMENTATION_MODE",
    "PDF_DPI",
    "load_image",
    "ocr_image",
    "ocr_pdf_page",
    "tesseract_available",
]

logger = logging.getLogger(__name__)

PAGE_SEGMENTATION_MODE = 6  # bench/ocr.py: mode 3 reads 12 % of this page, mode 4 is close to 6
PDF_DPI = 300  # bench/ocr.py: the scan's own resolution; the best error rate with mode 6
READ_TABLE_CELLS = True  # read ruled table cells one by one (bench/ocr.py)
KOREAN_SECOND_PASS = True  # with "kor+eng", also read Korean alone and merge (bench/ocr.py)
TESSERACT_THREADS: str | None = "1"  # OMP_THREAD_LIMIT; None leaves Tesseract's OpenMP default
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
INSTALL_HINT = "install tesseract-ocr and tesseract-ocr-kor, or set JARYO_OCR=false"
_ASSUMED_DPI = 300  # an image file that does not say its resolution
_MAX_PIXELS = 200_000_000  # larger images are refused (Pillow's decompression-bomb guard)


@functools.cache
def _installed_languages() -> frozenset[str] | None:
    """Tesseract's installed language data, or None without a working ``tesseract``."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    try:
        done = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        logger.warning("tesseract --list-langs failed", exc_info=True)
        return None
    # the first line is a heading: List of available languages in "/usr/share/...":
    return frozenset(line.strip() for line in done.stdout.splitlines()[1:] if line.strip())


def tesseract_available() -> bool:
    """Whether the ``tesseract`` binary and its Korean data are installed (checked once)."""
    languages = _installed_languages()
    return languages is not None and "kor" in languages


def _require_tesseract(name: str, languages: str) -> None:
    installed = _installed_languages()
    if installed is None:
        raise IngestError(f"{name}: OCR needs the tesseract program — {INSTALL_HINT}")
    missing = [lang for lang in languages.split("+") if lang and lang not in installed]
    if missing:
        raise IngestError(
            f"{name}: OCR needs Tesseract language data {'+'.join(missing)} "
            f"(installed: {', '.join(sorted(installed)) or 'none'}) — {INSTALL_HINT}"
        )


# -- running Tesseract ---------------------------------------------------------------------


@dataclass
class _Page:
    """What OCR of one page is working with: its label for messages and its time budget."""

    label: str  # "scan.pdf: page 3" or "photo.png"
    languages: str
    timeout: float
    deadline: float
    dpi: int

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        return left

    def timed_out(self) -> IngestError:
        return IngestError(
            f"{self.label}: OCR took longer than {self.timeout:g} s and was stopped "
            "(raise JARYO_OCR_PAGE_TIMEOUT, or set JARYO_OCR=false)"
        )


def _recognise(image: Image.Image, page: _Page, *, with_lines: bool) -> tuple[str, list[int]]:
    """Text of ``image``, and with ``with_lines`` the top y of each non-empty output line.

    Korean with other languages ("kor+eng") is read twice, with them and with Korean alone,
    and merged line by line (see _merge_line): with English data Tesseract turns some Korean
    words into Latin letters ("대응을" -> "WSs"), without it every English word into noise.
    """
    text, tops = _tesseract(image, page, page.languages, with_lines=True)
    if not KOREAN_SECOND_PASS or "kor" not in page.languages.split("+") or page.languages == "kor":
        return text, tops if with_lines else []
    korean, korean_tops = _tesseract(image, page, "kor", with_lines=True)
    lines = _tidy(text).splitlines()
    written = [line for line in _tidy(korean).splitlines() if line]
    korean_lines = iter(written)
    # line boxes come from the layout analysis, give or take the pixels of a recognised glyph
    same = len(tops) == len(korean_tops) and all(
        abs(a - b) <= page.dpi // 20 for a, b in zip(tops, korean_tops, strict=True)
    )
    if not same or {len(written), sum(1 for line in lines if line)} != {len(tops)}:
        logger.debug("%s: the Korean-only pass found other lines; keeping the first", page.label)
        return text, tops if with_lines else []
    merged = [_merge_line(line, next(korean_lines)) if line else "" for line in lines]
    return "\n".join(merged), tops if with_lines else []


_SYLLABLES = re.compile(r"[\uac00-\ud7a3]")
# what the Korean-only reading of a Latin word looks like: lone jamo (ㆍ is a middle dot, and
# fine), Latin letters, full-width forms and brackets that Korean text does not use
_NOT_KOREAN = re.compile(r"[\u3131-\u318c\u318e\uff01-\uff5eA-Za-z『』「」\\]")


def _merge_line(mixed: str, korean: str) -> str:
    """A line read with all languages, each stretch it read in Latin letters replaced by the
    Korean-only reading of it where that is Korean of two syllables or more, same digits.

    Measured in bench/ocr.py: a one-syllable Korean reading is often an English word ("AI" ->
    "시"), and digits that differ mean an English code or name was read ("910B" -> "91008를").
    """
    a, b = mixed.split(" "), korean.split(" ")
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        ours, theirs = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        if op == "replace" and _korean_misread(ours, theirs):
            out.append(theirs)
        elif ours:
            out.append(ours)
    return " ".join(out)


def _korean_misread(mixed: str, korean: str) -> bool:
    return (
        re.search(r"[A-Za-z]", mixed) is not None
        and len(_SYLLABLES.findall(korean)) >= 2
        and _NOT_KOREAN.search(korean) is None
        and re.findall(r"\d", mixed) == re.findall(r"\d", korean)
    )


def _tesseract(
    image: Image.Image, page: _Page, languages: str, *, with_lines: bool
) -> tuple[str, list[int]]:
    """One Tesseract run: its text, and with ``with_lines`` the top y of each written line."""
    png = io.BytesIO()
    image.save(png, format="PNG", compress_level=1)  # the pipe is local: favour speed
    outputs = ["txt", "tsv"] if with_lines else ["txt"]
    # OpenMP threads fight other work for two cores: one thread was faster (bench/ocr.py)
    env = dict(os.environ)
    if TESSERACT_THREADS is not None:
        env["OMP_THREAD_LIMIT"] = TESSERACT_THREADS
    with tempfile.TemporaryDirectory(prefix="jaryo-ocr-") as folder:
        base = Path(folder) / "page"
        command = ["tesseract", "stdin", str(base), "-l", languages]
        command += ["--psm", str(PAGE_SEGMENTATION_MODE), "--dpi", str(page.dpi), *outputs]
        try:
            done = subprocess.run(
                command, input=png.getvalue(), capture_output=True, timeout=page.remaining(),
                env=env, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
            raise page.timed_out() from exc
        except OSError as exc:
            raise IngestError(
                f"{page.label}: could not run tesseract ({exc}) — {INSTALL_HINT}"
            ) from exc
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise IngestError(
                f"{page.label}: tesseract failed ({reason[-1] if reason else done.returncode})"
            )
        text = (base.with_suffix(".txt")).read_text(encoding="utf-8")
        tops = _line_tops(base.with_suffix(".tsv").read_text("utf-8")) if with_lines else []
    return text, tops


def _line_tops(tsv: str) -> list[int]:
    """Top y of each text line that has a word, in Tesseract's output order."""
    line_top: dict[tuple[str, str, str], int] = {}
    written: dict[tuple[str, str, str], int] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) != 12:
            continue
        key = (cols[2], cols[3], cols[4])  # block, paragraph, line
        if cols[0] == "4":
            line_top[key] = int(cols[7])
        elif cols[0] == "5" and cols[11].strip():
            written.setdefault(key, line_top.get(key, int(cols[7])))
    return list(written.values())


def _tidy(text: str) -> str:
    """Tesseract's text with its layout padding removed: single spaces, no blank runs.

    Korean word spacing is left as Tesseract gives it: measured on the bill page it inserted
    or dropped few spaces (bench/ocr.py), so re-spacing would risk more than it mends.
    """
    text = unicodedata.normalize("NFC", text.replace("\f", "\n"))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- one page ------------------------------------------------------------------------------


def _grayscale(image: Image.Image) -> Image.Image:
    """The page as a camera or scanner meant it: upright (EXIF), on white where transparent."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("L")


def _read_page(image: Image.Image, page: _Page) -> str:
    """OCR of one page image: ruled tables cell by cell, the rest in one pass."""
    gray = np.asarray(_grayscale(image))
    tables = find_tables(gray, page.dpi) if READ_TABLE_CELLS else []
    body = gray.copy()
    for table in tables:
        top, left, bottom, right = table.box
        body[top:bottom, left:right] = 255
    text, tops = _recognise(Image.fromarray(body), page, with_lines=bool(tables))
    if not tables:
        return _tidy(text)
    lines = _tidy(text).splitlines()
    written = [line for line in lines if line]
    if len(written) != len(tops):  # cannot place tables among the lines: put them last
        logger.debug("%s: %d lines but %d line boxes", page.label, len(written), len(tops))
        return "\n".join([*lines, *(_table_text(gray, t, page) for t in tables)])
    placed: list[tuple[int, int, str]] = []  # (top y, order, text)
    i = 0
    for line in lines:
        if line:
            placed.append((tops[i], len(placed), line))
            i += 1
        elif placed:  # a paragraph break stays right after the line before it
            placed.append((placed[-1][0], len(placed), ""))
    for table in tables:
        # a table goes before the first line whose top is below the table's top
        placed.append((table.box[0], -1, "\n" + _table_text(gray, table, page) + "\n"))
    placed.sort(key=lambda item: (item[0], item[1]))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(text for _, _, text in placed)).strip()


def _table_text(gray: np.ndarray, table: Table, page: _Page) -> str:
    """A ruled table as rows ``| cell | cell |``, each cell read on its own.

    The cells are stacked one under another, apart, into one image, so one Tesseract run
    reads them all and each output line is traced back to its cell by its height.
    """
    pad = max(8, page.dpi // 8)
    crops: list[tuple[int, int, np.ndarray]] = []  # (row, column, pixels)
    for r, row in enumerate(table.rows):
        for c, (top, left, bottom, right) in enumerate(row):
            crop = gray[top:bottom, left:right]
            if crop.size and crop.min() < 128:  # not an empty cell
                crops.append((r, c, crop))
    cells = [["" for _ in row] for row in table.rows]
    if crops:
        width = max(crop.shape[1] for _, _, crop in crops) + 2 * pad
        height = sum(crop.shape[0] + pad for _, _, crop in crops) + pad
        sheet = np.full((height, width), 255, dtype=np.uint8)
        slots = []  # (bottom y of the slot, row, column)
        y = pad
        for r, c, crop in crops:
            sheet[y : y + crop.shape[0], pad : pad + crop.shape[1]] = crop
            y += crop.shape[0] + pad
            slots.append((y - pad // 2, r, c))
        text, tops = _recognise(Image.fromarray(sheet), page, with_lines=True)
        lines = [line for line in _tidy(text).splitlines() if line]
        if len(lines) == len(tops):
            for line, top in zip(lines, tops, strict=True):
                _, r, c = next((slot for slot in slots if top < slot[0]), slots[-1])
                cells[r][c] = f"{cells[r][c]} {line}".strip()
        else:  # cannot trace lines to cells: keep the text, one line per row
            logger.debug("%s: table lines cannot be traced to cells", page.label)
            return "\n".join(f"| {line} |" for line in lines)
    rows = [
        "| " + " | ".join(cell.replace("|", "/") for cell in row) + " |"
        for row in cells
        if any(row)  # a strip of pixels between text lines, cut as a row of its own
    ]
    return "\n".join(rows)


def _page(name: str, label: str, options: LoadOptions, dpi: int) -> _Page:
    _require_tesseract(name, options.ocr_languages)
    timeout = options.ocr_page_timeout
    return _Page(label, options.ocr_languages, timeout, time.monotonic() + timeout, dpi)


def _image_dpi(image: Image.Image) -> int:
    """The resolution an image file declares, if plausible, else the usual scan resolution."""
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 70 <= value <= 1200 else _ASSUMED_DPI


def ocr_image(image: bytes, options: LoadOptions, *, name: str = "image") -> str:
    """Text of one image (PNG, JPEG, TIFF: its first frame) read by Tesseract."""
    with _open_image(name, image) as picture:
        return _read_page(picture, _page(name, name, options, _image_dpi(picture)))


def ocr_pdf_page(
    data: bytes, page_index: int, options: LoadOptions, *, name: str = "document.pdf"
) -> str:
    """Text of one PDF page (0-based ``page_index``) rendered at PDF_DPI and read by Tesseract."""
    import pypdfium2 as pdfium

    label = f"{name}: page {page_index + 1}"
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise IngestError(f"{name}: PDF cannot be opened for OCR ({exc})") from exc
    try:
        if not 0 <= page_index < len(pdf):
            raise IngestError(f"{label}: no such page (the PDF has {len(pdf)})")
        page = pdf[page_index]
        try:
            picture = page.render(scale=PDF_DPI / 72, grayscale=True).to_pil()
        finally:
            page.close()
    finally:
        pdf.close()
    return _read_page(picture, _page(name, label, options, PDF_DPI))


# -- image files ---------------------------------------------------------------------------


class _open_image:  # lower case: used like open()
    """Open image bytes with Pillow, translating its failures into IngestError."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data

    def __enter__(self) -> Image.Image:
        try:
            self.image = Image.open(io.BytesIO(self.data))
            width, height = self.image.size
            if width * height > _MAX_PIXELS:
                raise IngestError(
                    f"{self.name}: image is too large to read ({width}×{height} pixels)"
                )
            self.image.load()
        except IngestError:
            raise
        except UnidentifiedImageError as exc:
            raise IngestError(f"{self.name}: not an image Pillow can read (corrupt?)") from exc
        except Exception as exc:  # hostile input: any decoder error is a corrupt image
            raise IngestError(
                f"{self.name}: corrupt or unreadable image ({type(exc).__name__}: {exc})"
            ) from exc
        return self.image

    def __exit__(self, *exc: object) -> None:
        image = getattr(self, "image", None)
        if image is not None:
            image.close()


def _frames(name: str, image: Image.Image, max_pages: int) -> Iterator[Image.Image]:
    """Each frame of a (multi-page TIFF) image, at most ``max_pages``."""
    count = getattr(image, "n_frames", 1)
    if count > max_pages:
        raise IngestError(f"{name}: image has {count} pages, more than the limit of {max_pages}")
    try:
        for frame in ImageSequence.Iterator(image):
            yield frame.copy()
    except (OSError, ValueError, EOFError) as exc:
        raise IngestError(f"{name}: corrupt image frame ({type(exc).__name__}: {exc})") from exc


def load_image(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """An image file's text by OCR: each frame of a multi-page TIFF is a page."""
    if not options.ocr:
        raise IngestError(f"{name}: image file needs OCR, which is switched off (JARYO_OCR)")
    _require_tesseract(name, options.ocr_languages)
    with _open_image(name, data) as picture:
        dpi = _image_dpi(picture)
        count = getattr(picture, "n_frames", 1)
        pages: list[str] = []
        read = -1  # characters so far, the form feeds between pages included
        for number, frame in enumerate(_frames(name, picture, options.max_pages), start=1):
            options.report(f"{name}: page {number}/{count} (OCR)")
            label = name if count == 1 else f"{name}: page {number}"
            pages.append(_read_page(frame, _page(name, label, options, dpi)))
            read += len(pages[-1]) + 1
            if read > options.max_text_chars:  # a long TIFF stops at the budget
                check_text(name, "\f".join(pages), options)
    if not any(page.strip() for page in pages):
        raise IngestError(f"{name}: OCR found no text in the image")
    meta = {"pages": len(pages), "ocr_pages": list(range(1, len(pages) + 1))}
    return Loaded(text="\f".join(pages), format="image", meta=meta)
