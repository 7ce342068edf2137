"""Legacy binary HWP 5.0 (.hwp, an OLE compound file) with hwp2markdown, in a bounded worker.

hwp2markdown (MIT, import name ``hwp2md``) reads body text, tables, footnotes and endnotes,
text boxes and distribution (배포용) documents, whose ViewText streams it decrypts with the
key stored in the file. It leaves headers and footers out and knows no pages, so this module
walks the record stream paragraph by paragraph: header and footer controls are read with the
same parser, and a page starts where Hangul's saved line layout starts again at the top
(or at an explicit page break).
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator, Sequence
from typing import Any

from ingest.budgets import check_text
from ingest.errors import IngestError
from ingest.hwpload import OLE_MAGIC, parse_in_worker
from ingest.hwpx import load_hwpx
from ingest.records import Loaded, LoadOptions
from ingest.sandbox import Refused

logger = logging.getLogger(__name__)

HWP3_SIGNATURE = b"HWP Document File V3"
_HWP3_PASSWORD_AT = 30 + 96  # HWP 3.0: document info follows the signature; word 48 = password
_SAVE_AS = "open it in Hangul and save it as HWPX (.hwpx) or PDF, then add that file"
_LINE_SEG_SIZE = 36
_BREAK_PAGE = 0x04  # PARA_HEADER break type: explicit page break
_COLUMN_DEF = b"cold"[::-1]  # column definition control (ids are stored byte-reversed)
TASK = "ingest.hwp:extract_hwp5"  # the worker imports this module by name


def load_hwp(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """A legacy .hwp document's text; an HWPX saved under the old extension is read as HWPX."""
    if data.startswith(b"PK"):
        return load_hwpx(name, data, options)
    if data.startswith(HWP3_SIGNATURE):
        raise IngestError(f"{name}: {hwp3_reason(data)}")
    if not data.startswith(OLE_MAGIC):
        raise IngestError(f"{name}: not an HWP document (no HWP 5.0 or HWPX file signature)")
    return parse_in_worker(name, TASK, data, "hwp", options)


def hwp3_reason(data: bytes) -> str:
    """Why an HWP 3.0 file is refused (and whether it also has a password)."""
    locked = data[_HWP3_PASSWORD_AT : _HWP3_PASSWORD_AT + 2] not in (b"", b"\x00\x00")
    what = "a password-protected HWP 3.0 document" if locked else "an HWP 3.0 document"
    return f"{what} — HWP 3.0 (Hangul 97 and older) is not supported; {_SAVE_AS}"


# -- inside the worker -------------------------------------------------------------------------


def extract_hwp5(data: bytes, *, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Worker task: text, title, counts and meta of an HWP 5.0 document, within the text
    budget of ``options``."""
    from hwp2md.errors import (
        DrmProtectedError,
        EncryptedDocumentError,
        NotHwpFileError,
        UnsupportedHwpError,
    )
    from hwp2md.hwp5.body import ReadContext, parse_blocks
    from hwp2md.hwp5.docinfo import parse_docinfo
    from hwp2md.hwp5.reader import BinDataStore, read_hwp5_package
    from hwp2md.hwp5.records import iter_records

    from ingest.hwptext import PageTracker, TextBuilder

    try:
        pkg = read_hwp5_package(data)
    except EncryptedDocumentError as exc:
        raise Refused("password", str(exc)) from exc
    except DrmProtectedError as exc:
        raise Refused("drm", str(exc)) from exc
    except NotHwpFileError as exc:
        raise Refused("not_hwp", str(exc).removesuffix(": <memory>")) from exc
    except UnsupportedHwpError as exc:  # a distribution document without readable ViewText
        raise Refused("distribution", str(exc).removesuffix(": <memory>")) from exc
    docinfo = parse_docinfo(pkg.docinfo)
    ctx = ReadContext()
    store = BinDataStore(docinfo, pkg.bin_data, compressed=pkg.header.compressed, skips=ctx.skips)
    sections = [list(iter_records(s)) for s in pkg.sections]
    pages = PageTracker(enabled=not any(_multi_column(recs) for recs in sections))
    out = TextBuilder()
    for recs in sections:
        for chunk in _top_paragraphs(recs):
            before, inside = pages.breaks(*_line_tops(chunk))
            for _ in range(before):
                out.page_break()
            for running in _running_parts(chunk):
                # own context: a header's numbering must not shift the body's footnote numbers
                out.add_running(parse_blocks(running, docinfo, store, ReadContext()))
            out.add_blocks(parse_blocks(chunk, docinfo, store, ctx))
            for _ in range(inside):
                out.page_break()
    out.add_blocks(ctx.note_blocks())
    meta: dict[str, Any] = {"hwp_version": ".".join(map(str, pkg.header.version))}
    if pkg.header.distribution:
        meta["distribution"] = True
    text = out.text()
    try:
        check_text(name, text, LoadOptions(**options))
    except IngestError as exc:
        raise Refused("ingest", str(exc)) from exc
    return {
        "text": text,
        "title": summary_title(data),
        "stats": vars(out.stats),
        "meta": meta,
    }


def _top_paragraphs(recs: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """The records of each top-level paragraph (a level-0 PARA_HEADER and its subtree)."""
    from hwp2md.hwp5.records import HWPTAG_PARA_HEADER

    starts = [i for i, r in enumerate(recs) if r.level == 0 and r.tag_id == HWPTAG_PARA_HEADER]
    for a, b in zip(starts, [*starts[1:], len(recs)], strict=True):
        yield recs[a:b]


def _running_parts(chunk: Sequence[Any]) -> Iterator[list[Any]]:
    """Each header or footer control's subtree, re-levelled so its paragraphs are top-level."""
    from hwp2md.hwp5.records import CTRL_ID_FOOTER, CTRL_ID_HEADER, HWPTAG_CTRL_HEADER, Record

    for i, r in enumerate(chunk):
        if r.tag_id != HWPTAG_CTRL_HEADER or r.payload[:4] not in (CTRL_ID_HEADER, CTRL_ID_FOOTER):
            continue
        base = r.level + 1
        sub: list[Any] = []
        for s in chunk[i + 1 :]:
            if s.level < base:
                break
            sub.append(Record(s.tag_id, s.level - base, s.payload))
        yield sub


def _multi_column(recs: Sequence[Any]) -> bool:
    """Whether a section lays text out in more than one column (its layout then restarts at
    the top of each column, not only of each page)."""
    from hwp2md.hwp5.records import HWPTAG_CTRL_HEADER

    for r in recs:
        if r.tag_id == HWPTAG_CTRL_HEADER and r.payload[:4] == _COLUMN_DEF and len(r.payload) >= 6:
            (attr,) = struct.unpack_from("<H", r.payload, 4)
            if (attr >> 2) & 0xFF > 1:
                return True
    return False


def _line_tops(chunk: Sequence[Any]) -> tuple[bool, list[int]]:
    """A top-level paragraph's explicit page break flag and its lines' vertical positions."""
    from hwp2md.hwp5.records import HWPTAG_PARA_LINE_SEG

    explicit = len(chunk[0].payload) > 11 and bool(chunk[0].payload[11] & _BREAK_PAGE)
    seg = next((r for r in chunk if r.tag_id == HWPTAG_PARA_LINE_SEG and r.level == 1), None)
    if seg is None:
        return explicit, []
    offsets = range(4, len(seg.payload) - _LINE_SEG_SIZE + 5, _LINE_SEG_SIZE)
    return explicit, [struct.unpack_from("<i", seg.payload, k)[0] for k in offsets]


def summary_title(data: bytes) -> str | None:
    """The title in the document's HWP summary information, if it has one."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            if not ole.exists("\x05HwpSummaryInformation"):
                return None
            props = ole.getproperties("\x05HwpSummaryInformation")
    except Exception:  # a damaged summary costs only the title
        logger.debug("unreadable HWP summary information", exc_info=True)
        return None
    value = props.get(2)
    if isinstance(value, bytes):
        value = value.decode("utf-16-le", errors="ignore")
    if not isinstance(value, str):
        return None
    # olefile reads HWP's UTF-16 strings with a byte count as length: cut at the first NUL
    title = " ".join(value.split("\x00", 1)[0].split())
    return title[:200] or None
