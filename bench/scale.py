"""Query latency and memory at 10k / 100k (/ 1M) chunks for our FAISS and BM25 indexes.

    .venv/bin/python bench/scale.py              # 10k and 100k
    .venv/bin/python bench/scale.py --max 1000000  # adds 1M (HNSW build takes a while)
    .venv/bin/python bench/scale.py --sizes 1000000  # 1M only

Vectors: real multilingual-e5-small embeddings of the KorQuAD dev questions (as passages)
repeated with Gaussian perturbation (cosine ≈ 0.9 to their origin) and renormalised; queries
are other questions embedded as queries. Exact = ``VectorIndex`` flat, approximate =
``VectorIndex(approximate=True)`` (HNSW, M=32, efConstruction=80); recall@10 is measured
against the exact top 10 and efSearch is raised until it reaches 0.95.

Keywords: Kiwi morphemes of real KorQuAD paragraphs, repeated with variations at the token
level (each copy drops ~10% of tokens and adds two tokens drawn from the vocabulary), indexed by
``KeywordIndex`` (bm25s). Queries are real questions' morphemes. Latency excludes query
embedding and tokenisation. exact+BM25 and HNSW+BM25 are per-query sums (a hybrid query runs
both searches; fusing the two top-50 lists adds about 1 ms, bench/retrieval.py). Each size runs
in its own child process.

``--store milvus`` adds the same vectors and morphemes in Milvus (``index.milvus``, milvus-lite
in a file of the work folder, FLAT index, upserted as the app writes them): insert rows/s,
dense p50/p95 and recall@10 against exact FAISS, BM25-as-sparse-vector p50/p95 and its
recall@10 against bm25s (a hit counts when its bm25s score reaches bm25s's 10th best: the
synthetic copies tie often), and the ratio of each latency to FAISS / bm25s in the same run.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

SIZES = [10_000, 100_000, 1_000_000]
QUERIES = 200
EF_STEPS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]


def _faiss_mb(index: Any) -> float:
    """Size of a FAISS index as serialised, i.e. what it holds in memory (vectors, ids, links)."""
    import faiss  # bench scripts may import what they measure

    return float(faiss.serialize_index(index._index).nbytes) / 2**20


def _bm25_mb(keywords: Any) -> float:
    """Bytes of the arrays bm25s keeps (sparse score matrix) plus our id array."""
    arrays = [a for a in vars(keywords._bm25).get("scores", {}).values() if hasattr(a, "nbytes")]
    return float(sum(a.nbytes for a in arrays) + keywords.ids.nbytes) / 2**20


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def prepare(work: Path, models: Path) -> None:
    """Embed the questions once and tokenise the paragraphs once (cached in the work folder)."""
    if (work / "base.npy").exists():
        return
    import json

    from index.embedder import load_embedder
    from index.morph import MorphTokenizer
    from ingest.settings import Settings

    data = json.loads(common.KORQUAD_DEV.read_text(encoding="utf-8"))["data"]
    paragraphs = [p["context"] for a in data for p in a["paragraphs"]]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    data_dir = work / "data"
    common.link_models(data_dir, models)
    embedder = load_embedder(Settings(data_dir=data_dir))
    base = embedder.embed(questions[QUERIES:], kind="passage")
    queries = embedder.embed(questions[:QUERIES], kind="query")
    tokenizer = MorphTokenizer()
    doc_tokens = [tokenizer.tokenize(p) for p in paragraphs]
    query_tokens = [tokenizer.tokenize(q) for q in questions[:QUERIES]]
    np.save(work / "base.npy", base)
    np.save(work / "queries.npy", queries)
    (work / "tokens.json").write_text(
        json.dumps({"docs": doc_tokens, "queries": query_tokens}, ensure_ascii=False),
        encoding="utf-8",
    )


def synthetic_vectors(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors: real ones repeated, perturbed to cosine ≈ 0.9, renormalised."""
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    step = 100_000
    sigma = 0.48 / np.sqrt(base.shape[1])  # ‖noise‖ ≈ 0.48 → cosine ≈ 0.9
    for start in range(0, n, step):
        rows = min(step, n - start)
        block = base[rng.integers(0, len(base), rows)]
        block = block + rng.normal(0, sigma, block.shape).astype(np.float32)
        out[start : start + rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def synthetic_tokens(docs: list[list[str]], n: int, rng: np.random.Generator) -> list[list[str]]:
    """``n`` token lists: real paragraphs repeated, ~10% of tokens dropped, two vocabulary
    tokens added, so copies differ and document frequencies stay realistic."""
    vocab = sorted({t for d in docs for t in d})
    out = []
    picks = rng.integers(0, len(docs), n)
    extra = rng.integers(0, len(vocab), (n, 2))
    for i in range(n):
        doc = docs[picks[i]]
        keep = rng.random(len(doc)) > 0.1
        out.append([t for t, k in zip(doc, keep, strict=True) if k] + [vocab[j] for j in extra[i]])
    return out


def _latencies(fn: Any, queries: Any) -> tuple[float, float, list[Any], np.ndarray]:
    """p50 and p95 in ms, the results, and each query's time in ms."""
    times, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - t0) * 1000)
    return common.percentile(times, 50), common.percentile(times, 95), results, np.array(times)


def _disk_mb(folder: Path, pattern: str) -> float:
    """Bytes of the files (and folders' files) matching ``pattern`` in ``folder``."""
    hits = list(folder.glob(pattern))
    paths = [p for hit in hits for p in ([hit] if hit.is_file() else hit.rglob("*"))]
    return sum(p.stat().st_size for p in paths if p.is_file()) / 2**20


def _milvus_backend(work: Path, n: int, dim: int) -> Any:
    """An empty MilvusBackend of its own (milvus-lite file per size)."""
    from index import milvus, milvus_client

    backend = milvus.MilvusBackend(work / f"milvus-{n}", dim, uri=str(work / f"milvus-{n}.db"))
    backend.folder.mkdir(exist_ok=True)
    backend._client = milvus_client.connect(backend.uri, "")
    backend._name = f"bench_{n}"
    for name in (backend.dense_collection, backend.keyword_collection):
        if backend._client.has_collection(name):
            backend._client.drop_collection(name)
    backend._ensure_collections()
    return backend


def _milvus_dense(backend: Any, ids: np.ndarray, vectors: np.ndarray, queries: Any, exact: Any):  # type: ignore[no-untyped-def]
    """Insert rate, latency and recall@10 of dense search in Milvus; per-query ms."""
    t0 = time.perf_counter()
    for start in range(0, len(ids), 20_000):
        backend._upsert_dense(ids[start : start + 20_000], vectors[start : start + 20_000])
    backend._client.flush(backend.dense_collection)
    seconds = time.perf_counter() - t0
    name = backend.dense_collection
    p50, p95, found, ms = _latencies(
        lambda q: backend._search(name, "vector", q.tolist(), 10, None)[0], queries
    )
    recall = float(
        np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(found, exact, strict=True)])
    )
    return {
        "milvus_insert_rows_s": len(ids) / seconds,
        "milvus_p50": p50,
        "milvus_p95": p95,
        "milvus_recall": recall,
    }, ms


def _milvus_keywords(backend: Any, docs: list[list[str]], keywords: Any, queries: list[list[str]]):  # type: ignore[no-untyped-def]
    """Insert rate, latency and recall@10 against bm25s of BM25 sparse vectors in Milvus."""
    from index.sparse import CorpusStats
    from index.sparse import query_vector as sparse_query

    stats = CorpusStats.of(docs)
    backend._stats, backend._avg_len = stats, stats.avg_len
    rows = list(enumerate(docs))
    t0 = time.perf_counter()
    for start in range(0, len(rows), 20_000):
        backend._upsert_keywords(rows[start : start + 20_000])
    backend._client.flush(backend.keyword_collection)
    seconds = time.perf_counter() - t0
    name = backend.keyword_collection

    def search(q: list[str]) -> np.ndarray:
        vec = sparse_query(q, stats)
        return backend._search(name, "sparse", vec, 50, None)[0] if vec else np.zeros(0)

    p50, p95, found, ms = _latencies(search, queries)
    # ties are common among the synthetic copies, so a Milvus hit counts when its bm25s score
    # reaches bm25s's own 10th best (ids aligned: chunk i is row i); plain id overlap beside it
    agree, overlap = [], []
    for got, q in zip(found, queries, strict=True):
        want = keywords.search(q, 10)[0]
        if len(want):
            scores = keywords.scores(q)
            tenth = float(scores[want].min())
            top = got[:10].astype(np.int64)
            agree.append(float(np.mean(scores[top] >= tenth - 1e-4)) if len(top) else 0.0)
            overlap.append(len(set(top.tolist()) & set(want.tolist())) / len(want))
    return {
        "milvus_bm25_insert_rows_s": len(rows) / seconds,
        "milvus_bm25_p50": p50,
        "milvus_bm25_p95": p95,
        "milvus_bm25_agreement": float(np.mean(agree)),
        "milvus_bm25_id_overlap": float(np.mean(overlap)),
    }, ms


def child(args: argparse.Namespace) -> None:
    """Build and query the indexes at one size; write the figures as JSON."""
    import json

    from index.keyword import KeywordIndex
    from index.vectors import VectorIndex

    n = int(args.child)
    work = Path(args.workdir)
    rng = np.random.default_rng(7)
    base = np.load(work / "base.npy")
    queries = np.load(work / "queries.npy")
    tokens = json.loads((work / "tokens.json").read_text(encoding="utf-8"))
    ids = np.arange(n, dtype=np.int64)
    vectors = synthetic_vectors(base, n, rng)
    out: dict[str, Any] = {"n": n}

    rss0 = _rss_mb()
    flat = VectorIndex(base.shape[1])
    flat.add(ids, vectors)
    out["flat_rss_mb"] = _rss_mb() - rss0
    out["flat_mb"] = _faiss_mb(flat)
    p50, p95, exact, flat_ms = _latencies(lambda q, index=flat: index.search(q, 10)[0], queries)
    out.update(flat_p50=p50, flat_p95=p95)
    del flat
    milvus = milvus_ms = None
    if args.store == "milvus":
        milvus = _milvus_backend(work, n, base.shape[1])
        figures, milvus_ms = _milvus_dense(milvus, ids, vectors, queries, exact)
        out.update(figures)
    gc.collect()

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    hnsw = VectorIndex(base.shape[1], approximate=True)
    hnsw.add(ids, vectors)
    out["hnsw_build_s"] = time.perf_counter() - t0
    out["hnsw_rss_mb"] = _rss_mb() - rss0
    out["hnsw_mb"] = _faiss_mb(hnsw)
    import faiss  # bench scripts may import what they measure

    # efSearch is tuned on the HNSW index our VectorIndex wraps
    hnsw_inner = faiss.downcast_index(hnsw._index.index)
    for ef in EF_STEPS:
        hnsw_inner.hnsw.efSearch = ef
        p50, p95, approx, hnsw_ms = _latencies(
            lambda q, index=hnsw: index.search(q, 10)[0], queries
        )
        recall = float(
            np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact, strict=True)])
        )
        out.update(hnsw_ef=ef, hnsw_p50=p50, hnsw_p95=p95, hnsw_recall=recall)
        if recall >= 0.95:
            break
    del hnsw, vectors
    gc.collect()

    docs = synthetic_tokens(tokens["docs"], n, rng)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    keywords = KeywordIndex(list(range(n)), docs)
    out["bm25_build_s"] = time.perf_counter() - t0
    out["bm25_rss_mb"] = _rss_mb() - rss0
    out["bm25_mb"] = _bm25_mb(keywords)
    # the keyword half of Index.search: every chunk's score, then the top 50 by partial selection
    p50, p95, _, bm25_ms = _latencies(lambda q: keywords.search(q, 50), tokens["queries"])
    out.update(bm25_p50=p50, bm25_p95=p95)
    # a hybrid query runs both searches one after the other (the same 200 questions)
    out["exact_bm25_p95"] = common.percentile(list(flat_ms + bm25_ms), 95)
    out["hnsw_bm25_p95"] = common.percentile(list(hnsw_ms + bm25_ms), 95)
    if milvus is not None and milvus_ms is not None:
        figures, milvus_bm25_ms = _milvus_keywords(milvus, docs, keywords, tokens["queries"])
        out.update(figures)
        out["milvus_both_p95"] = common.percentile(list(milvus_ms + milvus_bm25_ms), 95)
        out["milvus_disk_mb"] = _disk_mb(work, f"milvus-{n}.db*")
        milvus.close()
    common.write_result(args.result, out)


def _milvus_lite_version() -> str:
    from importlib.metadata import version

    return version("milvus-lite")


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--max", type=int, default=100_000, help="largest size (1000000 for 1M)")
    parser.add_argument("--sizes", help="exact sizes instead, comma-separated (e.g. 1000000)")
    parser.add_argument(
        "--store", choices=["embedded", "milvus"], default="embedded", help="also measure Milvus"
    )
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    work, models = common.start(args, "bench-scale-")
    prepare(work, models)
    rows, memory, milvus_rows = [], [], []
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else SIZES
    for n in [s for s in sizes if args.sizes or s <= args.max]:
        r = common.run_child(
            Path(__file__), ["--child", str(n), "--workdir", str(work), "--store", args.store]
        )
        print(f"  done {n:,}", flush=True)
        rows.append(
            [
                f"{n:,}",
                r["flat_p50"],
                r["flat_p95"],
                r["hnsw_ef"],
                r["hnsw_recall"],
                r["hnsw_p50"],
                r["hnsw_p95"],
                r["hnsw_build_s"],
                r["bm25_p50"],
                r["bm25_p95"],
                r["bm25_build_s"],
                r["exact_bm25_p95"],
                r["hnsw_bm25_p95"],
            ]
        )
        if "milvus_p50" in r:
            milvus_rows.append(
                [
                    f"{n:,}",
                    r["milvus_insert_rows_s"],
                    r["milvus_p50"],
                    r["milvus_p95"],
                    r["milvus_recall"],
                    r["milvus_p50"] / r["flat_p50"],
                    r["milvus_bm25_insert_rows_s"],
                    r["milvus_bm25_p50"],
                    r["milvus_bm25_p95"],
                    r["milvus_bm25_agreement"],
                    r["milvus_bm25_id_overlap"],
                    r["milvus_bm25_p50"] / r["bm25_p50"],
                    r["milvus_both_p95"],
                    r["milvus_both_p95"] / r["exact_bm25_p95"],
                    r["milvus_disk_mb"],
                ]
            )
        memory.append(
            [
                f"{n:,}",
                r["flat_mb"],
                r["flat_mb"] * 2**20 / n,
                r["hnsw_mb"],
                r["hnsw_mb"] * 2**20 / n,
                r["bm25_mb"],
                r["bm25_mb"] * 2**20 / n,
                r["flat_rss_mb"] + r["hnsw_rss_mb"] + r["bm25_rss_mb"],
                r["peak_rss_mb"],
            ]
        )
    print()
    print(f"latency over {QUERIES} queries, ms, excluding query embedding and tokenisation")
    print(
        common.table(
            [
                "chunks",
                "flat p50",
                "flat p95",
                "HNSW efSearch",
                "HNSW recall@10",
                "HNSW p50",
                "HNSW p95",
                "HNSW build s",
                "BM25 p50",
                "BM25 p95",
                "BM25 build s",
                "exact+BM25 p95",
                "HNSW+BM25 p95",
            ],
            rows,
        )
    )
    if milvus_rows:
        print()
        print(f"Milvus (milvus-lite {_milvus_lite_version()}, FLAT + sparse inverted index, IP)")
        print(
            common.table(
                [
                    "chunks",
                    "insert rows/s",
                    "dense p50",
                    "dense p95",
                    "recall@10",
                    "p50 / FAISS",
                    "BM25 insert rows/s",
                    "BM25 p50",
                    "BM25 p95",
                    "BM25 recall@10 (ties)",
                    "same ids",
                    "p50 / bm25s",
                    "dense+BM25 p95",
                    "/ exact+BM25",
                    "disk MiB",
                ],
                milvus_rows,
            )
        )
    print()
    print("memory: index sizes as held (FAISS serialised; bm25s score arrays + ids)")
    print(
        common.table(
            [
                "chunks",
                "flat MiB",
                "flat B/chunk",
                "HNSW MiB",
                "HNSW B/chunk",
                "BM25 MiB",
                "BM25 B/chunk",
                "RSS growth MiB (all 3)",
                "child peak RSS MiB",
            ],
            memory,
        )
    )


if __name__ == "__main__":
    main()
