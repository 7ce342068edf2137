"""Loaders for packaged document formats: PDF (pypdf) and DOCX (python-docx).

Parsers meet hostile input here, and third-party parsers raise many kinds of exceptions on
it; each loader turns any of them into one IngestError naming the file and the reason.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ingest.errors import IngestError
from ingest.records import Loaded, LoadOptions

logger = logging.getLogger(__name__)

OCR_HINT = "no text layer (scanned?) — run OCR first, or save it as a PDF with text"


@contextmanager
def _parsing(name: str, what: str) -> Iterator[None]:
    """Translate any parser failure into an IngestError; IngestErrors pass through."""
    try:
        yield
    except IngestError:
        raise
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{name}: corrupt {what} (not a valid zip archive: {exc})") from exc
    except Exception as exc:  # hostile input: any parser error is a corrupt document
        logger.debug("parsing %s failed", name, exc_info=True)
        reason = f"{type(exc).__name__}: {exc}"
        raise IngestError(f"{name}: corrupt or unreadable {what} ({reason})") from exc


# -- PDF -------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?。”\"’')\]:]$")


def load_pdf(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """A PDF's text layer, page by page; title and author from its properties."""
    head = data[:1024]
    if b"%PDF" not in head:
        raise IngestError(f"{name}: not a PDF file (no %PDF header)")
    if b"%%EOF" not in data[-4096:]:
        raise IngestError(f"{name}: truncated PDF (no end-of-file marker) — copy the file again")
    from pypdf import PdfReader

    with _parsing(name, "PDF"):
        reader = PdfReader(io.BytesIO(data), strict=False)
        # decrypt() returns PasswordType.NOT_DECRYPTED (0) when the empty password fails
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(
                f"{name}: PDF is password-protected — remove the password and add it again"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    if not pages:
        raise IngestError(f"{name}: PDF has no pages")
    if not any(p.strip() for p in pages):
        raise IngestError(f"{name}: PDF has {OCR_HINT}")
    if _undecodable_share("".join(pages)) > 0.3:
        raise IngestError(
            f"{name}: PDF text layer cannot be decoded (its fonts have no Unicode map) — "
            "run OCR first"
        )
    meta: dict[str, Any] = {"pages": len(pages)}
    title = None
    if info is not None:
        title = _clean_prop(info.get("/Title"))
        author = _clean_prop(info.get("/Author"))
        if author:
            meta["author"] = author
        created = _pdf_date(info.get("/CreationDate"))
        if created:
            meta["created"] = created
    text = "\n".join(unwrap_lines(p) for p in pages)
    return Loaded(text, "pdf", title=title, meta=meta)


def _undecodable_share(text: str) -> float:
    """Share of characters a reader cannot use: private-use, control or replacement."""
    chars = [c for c in text if not c.isspace()]
    bad = sum(1 for c in chars if unicodedata.category(c) in ("Co", "Cc") or c == "\ufffd")
    return bad / len(chars) if chars else 0.0


def unwrap_lines(text: str) -> str:
    """Join lines a PDF wrapped mid-sentence, so a sentence is not cut at every line end."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            out.append("")
            continue
        if out and out[-1] and not _SENTENCE_END.search(out[-1]):
            prev = out[-1]
            out[-1] = prev[:-1] + line if prev.endswith("-") else f"{prev} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def _clean_prop(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:200] or None


def _pdf_date(value: Any) -> str | None:
    match = re.match(r"D:(\d{4})(\d{2})(\d{2})", value) if isinstance(value, str) else None
    return f"{match[1]}-{match[2]}-{match[3]}" if match else None


# -- DOCX ------------------------------------------------------------------------------------


def load_docx(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """A Word document's paragraphs and tables in order; title from its core properties."""
    if not data.startswith(b"PK"):
        raise IngestError(f"{name}: corrupt DOCX (not a zip archive; an old .doc file?)")
    import docx
    from docx.table import Table

    lines: list[str] = []
    with _parsing(name, "DOCX"):
        document = docx.Document(io.BytesIO(data))
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_docx_rows(block))
            else:
                lines.append(block.text)
        props = document.core_properties
        title, author, created = props.title, props.author, props.created
    meta: dict[str, Any] = {}
    if author:
        meta["author"] = author
    if isinstance(created, datetime):
        meta["created"] = created.date().isoformat()
    return Loaded("\n".join(lines), "docx", title=_clean_prop(title), meta=meta)


def _docx_rows(table: Any) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            yield " | ".join(cells)
