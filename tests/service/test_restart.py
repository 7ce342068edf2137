"""Collections and documents made over the API survive a restart of the server."""

from __future__ import annotations

from pathlib import Path

from tests.service.conftest import ALLIANCE, BAIDU, DEEPSEEK, DEEPSEEK_Q, Live


def _upload(live: Live, path: Path, collection: str) -> str:
    with open(path, "rb") as fh:
        r = live.client.post(
            "/v1/documents", files=[("files", (path.name, fh))], data={"collection": collection}
        )
    assert r.status_code == 200, r.text
    return str(r.json()["files"][0]["status"])


def _view(live: Live) -> tuple[list, dict]:
    collections = [
        (c["name"], c["documents"])
        for c in live.client.get("/v1/collections").json()["collections"]
    ]
    docs = {
        d["doc_id"]: d["collections"] for d in live.client.get("/v1/documents").json()["documents"]
    }
    return collections, docs


def _cited(live: Live, collection: str) -> set[str]:
    r = live.client.post(
        "/v1/chat/completions",
        json={
            "model": "jaryo",
            "messages": [{"role": "user", "content": DEEPSEEK_Q}],
            "collections": [collection],
            "k": 8,
        },
    )
    return {c["doc_id"] for c in r.json()["citations"]}


def test_collections_survive_a_restart_and_the_check(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    first = start(data)
    assert _upload(first, DEEPSEEK, "A") == "added"
    assert _upload(first, ALLIANCE, "A") == "added"
    assert _upload(first, ALLIANCE, "B") == "unchanged"  # the same file joins B
    assert _upload(first, BAIDU, "B") == "added"
    assert first.client.post("/v1/collections", json={"name": "빈"}).status_code == 201
    assert first.client.patch("/v1/collections/B", json={"name": "비"}).status_code == 200
    before = _view(first)
    assert before[0] == [("기본", 0), ("A", 2), ("비", 2), ("빈", 0)]
    assert before[1][ALLIANCE.name] == ["A", "비"]
    first.stop()

    second = start(data)
    assert _view(second) == before
    assert second.assistant.index.check().problems == []
    assert _cited(second, "비") <= {BAIDU.name, ALLIANCE.name}
    assert DEEPSEEK.name in _cited(second, "A")
    gone = second.client.delete("/v1/collections/A").json()["deleted_documents"]
    assert gone == [DEEPSEEK.name]  # the alliance article is still in 비
    after = _view(second)
    second.stop()

    third = start(data)
    assert _view(third) == after
    assert after[1] == {ALLIANCE.name: ["비"], BAIDU.name: ["비"]}
    assert third.assistant.index.check().problems == []
    assert DEEPSEEK.name not in {
        r["doc_id"]
        for r in third.client.post("/v1/search", json={"query": DEEPSEEK_Q, "k": 10}).json()[
            "results"
        ]
    }
