"""The HTTP API under load: its overhead over an in-process call, and concurrent chat clients
while an upload is ingesting.

    .venv/bin/python bench/api.py --models-dir data/models [--clients 20] [--seconds 60]

1. Overhead: the seed questions (``--seed-qa``, default ../shared/evaldata/seed_qa.jsonl) over
   the shipped corpus, each asked in-process (``Assistant.search`` / ``Assistant.ask``) and
   over loopback HTTP (``POST /v1/search`` / ``POST /v1/chat/completions``) one after the other
   (which goes first alternates by round), ``--repeat`` rounds after one warm-up round;
   p50/p95 of each and of the per-question difference.
2. Load: ``--clients`` threads, each with its own ``openai`` SDK client, ask chat completions
   (every other one streamed) for ``--seconds`` while KorQuAD dev documents are uploaded through
   ``POST /v1/documents?background=true`` (batch after batch, polled through ``/v1/jobs``), so
   ingestion runs the whole time. Reports requests, errors, p50/p95/max latency and what the
   uploads ingested.

The server is the one ``jaryo serve`` runs (``ui.create_app``), in this process on a free
loopback port, with the real default model. Every loop is bounded by count or time.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import common
import httpx

SEED_QA = common.ROOT.parent / "shared" / "evaldata" / "seed_qa.jsonl"
if not SEED_QA.exists():  # a worktree elsewhere than beside shared/
    SEED_QA = Path("/work/shared/evaldata/seed_qa.jsonl")
CORPUS = common.ROOT / "corpus"


def _questions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(values: list[float]) -> str:
    if not values:
        return "— / —"
    return (
        f"{common.percentile(values, 50) * 1000:.1f} / {common.percentile(values, 95) * 1000:.1f}"
    )


def overhead(assistant: Any, url: str, questions: list[str], repeat: int) -> list[list[str]]:
    """p50/p95 in-process vs over HTTP, for search and for a non-streamed chat answer."""
    client = httpx.Client(base_url=url, timeout=120)
    timings: dict[str, list[float]] = {k: [] for k in ("search", "search_http", "ask", "ask_http")}
    body = {"model": "jaryo", "messages": []}
    for q in questions:  # warm-up: model, Kiwi, caches, the connection
        assistant.ask(q)
        client.post("/v1/search", json={"query": q}).raise_for_status()
    for r in range(repeat):
        for q in questions:
            body["messages"] = [{"role": "user", "content": q}]
            calls = [
                ("search", lambda q=q: assistant.search(q)),
                ("search_http", lambda q=q: client.post("/v1/search", json={"query": q})),
                ("ask", lambda q=q: assistant.ask(q)),
                ("ask_http", lambda: client.post("/v1/chat/completions", json=body)),
            ]
            if r % 2:  # every other round over HTTP first, so neither side gets warm caches
                calls = [calls[1], calls[0], calls[3], calls[2]]
            for name, call in calls:
                t0 = time.perf_counter()
                result = call()
                timings[name].append(time.perf_counter() - t0)
                if isinstance(result, httpx.Response):
                    result.raise_for_status()
    client.close()
    rows = []
    for name, local, remote in (
        ("search (POST /v1/search)", "search", "search_http"),
        ("chat answer (POST /v1/chat/completions)", "ask", "ask_http"),
    ):
        diff = [b - a for a, b in zip(timings[local], timings[remote], strict=True)]
        rows.append([name, str(len(diff)), _ms(timings[local]), _ms(timings[remote]), _ms(diff)])
    return rows


class Uploader:
    """Uploads KorQuAD documents in batches through the API until told to stop."""

    def __init__(self, url: str, files: list[Path], batch: int) -> None:
        self.url, self.files, self.batch = url, files, batch
        self.stop = threading.Event()
        self.batches = self.documents = self.chunks = 0
        self.errors: list[str] = []
        self.busy_s = 0.0
        self.thread = threading.Thread(target=self._run, name="uploader", daemon=True)

    def _run(self) -> None:
        client = httpx.Client(base_url=self.url, timeout=120)
        pos = 0
        while not self.stop.is_set() and pos < len(self.files):
            part = self.files[pos : pos + self.batch]
            pos += self.batch
            t0 = time.perf_counter()
            files = [("files", (p.name, p.read_bytes())) for p in part]
            r = client.post(
                "/v1/documents",
                files=files,
                data={"collection": "korquad"},
                params={"background": "true"},
            )
            if r.status_code != 202:
                self.errors.append(f"upload HTTP {r.status_code}")
                continue
            job_url = r.json()["url"]
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                job = client.get(job_url).json()
                if job["status"] != "running":
                    break
                time.sleep(0.2)
            if job["status"] != "done":
                self.errors.append(f"upload job {job['status']}: {job['error']}")
                continue
            self.busy_s += time.perf_counter() - t0
            self.batches += 1
            for f in job["result"]["files"]:
                if f["status"] == "added":
                    self.documents += 1
                    self.chunks += f["chunks"]
        client.close()


def load(url: str, questions: list[str], clients: int, seconds: float, uploader: Uploader):  # type: ignore[no-untyped-def]
    """``clients`` chat clients for ``seconds`` while ``uploader`` runs."""
    import openai

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop(n: int) -> None:
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=120)
        i = n
        while time.monotonic() < deadline:
            q = questions[i % len(questions)]
            stream = i % 2 == 1
            i += clients
            t0 = time.perf_counter()
            try:
                messages = [{"role": "user", "content": q}]
                if stream:
                    chunks = list(
                        sdk.chat.completions.create(model="jaryo", messages=messages, stream=True)
                    )
                    if not (chunks[-1].model_extra or {}).get("citations"):
                        raise RuntimeError("no citations in the last chunk")
                else:
                    reply = sdk.chat.completions.create(model="jaryo", messages=messages)
                    if not (reply.model_extra or {}).get("citations"):
                        raise RuntimeError("no citations")
            except Exception as exc:  # a bench counts every failure, whatever it is
                with lock:
                    errors.append(f"{exc.__class__.__name__}: {exc}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    uploader.thread.start()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    uploader.stop.set()
    uploader.thread.join(timeout=600)
    return latencies, errors, elapsed


def main() -> None:
    """Run both parts and print their tables."""
    parser = common.base_parser(__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=4, help="rounds of the overhead part")
    parser.add_argument("--upload-docs", type=int, default=140, help="KorQuAD documents at most")
    parser.add_argument("--upload-batch", type=int, default=10)
    parser.add_argument(
        "--seed-qa", type=Path, default=SEED_QA, help="JSON lines with a 'question' each."
    )
    args = parser.parse_args()
    questions = _questions(args.seed_qa)  # a wrong path fails before the model loads
    work, models = common.start(args, "jaryo-bench-api-")

    import ui
    from assistant.build import build_assistant
    from ingest.settings import Settings

    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    common.link_models(data, models)
    settings = Settings(data_dir=data, port=_free_port())
    assistant = build_assistant(settings)
    ui.warm(assistant)
    assistant.ingest([CORPUS])
    docs = work / "korquad-docs"
    if not docs.exists():
        common.korquad(docs)
    files = sorted(docs.rglob("*.txt"))[: args.upload_docs]
    server = ui.BackgroundServer(ui.create_app(assistant), "127.0.0.1", settings.port).start()
    try:
        rows = overhead(assistant, server.url, questions, args.repeat)
        print(
            f"\nAPI overhead over an in-process call ({len(questions)} seed questions × "
            f"{args.repeat}, loopback, one client; ms p50 / p95)\n"
        )
        print(common.table(["call", "n", "in-process", "over HTTP", "HTTP − in-process"], rows))
        uploader = Uploader(server.url, files, args.upload_batch)
        latencies, errors, elapsed = load(
            server.url, questions, args.clients, args.seconds, uploader
        )
    finally:
        server.stop()
        assistant.index.close()
    n = len(latencies) + len(errors)
    print(
        f"\n{args.clients} concurrent chat clients for {elapsed:.0f} s (every other request "
        f"streamed) while uploads ingest\n"
    )

    def pct(q: float) -> str:
        return f"{common.percentile(latencies, q) * 1000:.0f}" if latencies else "—"

    headers = ["requests", "errors", "req/s", "p50 ms", "p95 ms", "max ms"]
    headers += ["uploaded docs", "chunks", "upload batches", "upload errors"]
    row = [str(n), str(len(errors)), f"{n / elapsed:.1f}", pct(50), pct(95), pct(100)]
    row += [str(uploader.documents), str(uploader.chunks), str(uploader.batches)]
    row += [str(len(uploader.errors))]
    print(common.table(headers, [row]))
    for e in sorted(set(errors + uploader.errors))[:10]:
        print(f"error: {e}")


if __name__ == "__main__":
    main()
