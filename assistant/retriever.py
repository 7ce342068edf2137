"""LangChain retriever over the hybrid index (framework types stay at this edge)."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.collection import Index
from index.embedder import Embedder
from ingest.records import Chunk, Hit, Scope
from ingest.settings import RetrievalMode


def hit_to_document(hit: Hit) -> LCDocument:
    """A LangChain document carrying the chunk's metadata and scores."""
    c = hit.chunk
    return LCDocument(
        page_content=c.text,
        metadata={
            "chunk_id": c.id,
            "doc_id": c.doc_id,
            "ordinal": c.ordinal,
            "start": c.start,
            "end": c.end,
            "title": c.title,
            "source": c.source,
            "context": c.context,
            "page": c.page,
            "page_end": c.page_end,
            "ocr": c.ocr,
            "score": hit.score,
            "dense_score": hit.dense,
            "keyword_score": hit.keyword,
        },
    )


def document_to_hit(doc: LCDocument) -> Hit:
    """Back from a LangChain document to our plain record."""
    m = doc.metadata
    chunk = Chunk(
        m["chunk_id"],
        m["doc_id"],
        m["ordinal"],
        doc.page_content,
        m["start"],
        m["end"],
        m["title"],
        m["source"],
        context=m.get("context", ""),
        page=m.get("page"),
        page_end=m.get("page_end"),
        ocr=bool(m.get("ocr", False)),
    )
    return Hit(chunk, m["score"], m.get("dense_score"), m.get("keyword_score"))


def search(
    index: Index,
    embedder: Embedder,
    query: str,
    *,
    k: int,
    mode: RetrievalMode,
    dense_weight: float | None,
    scope: Scope | None = None,
) -> list[Hit]:
    """Embed the query (unless keyword-only) and search the index (within ``scope``)."""
    import time

    t0 = time.perf_counter()
    vec = None if mode == "bm25" else embedder.embed([query], kind="query")[0]
    embed_s = time.perf_counter() - t0
    hits = index.search(query, vec, k=k, mode=mode, dense_weight=dense_weight, scope=scope)
    t = index.last_timings
    index.last_timings = type(t)(embed_s, t.dense, t.keyword, t.fusion)
    return hits


class HybridRetriever(BaseRetriever):
    """Returns the top-k chunks (dense + BM25 fusion by default) as LangChain documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    embedder: Any
    k: int = 5
    mode: RetrievalMode = "hybrid"
    dense_weight: float | None = None
    scope: Scope | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        hits = search(
            self.index,
            self.embedder,
            query,
            k=self.k,
            mode=self.mode,
            dense_weight=self.dense_weight,
            scope=self.scope,
        )
        return [hit_to_document(h) for h in hits]
