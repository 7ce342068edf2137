"""Ingestion throughput, peak RSS and KorQuAD quality per embedding backend.

    .venv/bin/python bench/ingest.py [--limit N] [--variants torch-fp32-b32,onnx-int8-b8]

Each variant ingests the converted KorQuAD dev documents into a fresh index in its own child
process (so peak RSS is its own), then scores hit@1 over the questions: dense alone (the purest
measure of the vectors) and hybrid (what users get). Questions are embedded in one batch.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import common

VARIANTS = ["torch-fp32-b32", "onnx-fp32-b32", "onnx-int8-b32"]  # also: onnx-int8-b8


def _parse_variant(name: str) -> tuple[str, str, int]:
    backend, precision, batch = name.split("-")
    return backend, precision, int(batch.lstrip("b"))


def child(args: argparse.Namespace) -> None:
    """Ingest and score one variant; write the figures as JSON."""
    import numpy as np

    from assistant.build import build_assistant
    from assistant.evaluation import RelevanceRule, first_relevant_rank
    from index.embedder import SentenceTransformerEmbedder, default_model_path, onnx_model_path
    from index.onnx_backend import OnnxEmbedder
    from ingest.settings import Settings

    backend, precision, batch = _parse_variant(args.child)
    work = Path(args.workdir)
    data_dir = work / f"data-{args.child}"
    shutil.rmtree(data_dir, ignore_errors=True)
    common.link_models(data_dir, Path(args.models_dir))
    settings = Settings(
        data_dir=data_dir,
        embed_backend="onnx-int8" if precision == "int8" else backend,
        embed_batch_size=batch,  # type: ignore[arg-type]
    )
    t0 = time.perf_counter()
    embedder: object
    if backend == "torch":
        embedder = SentenceTransformerEmbedder(
            default_model_path(settings), name="multilingual-e5-small", batch_size=batch
        )
    else:
        embedder = OnnxEmbedder(
            onnx_model_path(settings),
            name="multilingual-e5-small",
            precision=precision,  # type: ignore[arg-type]
            batch_size=batch,
        )
    load_s = time.perf_counter() - t0
    assistant = build_assistant(settings, embedder=embedder)  # type: ignore[arg-type]
    assistant.index.tokenizer.tokenize("워밍업")  # load Kiwi first: model loads are not ingest
    t0 = time.perf_counter()
    assistant.ingest([work / "docs"])
    build_s = time.perf_counter() - t0
    chunks = len(assistant.index)

    items = common.korquad(work / "docs", args.limit)
    t0 = time.perf_counter()
    qvecs = assistant.embedder.embed([it.question for it in items], kind="query")
    qembed_s = time.perf_counter() - t0
    hits = {"dense": 0, "hybrid": 0}
    for item, vec in zip(items, qvecs, strict=True):
        rule = RelevanceRule(item)
        for mode in hits:
            found = assistant.index.search(item.question, vec, k=10, mode=mode)  # type: ignore[arg-type]
            hits[mode] += first_relevant_rank((h.chunk for h in found), rule) == 1
    n = len(items)
    common.write_result(
        args.result,
        {
            "variant": args.child,
            "load_s": load_s,
            "build_s": build_s,
            "chunks": chunks,
            "chunks_per_s": chunks / build_s,
            "queries_per_s": n / qembed_s,
            "hit1_dense": hits["dense"] / n,
            "hit1_hybrid": hits["hybrid"] / n,
            "questions": n,
            "vec_norm_ok": bool(np.allclose(np.linalg.norm(qvecs, axis=1), 1, atol=1e-3)),
        },
    )
    assistant.index.close()


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--limit", type=int, help="only the articles of the first N questions")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    work, models = common.start(args, "bench-ingest-")
    common.ensure_models(models)
    items = common.korquad(work / "docs", args.limit)
    print(f"KorQuAD 1.0 dev: {len(items)} questions; work folder {work}", flush=True)
    rows = []
    base: dict[str, float] | None = None
    for variant in args.variants.split(","):
        extra = ["--limit", str(args.limit)] if args.limit else []
        r = common.run_child(
            Path(__file__),
            ["--child", variant, "--workdir", str(work), "--models-dir", str(models), *extra],
        )
        base = base or r
        rows.append(
            [
                variant,
                r["chunks"],
                r["build_s"],
                r["chunks_per_s"],
                f"{r['chunks_per_s'] / base['chunks_per_s']:.2f}×",
                r["queries_per_s"],
                r["peak_rss_mb"],
                r["load_s"],
                r["hit1_dense"],
                r["hit1_hybrid"],
                f"{r['hit1_dense'] - base['hit1_dense']:+.4f}",
                f"{r['hit1_hybrid'] - base['hit1_hybrid']:+.4f}",
            ]
        )
        print(f"  done {variant}: {r['chunks_per_s']:.2f} chunks/s", flush=True)
    print()
    print(
        common.table(
            [
                "backend",
                "chunks",
                "ingest s",
                "chunks/s",
                "vs first",
                "queries/s",
                "peak RSS MiB",
                "model load s",
                "hit@1 dense",
                "hit@1 hybrid",
                "Δ hit@1 dense",
                "Δ hit@1 hybrid",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
