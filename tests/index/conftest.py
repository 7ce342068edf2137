"""Index test helpers: a word tokenizer (no Kiwi start-up), generated documents, index opening."""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from assistant.pipeline import Ingestor
from index.collection import Index
from index.store import NewChunk
from ingest.records import Document
from ingest.settings import Settings

WORKER_PATH = Path(__file__).with_name("_ingest_worker.py")


def _load_worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jaryo_ingest_worker", WORKER_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


@pytest.fixture
def ingest_worker() -> ModuleType:
    """The kill test's worker module (its helpers are shared with the other index tests)."""
    return worker


@pytest.fixture
def tokenizer():  # type: ignore[no-untyped-def]
    return worker.WordTokenizer()


STORES = ["embedded", "milvus"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``embedded_only`` (about FAISS and BM25 files) run with the embedded
    backend only."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        store = callspec.params.get("store") if callspec is not None else None
        if store == "milvus" and item.get_closest_marker("embedded_only"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def milvus_lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One milvus-lite file for the session (each index folder names its own collections),
    its server kept running between tests."""
    from index import milvus_client

    uri = str(tmp_path_factory.mktemp("milvus") / "milvus.db")
    milvus_client.connect(uri, "")
    yield uri
    milvus_client.disconnect(uri, "")


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """The search backend under test: the embedded FAISS + BM25, or Milvus (milvus-lite)."""
    return str(request.param)


@pytest.fixture
def index_settings(tmp_path: Path, store: str, request: pytest.FixtureRequest) -> Settings:
    settings = worker.worker_settings(tmp_path / "data")
    if store == "milvus":
        uri = request.getfixturevalue("milvus_lite")
        settings = settings.model_copy(update={"store": "milvus", "milvus_uri": uri})
    return settings


@pytest.fixture
def open_index(index_settings: Settings, fake_embedder, tokenizer) -> Callable[..., Index]:  # type: ignore[no-untyped-def]
    """Open the test index (again); every index opened is closed at teardown."""
    opened: list[Index] = []

    def _open(**overrides: object) -> Index:
        settings = index_settings.model_copy(update=overrides) if overrides else index_settings
        index = worker.open_index(settings, fake_embedder, tokenizer)
        opened.append(index)
        return index

    yield _open
    for index in opened:
        index.close()


@pytest.fixture
def make_doc() -> Callable[[str, int], Document]:
    """A generated document; the same (id, seed) gives the same text."""

    def _make(doc_id: str, seed: int = 0) -> Document:
        return worker.generated_document(doc_id, random.Random(f"{doc_id}/{seed}"))

    return _make


@pytest.fixture
def put(fake_embedder, index_settings: Settings) -> Callable[..., None]:  # type: ignore[no-untyped-def]
    """Chunk, embed and store documents through the ingestor's commit path."""

    def _put(index: Index, docs: list[Document], delete: list[str] = ()) -> None:  # type: ignore[assignment]
        ingestor = Ingestor(
            index,
            fake_embedder,
            chunk_size=index_settings.chunk_size,
            chunk_overlap=index_settings.chunk_overlap,
            max_bytes=1 << 20,
        )
        pending: list[tuple[Document, list[NewChunk]]] = [(d, ingestor.chunk(d)) for d in docs]
        ingestor._flush(pending, list(delete))

    return _put
