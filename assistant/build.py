"""Wire embedder → index → retriever → answerers from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from assistant.answers import Answerer
from assistant.extractive import ExtractiveAnswerer
from assistant.gate import AnswerabilityGate
from assistant.service import Assistant
from index.backend import SearchBackend
from index.collection import Index
from index.embedder import Embedder, default_model_path, embedder_name, load_embedder
from index.lazy import LazyEmbedder, folder_dimension
from index.morph import MorphTokenizer
from index.storage import ChunkStore
from index.store import Store
from ingest.settings import DEFAULT_MODEL, Settings

logger = logging.getLogger(__name__)


def _milvus_token(settings: Settings) -> str:
    return settings.milvus_token.get_secret_value() if settings.milvus_token else ""


def make_store(settings: Settings, folder: Path, dim: int) -> Callable[[], ChunkStore] | None:
    """How to open the store the settings name (None: the SQLite file in the folder)."""
    if settings.store == "embedded":
        return None

    def _open() -> ChunkStore:
        from index.milvus_shared import index_name
        from index.milvus_store import MilvusStore

        uri, token = settings.milvus_target, _milvus_token(settings)
        name = index_name(folder, settings.milvus_collection, uri=uri, token=token)
        return MilvusStore(name, dim, uri=uri, token=token)

    return _open


def open_store(settings: Settings, folder: Path, dim: int) -> ChunkStore:
    """The store of the index in ``folder`` alone (no search backend, no manifest check)."""
    opener = make_store(settings, folder, dim)
    return opener() if opener is not None else Store(folder / "store.sqlite3")


def store_exists(settings: Settings, folder: Path) -> bool:
    """Whether ``folder`` holds an index's store."""
    if settings.store == "embedded":
        return (folder / "store.sqlite3").exists()
    from index.milvus import collection_name

    return collection_name(folder) is not None


def make_backend(settings: Settings, folder: Path, dim: int) -> SearchBackend | None:
    """The search backend the settings name (None: the embedded FAISS + BM25)."""
    if settings.store == "embedded":
        return None
    from index.milvus import MilvusBackend

    token = _milvus_token(settings)
    return MilvusBackend(
        folder,
        dim,
        uri=settings.milvus_target,
        token=token,
        index_type=settings.milvus_index_type,
    )


def open_index(
    settings: Settings,
    embedder: Embedder,
    tokenizer: MorphTokenizer | None = None,
    *,
    folder: Path | None = None,
) -> Index:
    """Open (or create) the index in the data folder (or ``folder``) for this embedder."""
    folder = folder or settings.index_dir
    return Index(
        folder,
        model=embedder.name,
        dim=embedder.dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        approximate_threshold=settings.approximate_threshold,
        ef_search=settings.hnsw_ef_search,
        tokenizer=tokenizer,
        backend=make_backend(settings, folder, embedder.dim),
        store=make_store(settings, folder, embedder.dim),
    )


def build_answerers(settings: Settings, embedder: Embedder, index: Index) -> dict[str, Answerer]:
    """The extractive answerer always; LLM answerers when configured."""
    answerers: dict[str, Answerer] = {
        "extractive": ExtractiveAnswerer(
            embedder,
            index.tokenizer,
            max_sentences=settings.answer_sentences,
            threshold=settings.not_found_threshold,
        )
    }
    if settings.answerer == "openai" or settings.llm_api_key is not None:
        from assistant.llm import OpenAIAnswerer

        answerers["openai"] = OpenAIAnswerer.from_settings(settings)
    return answerers


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; the default model is loaded lazily, on its first use."""
    if settings.model == DEFAULT_MODEL:
        from index.e5build import ensure_e5_model

        dim = folder_dimension(ensure_e5_model(default_model_path(settings)))
        if dim is not None:
            return LazyEmbedder(embedder_name(settings), dim, lambda: load_embedder(settings))
    return load_embedder(settings)


def build_assistant(settings: Settings, *, embedder: Embedder | None = None) -> Assistant:
    """Create the embedder, open the index, and wire the answerers."""
    embedder = embedder or make_embedder(settings)
    index = open_index(settings, embedder)
    answerers = build_answerers(settings, embedder, index)
    scorer = answerers["extractive"]
    gate = None
    if settings.gate_threshold != 0 and isinstance(scorer, ExtractiveAnswerer):
        gate = AnswerabilityGate(scorer, index.term_statistics, threshold=settings.gate_threshold)
    return Assistant(settings, embedder=embedder, index=index, answerers=answerers, gate=gate)
