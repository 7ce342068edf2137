"""Access: API keys guard the API and MCP, the UI login guards Gradio's own routes, and an
unguarded server refuses to listen beyond loopback."""

from __future__ import annotations

import asyncio
import logging

import httpx
import openai
import pytest
from click.testing import CliRunner

import ui
from assistant.cli import main
from ingest.errors import AssistantError
from ingest.settings import Settings
from tests.service.conftest import DEEPSEEK, DEEPSEEK_Q


def _models(url: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{url}/v1/models", headers=headers, timeout=30)


def _mcp_status(url: str, token: str | None) -> int:
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
    }
    return httpx.post(f"{url}/mcp", json=body, headers=headers, timeout=30).status_code


def test_api_keys_guard_the_api_and_mcp(start) -> None:  # type: ignore[no-untyped-def]
    live = start(api_keys="key-one, key-two")
    for token in (None, "wrong", "key-one,key-two"):
        r = _models(live.url, token)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
        assert r.headers["www-authenticate"] == "Bearer"
    assert _models(live.url, "key-two").status_code == 200
    assert live.client.get("/v1/health").status_code == 200  # liveness needs no key
    assert _mcp_status(live.url, None) == 401
    assert _mcp_status(live.url, "key-one") == 200
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live.url}/v1", api_key="wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key="key-one", max_retries=0)
    assert [m.id for m in client.models.list()] == ["jaryo"]
    unauthorised = live.client.post("/v1/collections", json={"name": "몰래"})
    assert unauthorised.status_code == 401
    assert [c.name for c in live.assistant.collections()] == ["기본"]


def test_mcp_over_http_with_a_key(start) -> None:  # type: ignore[no-untyped-def]
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    live = start(api_keys="k")
    live.assistant.ingest([DEEPSEEK])

    async def run() -> list[str]:
        http = httpx2.AsyncClient(headers={"Authorization": "Bearer k"}, timeout=30)
        async with http, Client(streamable_http_client(f"{live.url}/mcp", http_client=http)) as c:
            found = await c.call_tool("search_documents", {"query": DEEPSEEK_Q, "k": 2})
            assert not found.is_error
            return [r["doc_id"] for r in found.structured_content["results"]]

    assert asyncio.run(run())[0] == "segye-2025-deepseek.txt"


def test_a_ui_login_guards_gradio_and_closes_a_keyless_api(start) -> None:  # type: ignore[no-untyped-def]
    live = start(auth_user="kim", auth_password="s3cret")
    assert live.client.get("/config").status_code == 401
    assert live.client.post("/gradio_api/queue/join", json={}).status_code == 401
    refused = _models(live.url)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_keys_not_configured"
    assert _mcp_status(live.url, None) == 401
    wrong = live.client.post("/login", data={"username": "kim", "password": "nope"})
    assert wrong.status_code == 400
    ok = live.client.post("/login", data={"username": "kim", "password": "s3cret"})
    assert ok.status_code == 200
    token = next(v for k, v in ok.cookies.items() if k.startswith("access-token"))
    cookie = next(k for k in ok.cookies if k.startswith("access-token"))
    assert live.client.get("/config", headers={"Cookie": f"{cookie}={token}"}).status_code == 200


def test_a_ui_login_and_api_keys_together(start) -> None:  # type: ignore[no-untyped-def]
    live = start(auth_user="kim", auth_password="s3cret", api_keys="k")
    assert _models(live.url, "k").status_code == 200
    assert live.client.get("/config").status_code == 401


def test_an_unguarded_server_refuses_a_public_address(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    open_ = Settings(data_dir=tmp_path / "d", host="0.0.0.0")
    with pytest.raises(AssistantError, match="JARYO_API_KEYS"):
        ui.check_exposure(open_)
    with pytest.raises(AssistantError, match="refusing"):
        ui.serve(open_)  # before anything is built or bound
    assert not (tmp_path / "d").exists()
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "serve", "--host", "::"])
    assert result.exit_code == 1
    assert "refusing to serve on ::" in result.output
    with caplog.at_level(logging.WARNING, logger="ui"):
        ui.check_exposure(Settings(data_dir=tmp_path, host="0.0.0.0", api_keys="k"))
        assert "without a login" in caplog.text
        caplog.clear()
        ui.check_exposure(
            Settings(data_dir=tmp_path, host="10.1.2.3", auth_user="a", auth_password="b")
        )
        ui.check_exposure(Settings(data_dir=tmp_path, host="localhost"))
        ui.check_exposure(Settings(data_dir=tmp_path, host="127.0.0.2"))
    assert not caplog.records
