"""Retrieval quality and cost on KorQuAD 1.0 dev: ours vs the LangChain recipe vs BM25 alone.

    .venv/bin/python bench/retrieval.py [--limit N] [--workdir DIR] [--models-dir DIR]

Every system uses the same local multilingual-e5-small folder and is scored by the shared
relevance rule (``RelevanceRule`` on chunk text and source file name). Each system runs in its
own child process, so its peak RSS is its own.

- ours: default settings, ``build_assistant`` + ``Assistant.search(k=10)`` (hybrid).
- langchain: ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`` +
  ``HuggingFaceEmbeddings`` on the model folder + LangChain's FAISS store +
  ``similarity_search(k=10)``. e5 needs its prefixes: the folder's sentence-transformers prompts
  are passed through ``encode_kwargs={"prompt_name": "passage"}`` and
  ``query_encode_kwargs={"prompt_name": "query"}``, i.e. exactly "passage: " / "query: " as ours.
- bm25: ours in mode bm25 (Kiwi morphemes + bm25s). Its index is built with a zero-vector
  embedder, so its build time is chunking, morphemes, BM25 and storage only.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

SYSTEMS = ["ours", "langchain", "bm25"]
ANSWER_SAMPLE = 300  # questions whose answer composition is timed


class ZeroEmbedder:
    """Stands in for the model when only BM25 is measured: all-zero vectors, no inference."""

    name = "none"
    dim = 384

    def embed(self, texts: list[str], *, kind: str) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def _score(ranked: list[tuple[str, str]], rule: Any) -> int | None:
    """1-based rank of the first relevant (text, source) in the top 10."""
    for rank, (text, source) in enumerate(ranked[:10], 1):
        if rule(text, source):
            return rank
    return None


def _ours(args: argparse.Namespace, items: list[Any], docs: Path) -> dict[str, Any]:
    from assistant.build import build_assistant
    from ingest.settings import Settings

    data_dir = Path(args.workdir) / f"data-{args.child}"
    shutil.rmtree(data_dir, ignore_errors=True)
    common.link_models(data_dir, Path(args.models_dir))
    bm25 = args.child == "bm25"
    settings = Settings(data_dir=data_dir, retrieval_mode="bm25" if bm25 else "hybrid")
    assistant = build_assistant(settings, embedder=ZeroEmbedder() if bm25 else None)  # type: ignore[arg-type]
    assistant.index.tokenizer.tokenize("워밍업")  # load Kiwi first: model loads are not build time
    t0 = time.perf_counter()
    assistant.ingest([docs])
    build_s = time.perf_counter() - t0
    chunks = len(assistant.index)
    assistant.search(items[0].question, k=10)  # warm-up: lazy Kiwi load, first inference

    def run(question: str) -> list[tuple[str, str]]:
        hits = assistant.search(question, k=10)
        return [(h.chunk.text, h.chunk.source) for h in hits]

    stages: dict[str, list[float]] = {"embed": [], "dense": [], "keyword": [], "fusion": []}

    def after() -> None:
        t = assistant.index.last_timings
        for name in stages:
            stages[name].append(getattr(t, name))

    out = _queries(items, run, after)
    out.update(build_s=build_s, chunks=chunks)
    out["stages_ms"] = {k: common.median(v) * 1000 for k, v in stages.items()}
    if not bm25:
        out["stages_ms"]["answer"] = _answer_ms(assistant, items[:ANSWER_SAMPLE]) * 1000
    assistant.index.close()
    return out


def _answer_ms(assistant: Any, items: list[Any]) -> float:
    """Median time of the default (extractive) answerer composing an answer from the hits."""
    answerer = assistant.answerers[assistant.settings.answerer]
    seconds = []
    for item in items:
        hits = assistant.search(item.question)
        t0 = time.perf_counter()
        answerer.answer(item.question, hits)
        seconds.append(time.perf_counter() - t0)
    return common.median(seconds)


def _langchain(args: argparse.Namespace, items: list[Any], docs: Path) -> dict[str, Any]:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    model = str(Path(args.models_dir) / "multilingual-e5-small")
    embeddings = HuggingFaceEmbeddings(
        model_name=model,
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "prompt_name": "passage"},
        query_encode_kwargs={"normalize_embeddings": True, "prompt_name": "query"},
    )
    t0 = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    originals = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
        for p in sorted(docs.glob("*.txt"))
    ]
    pieces = splitter.split_documents(originals)
    store = FAISS.from_documents(pieces, embeddings)
    build_s = time.perf_counter() - t0
    store.similarity_search(items[0].question, k=10)  # warm-up

    def run(question: str) -> list[tuple[str, str]]:
        found = store.similarity_search(question, k=10)
        return [(d.page_content, d.metadata["source"]) for d in found]

    out = _queries(items, run, lambda: None)
    out.update(build_s=build_s, chunks=len(pieces))
    return out


def _queries(items: list[Any], run: Any, after: Any) -> dict[str, Any]:
    from assistant.evaluation import RelevanceRule

    latencies: list[float] = []
    hit1 = hit5 = 0
    rr = 0.0
    for item in items:
        t0 = time.perf_counter()
        ranked = run(item.question)
        latencies.append(time.perf_counter() - t0)
        after()
        rank = _score(ranked, RelevanceRule(item))
        if rank is not None:
            hit1 += rank == 1
            hit5 += rank <= 5
            rr += 1 / rank
    n = len(items)
    return {
        "questions": n,
        "hit1": hit1 / n,
        "hit5": hit5 / n,
        "mrr10": rr / n,
        "p50_ms": common.percentile(latencies, 50) * 1000,
        "p95_ms": common.percentile(latencies, 95) * 1000,
    }


def child(args: argparse.Namespace) -> None:
    """Build and query one system; write the figures as JSON."""
    work = Path(args.workdir)
    items = common.korquad(work / "docs", args.limit)
    runner = _langchain if args.child == "langchain" else _ours
    common.write_result(args.result, runner(args, items, work / "docs"))


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--limit", type=int, help="first N questions (and only their articles)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    work, models = common.start(args, "bench-retrieval-")
    items = common.korquad(work / "docs", args.limit)
    print(f"KorQuAD 1.0 dev: {len(items)} questions; work folder {work}", flush=True)
    results = {}
    for system in args.systems.split(","):
        extra = ["--limit", str(args.limit)] if args.limit else []
        results[system] = common.run_child(
            Path(__file__),
            ["--child", system, "--workdir", str(work), "--models-dir", str(models), *extra],
        )
        print(f"  done {system}", flush=True)
    print()
    rows = [
        [
            name,
            r["hit1"],
            r["hit5"],
            r["mrr10"],
            r["chunks"],
            r["build_s"],
            r["chunks"] / r["build_s"],
            r["p50_ms"],
            r["p95_ms"],
            r["peak_rss_mb"],
        ]
        for name, r in results.items()
    ]
    print(
        common.table(
            [
                "system",
                "hit@1",
                "hit@5",
                "MRR@10",
                "chunks",
                "index build s",
                "chunks/s",
                "p50 ms",
                "p95 ms",
                "peak RSS MiB",
            ],
            rows,
        )
    )
    if "ours" in results:
        stages = results["ours"]["stages_ms"]
        print()
        print(
            "query path of ours (medians, ms; answer = the extractive answerer on the hits, "
            f"first {ANSWER_SAMPLE} questions, not part of the latencies above):"
        )
        print(common.table(list(stages), [[stages[k] for k in stages]]))


if __name__ == "__main__":
    main()
