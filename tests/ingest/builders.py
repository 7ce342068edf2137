"""Fixture files for ingestion tests, built by the tests themselves (PDF, DOCX, HWPX)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

ARTICLE = """미국 제재의 반작용… 중국, 최신형 칩 빼고 AI 개발

미국의 제재가 오히려 중국의 인공지능(AI) 기술 발전 '홀로서기'를 촉진하는 자극제가 되고 있다는 분석이 나왔다. 미국산 최신 반도체를 수입할 수 없는 만큼, 상대적으로 성능이 떨어지는 반도체를 쓰거나 소프트웨어를 업그레이드하는 방식으로 첨단 AI 기술을 연구하고 있다는 것이다.

현재 AI 분야에서 인기가 많은 칩으로는 미국 기업 엔비디아의 A100, H100 등이 꼽힌다. 그러나 중국의 보유 물량이 턱없이 부족하다. 물론 H800 등 저성능 칩은 지금도 수입할 수 있으나, 실효성이 떨어진다.

중국은 자국 기업 또는 구형 칩에서 '대안'을 찾았다. 일단 바이두는 챗GPT와 유사한 AI '어니봇' 개발을 위해 A100 사용을 극도로 제한하면서, 화웨이의 '어센드' 등 중국산 칩 활용 방안 연구에 나섰다. 똠방각하, 햏, 뷁 같은 EUC-KR 밖의 글자는 CP949에만 있다.
"""  # noqa: E501


def make_pdf(
    lines: list[str] | None = None,
    *,
    title: str | None = None,
    password: str | None = None,
    private_use: bool = False,
) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (none: a page with no text, as scanned).

    The font is a Type0 font without glyphs whose ToUnicode map sends each code to itself, so
    the text layer is real Unicode (Korean included) without embedding a font file. With
    ``private_use`` the map sends codes to private-use characters, as broken PDFs do.
    """
    from pypdf import PdfWriter
    from pypdf.generic import (
        DecodedStreamObject,
        NameObject,
    )

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    if lines:
        page[NameObject("/Resources")] = _unicode_font(writer, lines, private_use=private_use)
        ops = ["BT", "/F1 12 Tf", "14 TL", "50 800 Td"]
        ops += [f"{_hex(line)} Tj T*" for line in lines]
        ops.append("ET")
        content = DecodedStreamObject()
        content.set_data("\n".join(ops).encode())
        page[NameObject("/Contents")] = writer._add_object(content)
    if title:
        writer.add_metadata({"/Title": title, "/Author": "홍길동"})
    if password:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_drawn_pdf(
    texts: list[tuple[float, float, str]], rules: list[tuple[float, float, float, float]]
) -> bytes:
    """A one-page PDF with text placed at points and lines drawn, in top-down coordinates:
    ``texts`` as (x, baseline, text) in a 10-point font one em per glyph, ``rules`` as
    (x0, y0, x1, y1) strokes."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    page[NameObject("/Resources")] = _unicode_font(writer, [t for _, _, t in texts])
    ops = ["0.5 w"] + [f"{x0} {842 - y0} m {x1} {842 - y1} l S" for x0, y0, x1, y1 in rules]
    ops += [f"BT /F1 10 Tf 1 0 0 1 {x} {842 - y} Tm {_hex(t)} Tj ET" for x, y, t in texts]
    content = DecodedStreamObject()
    content.set_data("\n".join(ops).encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _hex(text: str) -> str:
    return "<" + "".join(f"{ord(c):04X}" for c in text) + ">"


def _unicode_font(writer: Any, lines: list[str], *, private_use: bool = False) -> Any:
    """Page resources with /F1: a Type0 font without glyphs whose ToUnicode map sends each
    code to itself (or, with ``private_use``, to private-use characters)."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    chars = sorted({c for line in lines for c in line})
    cmap = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CMapName /Uni def",
        "/CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for i in range(0, len(chars), 100):
        block = chars[i : i + 100]
        cmap.append(f"{len(block)} beginbfchar")
        cmap += [
            f"<{ord(c):04X}> <{0xE000 + i + n if private_use else ord(c):04X}>"
            for n, c in enumerate(block)
        ]
        cmap.append("endbfchar")
    cmap += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    to_unicode = DecodedStreamObject()
    to_unicode.set_data("\n".join(cmap).encode())
    system_info = DictionaryObject(
        {
            NameObject("/Registry"): TextStringObject("Adobe"),
            NameObject("/Ordering"): TextStringObject("Identity"),
            NameObject("/Supplement"): NumberObject(0),
        }
    )
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): NameObject("/NoGlyphs"),
            NameObject("/CIDSystemInfo"): system_info,
            NameObject("/DW"): NumberObject(1000),
        }
    )
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject("/NoGlyphs"),
            NameObject("/Encoding"): NameObject("/Identity-H"),
            # streams must be indirect objects; pypdf has no public name for this call
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
            NameObject("/ToUnicode"): writer._add_object(to_unicode),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    return DictionaryObject({NameObject("/Font"): fonts})


def make_docx(paragraphs: list[str], *, title: str | None = None, table: bool = True) -> bytes:
    """A Word document: a heading, ``paragraphs``, and a small table after the first one."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
        document.core_properties.author = "김철수"
    for n, para in enumerate(paragraphs):
        document.add_paragraph(para)
        if n == 0 and table:
            grid = document.add_table(rows=2, cols=2)
            for r, row in enumerate((("국가", "연구자 수"), ("중국", "41만여명"))):
                for c, value in enumerate(row):
                    grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


_HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
_HS = "http://www.hancom.co.kr/hwpml/2011/section"


def _hwpx_section(paragraphs: list[str], table_cell: str | None) -> str:
    body = []
    for n, text in enumerate(paragraphs):
        body.append(f'<hp:p id="{n}"><hp:run><hp:t>{text}</hp:t></hp:run></hp:p>')
        if n == 0 and table_cell:
            body.append(
                '<hp:p id="t"><hp:run><hp:t>표:</hp:t><hp:tbl><hp:tr><hp:tc><hp:subList>'
                f"<hp:p><hp:run><hp:t>{table_cell}</hp:t></hp:run></hp:p>"
                "</hp:subList></hp:tc></hp:tr></hp:tbl></hp:run></hp:p>"
            )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="{_HS}" xmlns:hp="{_HP}">'
        + "".join(body)
        + "</hs:sec>"
    )


def make_hwpx(
    sections: list[list[str]], *, title: str | None = None, table_cell: str | None = None
) -> bytes:
    """An HWPX archive: mimetype, content.hpf with the title, and one XML file per section."""
    meta = f"<opf:title>{title}</opf:title>" if title else ""
    hpf = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<opf:package xmlns:opf="http://www.idpf.org/2007/opf/"><opf:metadata>'
        f'{meta}<opf:meta name="creator" content="text">행정안전부</opf:meta>'
        "</opf:metadata></opf:package>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr("Contents/content.hpf", hpf)
        # written out of order on purpose: sections are read by number, not by zip order
        for n in reversed(range(len(sections))):
            cell = table_cell if n == 0 else None
            archive.writestr(f"Contents/section{n}.xml", _hwpx_section(sections[n], cell))
    return out.getvalue()


def make_image(fmt: str, text: str = "Scanned page 2023 OCR") -> bytes:
    """A small image (PNG, JPEG, TIFF...) of one line of Latin text, which Tesseract reads."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (520, 70), 255)
    ImageDraw.Draw(image).text((10, 10), text, fill=0, font=ImageFont.load_default(size=40))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()
