"""The answerability gate: do the retrieved passages answer the question at all?

Both answerers go through it (see :mod:`assistant.service`): when it says no, the reader gets
"not in the documents" with the closest passages, and no LLM call is spent. It weighs evidence
that a cited wrong answer lacks: how much of the question's content — IDF-weighted over the whole
index, so a rare word counts more than a common one — the best passage and the best sentence's
neighbourhood hold, the rarest question word no passage holds, the question's names and numbers
no passage holds, the best sentence's score and raw e5 similarity, whether it holds the
asked-for kind of answer (a number, a name, a date), and how much of the question the passages
hold next to a value of the asked-for kind (a date for "등록일은?", an amount for "낙찰금액은?").

The model is a logistic regression over the standardised features, monotone in each (every
slope has the sign :data:`AGAINST` gives it, so a feature far outside KorQuAD's range — real
documents' cosines, paraphrased questions — never turns the verdict round), fitted by
``bench/abstain.py`` on KorQuAD 1.0 dev, whose figures are out of fold (5 folds by article; each
fold's articles taken out of the search, their questions unanswerable). ``gate_model.json``
holds the fitted numbers (a model with pairwise products, ``--pairs``, also loads).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from assistant.asked import asked_kinds, held
from assistant.extractive import (
    _NOT_FOCUS,
    FEATURES,
    Candidate,
    ExtractiveAnswerer,
    answer_type,
)
from ingest.reader import passage_text
from ingest.records import Hit

logger = logging.getLogger(__name__)

# (chunks in the index, chunks holding each token) for a list of tokens
Statistics = Callable[[list[str]], tuple[int, dict[str, int]]]

GATE_FEATURES = (
    "best_sentence",  # the extractive answerer's best sentence score
    "best_cosine",  # raw e5 similarity of the question and its most similar sentence
    "coverage_top",  # IDF-weighted share of the question's morphemes in the best passage
    "coverage_all",  # the same over the top passages together
    "coverage_window",  # the same over the best sentence and its neighbours
    "missing_rare",  # IDF of the rarest question morpheme no top passage holds (0–1)
    "missing_anchors",  # share of the question's names and numbers no top passage holds
    "focus_window",  # the question's last content morpheme is near the best sentence
    "typed",  # the best sentence holds the asked-for kind of answer (1 when none is asked)
    "passage_cosine",  # raw e5 similarity of the question and the best passage
    "unknown",  # IDF-weighted share of the question's morphemes the index never saw
    "rare_in_best",  # share of the question's three rarest morphemes in the best sentence's passage
    "coverage_best",  # IDF-weighted share of the question's morphemes in that passage
    "asked_cover",  # the most of the question's content a window holding the asked-for value holds
)
# Features whose larger values speak against an answer (the monotone fit keeps these slopes
# negative and every other one positive)
AGAINST = frozenset({"missing_rare", "missing_anchors", "unknown"})
MODEL_PATH = Path(__file__).with_name("gate_model.json")  # written by bench/abstain.py --write

# Words that name what is asked for or where it stands in the document, not what it is about:
# "캐글을 창업한 사람은?" holds no "사람" in its answer, "sample-5017의 각주 내용은?" no "각주".
# They are not content the passages must cover (a small corpus would make them look rare).
NOT_CONTENT = frozenset(
    {"사람", "인물", "곳", "장소", "때", "시기", "시점", "이유", "방법", "명칭", "내용", "값"}
    | {"문서", "자료", "파일", "서식", "양식", "예제", "예시", "기사", "보고서", "표", "칸", "열"}
    | {"행", "쪽", "면", "머리말", "머리글", "꼬리말", "바닥글", "각주", "미주", "스캔", "첫"}
    | {"번째", "번", "두", "문구", "상단", "하단", "부분", "마지막", "따르", "적히", "쓰이", "표기"}
    | {"무엇", "누구", "어디", "언제", "얼마", "무슨", "어떤", "어느", "몇", "모두", "명", "개"}
)

_TYPED = [FEATURES.index(f) for f in ("number_typed", "entity_typed", "date_typed")]


@dataclass(frozen=True)
class GateModel:
    """A logistic regression over standardised features (and, when ``pairs``, their pairwise
    products)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # one per expanded feature, intercept last
    threshold: float  # P(answerable) below which the gate refuses
    pairs: bool = False

    def probability(self, row: np.ndarray) -> float:
        """P(answerable) of one feature row."""
        x = expand(((row - self.mean) / self.scale)[None, :], self.pairs)[0]
        z = float(x @ self.weights[:-1] + self.weights[-1])
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def save(self, path: Path) -> None:
        """Write as JSON (the fitted numbers only)."""
        data = {
            "features": list(GATE_FEATURES),
            "pairs": self.pairs,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "threshold": self.threshold,
        }
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> GateModel:
        """Read a model written by :meth:`save` for these :data:`GATE_FEATURES`."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["features"] != list(GATE_FEATURES):
            raise ValueError(f"{path} was fitted for other features: run bench/abstain.py --write")
        return cls(
            np.array(data["mean"]),
            np.array(data["scale"]),
            np.array(data["weights"]),
            float(data["threshold"]),
            bool(data.get("pairs", True)),
        )


@cache
def default_model() -> GateModel:
    """The model shipped beside this module."""
    return GateModel.load(MODEL_PATH)


def expand(z: np.ndarray, pairs: bool = False) -> np.ndarray:
    """Standardised features (clipped to ±5), and when ``pairs`` their pairwise products, row by
    row."""
    z = np.clip(z, -5.0, 5.0)
    if not pairs:
        return z
    i, j = np.triu_indices(z.shape[1])
    return np.hstack([z, z[:, i] * z[:, j]])


@dataclass(frozen=True)
class Verdict:
    """The gate's decision with the evidence behind it (logged, and shown in --json output)."""

    answerable: bool
    probability: float
    features: dict[str, float]
    missing: tuple[str, ...] = ()  # question words no retrieved passage holds


class AnswerabilityGate:
    """Decides from the retrieved passages whether the documents answer the question."""

    def __init__(
        self,
        scorer: ExtractiveAnswerer,
        statistics: Statistics,
        *,
        model: GateModel | None = None,
        threshold: float | None = None,
    ) -> None:
        self.scorer = scorer
        self.statistics = statistics
        self._model = model
        self._threshold = threshold

    @property
    def model(self) -> GateModel:
        """The fitted model (the shipped one unless another was given), read on first use."""
        if self._model is None:
            self._model = default_model()
        return self._model

    @property
    def threshold(self) -> float:
        """P(answerable) below which the gate refuses."""
        return self.model.threshold if self._threshold is None else self._threshold

    def features(self, question: str, hits: list[Hit]) -> tuple[np.ndarray, tuple[str, ...]]:
        """One row of :data:`GATE_FEATURES`, and the question words no passage holds."""
        hits = hits[: self.scorer.max_passages]
        a = self.scorer.analyse(question, hits)
        if not len(a.scores):
            return np.zeros(len(GATE_FEATURES)), ()
        tokenize = self.scorer._tokens
        q_seq = [t for t in self.scorer.tokenizer.tokenize(question) if t not in NOT_CONTENT]
        q_toks = list(dict.fromkeys(q_seq))
        n, df = self.statistics(q_toks)
        idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in q_toks}
        top_idf = math.log(1 + (n + 0.5) / 0.5)
        total = sum(idf.values()) or 1.0

        sent_toks = [tokenize(c.text) for c in a.candidates]
        passages: list[set[str]] = [set(tokenize(_heading(h))) for h in hits]
        for c, toks in zip(a.candidates, sent_toks, strict=True):
            passages[c.source] |= toks
        best = int(np.argmax(a.scores))
        b = a.candidates[best]
        window = set(sent_toks[best])
        for j in (best - 1, best + 1):
            if 0 <= j < len(a.candidates) and a.candidates[j].source == b.source:
                window |= sent_toks[j]
        every = set().union(*passages)

        def coverage(toks: set[str]) -> float:
            return sum(idf[t] for t in q_toks if t in toks) / total

        focus = [t for t in q_seq if t not in _NOT_FOCUS]
        absent = [t for t in q_toks if t not in every]
        anchors = self.scorer.tokenizer.anchors(question)
        missing = self.scorer.missing_anchors(question, hits) if anchors else []
        rare = sorted(q_toks, key=lambda t: -idf[t])[:3]
        typed = 1.0 if answer_type(question) is None else float(a.features[best, _TYPED].max())
        row = [
            float(a.scores[best]),
            float(a.cosines.max()),
            coverage(passages[0]),
            coverage(every),
            coverage(window),
            max((idf[t] for t in absent), default=0.0) / top_idf,
            len(missing) / len(anchors) if anchors else 0.0,
            float(bool(focus) and focus[-1] in window),
            typed,
            self._passage_cosine(question, hits),
            sum(idf[t] for t in q_toks if not df.get(t, 0)) / total,
            sum(t in passages[b.source] for t in rare) / len(rare) if rare else 0.0,
            coverage(passages[b.source]),
            self._asked(question, a.candidates, sent_toks, coverage),
        ]
        return np.array(row), tuple(dict.fromkeys([*missing, *absent]))

    def _asked(
        self,
        question: str,
        cands: list[Candidate],
        sent_toks: list[frozenset[str]],
        coverage: Callable[[set[str]], float],
    ) -> float:
        """How much of the question's content the passages hold next to a value of the asked-for
        kind (:func:`assistant.asked.asked_kinds`: a date, an amount, a count, a rate, a name).

        Over every window (a sentence and its neighbours in its passage): the IDF-weighted share
        of the question's morphemes it holds, times the share of the asked-for kinds it holds a
        value of. "입찰에서 낙찰된 업체명과 낙찰금액은?" over a tender notice that names no
        winner scores the notice's amounts by the few question words around them. A question
        asking for none of these kinds scores every window by its coverage alone."""
        kinds = asked_kinds(question)
        q_names = set(self.scorer.tokenizer.anchors(question)) if "name" in kinds else set()
        best = 0.0
        for i, c in enumerate(cands):
            near = [j for j in (i - 1, i, i + 1) if 0 <= j < len(cands)]
            near = [j for j in near if cands[j].source == c.source]
            share = 1.0
            if kinds:
                text = " ".join(cands[j].text for j in near)
                names = any(self.scorer._anchors(cands[j].text) - q_names for j in near)
                share = len(held(kinds, question, text, names)) / len(kinds)
            if share:
                best = max(best, share * coverage(set().union(*(sent_toks[j] for j in near))))
        return best

    def _passage_cosine(self, question: str, hits: list[Hit]) -> float:
        """The best raw e5 similarity of the question to a passage (from the search when it
        was dense or hybrid, else embedded here)."""
        scores = [h.dense for h in hits if h.dense is not None]
        if len(scores) == len(hits):
            return float(max(scores))
        q = self.scorer.embedder.embed([question], kind="query")[0]
        return float((self.scorer.sentence_vectors([h.chunk.text for h in hits]) @ q).max())

    def judge(self, question: str, hits: list[Hit]) -> Verdict:
        """Whether ``hits`` answer ``question``."""
        if not hits:
            return Verdict(False, 0.0, {})
        row, missing = self.features(question, hits)
        p = self.model.probability(row)
        verdict = Verdict(
            p >= self.threshold,
            p,
            {name: round(float(v), 4) for name, v in zip(GATE_FEATURES, row, strict=True)},
            missing,
        )
        if not verdict.answerable:
            logger.info("not answerable: P=%.3f %s missing %s", p, verdict.features, missing)
        return verdict


def _heading(hit: Hit) -> str:
    """What the search saw of a passage besides its text: title, file name, table header, OCR
    mark (a question may name the document by any of them)."""
    c = hit.chunk
    source = c.source.replace(".", " ")  # "A_form.hwpx" is read as A, form, hwpx
    return passage_text(c.title, "", c.context, source=source, scanned=c.ocr)


__all__ = ["AGAINST", "GATE_FEATURES", "AnswerabilityGate", "GateModel", "Verdict", "expand"]
