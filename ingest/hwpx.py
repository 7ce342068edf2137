"""HWPX (.hwpx, zipped OWPML XML) with hwp2markdown's reader, in the bounded parser worker.

hwp2markdown reads paragraphs, tables, footnotes, endnotes, text boxes and captions and
refuses encrypted packages (META-INF/manifest.xml names encryption data). Like the HWP 5.0
loader, this module adds what it leaves out: headers and footers, charts placed inside
``hp:switch``, page breaks (an explicit ``pageBreak`` or the saved line layout starting again
at the top of a page), and the title and author from Contents/content.hpf.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from typing import Any

from ingest.budgets import check_archive, check_text
from ingest.errors import IngestError
from ingest.hwpload import OLE_MAGIC, parse_in_worker
from ingest.records import Loaded, LoadOptions
from ingest.sandbox import Refused

logger = logging.getLogger(__name__)

TASK = "ingest.hwpx:extract_hwpx"  # worker tasks are named, so neither loader imports the other
HWP5_TASK = "ingest.hwp:extract_hwp5"
_HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"


def load_hwpx(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """An HWPX document's text; a binary HWP 5.0 file with the .hwpx extension is read too."""
    if data.startswith(OLE_MAGIC):
        return parse_in_worker(name, HWP5_TASK, data, "hwp", options)
    if not data.startswith(b"PK"):
        raise IngestError(f"{name}: corrupt HWPX document (not a zip archive)")
    return parse_in_worker(name, TASK, data, "hwpx", options)


# -- inside the worker -------------------------------------------------------------------------


def extract_hwpx(data: bytes, *, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Worker task: text, title, counts and meta of an HWPX document, within the archive
    and text budgets of ``options``."""
    from hwp2md.errors import DrmProtectedError, EncryptedDocumentError, NotHwpFileError
    from hwp2md.hwpx.bindata import BinItemStore, parse_manifest
    from hwp2md.hwpx.body import DocContext, parse_paragraph
    from hwp2md.hwpx.header import EMPTY_HEADER, parse_header, parse_header_xml
    from hwp2md.hwpx.reader import parse_section_xml, read_hwpx_package

    from ingest.hwptext import PageTracker, TextBuilder

    opts = LoadOptions(**options)
    try:
        with zipfile.ZipFile(io.BytesIO(data)):
            pass
    except zipfile.BadZipFile as exc:
        raise Refused("corrupt", f"not a valid zip archive: {exc}") from exc
    try:
        check_archive(name, data, opts, "HWPX")
    except IngestError as exc:
        raise Refused("ingest", str(exc)) from exc
    try:
        pkg = read_hwpx_package(data)
    except EncryptedDocumentError as exc:
        raise Refused("password", str(exc)) from exc
    except DrmProtectedError as exc:
        raise Refused("drm", str(exc)) from exc
    except NotHwpFileError as exc:
        detail = str(exc).removesuffix(": <memory>")
        if "section0.xml missing" in detail:
            detail = "no Contents/section*.xml"
        raise Refused("not_hwp", detail) from exc
    info = EMPTY_HEADER if pkg.header is None else parse_header(parse_header_xml(pkg.header))
    manifest = parse_manifest(pkg.manifest) if pkg.manifest is not None else {}
    store = BinItemStore(manifest, pkg.bin_data, pkg.charts)
    ctx = DocContext()
    roots = [parse_section_xml(section) for section in pkg.sections]
    pages = PageTracker(enabled=not any(_multi_column(root) for root in roots))
    out = TextBuilder()
    for root in roots:
        for p in root.iterchildren(f"{_HP}p"):
            before, inside = pages.breaks(*_line_tops(p))
            for _ in range(before):
                out.page_break()
            for running in _running_paragraphs(p):
                own = DocContext()  # a header's numbering must not shift the body's notes
                out.add_running([b for q in running for b in parse_paragraph(q, info, store, own)])
            out.add_blocks(parse_paragraph(p, info, store, ctx))
            for chart in _switched_charts(p, store):
                if chart:
                    out.add_blocks(chart)
                else:
                    out.stats.charts += 1
            for _ in range(inside):
                out.page_break()
    out.add_blocks(ctx.note_blocks())
    title, meta = _package_meta(pkg.manifest)
    text = out.text()
    try:
        check_text(name, text, opts)
    except IngestError as exc:
        raise Refused("ingest", str(exc)) from exc
    return {"text": text, "title": title, "stats": vars(out.stats), "meta": meta}


def _running_paragraphs(p: Any) -> Iterator[list[Any]]:
    """The paragraphs of each header and footer anchored in this paragraph."""
    for tag in ("header", "footer"):
        for el in p.iter(f"{_HP}{tag}"):
            yield [
                q for sub in el.iterchildren(f"{_HP}subList") for q in sub.iterchildren(f"{_HP}p")
            ]


def _switched_charts(p: Any, store: Any) -> Iterator[list[Any]]:
    """Blocks of each chart that Hangul wraps in hp:switch/hp:case (hwp2md skips those);
    an empty list for a chart whose data cannot be read."""
    from hwp2md.ole import chart_xml_to_blocks

    for case in p.iter(f"{_HP}case"):
        for chart in case.iter(f"{_HP}chart"):
            ref = chart.get("chartIDRef")
            xml = store.chart(ref) if ref else None
            yield chart_xml_to_blocks(xml) if xml is not None else []


def _multi_column(root: Any) -> bool:
    for col in root.iter(f"{_HP}colPr"):
        try:
            if int(col.get("colCount", "1")) > 1:
                return True
        except ValueError:
            continue
    return False


def _line_tops(p: Any) -> tuple[bool, list[int]]:
    """A top-level paragraph's explicit page break and its lines' vertical positions."""
    tops: list[int] = []
    for segs in p.iterchildren(f"{_HP}linesegarray"):
        for seg in segs.iterchildren(f"{_HP}lineseg"):
            value = seg.get("vertpos", "")
            if value.lstrip("-").isdigit():
                tops.append(int(value))
    return p.get("pageBreak") == "1", tops


def _package_meta(hpf: bytes | None) -> tuple[str | None, dict[str, Any]]:
    """Title, author and creation date from Contents/content.hpf."""
    if not hpf:
        return None, {}
    from hwp2md.hwpx.reader import make_parser
    from lxml import etree

    try:
        root = etree.fromstring(hpf, make_parser())
    except etree.XMLSyntaxError:
        logger.debug("unreadable content.hpf", exc_info=True)
        return None, {}
    title: str | None = None
    meta: dict[str, Any] = {}
    for el in root.iter():
        local = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
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
