"""Hybrid fusion across corpora: fixed and query-adaptive weights, RRF, min-max, dense rerank.

Builds (or reuses) the evaluation index of KorQuAD 1.0 dev, ``seed_qa.jsonl`` over the shipped
corpus and ``realdocs_qa.jsonl`` over ``shared/realdocs`` — the layout of ``jaryo eval
--workdir``, one folder per set under ``--workdir`` — and keeps every answerable question's
candidate pool (the top 50 of each retriever, with both scores and the relevance rule's verdict)
in ``pools-<set>.json``. Each fusion is then replayed on the pools, so a method costs seconds.

The adaptive dense weight ``sigmoid(a + b · coverage + c · ln(1 + tokens))`` (see
:mod:`index.fusion`) is fitted on KorQuAD by a listwise loss (softmax over the pool, the relevant
chunks as targets): its KorQuAD figure is out of fold (5 folds by article); seed and realdocs
take no part in the fit. The printed ``ADAPTIVE`` is the fit on all of KorQuAD.

    python bench/fusion.py --models-dir data/models --workdir /tmp/fusion
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import KORQUAD_DEV, ROOT, base_parser, start
from scipy.optimize import minimize

from assistant import evaluation as ev
from assistant.build import build_assistant
from index.embedder import share_models
from index.fusion import ADAPTIVE, adaptive_weight, coverage, idf
from ingest.settings import Settings

SHARED = ROOT.parent / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")
POOL = 50
TAU = 3.0  # softmax temperature of the listwise loss (fused scores are z-scaled)
L2 = 1.0

Pool = dict[str, Any]


def build_pools(name: str, work: Path, models: Path, fresh: bool) -> list[Pool]:
    """Every answerable question's candidate pool in the set's index (cached as JSON)."""
    cache = work / f"pools-{name}.json"
    if cache.exists() and not fresh:
        print(f"{name}: reusing {cache}", flush=True)
        return [_arrays(p) for p in json.loads(cache.read_text(encoding="utf-8"))]
    folder = work / name
    if name == "korquad":
        items = ev.squad_to_documents(KORQUAD_DEV, folder / "docs")
        docs = folder / "docs"
    elif name == "seed":
        items, docs = ev.load_jsonl(SHARED / "evaldata" / "seed_qa.jsonl"), ROOT / "corpus"
    else:
        items = ev.load_jsonl(SHARED / "evaldata" / "realdocs_qa.jsonl")
        docs = SHARED / "realdocs"
    share_models(folder / "data", models)
    assistant = build_assistant(Settings(data_dir=folder / "data"))
    assistant.ingest([docs], sync=True)
    index = assistant.index
    index.refresh()
    vectors, keywords = index._vectors, index._keywords
    asked = [it for it in items if it.answerable]
    qvecs = assistant.embedder.embed([it.question for it in asked], kind="query")
    pools = []
    for it, vec in zip(asked, qvecs, strict=True):
        rule = ev.RelevanceRule(it)
        d_ids, d_scores = vectors.search(vec, POOL, None)
        tokens = index.tokenizer.tokenize(it.question)
        all_kw = keywords.scores(tokens)
        top = np.argsort(-all_kw, kind="stable")[:POOL]
        top = top[all_kw[top] > 0]
        k_ids, k_scores = keywords.ids[top], all_kw[top]
        cand = np.unique(np.concatenate([d_ids, k_ids]))
        chunks = index.store.chunks(int(c) for c in cand)
        dfs = keywords.document_frequencies(tokens)
        pools.append(
            {
                "source": it.source,
                "tokens": len(tokens),
                "idf_sum": sum(idf(len(keywords), dfs[t]) for t in tokens),
                "cand": cand.tolist(),
                "dense": vectors.scores_for(vec, cand).tolist(),
                "kw": all_kw[[keywords._row[int(c)] for c in cand]].tolist(),
                "rel": [rule(chunks[int(c)].text, chunks[int(c)].source) for c in cand],
                "d_ids": d_ids.tolist(),
                "d_scores": d_scores.tolist(),
                "k_ids": k_ids.tolist(),
                "k_scores": k_scores.tolist(),
            }
        )
    cache.write_text(json.dumps(pools, ensure_ascii=False), encoding="utf-8")
    print(f"{name}: {len(pools)} answerable questions, {len(index)} chunks", flush=True)
    return [_arrays(p) for p in pools]


def _arrays(p: Pool) -> Pool:
    out = {k: np.asarray(v) if isinstance(v, list) else v for k, v in p.items()}
    out["rel"] = out["rel"].astype(bool)
    return out


def z(values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Standardised by the mean and deviation of ``ref`` (one retriever's own top list)."""
    if not len(ref):
        return np.zeros(len(values))
    std = float(ref.std())
    return (values - float(ref.mean())) / (std if std > 1e-9 else 1.0)


def minmax(values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1] by ``ref``'s range."""
    if not len(ref):
        return np.zeros(len(values))
    lo, hi = float(ref.min()), float(ref.max())
    return (values - lo) / (hi - lo if hi - lo > 1e-9 else 1.0)


def query_coverage(p: Pool) -> float:
    """The coverage of :func:`index.fusion.coverage` for a pool."""
    return coverage(float(p["k_scores"][0]) if len(p["k_scores"]) else 0.0, p["idf_sum"])


Fusion = Callable[[Pool], np.ndarray]


def convex(weight: Callable[[Pool], float], norm: Callable[..., np.ndarray] = z) -> Fusion:
    """w · dense + (1 − w) · BM25, each normalised by its own top list."""

    def fused(p: Pool) -> np.ndarray:
        w = weight(p)
        return w * norm(p["dense"], p["d_scores"]) + (1 - w) * norm(p["kw"], p["k_scores"])

    return fused


def rrf(k: int) -> Fusion:
    """Reciprocal rank fusion: the sum of 1 / (k + rank) over the two top lists."""

    def fused(p: Pool) -> np.ndarray:
        pos = {int(c): i for i, c in enumerate(p["cand"])}
        out = np.zeros(len(p["cand"]))
        for ids in (p["d_ids"], p["k_ids"]):
            for rank, c in enumerate(ids, 1):
                out[pos[int(c)]] += 1.0 / (k + rank)
        return out

    return fused


def dense_rerank(p: Pool) -> np.ndarray:
    """BM25's top 50 ordered by the dense score (the others last)."""
    in_kw = np.isin(p["cand"], p["k_ids"])
    return np.where(in_kw, p["dense"], -np.inf)


def score(pools: list[Pool], fused: Fusion) -> tuple[float, float]:
    """hit@1 and MRR@10 of a fusion over the pools."""
    hit1 = rr = 0.0
    for p in pools:
        order = np.argsort(-fused(p), kind="stable")[:10]
        rel = p["rel"][order]
        if rel.any():
            rank = int(np.argmax(rel)) + 1
            hit1 += rank == 1
            rr += 1.0 / rank
    n = max(len(pools), 1)
    return hit1 / n, rr / n


def _phi(p: Pool) -> np.ndarray:
    return np.array([1.0, query_coverage(p), math.log1p(p["tokens"])])


def fit_adaptive(pools: list[Pool]) -> tuple[float, float, float]:
    """(a, b, c) of the adaptive weight minimising the listwise loss over ``pools``."""
    data = [
        (_phi(p), z(p["dense"], p["d_scores"]), z(p["kw"], p["k_scores"]), p["rel"])
        for p in pools
        if p["rel"].any()
    ]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros(3)
        for x, zd, zk, rel in data:
            w = 1.0 / (1.0 + math.exp(-float(x @ theta)))
            f = TAU * (w * zd + (1 - w) * zk)
            e = np.exp(f - f.max())
            prob = e / e.sum()
            target = float(prob[rel].sum())
            total -= math.log(target + 1e-300)
            d_f = prob - np.where(rel, prob / target, 0.0)
            grad += float(d_f @ (TAU * (zd - zk))) * w * (1 - w) * x
        total += L2 * float(theta[1:] @ theta[1:])
        grad[1:] += 2 * L2 * theta[1:]
        return total, grad

    res = minimize(loss, np.array(ADAPTIVE), jac=True, method="L-BFGS-B")
    a, b, c = (float(v) for v in res.x)
    return a, b, c


def adaptive(params: tuple[float, float, float]) -> Fusion:
    """The adaptive weight with these parameters."""
    return convex(lambda p: adaptive_weight(query_coverage(p), int(p["tokens"]), params))


def cross_validated(pools: list[Pool], folds: int) -> tuple[float, float]:
    """hit@1 and MRR@10 of the adaptive weight, each fold scored by the fit on the others."""
    articles = sorted({p["source"] for p in pools})
    fold_of = {a: i % folds for i, a in enumerate(articles)}
    hit1 = rr = 0.0
    for f in range(folds):
        train = [p for p in pools if fold_of[p["source"]] != f]
        test = [p for p in pools if fold_of[p["source"]] == f]
        h, m = score(test, adaptive(fit_adaptive(train)))
        hit1 += h * len(test)
        rr += m * len(test)
    return hit1 / len(pools), rr / len(pools)


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="recompute the cached pools")
    args = parser.parse_args()
    work, models = start(args, "fusion-")
    sets = {name: build_pools(name, work, models, args.fresh) for name in SETS}
    fitted = fit_adaptive(sets["korquad"])
    methods: list[tuple[str, Fusion]] = [
        ("BM25 alone", lambda p: p["kw"]),
        ("dense alone", lambda p: p["dense"]),
        *[(f"z-score, dense {w}", convex(lambda p, w=w: w)) for w in (0.3, 0.4, 0.5, 0.6)],
        ("min-max, dense 0.4", convex(lambda p: 0.4, minmax)),
        *[(f"RRF k={k}", rrf(k)) for k in (10, 60)],
        ("dense rerank of BM25 top 50", dense_rerank),
        ("z-score, adaptive (shipped)", adaptive(ADAPTIVE)),
        ("z-score, adaptive (refitted)", adaptive(fitted)),
    ]
    head = "".join(f"{name + ' hit@1/MRR@10':>26}" for name in sets)
    print(f"{'fusion':<30}{head}")
    for label, fused in methods:
        cells = "".join(
            f"{'{:.3f} / {:.3f}'.format(*score(pools, fused)):>26}" for pools in sets.values()
        )
        print(f"{label:<30}{cells}")
    h, m = cross_validated(sets["korquad"], args.folds)
    print(f"adaptive, KorQuAD out of fold ({args.folds} folds by article): {h:.4f} / {m:.4f}")
    print(f"ADAPTIVE = ({fitted[0]:.3f}, {fitted[1]:.3f}, {fitted[2]:.3f})  # shipped {ADAPTIVE}")


SETS = ("korquad", "seed", "realdocs")

if __name__ == "__main__":
    main()
