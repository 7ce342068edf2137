"""Read files into text: one loader per format, each raising IngestError with the reason.

Libraries: charset-normalizer (text encodings), BeautifulSoup + lxml (HTML), pypdfium2 and
pdfplumber's table finder (PDF), python-docx (DOCX), hwp2markdown (HWP 5.0 and HWPX, run in a
bounded worker process), Pillow + Tesseract (images and scanned pages, ingest/ocr.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ingest.budgets import check_text
from ingest.errors import IngestError
from ingest.hwp import load_hwp
from ingest.hwpx import load_hwpx
from ingest.ocr import load_image
from ingest.office import load_docx
from ingest.pdf import load_pdf
from ingest.records import Loaded, LoadOptions
from ingest.textfile import decode_text, load_html, load_text

__all__ = [
    "LOADERS",
    "LoadOptions",
    "Loaded",
    "decode_text",
    "load_bytes",
    "supported",
    "unsupported_error",
]

logger = logging.getLogger(__name__)

Loader = Callable[[str, bytes, LoadOptions], Loaded]  # (display name, file bytes, options)

LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".hwpx": load_hwpx,
    ".hwp": load_hwp,
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff"), load_image),  # OCR
}


def _suffix(name: str | Path) -> str:
    return PurePosixPath(str(name).replace("\\", "/")).suffix.lower()


def supported(name: str | Path) -> bool:
    """Whether ingestion has a loader for this file name's extension."""
    return _suffix(name) in LOADERS


def unsupported_error(name: str) -> IngestError:
    """The error for a file whose extension no loader reads."""
    suffix = _suffix(name)
    what = repr(suffix) if suffix else "(no extension)"
    exts = ", ".join(sorted(LOADERS))
    return IngestError(f"{name}: unsupported file type {what} (supported: {exts})")


def load_bytes(name: str, data: bytes, options: LoadOptions | None = None) -> Loaded:
    """Parse file bytes with the loader for the extension of ``name`` (the document's name,
    used in error messages)."""
    loader = LOADERS.get(_suffix(name))
    if loader is None:
        raise unsupported_error(name)
    logger.debug("loading %s with %s", name, loader.__name__)
    options = options or LoadOptions()
    loaded = loader(name, data, options)
    check_text(name, loaded.text, options)  # every format, whatever its loader checked
    return loaded
