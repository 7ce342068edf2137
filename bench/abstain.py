"""Answerability gate: refusals of unanswerable and of answerable questions, cross-validated.

KorQuAD 1.0 dev, k folds over its articles. Each fold takes its articles out of the search (the
search is scoped to the other articles, and the gate's IDF counts only theirs) and asks
``--per-fold`` of their questions — unanswerable now — and as many questions of the kept
articles (answerable). The gate's logistic regression is fitted on the other folds' rows and its
threshold set there (the highest that wrongly refuses at most ``--target`` of their answerable
questions), so every printed rate is out of fold. Then: the trade-off curve over the threshold,
the weights fitted on every fold (the ones to ship in ``assistant/gate.py``), and — with those
weights — the unanswerable lines of ``seed_qa.jsonl`` and ``realdocs_qa.jsonl``.

    python bench/abstain.py --models-dir data/models --workdir /tmp/abstain [--realdocs]

BM25's own IDF still counts the removed articles (the scope zeroes their scores only): a small
advantage for retrieval, none for the gate, whose statistics are the fold's.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from common import KORQUAD_DEV, ROOT, base_parser, start

from assistant import evaluation as ev
from assistant.build import build_assistant
from assistant.gate import (
    AGAINST,
    GATE_FEATURES,
    MODEL_PATH,
    AnswerabilityGate,
    GateModel,
    expand,
)
from index.embedder import share_models
from ingest.records import Scope
from ingest.settings import Settings

SHARED = ROOT.parent / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")


L2 = 10.0  # penalty on the slopes (out-of-fold refusals hardly move between 1 and 30)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weights (intercept last) by Newton's method with an L2 penalty on the slopes."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -50, 50)))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def probabilities(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P(answerable) of expanded feature rows."""
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w[:-1] + w[-1], -50, 50)))


def fit_monotone(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """:func:`fit_logistic` with every slope of the sign :data:`AGAINST` gives it (a feature
    pushing the wrong way is left out, and the rest refitted), so that no feature's move far
    beyond KorQuAD's range turns the verdict around."""
    sign = np.array([-1.0 if f in AGAINST else 1.0 for f in GATE_FEATURES])
    use = np.ones(x.shape[1], dtype=bool)
    while True:
        w = np.zeros(x.shape[1] + 1)
        w[np.r_[use, True]] = fit_logistic(x[:, use], y, l2)
        wrong = (w[:-1] * sign < 0) & use
        if not wrong.any():
            return w
        use[np.argmin(np.where(wrong, w[:-1] * sign, np.inf))] = False


def fit_gate(rows: np.ndarray, labels: np.ndarray, target: float, pairs: bool = False) -> GateModel:
    """The gate's model fitted on these rows, its threshold refusing ``target`` of their
    answerable questions: monotone in every feature, or with pairwise products (``pairs``)."""
    mean, scale = rows.mean(0), rows.std(0) + 1e-6
    x = expand((rows - mean) / scale, pairs)
    w = fit_logistic(x, labels, L2) if pairs else fit_monotone(x, labels, L2)
    thr = threshold_for(probabilities(x[labels == 1], w), target)
    return GateModel(mean, scale, w, thr, pairs)


def gate_probabilities(model: GateModel, rows: np.ndarray) -> np.ndarray:
    """P(answerable) of raw feature rows under ``model``."""
    return probabilities(expand((rows - model.mean) / model.scale, model.pairs), model.weights)


def threshold_for(p_answerable: np.ndarray, target: float) -> float:
    """The highest threshold that refuses at most ``target`` of these answerable questions."""
    return float(np.quantile(p_answerable, target))


def korquad_rows(args: Any, work: Path, models: Path) -> dict[str, np.ndarray]:
    """Feature rows of every fold's questions (cached in the work folder)."""
    cache = work / f"rows-{args.folds}-{args.per_fold}-{args.seed}.npz"
    if cache.exists() and not args.fresh:
        print(f"reusing {cache}", flush=True)
        return dict(np.load(cache))
    items = ev.squad_to_documents(KORQUAD_DEV, work / "korquad")
    share_models(work / "data", models)
    assistant = build_assistant(Settings(data_dir=work / "data"))
    report = assistant.ingest([work / "korquad"], sync=True)
    print(f"KorQuAD dev: {len(report.outcomes)} articles, {len(assistant.index)} chunks")
    by_source = {d.source.rsplit("/", 1)[-1]: d.doc_id for d in assistant.documents()}
    doc_tokens = {doc: Counter() for doc in by_source.values()}
    chunk_doc = {cid: doc for doc in doc_tokens for cid in assistant.index.store.chunk_ids_of(doc)}
    chunk_count = Counter(chunk_doc.values())
    for cid, tokens in assistant.index.store.iter_tokens():
        doc_tokens[chunk_doc[cid]].update(set(tokens))

    rng = random.Random(args.seed)
    articles = sorted(by_source)
    rng.shuffle(articles)
    folds = [articles[f :: args.folds] for f in range(args.folds)]
    questions: dict[str, list[ev.EvalItem]] = {}
    for item in items:
        questions.setdefault(item.source or "", []).append(item)
    answerer = assistant.answerers["extractive"]
    rows, labels, fold_of, contains, refused, asked_text = [], [], [], [], [], []
    for f, removed in enumerate(folds):
        kept = [a for a in articles if a not in set(removed)]
        df: Counter[str] = Counter()
        for a in kept:
            df.update(doc_tokens[by_source[a]])
        n = sum(chunk_count[by_source[a]] for a in kept)

        def stats(tokens: list[str], df: Counter[str] = df, n: int = n) -> Any:
            return n, {t: df.get(t, 0) for t in tokens}

        gate = AnswerabilityGate(answerer, stats)
        scope = Scope(documents=tuple(by_source[a] for a in kept))
        gone = [q for a in removed for q in questions[a]]
        here = [q for a in kept for q in questions[a]]
        asked = [(q, 0) for q in rng.sample(gone, min(args.per_fold, len(gone)))]
        asked += [(q, 1) for q in rng.sample(here, len(asked))]
        for q, label in asked:
            hits = assistant.search(q.question, scope=scope)
            row, _ = gate.features(q.question, hits)
            answer = answerer.answer(q.question, hits)
            rows.append(row)
            asked_text.append(f"{q.question} → {answer.text[:80]}")
            labels.append(label)
            fold_of.append(f)
            refused.append(not answer.found)
            text = ev.normalize(answer.text)
            contains.append(answer.found and any(ev.normalize(g) in text for g in q.answers))
        print(f"fold {f + 1}/{args.folds}: {len(asked)} questions", flush=True)
    out = {
        "rows": np.array(rows),
        "labels": np.array(labels),
        "folds": np.array(fold_of),
        "refused": np.array(refused),
        "contains": np.array(contains),
        "questions": np.array(asked_text),
    }
    np.savez(cache, **out)
    return out


def rates(refuse: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(share of unanswerable refused, share of answerable refused)."""
    return float(refuse[labels == 0].mean()), float(refuse[labels == 1].mean())


def cross_validate(data: dict[str, np.ndarray], target: float, pairs: bool) -> dict[str, Any]:
    """Out-of-fold probabilities and refusals (threshold chosen on the training folds)."""
    x, y, folds = data["rows"], data["labels"], data["folds"]
    p = np.zeros(len(y))
    refuse = np.zeros(len(y), dtype=bool)
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        model = fit_gate(x[train], y[train], target, pairs)
        p[test] = gate_probabilities(model, x[test])
        refuse[test] = (p[test] < model.threshold) | data["refused"][test]
    return {"p": p, "refuse": refuse}


def unanswerable_lines(
    name: str, qa: Path, docs: Path, work: Path, models: Path, model: GateModel
) -> None:
    """Ask a set's unanswerable questions with the fitted gate; print what was refused."""
    items = [i for i in ev.load_jsonl(qa) if not i.answerable]
    share_models(work / name, models)
    assistant = build_assistant(Settings(data_dir=work / name))
    assistant.ingest([docs], sync=True)
    assert assistant.gate is not None
    assistant.gate = AnswerabilityGate(
        assistant.gate.scorer, assistant.gate.statistics, model=model
    )
    refused = 0
    for item in items:
        answer = assistant.ask(item.question)
        refused += int(not answer.found)
        mark = "refused" if not answer.found else "ANSWERED"
        print(f"  {mark}: {item.question}")
    print(f"{name}: unanswerable refused {refused}/{len(items)}")


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--per-fold", type=int, default=150, help="unanswerable per fold")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--target", type=float, default=0.02, help="answerable refused, train")
    parser.add_argument("--fresh", action="store_true", help="recompute the cached rows")
    parser.add_argument("--write", action="store_true", help="ship the fitted model")
    parser.add_argument("--show", type=int, default=0, help="print N errors of each kind")
    parser.add_argument("--realdocs", action="store_true", help="also realdocs_qa.jsonl")
    parser.add_argument("--pairs", action="store_true", help="pairwise products, not monotone")
    args = parser.parse_args()
    work, models = start(args, "jaryo-abstain-")
    data = korquad_rows(args, work, models)
    # KorQuAD's articles overlap (two on 전두환, several on 갤럭시): a removed article's question
    # that a kept article answers — its gold answer in the composed answer — is not unanswerable
    elsewhere = (data["labels"] == 0) & data["contains"]
    print(f"{int(elsewhere.sum())} removed-article questions answered with gold by kept articles")
    data = {k: v[~elsewhere] for k, v in data.items()}
    y = data["labels"]
    before_u, before_a = rates(data["refused"], y)
    print(f"\n{len(y)} questions ({int((y == 0).sum())} unanswerable), {args.folds} folds")
    print(f"without the gate: unanswerable refused {before_u:.1%}, answerable {before_a:.1%}")
    cv = cross_validate(data, args.target, args.pairs)
    u, a = rates(cv["refuse"], y)
    kept = (~cv["refuse"]) & (y == 1)
    print(
        f"with the gate (out of fold, threshold from the training folds at {args.target:.0%}): "
        f"unanswerable refused {u:.1%}, answerable refused {a:.1%}; answerable answered "
        f"with gold {float((data['contains'] & kept)[y == 1].mean()):.3f} "
        f"(without the gate {float(data['contains'][y == 1].mean()):.3f})"
    )
    print("\ntrade-off (out-of-fold P):\n  P <   unanswerable refused   answerable refused")
    for thr in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        r = (cv["p"] < thr) | data["refused"]
        u, a = rates(r, y)
        print(f"  {thr:.1f}   {u:>22.1%}   {a:>18.1%}")
    if args.show:
        order = np.argsort(cv["p"])
        wrong_a = [i for i in order if y[i] == 1 and cv["refuse"][i]][: args.show]
        wrong_u = [i for i in order[::-1] if y[i] == 0 and not cv["refuse"][i]][: args.show]
        print("\nanswerable, refused (lowest P first):")
        for i in wrong_a:
            print(f"  P={cv['p'][i]:.2f} {data['questions'][i]}")
        print("unanswerable, answered (highest P first):")
        for i in wrong_u:
            print(f"  P={cv['p'][i]:.2f} {data['questions'][i]}")
    model = fit_gate(data["rows"], y, args.target, args.pairs)
    slopes = dict(zip(GATE_FEATURES, model.weights, strict=False))
    print(
        "\nfitted on every fold; linear weights: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in slopes.items())
    )
    print(f"threshold at {args.target:.0%} answerable refused: {model.threshold:.3f}")
    model.save(work / "gate_model.json")
    if args.write:
        model.save(MODEL_PATH)
        print(f"wrote {MODEL_PATH.relative_to(ROOT)}")
    print("\nunanswerable lines with this model:")
    unanswerable_lines(
        "seed", SHARED / "evaldata" / "seed_qa.jsonl", ROOT / "corpus", work, models, model
    )
    if args.realdocs:
        unanswerable_lines(
            "realdocs",
            SHARED / "evaldata" / "realdocs_qa.jsonl",
            SHARED / "realdocs",
            work,
            models,
            model,
        )


if __name__ == "__main__":
    main()
