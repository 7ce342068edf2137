"""Fit the extractive answerer's sentence weights on KorQuAD 1.0 dev and report how well they do.

    .venv/bin/python bench/tune_answers.py [--limit N] [--workdir DIR] [--models-dir DIR]

For every question: retrieve with the default settings, take the answerer's candidate sentences
and their :data:`assistant.extractive.FEATURES`, and label each sentence by whether it contains a
gold answer (after ``normalize``). The weights are a conditional logit: a softmax over each
question's candidates, trained to put its mass on the gold-bearing sentences (L-BFGS, small L2).
Reported: 2-fold cross-validation split by article (first sentence right / any of the top 3),
the weights fitted on all questions (paste them into ``WEIGHTS``), the spread of the best
sentence's score (to set ``JARYO_NOT_FOUND_THRESHOLD``), and the current weights for comparison.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import common
import numpy as np
from scipy.optimize import minimize

Example = tuple[np.ndarray, np.ndarray, str]  # features, gold labels, article


def harvest(args: Any, items: list[Any], docs: Path) -> list[Example]:
    """Features and gold labels of every question's candidate sentences."""
    from assistant.build import build_assistant
    from assistant.evaluation import normalize
    from assistant.extractive import ExtractiveAnswerer
    from ingest.settings import Settings

    data_dir = Path(args.workdir) / "data-tune"
    common.link_models(data_dir, Path(args.models_dir))
    assistant = build_assistant(Settings(data_dir=data_dir))
    t0 = time.perf_counter()
    assistant.ingest([docs], sync=True)
    print(f"index ready in {time.perf_counter() - t0:.0f} s: {len(assistant.index)} chunks")
    answerer = assistant.answerers["extractive"]
    assert isinstance(answerer, ExtractiveAnswerer)
    found = [assistant.search(item.question) for item in items]
    cands = [answerer.candidates(hits) for hits in found]
    answerer.sentence_vectors(list({c.text: None for cs in cands for c in cs}))  # one batch
    out: list[Example] = []
    for item, hits, cs in zip(items, found, cands, strict=True):
        if not cs:
            continue
        golds = [normalize(a) for a in item.answers]
        labels = np.array([any(g in normalize(c.text) for g in golds) for c in cs])
        out.append((answerer.features(item.question, hits, cs), labels, item.source))
    return out


def _loss(w: np.ndarray, data: list[Example], l2: float = 1e-3) -> tuple[float, np.ndarray]:
    total, grad = 0.0, np.zeros_like(w)
    used = [(f, y) for f, y, _ in data if y.any()]
    for f, y in used:
        z = f @ w
        e = np.exp(z - z.max())
        p, q = e / e.sum(), e * y / (e * y).sum()
        total -= np.log((e * y).sum() / e.sum())
        grad -= f.T @ (q - p)
    n = max(len(used), 1)
    return total / n + l2 * w @ w, grad / n + 2 * l2 * w


def fit(data: list[Example], start: np.ndarray) -> np.ndarray:
    """Weights maximising the likelihood of the gold-bearing sentences."""
    return minimize(_loss, start, args=(data,), jac=True, method="L-BFGS-B").x


def accuracy(w: np.ndarray, data: list[Example]) -> tuple[float, float]:
    """Share of questions whose best sentence / any of the top three holds a gold answer."""
    first = top3 = 0
    for f, y, _ in data:
        order = np.argsort(-(f @ w))
        first += bool(y[order[0]])
        top3 += bool(y[order[:3]].any())
    n = max(len(data), 1)
    return first / n, top3 / n


def main() -> None:
    from assistant.extractive import FEATURES, WEIGHTS

    parser = common.base_parser(__doc__)
    parser.add_argument("--limit", type=int, help="first N questions (and only their articles)")
    args = parser.parse_args()
    work, models = common.start(args, "bench-tune-")
    args.workdir, args.models_dir = str(work), str(models)
    items = common.korquad(work / "docs", args.limit)
    data = harvest(args, items, work / "docs")
    articles = sorted({a for _, _, a in data})
    fold = {a: n % 2 for n, a in enumerate(articles)}
    start = WEIGHTS.astype(np.float64)
    cv = []
    for k in (0, 1):
        w = fit([d for d in data if fold[d[2]] != k], start)
        test = [d for d in data if fold[d[2]] == k]
        cv.append((*accuracy(w, test), len(test)))
    n = sum(c[2] for c in cv)
    weights = fit(data, start)
    print()
    print(f"KorQuAD 1.0 dev: {len(data)} questions, {len(articles)} articles")
    rows = [
        ["current WEIGHTS (all questions)", *accuracy(start, data)],
        [
            "refit, 2-fold CV by article",
            sum(c[0] * c[2] for c in cv) / n,
            sum(c[1] * c[2] for c in cv) / n,
        ],
        ["refit on all (in-sample)", *accuracy(weights, data)],
    ]
    print(common.table(["weights", "first sentence has gold", "top 3 have gold"], rows))
    print()
    print(common.table(list(FEATURES), [[f"{x:.3f}" for x in weights]]))
    best = np.array([(f @ start).max() for f, _, _ in data])
    print()
    print("best sentence score with the current WEIGHTS (answerable questions):")
    print(
        common.table(
            ["p1", "p2", "p5", "p10", "p50"],
            [[f"{np.percentile(best, q):.2f}" for q in (1, 2, 5, 10, 50)]],
        )
    )


if __name__ == "__main__":
    main()
