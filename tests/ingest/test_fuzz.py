"""Property tests: random bytes to every loader, random Unicode to the cleaner and chunker.

Whatever the input, the only exception that may escape is IngestError; what loads is a
document with text, and chunks always point at their own text.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import chunk_text
from ingest.clean import clean_document
from ingest.errors import IngestError
from ingest.loaders import LOADERS
from ingest.ocr import IMAGE_SUFFIXES, tesseract_available
from ingest.reader import document_from_bytes

from .builders import ARTICLE, make_docx, make_hwpx, make_image, make_pdf

# no example database: tests write only under their temporary folders
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# an image that decodes is read by Tesseract (~0.2 s): fewer examples keep the run short
FUZZ_IMAGES = settings(FUZZ, max_examples=15)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def valid_files() -> dict[str, bytes]:
    """A valid file of each format, for the mutation strategy."""
    html = f"<html><head><title>t</title></head><body><p>{ARTICLE}</p></body></html>"
    return {
        ".txt": ARTICLE.encode("cp949"),
        ".md": ARTICLE.encode("utf-16"),
        ".markdown": ("# 제목\n\n" + ARTICLE).encode(),
        ".html": html.encode(),
        ".htm": html.encode("euc-kr", errors="ignore"),
        ".pdf": make_pdf(ARTICLE.split("\n")[:4], title="제목"),
        ".docx": make_docx(ARTICLE.split("\n")[:4], title="제목"),
        ".hwpx": make_hwpx([ARTICLE.split("\n")[:4]], title="제목", table_cell="표"),
        ".hwp": make_hwpx([["한 줄"]]),
        ".png": make_image("PNG"),
        ".jpg": make_image("JPEG"),
        ".jpeg": make_image("JPEG"),
        ".tif": make_image("TIFF"),
        ".tiff": make_image("TIFF", text="Second 2024 scan"),
    }


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes overwritten, a slice cut out, or cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(out) - 1))
        out[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        a = draw(st.integers(0, len(out)))
        b = draw(st.integers(a, min(len(out), a + 64)))
        del out[a:b]
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return bytes(out)


ZIP_MEMBERS = [
    "Contents/section0.xml",
    "Contents/content.hpf",
    "word/document.xml",
    "[Content_Types].xml",
    "mimetype",
]


def file_bytes(valid: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, a mutated valid file, PDF-framed junk, zips of junk members, or text."""
    member = st.one_of(st.binary(max_size=256), st.text(max_size=256).map(str.encode))
    return st.one_of(
        st.binary(max_size=2048),
        mutated(valid),
        st.builds(lambda b: b"%PDF-1.7\n" + b + b"\n%%EOF\n", st.binary(max_size=1024)),
        st.builds(_zip, st.lists(st.tuples(st.sampled_from(ZIP_MEMBERS), member), max_size=4)),
        st.text(max_size=512).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


@pytest.mark.parametrize("ext", sorted(LOADERS))
def test_random_bytes_to_every_loader(ext, valid_files):
    if ext in IMAGE_SUFFIXES and not tesseract_available():
        pytest.skip("tesseract with Korean data is not installed")

    @(FUZZ_IMAGES if ext in IMAGE_SUFFIXES else FUZZ)
    @given(data=file_bytes(valid_files[ext]))
    def run(data: bytes) -> None:
        name = f"퍼즈 파일{ext}"
        try:
            doc = document_from_bytes(Path(name), name, data)
        except IngestError as exc:
            reason = str(exc)
        else:
            assert doc.text.strip()
            assert doc.doc_id == name
            return
        assert reason.startswith(f"{name}: ")

    run()


def test_the_valid_files_load(valid_files):
    for ext, data in valid_files.items():
        if ext in IMAGE_SUFFIXES and not tesseract_available():
            continue
        name = f"ok{ext}"
        assert document_from_bytes(Path(name), name, data).text


def _split_on_punctuation(text: str) -> list[tuple[int, int]]:
    """A simple stand-in sentence splitter: ends at . ? ! and at the end of the text."""
    out, start = [], 0
    for i, ch in enumerate(text):
        if ch in ".?!" and i + 1 > start:
            out.append((start, i + 1))
            start = i + 1
    if start < len(text):
        out.append((start, len(text)))
    return out


@pytest.fixture(scope="module")
def kiwi_splitter():
    from index.morph import MorphTokenizer

    return MorphTokenizer().split_sentences


@FUZZ
@given(
    text=st.text(max_size=1500),
    size=st.integers(20, 400),
    overlap=st.integers(0, 100),
)
def test_random_unicode_cleans_and_chunks(text, size, overlap):
    try:
        cleaned = clean_document(text).text
    except IngestError:
        return
    spans = chunk_text(cleaned, size=size, overlap=overlap, splitter=_split_on_punctuation)
    for span in spans:
        assert cleaned[span.start : span.end] == span.text
        assert span.text.strip()


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
            st.sampled_from(list(" .?!\n\t,·…“”'\"()0123456789abc\u3000\ufeff")),
            st.characters(),
        ),
        max_size=800,
    ),
)
def test_random_korean_through_kiwi_sentences(kiwi_splitter, text):
    try:
        cleaned = clean_document(text).text
    except IngestError:
        return
    for span in chunk_text(cleaned, size=120, overlap=30, splitter=kiwi_splitter):
        assert cleaned[span.start : span.end] == span.text
