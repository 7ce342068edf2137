"""UI callbacks: small functions of (assistant, inputs) -> outputs, testable without a browser."""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.answers import Answer, Source
from assistant.citations import inert_markdown
from index.membership import DEFAULT_COLLECTION
from ingest.errors import AssistantError
from ingest.loaders import LOADERS
from ingest.reader import FileOutcome
from ingest.records import Chunk, Scope

logger = logging.getLogger(__name__)

ChatMessages = list[dict[str, str]]
Turns = list[tuple[str, str]]  # (question, answer text) of earlier turns
Rows = list[list[Any]]

UPLOAD_TYPES = sorted(LOADERS)  # shown in the upload box; other files fail alone
MODE_CHOICES = [
    ("하이브리드 (의미 + 키워드)", "hybrid"),
    ("의미 검색 (dense)", "dense"),
    ("키워드 검색 (BM25)", "bm25"),
]
DOCUMENT_HEADERS = ["제목", "파일", "형식", "구절 수", "컬렉션", "추가 시각"]
OUTCOME_HEADERS = ["파일", "결과", "구절 수", "사유"]
STATUS_LABELS = {
    "added": "추가됨",
    "updated": "갱신됨",
    "unchanged": "변경 없음",
    "duplicate": "중복",
    "skipped": "건너뜀",
    "failed": "실패",
    "removed": "삭제됨",
}
# Questions a reader of the shipped corpus might ask, keyed by the file that answers them.
CORPUS_QUESTIONS = {
    "segye-2025-deepseek.txt": "딥시크가 주장한 V3 개발 비용은?",
    "china-full-stack-ai-alliance.txt": "WAIC 2025에서 설립이 발표된 연맹의 이름은?",
    "hankook-2023-china-ai-self-reliance.txt": "바이두가 개발 중인 챗GPT 유사 AI의 이름은?",
    "spri-2020-us-china-ai-rivalry.txt": "DARPA가 AI Next 캠페인 등에 투자한다고 발표한 금액은?",
}

_MARKER = re.compile(r"(?<!\\)\[(\d+)\]")  # not an escaped bracket (see inert_markdown)


def _ui_error(message: str) -> Exception:
    """A gr.Error carrying ``message`` (gradio imported only when a callback actually fails)."""
    import gradio as gr

    return gr.Error(message)


# -- chat ------------------------------------------------------------------------------------


def example_questions(assistant: Any, limit: int = 4) -> list[str]:
    """Example questions for the indexed documents: curated ones first, then one per title."""
    docs = assistant.documents()
    questions = [CORPUS_QUESTIONS[d.source] for d in docs if d.source in CORPUS_QUESTIONS]
    for d in docs:
        if len(questions) >= limit:
            break
        if d.source not in CORPUS_QUESTIONS and d.title:
            questions.append(f"「{d.title[:40]}」의 핵심 내용은?")
    return questions[:limit]


def link_markers(text: str, numbers: Sequence[int] | None = None) -> str:
    """Turn ``[n]`` markers into links to source card ``#source-n`` (only for known ``numbers``)."""
    known = set(numbers) if numbers is not None else None

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if known is not None and n not in known:
            return m.group(0)
        return f'<a class="cite" href="#source-{n}" title="출처 {n}로 이동">[{n}]</a>'

    return _MARKER.sub(link, text)


def answer_markdown(answer: Answer) -> str:
    """The chat bubble for a final answer: linked markers, plus any notice.

    A not-found answer's text already says the nearest passages are shown below.
    """
    body = link_markers(inert_markdown(answer.text), [s.number for s in answer.sources])
    if answer.notice:
        body += f"\n\n<small>※ {html.escape(answer.notice)}</small>"
    return body


def _highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def _context(context: str) -> str:
    if not context:
        return ""
    return f'<div class="passage-context" title="표의 머리글">{html.escape(context)}</div>'


Surroundings = Callable[[Chunk], tuple[str, str] | None]
_AROUND = 600  # characters of the document shown before and after a passage


def document_surroundings(assistant: Any) -> Surroundings:
    """A function giving the text just before and after a chunk in its stored document."""

    def around(chunk: Chunk) -> tuple[str, str] | None:
        doc = assistant.index.store.document(chunk.doc_id)
        if doc is None or doc.text[chunk.start : chunk.end] != chunk.text:
            return None  # the document changed since this answer was composed
        before = doc.text[max(0, chunk.start - _AROUND) : chunk.start]
        after = doc.text[chunk.end : chunk.end + _AROUND]
        return ("…" if chunk.start > _AROUND else "") + before, after + (
            "…" if chunk.end + _AROUND < len(doc.text) else ""
        )

    return around


def _in_context(s: Source, surroundings: Surroundings | None) -> str:
    """The passage inside its surrounding document text, folded under the card."""
    around = surroundings(s.hit.chunk) if surroundings else None
    if not around:
        return ""
    before, after = around
    body = (
        f"{html.escape(before)}<mark>{html.escape(s.hit.chunk.text)}</mark>{html.escape(after)}"
    ).replace("\n", "<br>")
    return (
        '<details class="passage-around"><summary>문서에서 앞뒤 내용 보기</summary>'
        f'<div class="passage">{body}</div></details>'
    )


def _source_card(s: Source, *, open_: bool, surroundings: Surroundings | None = None) -> str:
    c = s.hit.chunk
    return (
        f'<details id="source-{s.number}" class="source-card"{" open" if open_ else ""}>'
        f'<summary><span class="source-num">{s.number}</span>'
        f'<span class="source-title">{html.escape(c.title)}</span>'
        f'<span class="source-meta">{html.escape(c.source)} · {html.escape(s.location)}'
        f" · 점수 {s.hit.score:.2f}</span></summary>"
        f"{_context(c.context)}"
        f'<div class="passage">{_highlight(c.text, s.highlights)}</div>'
        f"{_in_context(s, surroundings)}</details>"
    )


def sources_html(answer: Answer, surroundings: Surroundings | None = None) -> str:
    """Numbered source cards, cited sentences highlighted (nearest passages if not found)."""
    if not answer.sources:
        return ""
    cited = set(answer.cited_numbers())
    if answer.found:
        head = "출처"
        note = "답변의 [번호]를 누르면 해당 출처로 이동합니다. 강조된 문장이 근거입니다."
    else:
        head = "가장 가까운 구절"
        note = "문서에서 답을 찾지 못했습니다. 참고로 가장 가까운 구절을 보여 드립니다."
    cards = [
        _source_card(
            s, open_=s.number in cited or (not answer.found and i == 0), surroundings=surroundings
        )
        for i, s in enumerate(answer.sources)
    ]
    return (
        f'<section class="sources{"" if answer.found else " not-found"}">'
        f'<h3>{head}</h3><p class="sources-note">{note}</p>{"".join(cards)}</section>'
    )


def respond(
    assistant: Any,
    question: str,
    chat: ChatMessages,
    turns: Turns,
    k: int | None = None,
    mode: str | None = None,
    backend: str | None = None,
    collections: Sequence[str] | None = None,
    documents: Sequence[str] | None = None,
) -> Iterator[tuple[str, ChatMessages, str, Turns]]:
    """Stream an answer into the chat, then show its sources; the question is asked within
    the chosen ``collections`` and ``documents`` (everything when none is chosen).

    Yields (question box, chat messages, sources html, conversation turns).
    """
    question = (question or "").strip()
    if not question:
        yield "", chat, "", turns
        return
    chat = [*chat, {"role": "user", "content": question}]
    yield "", chat, "", turns
    text = ""
    try:
        for item in assistant.stream(
            question,
            history=list(turns),
            k=int(k) if k else None,
            mode=mode or None,
            backend=backend or None,
            scope=scope_of(collections, documents),
        ):
            if isinstance(item, Answer):
                final = [*chat, {"role": "assistant", "content": answer_markdown(item)}]
                logger.info("answered %r with %d sources", question, len(item.sources))
                html_ = sources_html(item, document_surroundings(assistant))
                yield "", final, html_, [*turns, (question, item.text)]
                return
            text += item
            shown = inert_markdown(text)  # no image or tag of a half answer is fetched either
            yield "", [*chat, {"role": "assistant", "content": shown}], "", turns
    except AssistantError as exc:
        raise _ui_error(str(exc)) from exc


def scope_of(collections: Sequence[str] | None, documents: Sequence[str] | None) -> Scope | None:
    """The retrieval scope of the chat's pickers (None: everything)."""
    if not collections and not documents:
        return None
    return Scope(tuple(collections or ()), tuple(documents or ()))


def new_chat() -> tuple[str, ChatMessages, str, Turns]:
    """Empty question box, chat, sources and conversation."""
    return "", [], "", []


# -- documents -------------------------------------------------------------------------------


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def document_rows(assistant: Any) -> Rows:
    """The documents table: title, file (document id), format, chunks, collections, added."""
    docs = sorted(assistant.documents(), key=lambda d: (-d.added_at, d.doc_id))
    return [
        [d.title, d.doc_id, d.format, d.chunks, ", ".join(d.collections), _when(d.added_at)]
        for d in docs
    ]


def document_choices(assistant: Any) -> list[tuple[str, str]]:
    """(label, document id) pairs for the delete picker."""
    return [(f"{d.title} ({d.doc_id})", d.doc_id) for d in assistant.documents()]


@dataclass(frozen=True)
class UploadResult:
    """What the documents tab shows after an upload."""

    outcomes: Rows
    summary: str
    failed: int = 0


def _reason(outcome: FileOutcome) -> str:
    """The failure reason without a leading file name (the row names the file already)."""
    prefix = rf"^(?:{re.escape(outcome.doc_id)}|[0-9a-f]{{64}}(?:\.\w+)?):\s*"
    return re.sub(prefix, "", outcome.reason)


def outcome_rows(outcomes: Sequence[FileOutcome]) -> Rows:
    """One row per file: file, result, chunks, reason."""
    return [
        [o.doc_id, STATUS_LABELS.get(o.status, o.status), o.chunks, _reason(o)] for o in outcomes
    ]


class _UploadProgress:
    """Ingestion progress shown in Gradio's progress bar: the file, then its pages (OCR)."""

    def __init__(self, progress: Callable[..., Any] | None) -> None:
        self.progress = progress
        self.done, self.total, self.name = 0, 0, ""

    def __call__(self, done: int, total: int, name: str) -> None:
        self.done, self.total, self.name = done, total, name
        if self.progress is not None:
            self.progress((done, total), desc=f"{name} 처리 중")

    def detail(self, line: str) -> None:
        """A loader's line, e.g. "scan.pdf: page 2/5 (OCR)" → "scan.pdf · 2/5쪽 글자 인식 중"."""
        if self.progress is None:
            return
        what = line.rsplit(": ", 1)[-1]
        if m := re.match(r"page (\d+)/(\d+)( \(OCR\))?", what):
            what = f"{m[1]}/{m[2]}쪽 {'글자 인식(OCR)' if m[3] else '읽는'} 중"
        self.progress((self.done, self.total), desc=f"{self.name} · {what}")


def upload(
    assistant: Any,
    paths: Sequence[str | Path] | None,
    progress: Callable[..., Any] | None = None,
    collection: str | None = None,
) -> UploadResult:
    """Ingest uploaded files (stored under content-hash names by the assistant) into
    ``collection`` (기본 when empty; a new name creates the collection).

    ``progress`` is called like ``gr.Progress``: ``progress((done, total), desc=...)``.
    """
    files = [Path(p) for p in paths or []]
    if not files:
        raise _ui_error("올릴 파일을 먼저 선택하세요.")

    report_progress = _UploadProgress(progress)
    try:
        report = assistant.add_uploads(
            [(p.name, p) for p in files],
            progress=report_progress,
            collection=collection or DEFAULT_COLLECTION,
        )
    except AssistantError as exc:
        raise _ui_error(str(exc)) from exc
    if progress is not None:
        progress((len(files), len(files)), desc="완료")
    target = html.escape(collection or DEFAULT_COLLECTION)
    result = _result(report, f"{len(report.outcomes)}개 파일 처리 → 컬렉션 「{target}」")
    logger.info("upload: %s", result.summary)
    return result


def _result(report: Any, head: str) -> UploadResult:
    tally = Counter(o.status for o in report.outcomes)
    counts = [f"{STATUS_LABELS.get(s, s)} {n}" for s, n in tally.items()]
    summary = f"**{head}** — {' · '.join(counts)} ({report.seconds:.1f}초)"
    return UploadResult(outcome_rows(report.outcomes), summary, tally["failed"])


def add_url(
    assistant: Any,
    url: str | None,
    progress: Callable[..., Any] | None = None,
    collection: str | None = None,
) -> UploadResult:
    """Fetch a web page by address and ingest it into ``collection`` (기본 when empty); the
    outcome is shown like an upload's.

    An address typed without ``http://`` or ``https://`` gets ``https://``, as in a browser.
    """
    url = (url or "").strip()
    if not url:
        raise _ui_error("가져올 웹 주소를 먼저 입력하세요.")
    if "://" not in url:
        url = "https://" + url
    if progress is not None:
        progress((0, 1), desc=f"{url} 가져오는 중")
    tracker = _UploadProgress(progress)  # a fetched PDF's pages (OCR) are shown as uploads' are
    tracker.total, tracker.name = 1, url
    try:
        report = assistant.add_url(
            url, progress=tracker, collection=collection or DEFAULT_COLLECTION
        )
    except AssistantError as exc:
        raise _ui_error(str(exc)) from exc
    if progress is not None:
        progress((1, 1), desc="완료")
    target = html.escape(collection or DEFAULT_COLLECTION)
    result = _result(report, f"웹 주소 1개 처리 → 컬렉션 「{target}」")
    logger.info("web page %s: %s", url, result.summary)
    return result


def _find(assistant: Any, doc_id: str | None) -> Any:
    if not doc_id:
        raise _ui_error("삭제할 문서를 먼저 고르세요.")
    for d in assistant.documents():
        if d.doc_id == doc_id:
            return d
    raise _ui_error(f"문서를 찾을 수 없습니다: {doc_id}")


def pick_row(row: Sequence[Any] | None) -> str | None:
    """The document id of a clicked documents-table row."""
    return str(row[1]) if row and len(row) > 1 and row[1] else None


def delete_prompt(assistant: Any, doc_id: str | None) -> str:
    """The confirmation question for deleting ``doc_id`` (raises if nothing is selected)."""
    d = _find(assistant, doc_id)
    return f"**{html.escape(d.title)}** (`{d.doc_id}`, 구절 {d.chunks}개)을(를) 삭제할까요?"


def delete(assistant: Any, doc_id: str | None) -> str:
    """Delete a document from the index; returns a status line."""
    d = _find(assistant, doc_id)
    try:
        assistant.remove([d.doc_id])
    except AssistantError as exc:
        raise _ui_error(str(exc)) from exc
    logger.info("deleted %s", d.doc_id)
    return f"**{html.escape(d.title)}** (`{d.doc_id}`)을(를) 삭제했습니다."


# -- collections -----------------------------------------------------------------------------


def collection_choices(assistant: Any) -> list[tuple[str, str]]:
    """(label, name) pairs for the collection pickers, the default first."""
    return [(f"{c.name} ({c.documents})", c.name) for c in assistant.collections()]


def _status(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except AssistantError as exc:
        raise _ui_error(str(exc)) from exc


def create_collection(assistant: Any, name: str | None) -> str:
    """Create an empty collection; returns a status line."""
    made = _status(lambda: assistant.create_collection(name or ""))
    return f"컬렉션 「{html.escape(made)}」을(를) 만들었습니다."


def rename_collection(assistant: Any, old: str | None, new: str | None) -> str:
    """Rename collection ``old`` to ``new``; returns a status line."""
    if not old:
        raise _ui_error("이름을 바꿀 컬렉션을 먼저 고르세요.")
    renamed = _status(lambda: assistant.rename_collection(old, new or ""))
    return f"컬렉션 「{html.escape(old)}」의 이름을 「{html.escape(renamed)}」(으)로 바꿨습니다."


def delete_collection_prompt(assistant: Any, name: str | None) -> str:
    """The confirmation question for deleting a collection (what it would delete)."""
    if not name:
        raise _ui_error("삭제할 컬렉션을 먼저 고르세요.")
    if name == DEFAULT_COLLECTION:
        raise _ui_error(f"기본 컬렉션 「{DEFAULT_COLLECTION}」은(는) 삭제할 수 없습니다.")
    docs = _status(lambda: assistant.documents(name))
    only = [d for d in docs if len(d.collections) == 1]
    return (
        f"컬렉션 **{html.escape(name)}**을(를) 삭제할까요? 문서 {len(docs)}개 중 다른 컬렉션에 "
        f"없는 {len(only)}개는 색인에서도 삭제됩니다."
    )


def delete_collection(assistant: Any, name: str | None) -> str:
    """Delete a collection and the documents only it held; returns a status line."""
    deleted = _status(lambda: assistant.delete_collection(name or ""))
    return (
        f"컬렉션 「{html.escape(name or '')}」과(와) 그곳에만 있던 문서 {len(deleted)}개를 "
        "삭제했습니다."
    )


__all__ = [
    "DOCUMENT_HEADERS",
    "MODE_CHOICES",
    "OUTCOME_HEADERS",
    "UPLOAD_TYPES",
    "UploadResult",
    "add_url",
    "answer_markdown",
    "collection_choices",
    "create_collection",
    "delete",
    "delete_collection",
    "delete_collection_prompt",
    "delete_prompt",
    "document_choices",
    "document_rows",
    "example_questions",
    "link_markers",
    "new_chat",
    "outcome_rows",
    "pick_row",
    "rename_collection",
    "respond",
    "scope_of",
    "sources_html",
    "upload",
]
