"""The default answerer: picks the retrieved sentences that best answer the question (no LLM)."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from assistant.answers import NOT_FOUND, NOT_FOUND_HINT, Answer, Source
from index.embedder import Embedder
from index.morph import MorphTokenizer
from ingest.records import Hit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a retrieved chunk with its offsets in the chunk text and its score."""

    source: int  # index into hits
    start: int
    end: int
    text: str
    score: float


class ExtractiveAnswerer:
    """Scores sentences by embedding similarity, morpheme overlap and passage rank."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        tokenizer: MorphTokenizer,
        *,
        max_sentences: int = 3,
        threshold: float = 0.60,
        semantic_weight: float = 0.7,
        rank_decay: float = 0.0,
        margin: float = 1.0,
        type_bonus: float = 0.1,
        max_passages: int = 5,
    ) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.max_sentences = max_sentences
        self.threshold = threshold
        self.semantic_weight = semantic_weight
        self.rank_decay = rank_decay
        self.margin = margin
        self.type_bonus = type_bonus
        self.cache_size = 20_000
        self._cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()
        self.max_passages = max_passages

    def score_sentences(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """Every sentence of the top passages, best first.

        score = semantic_weight x cosine(question, sentence)
              + (1 - semantic_weight) x IDF-weighted share of the question's morphemes found in
                the sentence (IDF over the candidate sentences, so rare words count most)
              + type_bonus if the question asks for a number/date (얼마, 몇, 언제 …) and the
                sentence holds a number the question does not, or asks for a name (누구, 어디,
                이름 …) and the sentence holds a proper noun the question does not
              - rank_decay x passage rank
        """
        cands: list[tuple[int, int, int, str]] = []
        for h, hit in enumerate(hits[: self.max_passages]):
            text = hit.chunk.text
            for line_start, line in _lines(text):
                for s, e in self.tokenizer.split_sentences(line) or [(0, len(line))]:
                    sent = line[s:e].strip()
                    if len(sent) >= 2:
                        off = line_start + line.index(sent, s)
                        cands.append((h, off, off + len(sent), sent))
        if not cands:
            return []
        q_vec = self.embedder.embed([question], kind="query")[0]
        s_vecs = self._sentence_vectors([c[3] for c in cands])
        cos = s_vecs @ q_vec
        q_toks = set(self.tokenizer.tokenize(question))
        s_toks = [set(self.tokenizer.tokenize(c[3])) for c in cands]
        df: dict[str, int] = {}
        for toks in s_toks:
            for t in toks & q_toks:
                df[t] = df.get(t, 0) + 1
        n = len(cands)
        idf = {t: math.log(1 + (n + 1) / (df.get(t, 0) + 0.5)) for t in q_toks}
        total = sum(idf.values()) or 1.0
        wants = answer_type(question)
        q_digits = set(_DIGITS.findall(question))
        q_anchors = set(self.tokenizer.anchors(question)) if wants == "entity" else set()
        out = []
        for (h, s, e, sent), c, toks in zip(cands, cos, s_toks, strict=True):
            overlap = sum(idf[t] for t in q_toks & toks) / total
            typed = (wants == "number" and bool(set(_DIGITS.findall(sent)) - q_digits)) or (
                wants == "entity" and bool(set(self.tokenizer.anchors(sent)) - q_anchors)
            )
            score = (
                self.semantic_weight * float(c)
                + (1 - self.semantic_weight) * overlap
                + self.type_bonus * typed
                - self.rank_decay * h
            )
            out.append(ScoredSentence(h, s, e, sent, score))
        out.sort(key=lambda x: -x.score)
        return out

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Embed sentences, reusing vectors of sentences seen in recent questions."""
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        todo = [t for t in dict.fromkeys(texts) if t not in found]
        if todo:
            fresh = dict(zip(todo, self.embedder.embed(todo, kind="passage"), strict=True))
            found.update(fresh)
            with self._cache_lock:
                if len(self._cache) + len(fresh) > self.cache_size:
                    self._cache.clear()
                self._cache.update(fresh)
        return np.stack([found[t] for t in texts])

    def missing_anchors(self, question: str, hits: list[Hit]) -> list[str]:
        """Names, foreign words and numbers of the question that no retrieved passage contains.

        Such words cannot be paraphrased away, so when half or more of them are absent the
        documents do not hold the answer ("애플의 2023년 매출" over a corpus that never mentions
        2023). Spaces are ignored, one word of a multi-word name suffices, and a trailing particle
        Kiwi left on a name is tolerated.
        """
        text = " ".join(f"{h.chunk.title} {h.chunk.text}" for h in hits).lower()
        compact = text.replace(" ", "")
        missing = []
        for anchor in self.tokenizer.anchors(question):
            keys = [anchor.replace(" ", ""), *(w for w in anchor.split() if len(w) >= 2)]
            if any(
                key in compact or (len(key) >= 3 and not key.isascii() and key[:-1] in compact)
                for key in keys
            ):
                continue
            missing.append(anchor)
        return missing

    def lacks_anchors(self, question: str, hits: list[Hit]) -> list[str]:
        """The missing anchors when they are at least half of the question's, else []."""
        anchors = self.tokenizer.anchors(question)
        missing = self.missing_anchors(question, hits)
        return missing if anchors and 2 * len(missing) >= len(anchors) else []

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Compose an answer of up to ``max_sentences`` cited sentences."""
        scored = self.score_sentences(question, hits)
        missing = self.lacks_anchors(question, hits[: self.max_passages])
        if not scored or scored[0].score < self.threshold or missing:
            best = scored[0].score if scored else float("nan")
            logger.info(
                "not found: best sentence score %.3f (threshold %.3f), missing %s",
                best,
                self.threshold,
                missing,
            )
            sources = [Source(n + 1, h) for n, h in enumerate(hits[:3])]
            return Answer(f"{NOT_FOUND} {NOT_FOUND_HINT}", sources, found=False, question=question)
        picked = [scored[0]]
        for s in scored[1:]:
            if len(picked) >= self.max_sentences:
                break
            if s.score >= scored[0].score - self.margin and s.text not in {p.text for p in picked}:
                picked.append(s)
        # number sources in order of first use; keep all used hits
        order: list[int] = []
        for p in picked:
            if p.source not in order:
                order.append(p.source)
        number = {h: n + 1 for n, h in enumerate(order)}
        parts = [f"{p.text} [{number[p.source]}]" for p in picked]
        sources = [
            Source(
                number[h],
                hits[h],
                tuple((p.start, p.end) for p in picked if p.source == h),
            )
            for h in order
        ]
        return Answer(" ".join(parts), sources, found=True, question=question)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Extractive answers are ready at once: yield the text, then the answer."""
        answer = self.answer(question, hits)
        yield answer.text
        yield answer


_DIGITS = re.compile(r"\d+")
_NUMBER_Q = re.compile(
    r"얼마|몇|규모|비용|금액|액수|수는|개수|정확도|비율|%|퍼센트|언제|연도|날짜|날은|시기|기간|"
    r"나이|높이|길이|인구|가격"
)
_ENTITY_Q = re.compile(
    r"누구|누가|이름|어디|어느|무엇|무슨|회사|기관|인물|전문가|단체|나라|국가|도시|제품"
)


def answer_type(question: str) -> str | None:
    """What a question asks for: "number" (amounts, dates), "entity" (names, places) or None."""
    if _NUMBER_Q.search(question):
        return "number"
    if _ENTITY_Q.search(question):
        return "entity"
    return None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            yield pos, line
        pos += len(line) + 1


__all__ = ["ExtractiveAnswerer", "ScoredSentence"]
