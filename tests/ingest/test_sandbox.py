"""The bounded parser worker: reused across documents, stopped at its time and memory budgets,
and replaced afterwards; the loaders name the budget in their error."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from ingest.bounded import options_args
from ingest.errors import IngestError
from ingest.loaders import load_bytes
from ingest.records import LoadOptions
from ingest.sandbox import BudgetExceeded, Worker

TASK = "ingest.hwpx:extract_hwpx"
ARGS = {"name": "t.hwpx", "options": options_args(LoadOptions())}
_NS = (
    'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
    'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'
)


def hwpx(paragraphs: int, text: str = "가나다라마바사아자차카타파하") -> bytes:
    """An HWPX package of ``paragraphs`` short paragraphs (it compresses to little)."""
    body = f"<hp:p><hp:run><hp:t>{text}</hp:t></hp:run></hp:p>" * paragraphs
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr("Contents/section0.xml", f"<hs:sec {_NS}>{body}</hs:sec>")
    return out.getvalue()


@pytest.fixture
def worker():
    w = Worker()
    yield w
    w.close()


def test_one_worker_serves_many_documents(worker):
    first = worker.run(TASK, hwpx(2), args=ARGS)
    pid = worker.pid
    started = time.perf_counter()
    for _ in range(10):
        assert worker.run(TASK, hwpx(3), args=ARGS)["text"].count("\n") == 2
    assert worker.pid == pid  # reused, not restarted
    assert (time.perf_counter() - started) / 10 < 0.1
    assert first["text"] == "가나다라마바사아자차카타파하\n가나다라마바사아자차카타파하"


def test_a_parse_past_the_time_limit_is_stopped_and_the_worker_replaced(worker):
    worker.run(TASK, hwpx(1), args=ARGS)  # started and warm
    slow = hwpx(200_000)  # several seconds of parsing
    started = time.perf_counter()
    with pytest.raises(BudgetExceeded, match=r"parsing took longer than 0\.5 s"):
        worker.run(TASK, slow, timeout=0.5, args=ARGS)
    assert time.perf_counter() - started < 3
    assert worker.pid is None
    assert worker.run(TASK, hwpx(1), args=ARGS)["text"]


def test_a_document_over_the_memory_cap_fails_and_the_next_one_loads():
    small = Worker(memory_mb=150)
    try:
        with pytest.raises(BudgetExceeded, match=r"parsing needed more than 150 MB of memory"):
            small.run(TASK, hwpx(500_000), args=ARGS)  # a 42 MB section XML
        assert small.run(TASK, hwpx(1), args=ARGS)["text"] == "가나다라마바사아자차카타파하"
    finally:
        small.close()


def test_loaders_name_the_budget():
    tight = LoadOptions(parser_memory_mb=150)
    with pytest.raises(
        IngestError,
        match=r"^큰\.hwpx: HWPX parsing stopped: parsing needed more than 150 MB of memory "
        r"— 처리 한도 초과 \(JARYO_PARSER_MEMORY_MB\)$",
    ):
        load_bytes("큰.hwpx", hwpx(500_000), tight)
    # enough memory: this document is stopped by the clock, not the cap
    hurried = LoadOptions(parser_timeout=0.5)
    with pytest.raises(
        IngestError, match=r"^느린\.hwp: HWPX parsing stopped: .*than 0\.5 s .*PARSER_TIMEOUT"
    ):
        load_bytes("느린.hwp", hwpx(200_000), hurried)
    assert load_bytes("작은.hwpx", hwpx(1), LoadOptions()).text == "가나다라마바사아자차카타파하"
