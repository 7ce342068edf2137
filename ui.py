"""Gradio chat UI: thin wiring over the Assistant (callbacks live in assistant/ui_callbacks.py)."""

import ipaddress
import logging
import threading
import time
from typing import Any

from index.membership import DEFAULT_COLLECTION
from ingest.errors import AssistantError
from ingest.settings import Settings

logger = logging.getLogger(__name__)

TITLE = "자료 Q&A"
INTRO = (
    "## 자료 Q&A\n"
    "올린 문서에서 답을 찾아 **출처와 함께** 답합니다. "
    "답변의 [번호]를 누르면 근거 구절로 이동합니다."
)
CHAT_PLACEHOLDER = "**문서에 무엇이든 물어보세요.** 아래 예시 질문으로 시작해도 좋습니다."
BOX_PLACEHOLDER = "질문을 입력하고 Enter — 예: 딥시크가 주장한 V3 개발 비용은?"
CSS = """
.gradio-container { max-width: 1180px !important; width: 100% !important;
  margin: 0 auto !important; }
#chat a.cite { text-decoration: none; font-weight: 600; color: var(--color-accent); }
.sources h3 { margin: 0.6rem 0 0.2rem; font-size: 1.05rem; }
.sources .sources-note { margin: 0 0 0.6rem; color: var(--body-text-color-subdued);
  font-size: 0.85rem; }
.sources.not-found h3 { color: #b45309; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 10px;
  margin: 0 0 0.6rem; background: var(--block-background-fill); scroll-margin-top: 1rem; }
.source-card:target { outline: 2px solid var(--color-accent); }
.source-card summary { cursor: pointer; padding: 0.55rem 0.8rem; display: flex; flex-wrap: wrap;
  align-items: baseline; gap: 0.5rem; list-style: none; }
.source-card summary::-webkit-details-marker { display: none; }
.source-card summary::after { content: "펼치기 ▾"; margin-left: auto; font-size: 0.78rem;
  color: var(--body-text-color-subdued); }
.source-card[open] summary::after { content: "접기 ▴"; }
.source-num { display: inline-flex; align-items: center; justify-content: center; min-width: 1.5rem;
  height: 1.5rem; border-radius: 999px; background: var(--color-accent); color: white;
  font-size: 0.8rem; font-weight: 700; }
.source-title { font-weight: 600; }
.source-meta { color: var(--body-text-color-subdued); font-size: 0.82rem; }
.source-card .passage-context { padding: 0.2rem 0.9rem; font-size: 0.82rem;
  color: var(--body-text-color-subdued); font-family: monospace; }
.source-card .passage { padding: 0 0.9rem 0.8rem; line-height: 1.7; font-size: 0.92rem;
  border-top: 1px dashed var(--border-color-primary); padding-top: 0.6rem; }
.passage-around summary { padding: 0.2rem 0.9rem; font-size: 0.82rem; cursor: pointer; }
.source-card mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 3px; }
"""


def build_app(assistant: Any) -> Any:
    """Build the gr.Blocks app for an assistant (wiring only; see ``assistant.ui_callbacks``)."""
    import gradio as gr

    from assistant import ui_callbacks as cb

    settings = assistant.settings
    backends = list(assistant.answerers)

    def examples() -> list[Any]:  # gradio's ExampleMessage dicts
        return [{"text": q} for q in cb.example_questions(assistant)]

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("대화", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4):
                        chatbot = gr.Chatbot(
                            label="대화",
                            elem_id="chat",
                            height=460,
                            examples=examples(),
                            placeholder=CHAT_PLACEHOLDER,
                            feedback_options=None,
                            buttons=["copy"],
                        )
                        with gr.Row():
                            box = gr.Textbox(
                                placeholder=BOX_PLACEHOLDER,
                                show_label=False,
                                scale=8,
                                elem_id="question",
                                autofocus=True,
                            )
                            send = gr.Button("보내기", variant="primary", scale=1, elem_id="send")
                    with gr.Column(scale=1, min_width=220):
                        new = gr.Button("새 대화", elem_id="new-chat")
                        with gr.Accordion("검색 범위", open=True):
                            scope_collections = gr.Dropdown(
                                cb.collection_choices(assistant),
                                value=[],
                                multiselect=True,
                                label="컬렉션 (비우면 전체)",
                                elem_id="chat-collections",
                            )
                            scope_documents = gr.Dropdown(
                                cb.document_choices(assistant),
                                value=[],
                                multiselect=True,
                                label="문서 (비우면 전체)",
                                elem_id="chat-documents",
                            )
                        with gr.Accordion("검색 설정", open=False):
                            k = gr.Slider(
                                1, 10, value=settings.top_k, step=1, label="구절 수 (top-k)"
                            )
                            mode = gr.Radio(
                                cb.MODE_CHOICES, value=settings.retrieval_mode, label="검색 방식"
                            )
                            backend = gr.Dropdown(
                                backends,
                                value=settings.answerer if settings.answerer in backends else None,
                                label="답변 엔진",
                                visible=len(backends) > 1,
                            )
                sources = gr.HTML(elem_id="sources")
                turns = gr.State([])

            with gr.Tab("문서", id="docs-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        target = gr.Dropdown(
                            cb.collection_choices(assistant),
                            value=DEFAULT_COLLECTION,
                            allow_custom_value=True,
                            label="컬렉션 — 올릴 곳 (새 이름을 쓰면 새로 만듭니다)",
                            elem_id="doc-collection",
                        )
                        files = gr.File(
                            label="문서 올리기 — " + " ".join(cb.UPLOAD_TYPES),
                            file_count="multiple",
                            # no file_types: Gradio would refuse the whole batch for one
                            # file of another type; each file fails or is skipped alone
                            elem_id="upload",
                        )
                        add = gr.Button("색인에 추가", variant="primary", elem_id="add-docs")
                        with gr.Row(equal_height=True):
                            url_box = gr.Textbox(
                                label="웹 주소",
                                placeholder="https://… 기사나 PDF의 주소",
                                scale=4,
                                elem_id="web-url",
                            )
                            add_url = gr.Button("가져오기", scale=1, elem_id="add-url")
                    with gr.Column(scale=3):
                        upload_status = gr.Markdown(elem_id="upload-status")
                        outcomes = gr.Dataframe(
                            headers=cb.OUTCOME_HEADERS,
                            label="파일별 결과",
                            interactive=False,
                            wrap=True,
                            elem_id="outcomes",
                            column_widths=["30%", "14%", "10%", "46%"],
                        )
                docs = gr.Dataframe(
                    value=lambda: cb.document_rows(assistant),
                    headers=cb.DOCUMENT_HEADERS,
                    label="색인된 문서 (행을 누르면 삭제 대상으로 선택)",
                    interactive=False,
                    wrap=True,
                    elem_id="documents",
                    column_widths=["34%", "24%", "7%", "7%", "14%", "14%"],
                )
                gr.Markdown("**문서 삭제** — 표에서 행을 누르거나 목록에서 고른 뒤 삭제하세요.")
                with gr.Row(equal_height=True):
                    pick = gr.Dropdown(
                        cb.document_choices(assistant),
                        value=None,
                        show_label=False,
                        container=False,
                        scale=4,
                        elem_id="doc-pick",
                    )
                    delete = gr.Button("삭제", variant="stop", scale=1, elem_id="delete")
                with gr.Group(visible=False, elem_id="confirm") as confirm:
                    confirm_text = gr.Markdown(padding=True)
                    with gr.Row():
                        confirm_yes = gr.Button(
                            "정말 삭제", variant="stop", elem_id="confirm-delete"
                        )
                        confirm_no = gr.Button("취소", elem_id="cancel-delete")
                delete_status = gr.Markdown(elem_id="delete-status")
                with gr.Accordion("컬렉션 관리", open=False, elem_id="collections"):
                    gr.Markdown("위에서 고른 컬렉션의 이름을 바꾸거나 삭제합니다.")
                    with gr.Row(equal_height=True):
                        new_name = gr.Textbox(
                            show_label=False,
                            placeholder="새 컬렉션 이름",
                            scale=3,
                            container=False,
                            elem_id="collection-name",
                        )
                        make = gr.Button("만들기", scale=1, elem_id="collection-create")
                        rename = gr.Button("이름 바꾸기", scale=1, elem_id="collection-rename")
                        drop = gr.Button(
                            "컬렉션 삭제", variant="stop", scale=1, elem_id="collection-delete"
                        )
                    with gr.Group(visible=False, elem_id="confirm-collection") as confirm_drop:
                        confirm_drop_text = gr.Markdown(padding=True)
                        with gr.Row():
                            drop_yes = gr.Button(
                                "정말 삭제", variant="stop", elem_id="confirm-collection-delete"
                            )
                            drop_no = gr.Button("취소", elem_id="cancel-collection-delete")
                    collection_status = gr.Markdown(elem_id="collection-status")

        # -- chat wiring --
        chat_io: dict[str, Any] = {
            "inputs": [box, chatbot, turns, k, mode, backend, scope_collections, scope_documents],
            "outputs": [box, chatbot, sources, turns],
        }

        def respond(q, chat, history, top_k, how, engine, groups, chosen):
            yield from cb.respond(assistant, q, chat, history, top_k, how, engine, groups, chosen)

        box.submit(respond, **chat_io)
        send.click(respond, **chat_io)

        def example_text(evt: gr.SelectData) -> str:
            return str(evt.value["text"])

        chatbot.example_select(example_text, None, [box]).then(respond, **chat_io)
        new.click(cb.new_chat, None, [box, chatbot, sources, turns])
        chatbot.clear(cb.new_chat, None, [box, chatbot, sources, turns])

        # -- documents wiring --
        # every picker that lists documents or collections, refreshed after each change
        pickers = [docs, pick, target, scope_collections, scope_documents]

        def refreshed(collection: str | None = DEFAULT_COLLECTION) -> tuple[Any, ...]:
            groups = cb.collection_choices(assistant)
            names = {name for _, name in groups}
            documents = cb.document_choices(assistant)
            return (
                cb.document_rows(assistant),
                gr.Dropdown(choices=documents, value=None),
                gr.Dropdown(
                    choices=groups,
                    value=collection if collection in names else DEFAULT_COLLECTION,
                ),
                gr.Dropdown(choices=groups),
                gr.Dropdown(choices=documents),
            )

        def on_upload(paths, collection, progress=gr.Progress()):  # noqa: B008
            result = cb.upload(assistant, paths, progress=progress, collection=collection)
            return (
                result.outcomes,
                result.summary,
                None,
                gr.Chatbot(examples=examples()),
                *refreshed(collection),
            )

        add.click(on_upload, [files, target], [outcomes, upload_status, files, chatbot, *pickers])

        def on_create(name):
            status = cb.create_collection(assistant, name)
            return status, "", *refreshed(name.strip())

        def on_rename(old, name):
            status = cb.rename_collection(assistant, old, name)
            return status, "", *refreshed(name.strip())

        def ask_drop(name):
            return cb.delete_collection_prompt(assistant, name), gr.Group(visible=True)

        def do_drop(name):
            status = cb.delete_collection(assistant, name)
            return status, gr.Group(visible=False), *refreshed()

        make.click(on_create, [new_name], [collection_status, new_name, *pickers])
        rename.click(on_rename, [target, new_name], [collection_status, new_name, *pickers])
        drop.click(ask_drop, [target], [confirm_drop_text, confirm_drop])
        drop_yes.click(do_drop, [target], [collection_status, confirm_drop, *pickers])
        drop_no.click(lambda: gr.Group(visible=False), None, [confirm_drop])
        target.change(lambda: gr.Group(visible=False), None, [confirm_drop])

        def on_url(url, collection, progress=gr.Progress()):  # noqa: B008
            result = cb.add_url(assistant, url, progress=progress, collection=collection)
            kept = url if result.failed else ""  # a failed address stays, to be corrected
            return (
                result.outcomes,
                result.summary,
                kept,
                gr.Chatbot(examples=examples()),
                *refreshed(collection),
            )

        url_io: dict[str, Any] = {
            "inputs": [url_box, target],
            "outputs": [outcomes, upload_status, url_box, chatbot, *pickers],
        }
        add_url.click(on_url, **url_io)
        url_box.submit(on_url, **url_io)

        def ask_delete(doc_id):
            return cb.delete_prompt(assistant, doc_id), gr.Group(visible=True)

        def do_delete(doc_id, collection):
            status = cb.delete(assistant, doc_id)
            return status, gr.Group(visible=False), *refreshed(collection)

        def row_doc_id(evt: gr.SelectData) -> str | None:
            return cb.pick_row(evt.row_value)

        docs.select(row_doc_id, None, [pick])
        delete.click(ask_delete, [pick], [confirm_text, confirm])
        confirm_yes.click(do_delete, [pick, target], [delete_status, confirm, *pickers])
        confirm_no.click(lambda: gr.Group(visible=False), None, [confirm])
        pick.change(lambda: gr.Group(visible=False), None, [confirm])
        app.load(refreshed, None, pickers)
    return app


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to serve an unguarded server beyond this machine; warn about a half-guarded one.

    Off loopback the server needs an API key or a UI login (with only a login the API is
    closed, see ``assistant.api.Access``).
    """
    login = settings.ui_login()
    keys = settings.api_key_list()
    if _is_loopback(settings.host):
        return
    if not keys and login is None:
        raise AssistantError(
            f"refusing to serve on {settings.host} with neither an API key nor a UI login: "
            "anyone who can reach it could read and change the documents. Set JARYO_API_KEYS "
            "(the API and MCP) and JARYO_AUTH_USER/JARYO_AUTH_PASSWORD (the UI), or serve on "
            "127.0.0.1"
        )
    if login is None:
        logger.warning(
            "serving on %s without a login: anyone who can reach this address can use the UI "
            "and read and change the documents (set JARYO_AUTH_USER and JARYO_AUTH_PASSWORD)",
            settings.host,
        )


def mount_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``gr.mount_gradio_app``: login, upload limit, look.

    Gradio serves only its own temporary and cache files: no ``allowed_paths``, so neither
    the working directory nor the data folder is reachable over HTTP.
    """
    import gradio as gr

    auth = settings.ui_login()
    return {
        "auth": auth,
        "auth_message": "자료 Q&A에 로그인하세요." if auth else None,
        "max_file_size": int(settings.max_file_mb * 1_000_000),
        "allowed_paths": [],
        "footer_links": [],
        "theme": gr.themes.Soft(
            primary_hue="indigo",
            font=["Pretendard", "Noto Sans KR", "Apple SD Gothic Neo", "system-ui", "sans-serif"],
            font_mono=["ui-monospace", "Consolas", "monospace"],
        ),
        "css": CSS,
    }


def warm(assistant: Any) -> None:
    """Load the embedding model and Kiwi now, so the first question does not wait for them."""
    load = getattr(assistant.embedder, "load", None)
    if load is not None:
        load()
    assistant.index.tokenizer.tokenize("준비")


# Images and media only from this server (and inline data): an image an answer smuggled past
# inert_markdown, or one in a document's own HTML, is still never fetched from elsewhere.
CONTENT_SECURITY_POLICY = "img-src 'self' data: blob:; media-src 'self' data: blob:"


class SecurityHeaders:
    """ASGI middleware adding the Content-Security-Policy to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(assistant: Any) -> Any:
    """The one server: the HTTP API under /v1 (docs at /docs), MCP at /mcp, the chat UI at /."""
    import gradio as gr

    from assistant.api import create_api
    from assistant.mcp_server import build_mcp

    settings = assistant.settings
    api = create_api(assistant, mcp=build_mcp(assistant))
    blocks = build_app(assistant).queue(default_concurrency_limit=8)
    app = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        **mount_options(settings),
    )
    app.add_middleware(SecurityHeaders)
    return app


class BackgroundServer:
    """The server in a thread of this process (tests, benches): start, use ``url``, stop."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}"
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        """Start serving; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self.server.run, name="jaryo-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssistantError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)


def serve(settings: Settings) -> None:
    """Build the assistant and serve the UI, the API and MCP on one port (blocks until
    stopped)."""
    import uvicorn

    check_exposure(settings)
    from assistant.build import build_assistant

    assistant = build_assistant(settings)
    warm(assistant)
    app = create_app(assistant)
    logger.info("UI at /, API at /v1 (docs at /docs), MCP at /mcp")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
