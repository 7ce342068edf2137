"""Concurrent chat clients while one big single-line text file ingests in the same server:
the largest gap between two answers (target: none over 5 s).

    .venv/bin/python bench/chat_under_ingest.py --models-dir data/models [--clients 20] [--mb 50]

The server is the one ``jaryo serve`` runs (``ui.create_app``) with the real default model,
in this process on a free loopback port, holding the shipped corpus. One ``--mb`` MB file of
a single Korean line is uploaded through ``POST /v1/documents?background=true``, so it is read,
chunked (Kiwi) and embedded inside the server while ``--clients`` threads ask
``POST /v1/chat/completions`` one question after another over real HTTP. Reported: the upload's
time and chunks, answers and errors during it, latency p50/p95/max, and the largest gap
between consecutive answers (any client) from the upload's start to its end. Before the
upload, the clients get through their first answers, then ``--baseline`` seconds of answers
without ingestion are measured for comparison. With ``--alone``, a file of the same size (other
words, so not a duplicate) is first uploaded the same way with no client running, to time
the same ingest without load.
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time

import common
import httpx
from api import _free_port

# Korean only (3 bytes a syllable), so 50 MB stays within the 20 M-character text budget
SENTENCE = "딥시크는 새 모델의 개발 비용이 적었다고 주장했지만 일부 전문가는 이를 의심한다. "


def upload_alone(url: str, data: bytes, max_seconds: float) -> tuple[float, int]:
    """Seconds and chunks of one background upload of ``data`` with nothing else running."""
    http = httpx.Client(base_url=url, timeout=600)
    t0 = time.perf_counter()
    r = http.post(
        "/v1/documents", files=[("files", ("alone.txt", data))], params={"background": "true"}
    )
    r.raise_for_status()
    job = http.get(r.json()["url"]).json()
    while job["status"] == "running" and time.perf_counter() - t0 < max_seconds:
        time.sleep(0.5)
        job = http.get(r.json()["url"]).json()
    seconds = time.perf_counter() - t0
    http.close()
    if job["status"] != "done":
        raise SystemExit(f"the upload alone did not finish: {job['status']} {job['error']}")
    return seconds, sum(f["chunks"] for f in job["result"]["files"])


def main() -> None:
    """Run the load and print its table."""
    parser = common.base_parser(__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--mb", type=float, default=50.0, help="Size of the one-line file.")
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="Stop waiting after.")
    parser.add_argument(
        "--baseline", type=float, default=30.0, help="Seconds measured before the upload."
    )
    parser.add_argument(
        "--alone", action="store_true", help="First time the same size of file with no client."
    )
    args = parser.parse_args()
    work, models = common.start(args, "jaryo-chat-under-ingest-")

    import ui
    from assistant.build import build_assistant
    from assistant.ui_callbacks import CORPUS_QUESTIONS
    from ingest.settings import Settings

    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    common.link_models(data, models)
    unit = SENTENCE.encode()
    line = unit * int(args.mb * 1_000_000 / len(unit))
    settings = Settings(data_dir=data, port=_free_port(), max_file_mb=max(50.0, args.mb + 1))
    assistant = build_assistant(settings)
    ui.warm(assistant)
    assistant.ingest([common.ROOT / "corpus"])
    server = ui.BackgroundServer(ui.create_app(assistant), "127.0.0.1", settings.port).start()
    alone = (
        upload_alone(
            server.url, line.replace("딥시크".encode(), "알리바".encode()), args.max_seconds
        )
        if args.alone
        else None
    )
    questions = list(CORPUS_QUESTIONS.values())  # the shipped corpus answers them
    answered: list[float] = []  # when each answer arrived
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(n: int) -> None:
        client = httpx.Client(base_url=server.url, timeout=120)
        i = n
        while not stop.is_set():
            question = questions[i % len(questions)]
            body = {"model": "jaryo", "messages": [{"role": "user", "content": question}]}
            i += 1
            t0 = time.perf_counter()
            try:
                r = client.post("/v1/chat/completions", json=body)
                r.raise_for_status()
                if not r.json()["choices"][0]["message"]["content"]:
                    raise RuntimeError("empty answer")
            except Exception as exc:  # a bench counts every failure, whatever it is
                with lock:
                    errors.append(f"{exc.__class__.__name__}: {exc}")
                continue
            done = time.perf_counter()
            with lock:
                answered.append(done)
                latencies.append(done - t0)
        client.close()

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
    try:
        for t in threads:
            t.start()
        warm_until = time.perf_counter() + 300
        while len(answered) < 2 * args.clients and time.perf_counter() < warm_until:
            time.sleep(0.5)  # every client through its first answers
        quiet = time.perf_counter()
        time.sleep(args.baseline)
        with lock:
            calm = [quiet, *sorted(t for t in answered if t >= quiet), time.perf_counter()]
        baseline_gap = max(b - a for a, b in itertools.pairwise(calm))
        baseline_rate = (len(calm) - 2) / args.baseline
        http = httpx.Client(base_url=server.url, timeout=600)
        began = time.perf_counter()
        r = http.post(
            "/v1/documents",
            files=[("files", ("line.txt", line))],
            params={"background": "true"},
        )
        r.raise_for_status()
        job_url = r.json()["url"]
        job = http.get(job_url).json()
        said = began
        while job["status"] == "running" and time.perf_counter() - began < args.max_seconds:
            time.sleep(0.5)
            job = http.get(job_url).json()
            if time.perf_counter() - said >= 30:  # a stopped run still leaves figures
                said = time.perf_counter()
                with lock:
                    marks = [began, *sorted(t for t in answered if t >= began), said]
                print(
                    f"  {said - began:.0f} s: {len(marks) - 2} answers, largest gap so far "
                    f"{max(b - a for a, b in itertools.pairwise(marks)):.2f} s",
                    flush=True,
                )
        ended = time.perf_counter()
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
        assistant.index.close()
    during = sorted(t for t in answered if began <= t <= ended)
    marks = [began, *during, ended]
    gap = max(b - a for a, b in itertools.pairwise(marks))
    chunks = sum(f["chunks"] for f in (job.get("result") or {}).get("files", []))
    in_window = [lat for t, lat in zip(answered, latencies, strict=True) if began <= t <= ended]

    def pct(q: float) -> str:
        return f"{common.percentile(in_window, q):.2f}" if in_window else "—"

    print(
        f"\n{args.clients} chat clients (real HTTP, loopback) while a {len(line) / 1e6:.1f} MB "
        f"single-line text ingests in the same server (job {job['status']})\n"
    )
    headers = ["ingest s", "chunks", "answers during", "errors", "answers/s"]
    headers += ["p50 s", "p95 s", "max s", "largest gap between answers s"]
    seconds = ended - began
    row = [f"{seconds:.1f}", str(chunks), str(len(during)), str(len(errors))]
    row += [f"{len(during) / seconds:.1f}", pct(50), pct(95), pct(100), f"{gap:.2f}"]
    print(common.table(headers, [row]))
    print(
        f"\nbefore the upload ({args.baseline:.0f} s, same clients): {baseline_rate:.1f} "
        f"answers/s, largest gap {baseline_gap:.2f} s"
    )
    if alone is not None:
        print(
            f"the same size alone (no client, same server): {alone[0]:.1f} s, {alone[1]} chunks; "
            f"under the clients {seconds / alone[0]:.1f}× as long"
        )
    print(f"largest gap {gap:.2f} s (target ≤ 5 s): {'met' if gap <= 5 else 'NOT met'}")
    for e in sorted(set(errors))[:10]:
        print(f"error: {e}")


if __name__ == "__main__":
    main()
