"""The assistant: one object the CLI, the UI and the evaluation all use."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from assistant.answers import (
    Answer,
    Answerer,
    guard_document_markers,
    not_found,
    restore_sources,
    validate_citations,
)
from assistant.followup import expand_followup, needs_context
from assistant.gate import AnswerabilityGate
from assistant.pipeline import Ingestor
from assistant.retriever import HybridRetriever, document_to_hit, search
from assistant.uploads import collect, content_hash, store_upload
from index.collection import Index
from index.embedder import Embedder
from index.membership import DEFAULT_COLLECTION, CollectionInfo, clean_name
from index.store import DocumentInfo
from ingest.errors import (
    AnswerError,
    AssistantError,
    IngestError,
    NotFoundError,
    TooLongError,
)
from ingest.reader import (
    FileOutcome,
    IngestReport,
    Progress,
    Source,
    collect_sources,
    document_from_loaded,
)
from ingest.records import Chunk, Hit, Scope
from ingest.settings import RetrievalMode, Settings
from ingest.web import fetch, is_url, load_fetched, normalize_url, snapshot_suffix

logger = logging.getLogger(__name__)

History = list[tuple[str, str]]  # (question, answer text) of earlier turns
HIDDEN_NOTE = "숨은 파일이나 잠금 파일이라 건너뜁니다 (hidden or lock file, skipped)"
CITED_STAND_IN = 1  # passages standing in for an earlier answer given without its text


@dataclass(frozen=True)
class Passage:
    """A stored passage and the document text just before and after it."""

    chunk: Chunk
    before: str = ""
    after: str = ""


class Assistant:
    """Answers questions over the indexed documents and manages those documents."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder,
        index: Index,
        answerers: dict[str, Answerer],
        gate: AnswerabilityGate | None = None,
    ) -> None:
        self.settings = settings
        self.gate = gate
        self.embedder = embedder
        self.index = index
        self.answerers = answerers
        self.ingestor = Ingestor(
            index,
            embedder,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            max_bytes=int(settings.max_file_mb * 1_000_000),
            load_options=settings.load_options(),
        )
        self._write_lock = threading.Lock()

    # -- questions -------------------------------------------------------------------------

    def check_question(self, question: str, history: History | None = None) -> None:
        """TooLongError when the question (or an earlier one of the conversation) is longer
        than ``max_question_chars``: one long question would hold up every other reader."""
        limit = self.settings.max_question_chars
        for text in [question, *(q for q, _ in history or [])]:
            if len(text) > limit:
                raise TooLongError(
                    f"질문이 너무 깁니다: {len(text):,}자 (최대 {limit:,}자, "
                    f"JARYO_MAX_QUESTION_CHARS) — question too long"
                )

    def condense(
        self, question: str, history: History, backend: str, *, scope: Scope | None = None
    ) -> str:
        """A standalone version of ``question`` given the conversation so far.

        Without an LLM condenser, a dependent follow-up is rebuilt from the previous standalone
        question and the topic of the previous answer (:func:`expand_followup`). Where a turn
        carries only its question (CLI ``--history``, MCP), the passages that question
        retrieves in ``scope`` stand in for the ones its answer cited.
        """
        answerer = self.answerers[backend]
        condenser = getattr(answerer, "condense", None)
        if condenser is not None and history:
            try:
                return str(condenser(question, history))
            except AnswerError as exc:
                logger.warning("could not condense with %s: %s", backend, exc)
        standalone: list[str] = []
        for q in [*(q for q, _ in history), question]:
            context = ""
            if standalone and needs_context(q):
                context = self._cited_text(standalone[-1], history[len(standalone) - 1][1], scope)
            standalone.append(
                expand_followup(
                    q,
                    standalone,
                    self.index.tokenizer,
                    context=context,
                    idf=self.index.term_idf,
                )
            )
        return standalone[-1]

    def _cited_text(self, question: str, answer: str, scope: Scope | None) -> str:
        """What an earlier turn's answer said: its text, or (when the turn carries no answer)
        the passages its standalone question retrieves, which that answer would have cited."""
        if answer.strip():
            return answer
        hits = self.search(question, k=CITED_STAND_IN, scope=scope)
        return "\n".join(h.chunk.text for h in hits)

    def retriever(
        self,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        scope: Scope | None = None,
    ) -> HybridRetriever:
        """A LangChain retriever with these settings (searching only ``scope``)."""
        return HybridRetriever(
            index=self.index,
            embedder=self.embedder,
            k=k or self.settings.top_k,
            mode=mode or self.settings.retrieval_mode,
            dense_weight=self.settings.dense_weight,
            scope=scope,
        )

    def retrieval_chain(
        self,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        backend: str | None = None,
        scope: Scope | None = None,
    ) -> Runnable[dict[str, Any], dict[str, Any]]:
        """LCEL: {question, history} → condensed question → retrieved hits."""
        backend = self._backend(backend)
        retriever = self.retriever(k=k, mode=mode, scope=scope)
        name = backend

        def condense(x: dict[str, Any]) -> str:
            return self.condense(x["question"], x.get("history") or [], name, scope=scope)

        def hits(x: dict[str, Any]) -> list[Hit]:
            return [document_to_hit(d) for d in retriever.invoke(x["standalone"])]

        return RunnablePassthrough.assign(
            standalone=RunnableLambda(condense)
        ) | RunnablePassthrough.assign(hits=RunnableLambda(hits))

    def chain(
        self,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        backend: str | None = None,
        scope: Scope | None = None,
    ) -> Runnable[dict[str, Any], Answer]:
        """LCEL: condense → retrieve → answer → validate citations."""
        name = self._backend(backend)

        def answer(x: dict[str, Any]) -> Answer:
            return self._answer(name, x["standalone"], x["hits"])

        return (
            self.retrieval_chain(k=k, mode=mode, backend=name, scope=scope)
            | RunnableLambda(answer)
            | RunnableLambda(validate_citations)
        )

    def ask(
        self,
        question: str,
        *,
        history: History | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        backend: str | None = None,
        scope: Scope | None = None,
    ) -> Answer:
        """Answer a question (with the conversation so far) from the passages in ``scope``."""
        self.check_question(question, history)
        return self.chain(k=k, mode=mode, backend=backend, scope=scope).invoke(
            {"question": question, "history": history or []}
        )

    def stream(
        self,
        question: str,
        *,
        history: History | None = None,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        backend: str | None = None,
        scope: Scope | None = None,
    ) -> Iterator[str | Answer]:
        """Yield answer text as it grows, then the final validated :class:`Answer`."""
        self.check_question(question, history)
        name = self._backend(backend)
        state = self.retrieval_chain(k=k, mode=mode, backend=name, scope=scope).invoke(
            {"question": question, "history": history or []}
        )
        answerer = self.answerers[name]
        final = self._refusal(state["standalone"], state["hits"])
        if final is not None:
            yield final.text
            yield final
            return
        try:
            for item in answerer.stream(state["standalone"], guard_document_markers(state["hits"])):
                if isinstance(item, Answer):
                    final = restore_sources(item, state["hits"])
                else:
                    yield item
        except AnswerError as exc:
            final = self._fallback(name, state["standalone"], state["hits"], exc)
        if final is None:
            final = self._fallback(
                name, state["standalone"], state["hits"], AnswerError("no answer produced")
            )
        yield validate_citations(final)

    def _backend(self, backend: str | None) -> str:
        name = backend or self.settings.answerer
        if name not in self.answerers:
            raise AssistantError(
                f"answerer {name!r} is not configured (available: {', '.join(self.answerers)})"
            )
        return name

    def _refusal(self, question: str, hits: list[Hit]) -> Answer | None:
        """'Not in the documents' when the gate finds the passages do not answer, else None
        (then no answerer, and so no LLM call, is spent on the question)."""
        if self.gate is None:
            return None
        verdict = self.gate.judge(question, hits)
        if verdict.answerable:
            return None
        missing = ", ".join(verdict.missing[:5])
        notice = f"문서에 없는 질문 내용: {missing}" if missing else ""
        return replace(not_found(question, hits, notice), flags=["gate"])

    def _answer(self, name: str, question: str, hits: list[Hit]) -> Answer:
        if (refused := self._refusal(question, hits)) is not None:
            return refused
        try:
            answer = self.answerers[name].answer(question, guard_document_markers(hits))
            return restore_sources(answer, hits)
        except AnswerError as exc:
            return self._fallback(name, question, hits, exc)

    def _fallback(self, name: str, question: str, hits: list[Hit], exc: Exception) -> Answer:
        logger.warning("answerer %s failed: %s; using the extractive answer", name, exc)
        guarded = guard_document_markers(hits)
        base = restore_sources(self.answerers["extractive"].answer(question, guarded), hits)
        notice = f"{name} 응답 실패({exc}) — 추출식 답변으로 대신합니다."
        return Answer(
            base.text, base.sources, base.found, "extractive", notice, base.question, ["fallback"]
        )

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        scope: Scope | None = None,
    ) -> list[Hit]:
        """Top-k passages (of ``scope``) without composing an answer."""
        self.check_question(query)
        return search(
            self.index,
            self.embedder,
            query,
            k=k or self.settings.top_k,
            mode=mode or self.settings.retrieval_mode,
            dense_weight=self.settings.dense_weight,
            scope=scope,
        )

    def passage(self, passage_id: int, *, around: int = 0) -> Passage:
        """One stored passage by id, with up to ``around`` characters of text either side."""
        chunk = self.index.store.chunks([passage_id]).get(passage_id)
        if chunk is None:
            raise NotFoundError(f"no such passage: {passage_id}")
        before = after = ""
        if around > 0:
            doc = self.index.store.document(chunk.doc_id)
            if doc is not None:
                before = doc.text[max(0, chunk.start - around) : chunk.start]
                after = doc.text[chunk.end : chunk.end + around]
        return Passage(chunk, before, after)

    # -- documents and collections -----------------------------------------------------------

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Indexed documents (of one collection)."""
        return self.index.documents(collection)

    def collections(self) -> list[CollectionInfo]:
        """Collections with their number of documents, the default first."""
        return self.index.collections()

    def create_collection(self, name: str) -> str:
        """A new empty collection; returns its name as stored."""
        with self._write_lock:
            self.index.store.create_collection(name)
        return clean_name(name)

    def rename_collection(self, old: str, new: str) -> str:
        """Rename a collection; returns the new name as stored."""
        with self._write_lock:
            self.index.store.rename_collection(old, new)
        return clean_name(new)

    def delete_collection(self, name: str) -> list[str]:
        """Delete a collection and the documents no other collection holds (their ids)."""
        with self._write_lock, self._collecting_uploads([]):
            return self.index.delete_collection(name)

    def ingest(
        self,
        paths: list[Path],
        *,
        sync: bool = False,
        progress: Progress | None = None,
        collection: str | None = None,
    ) -> IngestReport:
        """Ingest files and folders into ``collection`` (default 기본); ``sync`` also takes
        the collection's documents whose files are gone out of it (web pages, which have no
        file, are kept)."""
        sources = collect_sources(paths, allow_outside=self.settings.follow_outside_links)
        sync_ids = None
        if sync:
            sync_ids = {s.doc_id for s in sources}
            sync_ids |= {d.doc_id for d in self.documents() if is_url(d.doc_id)}
        with self._write_lock, self._collecting_uploads([]):  # an update may replace one
            return self.ingestor.ingest(
                sources, sync_root_ids=sync_ids, progress=progress, collection=collection
            )

    def add_uploads(
        self,
        files: list[tuple[str, Path]],
        *,
        progress: Progress | None = None,
        collection: str | None = None,
    ) -> IngestReport:
        """Store uploaded files under content-hash names in the data folder, then ingest them
        into ``collection`` (default 기본).

        ``files`` holds (original file name, temporary path) pairs; the original name becomes
        the document id but is never used as a path.
        """
        target = clean_name(collection or DEFAULT_COLLECTION)
        accepted: list[tuple[str, Path]] = []
        rejected = IngestReport()
        limit = int(self.settings.max_file_mb * 1_000_000)
        for name, tmp in files:
            safe_name = Path(name).name or "upload"
            if safe_name.startswith((".", "~$")):  # .DS_Store, an Office lock file
                rejected.outcomes.append(FileOutcome(safe_name, "skipped", reason=HIDDEN_NOTE))
                continue
            try:
                size = tmp.stat().st_size
                if size > limit:
                    raise IngestError(
                        f"{safe_name}: file is {size / 1e6:.1f} MB, larger than the "
                        f"{limit / 1e6:.0f} MB limit"
                    )
            except OSError as exc:
                raise IngestError(f"{safe_name}: cannot read the upload ({exc})") from exc
            except IngestError as exc:
                rejected.outcomes.append(FileOutcome(safe_name, "failed", reason=str(exc)))
                continue
            accepted.append((safe_name, tmp))
        with self._write_lock:
            stored: list[Path] = []  # kept only if their document lands
            with self._collecting_uploads(stored):
                sources = []
                for safe_name, tmp in accepted:
                    try:
                        data = tmp.read_bytes()
                    except OSError as exc:
                        raise IngestError(f"{safe_name}: cannot read the upload ({exc})") from exc
                    stored.append(self._store_upload(data, Path(safe_name).suffix))
                    sources.append(Source(stored[-1], safe_name))
                report = self.ingestor.ingest(sources, progress=progress, collection=target)
        report.outcomes = rejected.outcomes + report.outcomes
        return report

    def _store_upload(self, data: bytes, suffix: str) -> Path:
        """Keep ``data`` in the uploads folder under its content hash."""
        return store_upload(self.settings.uploads_dir, data, suffix)

    @contextmanager
    def _collecting_uploads(self, own: list[Path]) -> Iterator[None]:
        """Around a write: afterwards, delete the uploads no stored document has any more
        (``own``: the files this write stored, kept only if their document landed)."""
        store = self.index.store
        before = store.content_hashes()
        try:
            yield
        finally:
            gone = before | {h for h in map(content_hash, own) if h is not None}
            try:
                collect(self.settings.uploads_dir, store.content_hashes(), gone=gone)
            except (AssistantError, OSError) as exc:  # never hide the write's own outcome
                logger.warning("uploads not collected: %s", exc)

    def add_url(
        self, url: str, *, progress: Progress | None = None, collection: str | None = None
    ) -> IngestReport:
        """Fetch a web page (HTML, PDF or plain text) by address and ingest it into
        ``collection`` (default 기본).

        The normalised address is the document id, so adding it again updates the document
        (or reports it unchanged); the fetched bytes are kept in the uploads folder like an
        upload, and the document's meta names the address, the fetch time and the snapshot.
        """
        started = time.perf_counter()
        target = clean_name(collection or DEFAULT_COLLECTION)
        doc_id = url.strip()
        try:
            doc_id = normalize_url(url)
            fetched = fetch(
                doc_id,
                max_bytes=int(self.settings.web_max_mb * 1_000_000),
                timeout=self.settings.web_timeout,
                allow_private=self.settings.web_allow_private,
            )
            detail = getattr(progress, "detail", None)
            loaded = load_fetched(fetched, replace(self.ingestor.load_options, progress=detail))
            doc = document_from_loaded(doc_id, loaded, fetched.data, source=doc_id)
        except IngestError as exc:
            logger.info("failed: %s", exc)
            failed = FileOutcome(doc_id, "failed", reason=str(exc))
            return IngestReport([failed], time.perf_counter() - started)
        with self._write_lock:
            stored: list[Path] = []
            with self._collecting_uploads(stored):
                stored.append(self._store_upload(fetched.data, snapshot_suffix(fetched)))
                doc = replace(doc, meta={**doc.meta, "snapshot": stored[0].name})
                report = self.ingestor.ingest(
                    [Source(stored[0], doc_id, document=doc)], progress=progress, collection=target
                )
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, doc_ids: list[str], *, collection: str | None = None) -> list[str]:
        """Delete documents, or with ``collection`` only take them out of it (deleting those
        then in no collection); returns the ids deleted."""
        known = {d.doc_id for d in self.documents(collection)}
        missing = [d for d in doc_ids if d not in known]
        if missing:
            where = f" in collection {collection}" if collection else ""
            raise NotFoundError(f"no such document{where}: {', '.join(missing)}")
        with self._write_lock, self._collecting_uploads([]):
            return self.index.remove(doc_ids, collection=collection)
