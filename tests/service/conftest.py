"""A live server (the one `jaryo serve` runs) on a free loopback port, over the fake embedder."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import ui
from assistant.build import build_assistant
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
REALDOCS = ROOT.parent / "shared" / "realdocs"
DEEPSEEK = CORPUS / "segye-2025-deepseek.txt"  # in collection 세계 only
BAIDU = CORPUS / "hankook-2023-china-ai-self-reliance.txt"  # in collection 한국 only
ALLIANCE = CORPUS / "china-full-stack-ai-alliance.txt"  # in both
DEEPSEEK_Q = "딥시크가 주장한 V3 개발 비용은?"
BAIDU_Q = "바이두가 개발 중인 챗GPT 유사 AI의 이름은?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """A running server, its assistant and an HTTP client to it."""

    url: str
    assistant: Any
    server: ui.BackgroundServer
    client: httpx.Client

    def stop(self) -> None:
        self.client.close()
        self.server.stop()
        self.assistant.index.close()


def start_live(settings: Settings, embedder: Any) -> Live:
    """Build the assistant and serve it as `jaryo serve` does, in a thread of this process."""
    settings = settings.model_copy(update={"port": free_port()})
    assistant = build_assistant(settings, embedder=embedder)
    server = ui.BackgroundServer(ui.create_app(assistant), "127.0.0.1", settings.port).start()
    return Live(server.url, assistant, server, httpx.Client(base_url=server.url, timeout=60))


def service_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Fake-embedder settings: small limits, extractive answers always cite (threshold -1)."""
    base = {
        "data_dir": data_dir,
        "model": "fake-bigram",
        "not_found_threshold": -1.0,
        "max_file_mb": 0.5,
        "max_request_mb": 1.0,
    }
    return Settings(**(base | overrides))


def fill(assistant: Any) -> None:
    """Two collections: 세계 holds the DeepSeek article, 한국 the Baidu one, both the alliance."""
    assistant.ingest([DEEPSEEK, ALLIANCE], collection="세계")
    assistant.ingest([BAIDU, ALLIANCE], collection="한국")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for a test module, over the two collections."""
    from tests.conftest import FakeEmbedder

    running = start_live(service_settings(tmp_path_factory.mktemp("live")), FakeEmbedder())
    fill(running.assistant)
    yield running
    running.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Live]]:
    """Start servers with other settings; each is stopped at teardown."""
    from tests.conftest import FakeEmbedder

    started: list[Live] = []

    def _start(data_dir: Path | None = None, **overrides: Any) -> Live:
        settings = service_settings(data_dir or tmp_path / f"data{len(started)}", **overrides)
        running = start_live(settings, FakeEmbedder())
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


def state(assistant: Any) -> tuple[Any, ...]:
    """Everything a request could change: documents, collections, chunks and counters."""
    store = assistant.index.store
    return (
        [(d.doc_id, d.content_hash, d.collections, d.chunks) for d in assistant.documents()],
        [(c.name, c.documents) for c in assistant.collections()],
        store.chunk_ids(),
        store.generation(),
        store.membership_version(),
    )
