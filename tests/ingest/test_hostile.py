"""Hostile files (generated here): each fails fast with the message naming its budget."""

from __future__ import annotations

import re
import time

import pytest

from ingest.errors import IngestError
from ingest.loaders import load_bytes
from ingest.records import LoadOptions

from . import hostile

CASES = {
    "bomb.docx": (lambda: hostile.docx_bomb(150_000_000), r"MAX_MEMBER_MB"),
    "many.docx": (lambda: hostile.docx_many_members(4, 90_000_000), r"MAX_UNZIPPED_MB"),
    "lying.docx": (
        lambda: hostile.lying_zip(hostile.docx_bomb(150_000_000), "word/document.xml"),
        r"corrupt DOCX \(word/document\.xml: Bad CRC-32",
    ),
    "bomb.hwpx": (lambda: hostile.hwpx_bomb(150_000_000), r"MAX_MEMBER_MB"),
    "pages.pdf": (lambda: hostile.many_page_pdf(90_000), r"108000 pages.*MAX_PAGES"),
    "deep.html": (lambda: hostile.nested_html(100_000), r"nested more than 1000 deep"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_fails_fast_naming_its_budget(name):
    make, reason = CASES[name]
    data = make()
    started = time.perf_counter()
    with pytest.raises(IngestError, match=f"^{re.escape(name)}: .*{reason}"):
        load_bytes(name, data, LoadOptions())
    assert time.perf_counter() - started < 10


def test_long_flat_html_is_read_in_linear_time():
    started = time.perf_counter()
    loaded = load_bytes("flat.html", hostile.flat_html(40_000), LoadOptions())
    assert time.perf_counter() - started < 15  # 162 s before the one-pass flattening
    lines = [line for line in loaded.text.split("\n") if line.strip()]
    assert len(lines) == 40_000
    assert lines[-1] == "평평한 페이지의 39999번째 문단이다."
