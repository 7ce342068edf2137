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

from assistant.errors import IngestError
from ingest.hwp import OLE_MAGIC, loaded_from_result, refusal_message
from ingest.hwptext import TextBuilder
from ingest.sandbox import BudgetExceeded, Refused, run_bounded
from ingest.textfile import Loaded

logger = logging.getLogger(__name__)

MAX_UNZIPPED = 500_000_000  # refuse zip bombs: total uncompressed size of an HWPX package
TASK = "ingest.hwpx:extract_hwpx"
_HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"


def load_hwpx(name: str, data: bytes, options: Any = None) -> Loaded:
    """An HWPX document's text; a binary HWP 5.0 file with the .hwpx extension is read too."""
    if data.startswith(OLE_MAGIC):
        from ingest.hwp import load_hwp

        return load_hwp(name, data, options)
    if not data.startswith(b"PK"):
        raise IngestError(f"{name}: corrupt HWPX (not a zip archive)")
    try:
        result = run_bounded(TASK, data)
    except BudgetExceeded as exc:
        raise IngestError(f"{name}: HWPX parsing stopped: {exc} — the file may be damaged") from exc
    except Refused as exc:
        if exc.kind == "corrupt":
            raise IngestError(f"{name}: corrupt HWPX ({exc.detail})") from exc
        raise IngestError(f"{name}: {refusal_message(exc, 'HWPX')}") from exc
    return loaded_from_result(name, result, "hwpx")


# -- inside the worker -------------------------------------------------------------------------


def extract_hwpx(data: bytes) -> dict[str, Any]:
    """Worker task: text, title, counts and meta of an HWPX document."""
    from hwp2md.errors import DrmProtectedError, EncryptedDocumentError, NotHwpFileError
    from hwp2md.hwpx.bindata import BinItemStore, parse_manifest
    from hwp2md.hwpx.body import DocContext, parse_paragraph
    from hwp2md.hwpx.header import EMPTY_HEADER, parse_header, parse_header_xml
    from hwp2md.hwpx.reader import parse_section_xml, read_hwpx_package

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise Refused("corrupt", f"not a valid zip archive: {exc}") from exc
    if sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise Refused("corrupt", f"it unpacks to more than {MAX_UNZIPPED // 10**6} MB")
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
    pages = _PageTracker(enabled=not any(_multi_column(root) for root in roots))
    out = TextBuilder()
    for root in roots:
        for p in root.iterchildren(f"{_HP}p"):
            before, inside = pages.breaks(p)
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
    return {"text": out.text(), "title": title, "stats": vars(out.stats), "meta": meta}


def _running_paragraphs(p: Any) -> Iterator[list[Any]]:
    """The paragraphs of each header and footer anchored in this paragraph."""
    for tag in ("header", "footer"):
        for el in p.iter(f"{_HP}{tag}"):
            yield [q for sub in el.iterchildren(f"{_HP}subList") for q in sub.iterchildren(f"{_HP}p")]


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


class _PageTracker:
    """Page starts: an explicit ``pageBreak="1"``, or a top-level paragraph whose saved
    line layout (hp:lineseg vertpos) starts above the previous line, i.e. on a new page."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._last: int | None = None

    def breaks(self, p: Any) -> tuple[int, int]:
        """(page breaks before this paragraph, page breaks inside it)."""
        if not self.enabled:
            return 0, 0
        explicit = p.get("pageBreak") == "1"
        tops: list[int] = []
        for segs in p.iterchildren(f"{_HP}linesegarray"):
            for seg in segs.iterchildren(f"{_HP}lineseg"):
                try:
                    tops.append(int(seg.get("vertpos", "")))
                except ValueError:
                    continue
        if not tops:
            return int(explicit and self._last is not None), 0
        before = self._last is not None and (explicit or tops[0] < self._last)
        inside = sum(1 for a, b in zip(tops, tops[1:], strict=False) if b < a)
        self._last = tops[-1]
        return int(before), inside


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
