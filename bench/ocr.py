"""OCR quality and speed: character error rate of Tesseract on a real scanned bill page.

The scan (pdf/scan_bill_p1_image_only.pdf, an image-only PDF) is page 1 of pdf/bill_2125318.pdf,
whose text layer (read with pypdfium2) is the reference. The rate is order-independent (see
ingest/ocr_quality.py), counted without whitespace and with single spaces; ``plain`` keeps the
OCR reading order. A second table checks the choices on more pages: pages of real text PDFs
rendered to images and read back, against their own text layers.

    python bench/ocr.py [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from common import ROOT, machine_line, table, write_result

from ingest import ocr
from ingest.ocr_quality import character_error_rate, space_edits
from ingest.records import LoadOptions

REALDOCS = ROOT.parent / "shared" / "realdocs"
if not REALDOCS.exists():
    REALDOCS = Path("/work/shared/realdocs")
SCAN = REALDOCS / "pdf" / "scan_bill_p1_image_only.pdf"
REFERENCE = REALDOCS / "pdf" / "bill_2125318.pdf"
ANSWERS = ("25318", "2023. 11. 9.", "10인")  # evaldata/realdocs_qa.jsonl, scanned-bill questions
# text PDFs whose pages are rendered and read back (file, 0-based pages): body text and tables
RENDERED = [
    ("bill_2125318.pdf", [1, 2, 3, 4]),
    ("welding_cert_deoksin.pdf", [1, 2]),
    ("patent_1020210175798.pdf", [0, 1]),
]


def text_layer(path: Path, index: int) -> str:
    """The text layer of one PDF page, as pypdfium2 reads it."""
    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[index]
        return page.get_textpage().get_text_range().replace("\r\n", "\n")
    finally:
        pdf.close()


def configure(psm: int, dpi: int, cells: bool) -> None:
    """Point ingest.ocr at one measured variant (the module reads these at each call)."""
    ocr.PAGE_SEGMENTATION_MODE, ocr.PDF_DPI, ocr.READ_TABLE_CELLS = psm, dpi, cells


def measure(data: bytes, index: int, reference: str, options: LoadOptions) -> dict[str, Any]:
    start = time.perf_counter()
    text = ocr.ocr_pdf_page(data, index, options)
    seconds = time.perf_counter() - start
    nospace = character_error_rate(reference, text)
    spaced = character_error_rate(reference, text, spaces=True)
    return {
        "cer": nospace.rate,
        "cer_spaces": spaced.rate,
        "cer_plain": nospace.plain,
        "chars": nospace.ocr_chars,
        "ref_chars": nospace.reference_chars,
        "answers": sum(answer in text for answer in ANSWERS),
        "spaces": space_edits(reference, text),  # (inserted, dropped)
        "seconds": seconds,
        "text": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer variants")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    if not ocr.tesseract_available():
        sys.exit("tesseract with Korean data is not installed (make system-deps)")
    print(machine_line())
    defaults = (ocr.PAGE_SEGMENTATION_MODE, ocr.PDF_DPI, ocr.READ_TABLE_CELLS)
    scan = SCAN.read_bytes()
    reference = text_layer(REFERENCE, 0)
    results: dict[str, Any] = {"scan": [], "rendered": [], "speed": {}}

    variants = [(6, 300, "kor", True), (6, 300, "kor+eng", True), (6, 300, "kor", False)]
    if not args.quick:
        variants += [(3, 300, "kor", True), (4, 300, "kor", True), (6, 200, "kor", True)]
        variants += [(6, 400, "kor", True), (3, 400, "kor", True)]
    rows = []
    for psm, dpi, langs, cells in variants:
        configure(psm, dpi, cells)
        m = measure(scan, 0, reference, LoadOptions(ocr_languages=langs))
        results["scan"].append({"psm": psm, "dpi": dpi, "languages": langs, "cells": cells, **m})
        rows.append([psm, dpi, langs, "yes" if cells else "no", f"{m['cer']:.1%}",
                     f"{m['cer_spaces']:.1%}", f"{m['cer_plain']:.1%}",
                     f"{m['chars']}/{m['ref_chars']}", "{} / {}".format(*m["spaces"]),
                     f"{m['answers']}/3", f"{m['seconds']:.1f}"])  # fmt: skip
    print(f"\n## OCR of {SCAN.name} page 1 against the text layer of {REFERENCE.name} page 1\n")
    print(table(["psm", "DPI", "languages", "cells one by one", "CER", "CER with spaces",
                 "CER in OCR order", "chars (no spaces)", "spaces added / dropped",
                 "answers", "s"], rows))  # fmt: skip

    rendered_variants = [(6, 300, "kor", True), (6, 300, "kor+eng", True), (6, 300, "kor", False)]
    if not args.quick:
        rendered_variants += [(6, 200, "kor", True), (4, 300, "kor", True)]
    rows = []
    for psm, dpi, langs, cells in rendered_variants:
        configure(psm, dpi, cells)
        rates, spaced, seconds = [], [], []
        for file, pages in RENDERED:
            path = REALDOCS / "pdf" / file
            data = path.read_bytes()
            for index in pages:
                options = LoadOptions(ocr_languages=langs)
                m = measure(data, index, text_layer(path, index), options)
                rates.append(m["cer"])
                spaced.append(m["cer_spaces"])
                seconds.append(m["seconds"])
                variant = {"psm": psm, "dpi": dpi, "languages": langs, "cells": cells}
                results["rendered"].append({**variant, "file": file, "page": index + 1, **m})
        rows.append([psm, dpi, langs, "yes" if cells else "no", len(rates),
                     f"{statistics.mean(rates):.1%}", f"{max(rates):.1%}",
                     f"{statistics.mean(spaced):.1%}",
                     f"{statistics.mean(seconds):.1f}"])  # fmt: skip
    print("\n## Pages of text PDFs rendered and read back, against their text layer\n")
    print(f"Pages: {', '.join(f'{f} {[p + 1 for p in ps]}' for f, ps in RENDERED)}\n")
    print(table(["psm", "DPI", "languages", "cells one by one", "pages", "mean CER", "worst CER",
                 "mean CER with spaces", "s/page"], rows))  # fmt: skip

    configure(*defaults)
    rows = []
    for threads in ("1", ""):
        timings = []
        for _ in range(3):
            ocr.TESSERACT_THREADS = threads or None  # None: Tesseract's own OpenMP threads
            start = time.perf_counter()
            ocr.ocr_pdf_page(scan, 0, LoadOptions(ocr_languages="kor"))
            timings.append(time.perf_counter() - start)
        pages_per_s = 1 / statistics.median(timings)
        results["speed"]["one thread" if threads else "OpenMP"] = pages_per_s
        rows.append(["1 (default)" if threads else "OpenMP (all cores)", f"{pages_per_s:.2f}"])
    print(f"\n## OCR speed with the defaults (psm {defaults[0]}, {defaults[1]} DPI), median of 3\n")
    print(table(["Tesseract threads", "pages/s"], rows))
    if args.json:
        write_result(args.json, results)


if __name__ == "__main__":
    main()
