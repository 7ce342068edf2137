"""MCP server (official ``mcp`` SDK): the Assistant's search, answers and documents as tools."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from assistant.citations import (
    AnswerRecord,
    CollectionRecord,
    DocumentRecord,
    PassageRecord,
    PassageWithContext,
    SearchResult,
)
from ingest.errors import AssistantError
from ingest.records import Scope

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "jaryo(자료) answers questions from the user's own Korean documents (news, reports, "
    "PDF, HWPX, Word) and cites the passages it used. Call search_documents or ask with the "
    "user's question as written, in Korean when the documents are Korean; quote the answer's "
    "[n] markers and name the cited document and page when you pass it on."
)

Collections = Annotated[
    list[str] | None,
    Field(description="Search only these collections (컬렉션 이름, e.g. ['기본']). Omit for all."),
]
Documents = Annotated[
    list[str] | None,
    Field(description="Search only these document ids (see list_documents). Omit for all."),
]


class SearchOutput(BaseModel):
    """Passages found for a query."""

    query: str
    results: list[SearchResult]


class DocumentsOutput(BaseModel):
    """Stored documents and the collections there are."""

    documents: list[DocumentRecord]
    collections: list[CollectionRecord]


@contextlib.contextmanager
def _as_tool_errors() -> Iterator[None]:
    """Our errors reach the client as the tool's error message (anything else is a crash
    whose text stays in the server log)."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except AssistantError as exc:
        raise ToolError(str(exc)) from exc


def _scope(collections: list[str] | None, documents: list[str] | None) -> Scope | None:
    if not collections and not documents:
        return None
    return Scope(tuple(collections or ()), tuple(documents or ()))


def build_mcp(assistant: Any) -> Any:
    """An MCPServer whose tools call ``assistant`` (serve it over stdio or streamable HTTP)."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("jaryo", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(
        description=(
            "Search the user's documents (Korean-first: 한국어 문서 검색) and return the best "
            "passages with document, page and score, without composing an answer. Use it to "
            "find where something is said. The query may be Korean or English; Korean queries "
            "match Korean documents best (e.g. '딥시크 V3 개발 비용')."
        )
    )
    def search_documents(
        query: Annotated[str, Field(min_length=1, description="검색어 / what to look for.")],
        k: Annotated[int, Field(ge=1, le=50, description="Number of passages.")] = 5,
        mode: Annotated[
            Literal["hybrid", "dense", "bm25"],
            Field(description="hybrid (meaning + keywords, best), dense or bm25 (keywords)."),
        ] = "hybrid",
        collections: Collections = None,
        documents: Documents = None,
    ) -> SearchOutput:
        with _as_tool_errors():
            hits = assistant.search(query, k=k, mode=mode, scope=_scope(collections, documents))
        return SearchOutput(
            query=query, results=[SearchResult.of(h, n + 1) for n, h in enumerate(hits)]
        )

    @server.tool(
        description=(
            "Answer a question from the user's documents (질문에 문서 근거로 답변). The answer "
            "holds [n] markers; citations give each source's document, page, character range "
            "and passage text. found=false means the documents do not hold the answer: say so "
            "rather than guessing. Pass earlier questions of the conversation in history so "
            "follow-ups such as '그 회사는 언제 설립됐어?' are understood."
        )
    )
    def ask(
        question: Annotated[str, Field(min_length=1, description="질문 / the question.")],
        history: Annotated[
            list[str] | None,
            Field(description="Earlier questions of this conversation, oldest first."),
        ] = None,
        collections: Collections = None,
        documents: Documents = None,
        k: Annotated[int | None, Field(ge=1, le=50, description="Passages to read.")] = None,
    ) -> AnswerRecord:
        with _as_tool_errors():
            answer = assistant.ask(
                question,
                history=[(q, "") for q in history or []],
                k=k,
                scope=_scope(collections, documents),
            )
        return AnswerRecord.of(answer)

    @server.tool(
        description=(
            "List the stored documents (문서 목록) with their ids, titles, formats, passage "
            "counts and collections, and the collections there are."
        )
    )
    def list_documents(
        collection: Annotated[
            str | None, Field(description="Only the documents of this collection.")
        ] = None,
    ) -> DocumentsOutput:
        with _as_tool_errors():
            docs = assistant.documents(collection)
        return DocumentsOutput(
            documents=[DocumentRecord.of(d) for d in docs],
            collections=[CollectionRecord.of(c) for c in assistant.collections()],
        )

    @server.tool(
        description=(
            "Read one passage by its passage_id (from search_documents results or ask "
            "citations), with up to `around` characters of the document before and after it "
            "(원문 확인)."
        )
    )
    def get_passage(
        passage_id: Annotated[int, Field(description="The passage_id of a result or citation.")],
        around: Annotated[
            int, Field(ge=0, le=5000, description="Characters of context either side.")
        ] = 0,
    ) -> PassageWithContext:
        with _as_tool_errors():
            p = assistant.passage(passage_id, around=around)
        return PassageWithContext(
            before=p.before, after=p.after, **PassageRecord.fields_of(p.chunk)
        )

    return server
