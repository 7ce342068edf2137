"""Every REST route of a live server, good requests and bad ones (which change nothing)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from index.membership import DEFAULT_COLLECTION
from tests.service.conftest import (
    ALLIANCE,
    BAIDU,
    CORPUS,
    DEEPSEEK,
    DEEPSEEK_Q,
    Live,
    state,
)

JSON = {"content-type": "application/json"}


def _error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return body["error"]


def test_health_docs_and_openapi(live: Live) -> None:
    assert live.client.get("/v1/health").json()["status"] == "ok"
    assert live.client.get("/docs").status_code == 200
    paths = live.client.get("/openapi.json").json()["paths"]
    for route in ("/v1/chat/completions", "/v1/search", "/v1/documents", "/v1/collections"):
        assert route in paths
    assert live.client.get("/").status_code == 200  # the chat UI on the same port
    assert _error(live.client.get("/v1/nowhere"), 404)["code"] == "unknown_url"


def test_search_returns_scored_passages_within_the_scope(live: Live) -> None:
    r = live.client.post("/v1/search", json={"query": DEEPSEEK_Q, "k": 3})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["rank"] for x in results] == [1, 2, 3]
    assert results[0]["doc_id"] == DEEPSEEK.name
    assert results[0]["score"] >= results[1]["score"]
    for field in ("page", "pages", "passage_id", "start", "end", "text", "keyword_score"):
        assert field in results[0]
    scoped = live.client.post(
        "/v1/search", json={"query": DEEPSEEK_Q, "k": 10, "collection": "한국", "mode": "bm25"}
    ).json()["results"]
    assert scoped
    assert {x["doc_id"] for x in scoped} <= {BAIDU.name, ALLIANCE.name}
    assert all(x["dense_score"] is None for x in scoped)  # keyword-only
    chosen = live.client.post(
        "/v1/search", json={"query": DEEPSEEK_Q, "documents": [BAIDU.name]}
    ).json()["results"]
    assert {x["doc_id"] for x in chosen} == {BAIDU.name}


def test_documents_and_passages(live: Live) -> None:
    docs = {d["doc_id"]: d for d in live.client.get("/v1/documents").json()["documents"]}
    assert docs[ALLIANCE.name]["collections"] == ["세계", "한국"]
    assert docs[DEEPSEEK.name]["collections"] == ["세계"]
    world = live.client.get("/v1/documents", params={"collection": "세계"}).json()["documents"]
    assert {d["doc_id"] for d in world} == {DEEPSEEK.name, ALLIANCE.name}
    _error(live.client.get("/v1/documents", params={"collection": "없음"}), 404)
    hit = live.client.post("/v1/search", json={"query": DEEPSEEK_Q, "k": 1}).json()["results"][0]
    p = live.client.get(f"/v1/passages/{hit['passage_id']}", params={"around": 40}).json()
    text = DEEPSEEK.read_text(encoding="utf-8")
    assert p["text"] == hit["text"]
    assert p["before"] + p["text"] + p["after"] in text or len(p["after"]) <= 40
    _error(live.client.get("/v1/passages/987654321"), 404)
    _error(live.client.get("/v1/passages/abc"), 422)


def test_upload_reports_each_file_as_the_ui_does(live: Live, tmp_path) -> None:
    good = tmp_path / "고래.txt"
    good.write_text("제주 파란고래 연구소의 2026년 예산은 417억원이다.", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    strange = tmp_path / "data.xyz"
    strange.write_bytes(b"abc")
    files = [("files", (p.name, p.read_bytes())) for p in (good, empty, strange)]
    files.append(("files", ("copy.txt", DEEPSEEK.read_bytes())))  # same content, other name
    r = live.client.post("/v1/documents", files=files, data={"collection": "고래"})
    assert r.status_code == 200, r.text
    report = r.json()
    outcomes = {f["doc_id"]: (f["status"], f["reason"]) for f in report["files"]}
    assert outcomes["고래.txt"][0] == "added"
    assert outcomes["empty.txt"] == ("failed", "empty.txt: file is empty (0 bytes)")
    assert outcomes["data.xyz"][0] == "failed"
    assert outcomes["copy.txt"] == ("duplicate", f"same content as {DEEPSEEK.name}")
    assert report["collection"] == "고래"
    assert report["summary"]["added"] == 1
    # the duplicate's original joined the collection; uploading again is "unchanged"
    whale = {d.doc_id for d in live.assistant.documents("고래")}
    assert whale == {"고래.txt", DEEPSEEK.name}
    again = live.client.post("/v1/documents", files=files[:1], data={"collection": "고래"})
    assert again.json()["files"][0]["status"] == "unchanged"
    found = live.client.post(
        "/v1/search", json={"query": "파란고래 예산", "k": 1, "collection": "고래"}
    ).json()["results"]
    assert found[0]["doc_id"] == "고래.txt"


def test_a_web_address_is_fetched_into_a_collection(start, page_server) -> None:  # type: ignore[no-untyped-def]
    live = start(web_allow_private=True)  # the page server is on loopback
    page = page_server.url("/html/newspim_1.html")
    missing = page_server.url("/html/nowhere.html")
    r = live.client.post("/v1/documents", data={"url": [page, missing], "collection": "웹"})
    assert r.status_code == 200, r.text
    files = r.json()["files"]
    assert [(f["doc_id"], f["status"]) for f in files] == [(page, "added"), (missing, "failed")]
    assert "404" in files[1]["reason"]
    assert [d.doc_id for d in live.assistant.documents("웹")] == [page]


def test_a_background_upload_is_a_job_to_poll(live: Live) -> None:
    files = [("files", ("spri.txt", (CORPUS / "spri-2020-us-china-ai-rivalry.txt").read_bytes()))]
    r = live.client.post(
        "/v1/documents", files=files, data={"collection": "연구"}, params={"background": "true"}
    )
    assert r.status_code == 202, r.text
    url = r.json()["url"]
    deadline = time.monotonic() + 60
    while (job := live.client.get(url).json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["result"]["files"][0] == {
        "doc_id": "spri.txt",
        "status": "added",
        "chunks": job["result"]["files"][0]["chunks"],
        "reason": "",
    }
    assert job["log"] == ["1/1 spri.txt"]
    assert (job["done"], job["total"]) == (1, 1)
    _error(live.client.get("/v1/jobs/nope"), 404)


def test_delete_a_document_or_only_its_membership(live: Live, tmp_path) -> None:
    for name in ("A", "B"):
        live.client.post(
            "/v1/documents", files=[("files", ("twice.txt", "두 번 있는 글.".encode()))],
            data={"collection": name},
        )  # fmt: skip
    r = live.client.delete("/v1/documents/twice.txt", params={"collection": "A"})
    assert r.json()["deleted"] == []
    assert [d.collections for d in live.assistant.documents() if d.doc_id == "twice.txt"] == [
        ("B",)
    ]
    assert live.client.delete("/v1/documents/twice.txt").json()["deleted"] == ["twice.txt"]
    _error(live.client.delete("/v1/documents/twice.txt"), 404)
    _error(live.client.delete(f"/v1/documents/{BAIDU.name}", params={"collection": "세계"}), 404)


def test_collection_routes(live: Live) -> None:
    names = [c["name"] for c in live.client.get("/v1/collections").json()["collections"]]
    assert names[0] == DEFAULT_COLLECTION
    made = live.client.post("/v1/collections", json={"name": " 보고서 "})
    assert made.status_code == 201
    assert made.json()["name"] == "보고서"
    assert made.json()["documents"] == 0
    assert _error(live.client.post("/v1/collections", json={"name": "보고서"}), 409)["code"]
    renamed = live.client.patch("/v1/collections/보고서", json={"name": "보고서 2026"})
    assert renamed.json()["name"] == "보고서 2026"
    _error(live.client.patch(f"/v1/collections/{DEFAULT_COLLECTION}", json={"name": "x"}), 409)
    _error(live.client.patch("/v1/collections/없음", json={"name": "x"}), 404)
    live.client.post(
        "/v1/documents",
        files=[("files", ("only.txt", "보고서에만 있는 글.".encode()))],
        data={"collection": "보고서 2026"},
    )
    live.assistant.index.store.link([ALLIANCE.name], "보고서 2026")
    gone = live.client.delete("/v1/collections/보고서 2026").json()
    assert gone["deleted_documents"] == ["only.txt"]  # the alliance article stays in 세계, 한국
    docs = {d.doc_id: d.collections for d in live.assistant.documents()}
    assert "only.txt" not in docs
    assert docs[ALLIANCE.name] == ("세계", "한국")
    _error(live.client.delete("/v1/collections/보고서 2026"), 404)
    _error(live.client.delete(f"/v1/collections/{DEFAULT_COLLECTION}"), 409)
    assert live.assistant.index.check().problems == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v1/search", {"content": b"{not json", "headers": JSON}, 400),
        ("POST", "/v1/search", {"json": {"query": ""}}, 422),
        ("POST", "/v1/search", {"json": {"query": "   "}}, 400),
        ("POST", "/v1/search", {"json": {"query": "x", "k": 0}}, 422),
        ("POST", "/v1/search", {"json": {"query": "x", "mode": "magic"}}, 422),
        ("POST", "/v1/search", {"json": {"query": "x", "colection": "typo"}}, 422),
        ("POST", "/v1/search", {"json": {"query": "x", "collections": "세계"}}, 422),
        ("POST", "/v1/search", {"json": {"query": "x", "collections": ["없음"]}}, 404),
        ("POST", "/v1/search", {"json": ["query"]}, 422),
        ("POST", "/v1/chat/completions", {"content": b"\xff\xfe", "headers": JSON}, 400),
        ("POST", "/v1/chat/completions", {"json": {"model": "jaryo"}}, 422),
        (
            "POST",
            "/v1/chat/completions",
            {"json": {"model": "jaryo", "messages": [{"role": "robot", "content": "x"}]}},
            422,
        ),
        ("POST", "/v1/documents", {"json": {"files": []}}, 422),
        ("POST", "/v1/documents", {"files": [("other", ("a.txt", b"x"))]}, 422),
        (
            "POST",
            "/v1/documents",
            {"files": [("files", ("a.txt", b"x"))], "data": {"collection": "\x01"}},
            400,
        ),
        ("POST", "/v1/documents", {"files": [("files", ("big.txt", b"x" * 600_000))]}, 413),
        ("POST", "/v1/documents", {"files": [("files", ("huge.txt", b"x" * 1_100_000))]}, 413),
        ("POST", "/v1/collections", {"json": {"name": ""}}, 422),
        ("POST", "/v1/collections", {"json": {"name": "\x00"}}, 400),
        ("POST", "/v1/collections", {"json": {}}, 422),
        ("PATCH", "/v1/collections/세계", {"json": {"name": 3}}, 422),
        ("DELETE", "/v1/collections/없음", {}, 404),
        ("DELETE", "/v1/documents/없음.txt", {}, 404),
    ],
)
def test_a_bad_request_gets_its_status_and_changes_nothing(
    live: Live, method: str, path: str, kwargs: dict, status: int
) -> None:
    before = state(live.assistant)
    r = live.client.request(method, path, **kwargs)
    error = _error(r, status)
    if status == 422:
        assert error["code"] == "validation_error"
    assert state(live.assistant) == before


def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(live: Live) -> None:
    before = state(live.assistant)
    # a client announcing a body over max_request_mb gets 413 without sending it
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
        )
        reply = b""
        while b"request_too_large" not in reply and (part := sock.recv(65536)):
            reply += part
    assert reply.startswith(b"HTTP/1.1 413"), reply

    # a body sent in chunks, with no length, is cut off once over the limit
    def chunks():  # type: ignore[no-untyped-def]
        yield b"--b\r\nContent-Disposition: form-data; name=files; filename=a.txt\r\n\r\n"
        for _ in range(30):
            yield b"x" * 50_000

    r = live.client.post(
        "/v1/documents",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 413
    assert state(live.assistant) == before
