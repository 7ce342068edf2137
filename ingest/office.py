"""Loaders for packaged document formats: PDF (pypdf), DOCX (python-docx), HWPX and HWP.

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
_MAX_UNZIPPED = 500_000_000  # refuse zip bombs: total uncompressed size of an HWPX archive


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


# -- HWPX ------------------------------------------------------------------------------------

_SECTION = re.compile(r"^Contents/section(\d+)\.xml$", re.IGNORECASE)


def load_hwpx(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """An HWPX document (zipped XML): the text of Contents/section*.xml in order."""
    if not data.startswith(b"PK"):
        raise IngestError(f"{name}: corrupt HWPX (not a zip archive)")
    with _parsing(name, "HWPX"), zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if sum(i.file_size for i in infos) > _MAX_UNZIPPED:
            raise IngestError(f"{name}: HWPX unpacks to more than {_MAX_UNZIPPED // 10**6} MB")
        sections = sorted(
            (int(m[1]), i.filename) for i in infos if (m := _SECTION.match(i.filename))
        )
        if not sections:
            raise IngestError(f"{name}: not an HWPX document (no Contents/section*.xml)")
        lines: list[str] = []
        for _, member in sections:
            lines.extend(_hwpx_paragraphs(_parse_xml(archive.read(member))))
        names = {i.filename for i in infos}
        meta_xml = archive.read("Contents/content.hpf") if "Contents/content.hpf" in names else None
        title, meta = _hwpx_meta(_parse_xml(meta_xml)) if meta_xml else (None, {})
    return Loaded("\n".join(lines), "hwpx", title=title, meta=meta)


def _parse_xml(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(data, parser=parser)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _hwpx_paragraphs(root: Any) -> Iterator[str]:
    """Each <p>'s own text; paragraphs nested in tables come after their parent."""
    for para in root.iter():
        if _local(para) != "p":
            continue
        parts = []
        for t in para.iter():
            if _local(t) == "t" and _nearest_paragraph(t) is para:
                parts.append("".join(t.itertext()))
        yield "".join(parts)


def _nearest_paragraph(element: Any) -> Any:
    node = element.getparent()
    while node is not None and _local(node) != "p":
        node = node.getparent()
    return node


def _hwpx_meta(root: Any) -> tuple[str | None, dict[str, Any]]:
    title, meta = None, {}
    for el in root.iter():
        local = _local(el)
        text = " ".join((el.text or "").split())
        if not text:
            continue
        if local == "title" and title is None:
            title = text[:200]
        elif local == "meta":
            key = str(el.get("name", "")).lower()
            if key == "creator":
                meta["author"] = text
            elif key == "createddate":
                meta["created"] = text[:10]
    return title, meta


# -- HWP -------------------------------------------------------------------------------------


def load_hwp(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """Legacy binary HWP has no well-kept reader on PyPI: a clear error, unless it is HWPX."""
    if data.startswith(b"PK"):  # an HWPX file saved with the old extension
        return load_hwpx(name, data, options)
    raise IngestError(
        f"{name}: unsupported legacy .hwp format — open it in Hangul and save it as "
        "HWPX (.hwpx) or PDF, then add that file"
    )
