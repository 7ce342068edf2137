"""Hostile files for the bad-input tests and bench/bad_input.py, generated on the spot (no
binaries in git): zip bombs, a PDF of many pages in a few KB, deeply nested HTML."""

from __future__ import annotations

import io
import struct
import zipfile

_HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
_HS = "http://www.hancom.co.kr/hwpml/2011/section"
_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PARAGRAPH = "<w:p><w:r><w:t>폭탄 문단이다 폭탄 문단이다 폭탄 문단이다.</w:t></w:r></w:p>"


def _repeated(head: str, unit: str, tail: str, size: int) -> bytes:
    """``head``, then ``unit`` repeated to about ``size`` bytes, then ``tail``, as UTF-8."""
    raw = unit.encode()
    return head.encode() + raw * (size // len(raw)) + tail.encode()


def docx_bomb(unpacked: int) -> bytes:
    """A DOCX whose word/document.xml unpacks to ``unpacked`` bytes of paragraphs (a 1 GB
    body packs to about 1 MB)."""
    body = _repeated(
        f'<w:document xmlns:w="{_W}"><w:body>', _PARAGRAPH, "</w:body></w:document>", unpacked
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _DOCX_TYPES)
        archive.writestr("_rels/.rels", _DOCX_RELS)
        archive.writestr("word/document.xml", body)
    return out.getvalue()


def docx_many_members(members: int, each: int) -> bytes:
    """A DOCX with ``members`` extra parts of ``each`` bytes (each under a per-member budget,
    together over the total one)."""
    out = io.BytesIO(docx_bomb(1000))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for n in range(members):
            archive.writestr(f"word/media/part{n}.xml", b"<x/>" * (each // 4))
    return out.getvalue()


def lying_zip(data: bytes, member: str) -> bytes:
    """The archive with ``member``'s declared unpacked size (local header and central
    directory) set to 1,000 bytes, whatever it really unpacks to."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
        start = archive.start_dir
    name = member.encode()
    struct.pack_into("<I", raw, info.header_offset + 22, 1000)
    entry = raw.find(b"PK\x01\x02", start)
    while entry != -1 and raw[entry + 46 : entry + 46 + len(name)] != name:
        entry = raw.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", raw, entry + 24, 1000)
    return bytes(raw)


def hwpx_bomb(unpacked: int) -> bytes:
    """An HWPX whose section XML unpacks to ``unpacked`` bytes of paragraphs."""
    unit = "<hp:p><hp:run><hp:t>폭탄 문단이다 폭탄 문단이다.</hp:t></hp:run></hp:p>"
    section = _repeated(f'<hs:sec xmlns:hs="{_HS}" xmlns:hp="{_HP}">', unit, "</hs:sec>", unpacked)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr("Contents/section0.xml", section)
    return out.getvalue()


def many_page_pdf(pages: int) -> bytes:
    """A PDF whose page tree lists one empty page at least ``pages`` times, in about 1 KB
    (page-tree nodes of 30 kids, each kid the same node of the level below)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    # object 2: root Pages; object 3: the page; then intermediate nodes
    nodes: list[bytes] = []
    kids = [3] * min(pages, 30)
    counts = [1] * len(kids)
    next_obj = 4
    while sum(counts) < pages:
        # a node holding the current kids, then 30 references to that node
        refs = " ".join(f"{k} 0 R" for k in kids)
        nodes.append(f"<< /Type /Pages /Kids [{refs}] /Count {sum(counts)} >>".encode())
        per = sum(counts)
        n = min(30, -(-pages // per))
        kids, counts = [next_obj] * n, [per] * n
        next_obj += 1
    total = sum(counts)
    root = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {total} >>"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"
    bodies = [objects[0], root.encode(), page, *nodes]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def nested_html(depth: int) -> bytes:
    """An HTML page whose text sits ``depth`` <div> elements deep."""
    return (
        "<html><body>"
        + "<div>" * depth
        + "깊은 곳의 본문이다."
        + "</div>" * depth
        + "</body></html>"
    ).encode()


def flat_html(paragraphs: int) -> bytes:
    """A long but ordinary HTML page: ``paragraphs`` sibling <p> elements."""
    body = "".join(f"<p>평평한 페이지의 {n}번째 문단이다.</p>" for n in range(paragraphs))
    return f"<html><body>{body}</body></html>".encode()
