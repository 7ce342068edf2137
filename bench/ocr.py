"""OCR quality and speed: character error rate of Tesseract on a real scanned bill page.

The scan (pdf/scan_bill_p1_image_only.pdf, an image-only PDF) is page 1 of pdf/bill_2125318.pdf,
whose text layer (read with pypdfium2) is the reference. The rate is order-independent (see
ingest/ocr_quality.py), counted without whitespace and with single spaces; "in OCR order" is
the plain edit distance. The choices are checked on more pages: pages of real text PDFs
rendered to images and read back against their own text layers, and Korean sentences with
English words drawn with the Nanum fonts (fonts-nanum).

    python bench/ocr.py [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from common import ROOT, machine_line, table, write_result
from PIL import Image, ImageDraw, ImageFont

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
MIXED = [
    "미국 OpenAI와 Google은 2024년 AI 반도체(GPU) 수출 규제에 대응했다.",
    "NVIDIA H100 칩은 ChatGPT 같은 LLM 학습에 쓰인다.",
    "중국 화웨이는 Ascend 910B를 내놓았다.",
    "바이든 행정부는 CHIPS Act로 TSMC와 삼성전자의 미국 공장을 지원한다.",
]
NANUM = Path("/usr/share/fonts/truetype/nanum")


@dataclass(frozen=True)
class Variant:
    psm: int = ocr.PAGE_SEGMENTATION_MODE
    dpi: int = ocr.PDF_DPI
    languages: str = "kor+eng"  # LoadOptions' default
    cells: bool = ocr.READ_TABLE_CELLS
    second_pass: bool = ocr.KOREAN_SECOND_PASS

    def apply(self) -> LoadOptions:
        """Point ingest.ocr at this variant (it reads these at each call)."""
        ocr.PAGE_SEGMENTATION_MODE, ocr.PDF_DPI = self.psm, self.dpi
        ocr.READ_TABLE_CELLS, ocr.KOREAN_SECOND_PASS = self.cells, self.second_pass
        return LoadOptions(ocr_languages=self.languages)

    def columns(self) -> list[Any]:
        yes = {True: "yes", False: "no"}
        return [self.psm, self.dpi, self.languages, yes[self.cells], yes[self.second_pass]]


DEFAULT = Variant()
HEAD = ["psm", "DPI", "languages", "cells apart", "Korean 2nd pass"]


def text_layer(path: Path, index: int) -> str:
    """The text layer of one PDF page, as pypdfium2 reads it."""
    pdf = pdfium.PdfDocument(path)
    try:
        return pdf[index].get_textpage().get_text_range().replace("\r\n", "\n")
    finally:
        pdf.close()


def scores(reference: str, text: str) -> dict[str, Any]:
    nospace = character_error_rate(reference, text)
    return {
        "cer": nospace.rate,
        "cer_spaces": character_error_rate(reference, text, spaces=True).rate,
        "cer_plain": nospace.plain,
        "chars": nospace.ocr_chars,
        "ref_chars": nospace.reference_chars,
        "spaces": space_edits(reference, text),  # (inserted, dropped)
    }


def timed(call: Any, *args: Any) -> tuple[str, float]:
    start = time.perf_counter()
    text = call(*args)
    return text, time.perf_counter() - start


def scan_table(variants: list[Variant], results: dict[str, Any]) -> None:
    scan, reference = SCAN.read_bytes(), text_layer(REFERENCE, 0)
    rows = []
    for v in variants:
        text, seconds = timed(ocr.ocr_pdf_page, scan, 0, v.apply())
        m = {**scores(reference, text), "answers": sum(a in text for a in ANSWERS)}
        results["scan"].append({**asdict(v), **m, "seconds": seconds, "text": text})
        rows.append([*v.columns(), f"{m['cer']:.1%}", f"{m['cer_spaces']:.1%}",
                     f"{m['cer_plain']:.1%}", f"{m['chars']}/{m['ref_chars']}",
                     "{} / {}".format(*m["spaces"]), f"{m['answers']}/3",
                     f"{seconds:.1f}"])  # fmt: skip
    print(f"\n## OCR of {SCAN.name} page 1 against the text layer of {REFERENCE.name} page 1\n")
    print(table([*HEAD, "CER", "CER with spaces", "CER in OCR order", "chars (no spaces)",
                 "spaces added / dropped", "answers", "s"], rows))  # fmt: skip


def rendered_table(variants: list[Variant], results: dict[str, Any]) -> None:
    pages = [(REALDOCS / "pdf" / f, i) for f, indexes in RENDERED for i in indexes]
    rows = []
    for v in variants:
        rates, spaced, seconds = [], [], []
        for path, index in pages:
            text, took = timed(ocr.ocr_pdf_page, path.read_bytes(), index, v.apply())
            m = scores(text_layer(path, index), text)
            rates.append(m["cer"])
            spaced.append(m["cer_spaces"])
            seconds.append(took)
            results["rendered"].append({**asdict(v), "file": path.name, "page": index + 1, **m})
        rows.append([*v.columns(), len(rates), f"{statistics.mean(rates):.1%}",
                     f"{max(rates):.1%}", f"{statistics.mean(spaced):.1%}",
                     f"{statistics.mean(seconds):.1f}"])  # fmt: skip
    print("\n## Pages of text PDFs rendered at the DPI and read back, against their text layer\n")
    print(f"Pages: {', '.join(f'{f} {[i + 1 for i in ix]}' for f, ix in RENDERED)}\n")
    print(table([*HEAD, "pages", "mean CER", "worst CER", "mean CER with spaces", "s/page"],
                rows))  # fmt: skip


def mixed_image(font_path: Path) -> bytes:
    """The MIXED sentences drawn at 300 DPI in one font (14 pt)."""
    font = ImageFont.truetype(str(font_path), 58)
    image = Image.new("L", (2480, 120 + 110 * len(MIXED)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(MIXED):
        draw.text((100, 60 + i * 110), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def mixed_table(variants: list[Variant], results: dict[str, Any]) -> None:
    fonts = [NANUM / f for f in ("NanumGothic.ttf", "NanumMyeongjo.ttf") if (NANUM / f).exists()]
    if not fonts:
        print("\n(fonts-nanum is not installed: no Korean-English sentences)")
        return
    images = [mixed_image(f) for f in fonts]
    words = {w.strip(".,()") for line in MIXED for w in line.split() if w.isascii()}
    rows = []
    for v in variants:
        rates, found = [], 0
        for image in images:
            text = ocr.ocr_image(image, v.apply())
            rates.append(character_error_rate("\n".join(MIXED), text).rate)
            found += sum(w in text for w in words)
        results["mixed"].append({**asdict(v), "cer": rates})
        rows.append([*v.columns(), f"{statistics.mean(rates):.1%}",
                     f"{found}/{len(words) * len(images)}"])  # fmt: skip
    print(
        f"\n## Korean sentences with English words, drawn in {', '.join(f.stem for f in fonts)}\n"
    )
    print(table([*HEAD, "mean CER", "English words read"], rows))


def speed_table(results: dict[str, Any]) -> None:
    scan = SCAN.read_bytes()
    rows = []
    for v, threads in ((DEFAULT, "1"), (DEFAULT, None), (Variant(languages="kor"), "1")):
        ocr.TESSERACT_THREADS = threads  # None: Tesseract's own OpenMP threads
        timings = [timed(ocr.ocr_pdf_page, scan, 0, v.apply())[1] for _ in range(3)]
        pages_per_s = 1 / statistics.median(timings)
        label = f"{v.languages}, {'1 thread' if threads else 'OpenMP threads'}"
        results["speed"][label] = pages_per_s
        rows.append([label, f"{statistics.median(timings):.2f}", f"{pages_per_s:.2f}"])
    ocr.TESSERACT_THREADS = "1"
    print("\n## OCR speed on the scanned page (psm 6, 300 DPI), median of 3\n")
    print(table(["languages, Tesseract threads", "s/page", "pages/s"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer variants")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    if not ocr.tesseract_available():
        sys.exit("tesseract with Korean data is not installed (make system-deps)")
    print(machine_line())
    results: dict[str, Any] = {"scan": [], "rendered": [], "mixed": [], "speed": {}}
    languages = [DEFAULT, Variant(second_pass=False), Variant(languages="kor")]
    scan = [*languages, Variant(cells=False), Variant(languages="kor", cells=False)]
    rendered = [*languages, Variant(cells=False)]
    if not args.quick:
        scan += [Variant(psm=3), Variant(psm=4), Variant(dpi=200), Variant(dpi=400)]
        scan += [Variant(psm=3, dpi=400, languages="kor")]
        rendered += [Variant(dpi=200), Variant(psm=4)]
    scan_table(scan, results)
    rendered_table(rendered, results)
    mixed_table(languages, results)
    speed_table(results)
    DEFAULT.apply()
    if args.json:
        write_result(args.json, results)


if __name__ == "__main__":
    main()
