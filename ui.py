"""Gradio chat UI: thin wiring over the Assistant (callbacks live in assistant/ui_callbacks.py)."""

from __future__ import annotations

import logging
from typing import Any

from assistant.settings import Settings

logger = logging.getLogger(__name__)


def build_app(assistant: Any) -> Any:
    """Build the gr.Blocks app for an assistant."""
    import gradio as gr

    from assistant import ui_callbacks as cb

    with gr.Blocks(title="자료 Q&A") as app:
        gr.Markdown("## 자료 Q&A — 문서에 묻고, 출처로 확인하세요")
        chatbot = gr.Chatbot(label="대화", height=460)
        sources = gr.HTML(label="출처")
        with gr.Row():
            box = gr.Textbox(placeholder="질문을 입력하세요", show_label=False, scale=8)
            send = gr.Button("보내기", variant="primary", scale=1)
        history = gr.State([])
        for trigger in (box.submit, send.click):
            trigger(
                lambda q, h, turns: cb.respond(assistant, q, h, turns),
                [box, chatbot, history],
                [box, chatbot, sources, history],
            )
    return app


def serve(settings: Settings) -> None:
    """Build the assistant and serve the UI."""
    from assistant.build import build_assistant

    assistant = build_assistant(settings)
    app = build_app(assistant)
    app.queue().launch(server_name=settings.host, server_port=settings.port)
