"""HTTP API: OpenAI-compatible chat, search, documents, collections and jobs.

Every route is a thin translation of an Assistant method: parse the request, call the method,
turn its result (or its error) into JSON. Errors use OpenAI's error JSON everywhere.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api_chat import (
    OWNER,
    ChatRequest,
    ScopeFields,
    backend_of,
    completion,
    conversation,
    error_body,
    model_name,
    stream_events,
)
from assistant.citations import (
    CollectionRecord,
    DocumentRecord,
    IngestRecord,
    PassageRecord,
    PassageWithContext,
    SearchResult,
)
from assistant.jobs import Jobs
from assistant.throttle import LoginThrottle, Throttle
from index.membership import DEFAULT_COLLECTION, clean_name
from ingest.errors import (
    AnswerError,
    AssistantError,
    ConflictError,
    DiskFullError,
    IndexError_,
    ModelError,
    NotFoundError,
    TooLongError,
)
from ingest.reader import IngestReport
from ingest.settings import RetrievalMode, Settings

logger = logging.getLogger(__name__)

VERSION = "0.1.0"
UPLOAD_PATH = "/v1/documents"


class ApiError(Exception):
    """An error response: status, OpenAI error type and code."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        *,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = (
            status,
            message,
            kind,
            code,
            param,
        )

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        """The JSON response."""
        body = error_body(self.message, self.kind, param=self.param, code=self.code)
        return JSONResponse(body, status_code=self.status, headers=headers)


def from_assistant_error(exc: AssistantError) -> ApiError:
    """The status an error of our vocabulary deserves."""
    if isinstance(exc, NotFoundError):
        return ApiError(404, str(exc), "invalid_request_error", code="not_found")
    if isinstance(exc, ConflictError):
        return ApiError(409, str(exc), "invalid_request_error", code="conflict")
    if isinstance(exc, IndexError_ | ModelError):
        return ApiError(500, str(exc), "server_error", code="index_error")
    if isinstance(exc, DiskFullError):
        return ApiError(507, str(exc), "server_error", code="disk_full")
    if isinstance(exc, TooLongError):
        return ApiError(413, str(exc), "invalid_request_error", code="question_too_long")
    if isinstance(exc, AnswerError):
        return ApiError(502, str(exc), "server_error", code="answerer_failed")
    return ApiError(400, str(exc), "invalid_request_error", code="invalid_request")


# -- access ----------------------------------------------------------------------------------


class Access:
    """Who may use the API: Bearer keys when configured; closed when only a UI login is set
    (an open API beside a login would bypass it); open otherwise (loopback only, see ui.py)."""

    def __init__(self, settings: Settings) -> None:
        self.keys = [k.encode() for k in settings.api_key_list()]
        self.closed = not self.keys and settings.ui_login() is not None

    def refusal(self, authorization: str | None) -> ApiError | None:
        """Why a request with this Authorization header is refused, or None."""
        if self.closed:
            return ApiError(
                401,
                "the UI has a login, so the API needs a key: set JARYO_API_KEYS",
                "invalid_request_error",
                code="api_keys_not_configured",
            )
        if not self.keys:
            return None
        scheme, _, token = (authorization or "").partition(" ")
        given = token.strip().encode()
        if scheme.lower() == "bearer" and any(hmac.compare_digest(given, k) for k in self.keys):
            return None
        return ApiError(
            401,
            "missing or wrong API key (send 'Authorization: Bearer KEY')",
            "invalid_request_error",
            code="invalid_api_key",
        )


class KeyGuard:
    """ASGI wrapper refusing HTTP requests the :class:`Access` rules refuse (for /mcp)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            refusal = self.access.refusal(headers.get("authorization"))
            if refusal is not None:
                await refusal.response({"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """ASGI middleware answering 413 to an upload larger than ``limit`` bytes, before parsing
    it when the client says its length and as soon as it is exceeded otherwise."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope["path"] != UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._too_large().response()(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, self._too_large().message)
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> ApiError:
        return ApiError(
            413,
            f"the upload is larger than the {self.limit / 1e6:g} MB limit (JARYO_MAX_REQUEST_MB)",
            "invalid_request_error",
            code="request_too_large",
        )


# -- request bodies --------------------------------------------------------------------------


class SearchRequest(ScopeFields):
    """A search without an answer."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=4000)
    k: int | None = Field(None, ge=1, le=100, description="Passages to return.")
    mode: RetrievalMode | None = Field(None, description="hybrid, dense or bm25.")


class CollectionName(BaseModel):
    """A collection name (to create, or the new name when renaming)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


# -- the app ---------------------------------------------------------------------------------


def create_api(assistant: Any, *, jobs: Jobs | None = None, mcp: Any = None) -> FastAPI:
    """The FastAPI app of an assistant, with ``mcp`` (an MCPServer) served at /mcp by
    streamable HTTP; ``ui.py`` mounts the chat UI onto it."""
    settings: Settings = assistant.settings
    access = Access(settings)
    jobs = jobs or Jobs()
    mcp_app = None
    if mcp is not None:
        mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=settings.host)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if mcp is None:
            yield
            return
        async with mcp.session_manager.run():  # a mounted app's own lifespan never runs
            yield

    app = FastAPI(
        title="jaryo API",
        version=VERSION,
        description="Korean document Q&A with cited answers: OpenAI-compatible chat, search, "
        "documents and collections. MCP (streamable HTTP) at /mcp.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    _error_handlers(app)
    app.add_middleware(BodyLimit, limit=int(settings.max_request_mb * 1_000_000))
    # outermost, so it also guards the UI login that ui.py mounts onto this app
    app.add_middleware(
        LoginThrottle, throttle=Throttle(settings.login_attempts, settings.login_delay)
    )

    async def authorised(request: Request) -> None:
        refusal = access.refusal(request.headers.get("authorization"))
        if refusal is not None:
            raise refusal

    app.get("/v1/health", tags=["service"])(lambda: {"status": "ok", "version": VERSION})
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorised)])
    _chat_routes(v1, assistant)
    _document_routes(v1, assistant, jobs)
    _collection_routes(v1, assistant)

    @v1.api_route(
        "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(rest: str) -> None:
        raise ApiError(
            404, f"no such route: /v1/{rest}", "invalid_request_error", code="unknown_url"
        )

    app.include_router(v1)
    if mcp_app is not None:
        # a route, not a mount: /mcp itself must reach it, and the UI mounted at / takes the rest
        app.router.routes.append(Route("/mcp", KeyGuard(mcp_app, access)))
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return exc.response(headers)

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        return from_assistant_error(exc).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return ApiError(exc.status_code, str(exc.detail), kind).response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return ApiError(
                400, "the body is not valid JSON", "invalid_request_error", code="json_invalid"
            ).response()
        loc = [str(p) for p in first.get("loc", ())[1:]]
        param = ".".join(loc) or None
        message = f"{param}: {first['msg']}" if param else str(first["msg"])
        return ApiError(
            422, message, "invalid_request_error", code="validation_error", param=param
        ).response()

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("%s %s failed", request.method, request.url.path)
        return ApiError(500, "internal error (see the server log)", "server_error").response()


def _chat_routes(v1: APIRouter, assistant: Any) -> None:
    @v1.get("/models", tags=["chat"])
    def models() -> dict[str, Any]:
        """One model per answerer: jaryo (extractive), jaryo-llm (when an LLM is configured)."""
        data = [
            {"id": model_name(b), "object": "model", "created": 0, "owned_by": OWNER}
            for b in assistant.answerers
        ]
        return {"object": "list", "data": data}

    @v1.post("/chat/completions", tags=["chat"], response_model=None)
    def chat(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        """OpenAI chat completions; the answer's citations are in ``citations``."""
        try:
            backend = backend_of(body.model, list(assistant.answerers))
        except NotFoundError as exc:
            raise ApiError(
                404, str(exc), "invalid_request_error", code="model_not_found", param="model"
            ) from exc
        question, history = conversation(body.messages)
        options: dict[str, Any] = {
            "history": history,
            "k": body.k,
            "mode": body.mode,
            "backend": backend,
            "scope": body.scope(),
        }
        if not body.stream:
            return completion(assistant.ask(question, **options), body.model)
        items = assistant.stream(question, **options)
        first = next(items)  # retrieval runs here, so its errors still get a status code
        return StreamingResponse(
            stream_events(first, items, body.model),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _document_routes(v1: APIRouter, assistant: Any, jobs: Jobs) -> None:
    @v1.post("/search", tags=["search"])
    def search(body: SearchRequest) -> dict[str, Any]:
        """Top passages for a query (within collections or documents), without an answer."""
        if not body.query.strip():
            raise AssistantError("the query is empty")
        hits = assistant.search(body.query, k=body.k, mode=body.mode, scope=body.scope())
        return {
            "query": body.query,
            "results": [SearchResult.of(h, n + 1).model_dump() for n, h in enumerate(hits)],
        }

    @v1.get("/passages/{passage_id}", tags=["search"], response_model=PassageWithContext)
    def passage(
        passage_id: int, around: Annotated[int, Query(ge=0, le=5000)] = 0
    ) -> PassageWithContext:
        """One passage by id (as citations and search results give it), with text around it."""
        p = assistant.passage(passage_id, around=around)
        return PassageWithContext(
            before=p.before, after=p.after, **PassageRecord.fields_of(p.chunk)
        )

    @v1.get("/documents", tags=["documents"])
    def documents(collection: str | None = None) -> dict[str, Any]:
        """Stored documents (of one collection) and the collections each belongs to."""
        docs = assistant.documents(collection)
        return {"documents": [DocumentRecord.of(d).model_dump() for d in docs]}

    @v1.post("/documents", tags=["documents"], response_model=None)
    def upload(
        files: Annotated[list[UploadFile] | None, File(description="One or many files.")] = None,
        urls: Annotated[
            list[str] | None, Form(alias="url", description="Web addresses to fetch (repeat).")
        ] = None,
        collection: Annotated[str | None, Form()] = None,
        background: Annotated[bool, Query(description="Return a job to poll at once.")] = False,
    ) -> dict[str, Any] | JSONResponse:
        """Add files and web pages to a collection; each one's outcome as the 문서 tab reports
        it.

        With ``background=true`` the answer is 202 and a job id: poll ``GET /v1/jobs/{id}``.
        """
        files, urls = files or [], [u for u in urls or [] if u.strip()]
        if not files and not urls:
            raise ApiError(
                422,
                "send one or more files (multipart field 'files') or web addresses ('url')",
                "invalid_request_error",
                code="validation_error",
                param="files",
            )
        target = clean_name(collection or DEFAULT_COLLECTION)
        limit = int(assistant.settings.max_file_mb * 1_000_000)
        for f in files:
            if f.size is not None and f.size > limit:
                raise ApiError(
                    413,
                    f"{Path(f.filename or 'upload').name}: file is {f.size / 1e6:.1f} MB, larger "
                    f"than the {limit / 1e6:g} MB limit (JARYO_MAX_FILE_MB)",
                    "invalid_request_error",
                    code="file_too_large",
                )
        folder = Path(tempfile.mkdtemp(prefix="jaryo-upload-"))
        try:
            pairs = _save(files, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

        def work(progress: Any = None) -> dict[str, Any]:
            report = IngestReport()
            if pairs:
                report = assistant.add_uploads(pairs, progress=progress, collection=target)
            for url in urls:
                fetched = assistant.add_url(url, progress=progress, collection=target)
                report.outcomes += fetched.outcomes
                report.seconds += fetched.seconds
            return IngestRecord.of(report, target).model_dump()

        if not background:
            try:
                return work()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        job = jobs.start("upload", work, cleanup=lambda: shutil.rmtree(folder, ignore_errors=True))
        return JSONResponse(
            {"job": job.id, "status": job.status, "url": f"/v1/jobs/{job.id}"}, status_code=202
        )

    @v1.delete("/documents/{doc_id:path}", tags=["documents"])
    def delete_document(doc_id: str, collection: str | None = None) -> dict[str, Any]:
        """Delete a document, or only take it out of ``collection``."""
        deleted = assistant.remove([doc_id], collection=collection)
        return {"doc_id": doc_id, "collection": collection, "deleted": deleted}

    @v1.get("/jobs/{job_id}", tags=["documents"])
    def job(job_id: str) -> dict[str, Any]:
        """A background upload: files done of total, a log, and the outcome when finished."""
        return jobs.get(job_id)


def _save(files: list[UploadFile], folder: Path) -> list[tuple[str, Path]]:
    pairs = []
    for n, f in enumerate(files):
        path = folder / f"{n:05d}.upload"
        with open(path, "wb") as out:
            shutil.copyfileobj(f.file, out, 1 << 20)
        pairs.append((f.filename or f"upload-{n}", path))
    return pairs


def _collection_routes(v1: APIRouter, assistant: Any) -> None:
    def record(name: str) -> CollectionRecord:
        info = next((c for c in assistant.collections() if c.name == name), None)
        if info is None:
            raise NotFoundError(f"no such collection: {name}")
        return CollectionRecord.of(info)

    @v1.get("/collections", tags=["collections"])
    def collections() -> dict[str, Any]:
        """Every collection with its number of documents (the default 기본 first)."""
        return {
            "collections": [CollectionRecord.of(c).model_dump() for c in assistant.collections()]
        }

    @v1.post("/collections", tags=["collections"], status_code=201)
    def create(body: CollectionName) -> CollectionRecord:
        """Create an empty collection."""
        return record(assistant.create_collection(body.name))

    @v1.patch("/collections/{name:path}", tags=["collections"])
    def rename(name: str, body: CollectionName) -> CollectionRecord:
        """Rename a collection (its documents stay in it)."""
        return record(assistant.rename_collection(name, body.name))

    @v1.delete("/collections/{name:path}", tags=["collections"])
    def delete(name: str) -> dict[str, Any]:
        """Delete a collection and the documents no other collection holds."""
        return {"name": name, "deleted_documents": assistant.delete_collection(name)}
