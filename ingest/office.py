"""Loader for Word documents (python-docx); PDF is read by ingest.pdf, HWP/HWPX by ingest.hwp.

Parsers meet hostile input here, and third-party parsers raise many kinds of exceptions on
it; each loader turns any of them into one IngestError naming the file and the reason.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ingest.bounded import load_bounded
from ingest.budgets import check_archive
from ingest.errors import IngestError
from ingest.records import Loaded, LoadOptions

logger = logging.getLogger(__name__)


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


def _clean_prop(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:200] or None


# -- DOCX ------------------------------------------------------------------------------------


def load_docx(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """A Word document's paragraphs and tables in order; title from its core properties
    (parsed in the bounded worker, within the archive and text budgets)."""
    if not data.startswith(b"PK"):
        raise IngestError(f"{name}: corrupt DOCX (not a zip archive; an old .doc file?)")
    return load_bounded(name, data, options, parser="ingest.office:parse_docx", label="DOCX")


def parse_docx(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """Inside the worker: the DOCX's text, once its members are known to fit the budgets."""
    import docx
    from docx.table import Table

    lines: list[str] = []
    with _parsing(name, "DOCX"):
        check_archive(name, data, options, "DOCX")
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
