"""The same Korean article in every supported encoding gives identical text and chunks."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loaders import decode_text
from ingest.reader import document_from_bytes

# The EUC-KR variant leaves out the characters only CP949 has.
EUC_KR_SAFE = "똠방각하, 햏, 뷁 같은 EUC-KR 밖의 글자는 CP949에만 있다."


def encodings(article: str) -> dict[str, bytes]:
    euc_text = article.replace(EUC_KR_SAFE, "")
    return {
        "utf-8": article.encode("utf-8"),
        "utf-8-bom": codecs.BOM_UTF8 + article.encode("utf-8"),
        "utf-16-le-bom": codecs.BOM_UTF16_LE + article.encode("utf-16-le"),
        "utf-16-be-bom": codecs.BOM_UTF16_BE + article.encode("utf-16-be"),
        "cp949": article.encode("cp949"),
        "euc-kr": euc_text.encode("euc-kr"),
        "utf-8-crlf": article.replace("\n", "\r\n").encode("utf-8"),
    }


def test_every_encoding_gives_identical_chunks(build, fake_assistant):
    article = build.article
    reference = None
    for label, data in encodings(article).items():
        if label == "euc-kr":
            continue  # different text on purpose; checked below
        d = document_from_bytes(Path("a.txt"), "a.txt", data)
        chunks = [(c.ordinal, c.start, c.end, c.text) for c in fake_assistant.ingestor.chunk(d)]
        reference = reference or (d.text, chunks)
        assert (d.text, chunks) == reference, label
    assert len(reference[1]) >= 1


def test_euc_kr_matches_utf8_of_the_same_text(build, fake_assistant):
    text = build.article.replace(EUC_KR_SAFE, "")
    a = document_from_bytes(Path("a.txt"), "a.txt", text.encode("utf-8"))
    b = document_from_bytes(Path("b.txt"), "b.txt", text.encode("euc-kr"))
    chunk = fake_assistant.ingestor.chunk
    assert a.text == b.text
    assert [c.text for c in chunk(a)] == [c.text for c in chunk(b)]


def test_the_encodings_are_detected(build):
    variants = encodings(build.article)
    found = {label: decode_text(data, "x.txt")[1] for label, data in variants.items()}
    assert found["utf-8"] == "utf-8"
    assert found["utf-8-bom"] == "utf-8-sig"
    assert found["utf-16-le-bom"] == found["utf-16-be-bom"] == "utf-16"
    assert found["cp949"] == found["euc-kr"] == "cp949"  # CP949 reads every EUC-KR file


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x01\x02\x03binary\x00\xff" * 20, "NUL bytes"),
        (bytes(range(1, 32)) * 10, "control characters"),
        (b"\xff\xfe\x00\xd8", "not valid UTF-16"),  # a lone surrogate after a UTF-16 BOM
    ],
)
def test_binary_junk_is_not_text(data, reason):
    with pytest.raises(IngestError, match=rf"^junk\.txt: .*{reason}"):
        decode_text(data, "junk.txt")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected(build, codec):
    text, encoding = decode_text(build.article.encode(codec), "x.txt")
    assert (text, encoding) == (build.article, codec)


def test_western_single_byte_text_is_not_read_as_cp949():
    text, encoding = decode_text("Le café était très étrange à Noël.".encode("latin-1"), "fr.txt")
    assert encoding != "cp949"
    assert text.startswith("Le café était")  # a short sample: the code page is a guess


def test_html_declared_charset_wins():
    page = '<html><head><meta charset="windows-1252"></head><body><p>Café crème</p></body></html>'
    d = document_from_bytes(Path("p.html"), "p.html", page.encode("cp1252"))
    assert d.text == "Café crème"
    assert d.meta["encoding"] == "windows-1252"


REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs"


@pytest.mark.skipif(not REALDOCS.is_dir(), reason="shared/realdocs is not beside the repo")
@pytest.mark.parametrize(
    ("name", "encoding"),
    [("ude_iso2022kr.txt", "iso2022_kr"), ("ude_euc2.txt", "cp949")],
)
def test_real_iso2022kr_and_euckr_copies_decode_to_the_same_text(name: str, encoding: str) -> None:
    path = REALDOCS / "txt" / name
    doc = document_from_bytes(path, name, path.read_bytes())
    assert doc.meta["encoding"] == encoding
    assert "북조선 사람들은 흔히 자국을 조선(朝鮮)이나 공화국(共和國)이라고 부른다." in doc.text


@pytest.mark.parametrize(
    "text",
    ["가나다라 마바사 가격은 가장 싸다.", "가", "각 부처는 가을까지 計劃을 낸다. (2024)"],
)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_korean_utf16_without_bom_gets_its_byte_order(text: str, codec: str) -> None:
    # 가 (U+AC00) puts its NUL byte first in little-endian: NUL positions mislead
    assert decode_text(text.encode(codec), "x.txt") == (text, codec)
