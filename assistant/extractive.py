"""The default answerer: picks the retrieved sentences that best answer the question (no LLM)."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz.distance import Levenshtein

from assistant.answers import Answer, Source, not_found
from index.embedder import Embedder
from index.morph import MorphTokenizer
from ingest.chunking import is_heading
from ingest.layout import is_header_row, is_rule_row, is_table_row, labelled_row
from ingest.records import Hit

logger = logging.getLogger(__name__)


# Sentence features and their weights. The weights are a conditional-logit fit (softmax over a
# question's candidate sentences, the gold-bearing ones as targets) on KorQuAD 1.0 dev, as done by
# ``bench/tune_answers.py``. With 2-fold cross-validation by article the best sentence held a gold
# answer for 86.6 % of questions (cosine and overlap alone, refitted: 81.6 %).
FEATURES = (
    "cosine_z",  # e5 similarity (query vs passage), standardised over the question's candidates
    "overlap",  # IDF-weighted share of the question's morphemes in the sentence
    "window_overlap",  # the same over the sentence and its neighbours in the passage
    "focus_last",  # the question's last content morpheme is in the sentence
    "focus_last3",  # share of its last three content morphemes in the sentence
    "char_bigrams",  # share of the question's character bigrams in the sentence
    "passage_gap",  # the passage's fused retrieval score minus the best passage's
    "number_typed",  # asks 얼마/몇/언제 … and the sentence holds a number the question lacks
    "entity_typed",  # asks 누구/어디/이름 … and the sentence holds a name the question lacks
    "date_typed",  # asks 언제/몇 년 … and the sentence holds a date the question lacks
)
WEIGHTS = np.array([0.603, 1.207, 1.878, 0.624, 2.727, 1.33, 1.476, 1.52, 0.718, 1.102])
_TYPED = [FEATURES.index(f) for f in ("number_typed", "entity_typed", "date_typed")]

# Morphemes by which a question names a table or its cells.
TABLE_WORDS = frozenset({"표", "칸"})

# Question words and light morphemes that never carry the question's focus.
_NOT_FOCUS = frozenset(
    {"무엇", "누구", "어디", "언제", "얼마", "이름", "무슨", "어떤", "어느"}  # question words
    | {"것", "수", "하", "되", "있", "이", "그", "년", "해"}  # light nouns, verbs, determiners
)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk with its offsets in the chunk text."""

    source: int  # index into hits
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a retrieved chunk with its offsets in the chunk text and its score."""

    source: int  # index into hits
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Analysis:
    """A question's candidate sentences with their features, scores and raw e5 cosines."""

    candidates: list[Candidate]
    features: np.ndarray
    scores: np.ndarray
    cosines: np.ndarray


class ExtractiveAnswerer:
    """Scores sentences by embedding similarity, morpheme overlap, the question's focus and the
    answer type, weighted by :data:`WEIGHTS`."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        tokenizer: MorphTokenizer,
        *,
        max_sentences: int = 3,
        threshold: float = 2.0,
        margin: float = 10.0,
        max_passages: int = 5,
        weights: np.ndarray = WEIGHTS,
        rival_gap: float = 1.0,
    ) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.max_sentences = max_sentences
        self.threshold = threshold
        self.margin = margin
        self.weights = weights
        self.cache_size = 20_000
        self._cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()
        self._last: tuple[object, Analysis] | None = None
        # Kiwi analyses of recent sentences (a passage is analysed again for every question)
        self._tokens = lru_cache(maxsize=self.cache_size)(
            lambda text: frozenset(tokenizer.tokenize(text))
        )
        self._sentences = lru_cache(maxsize=2_000)(self._split)
        self._anchors = lru_cache(maxsize=self.cache_size)(
            lambda text: frozenset(tokenizer.anchors(text))
        )
        self.max_passages = max_passages
        self.rival_gap = rival_gap

    def candidates(self, hits: list[Hit]) -> list[Candidate]:
        """Every sentence (of two characters or more) of the top passages, in passage order.

        A table row is one candidate, read with its header (``이름: 개똥이 · 영어: 65``), so
        that a cell's value answers a question naming its row and column."""
        return [
            Candidate(h, start, end, text)
            for h, hit in enumerate(hits[: self.max_passages])
            for start, end, text in self._sentences(hit.chunk.text, hit.chunk.context)
        ]

    def _split(self, text: str, context: str = "") -> tuple[tuple[int, int, str], ...]:
        out = []
        above = [r for r in context.split("\n") if is_header_row(r)]
        header = above[-1] if above else ""
        run: list[tuple[int, int, str]] = []  # consecutive short lines, for :func:`_windows`
        section = ""  # the last section heading above
        for line_start, line in _lines(text):
            if is_table_row(line.strip()):
                row = line.strip()
                if is_rule_row(row):
                    continue
                off = line_start + line.index(row)
                out.append((off, off + len(row), labelled_row(row, header)))
                if not header and is_header_row(row):
                    header = row
                out.extend(_windows(run))
                run = []
                continue
            header = ""
            sentences = [
                (line_start + line.index(line[s:e].strip(), s), line[s:e].strip())
                for s, e in self.tokenizer.split_sentences(line) or [(0, len(line))]
                if len(line[s:e].strip()) >= 2
            ]
            out.extend((off, off + len(sent), sent) for off, sent in sentences)
            heading = is_heading(line)
            if len(sentences) == 1 and _fragment(sentences[0][1]):
                off, sent = sentences[0]
                if section and _LIST_ITEM.match(sent):  # read under its section's heading
                    out.append((off, off + len(sent), f"{section}{_JOIN}{sent}"))
                run.append((off, off + len(sent), sent))
            else:
                out.extend(_windows(run))
                run = []
            if heading:
                section = line.strip().lstrip("#").strip()
        out.extend(_windows(run))
        return tuple(out)

    def features(self, question: str, hits: list[Hit], cands: list[Candidate]) -> np.ndarray:
        """One row of :data:`FEATURES` per candidate sentence."""
        return self._features(question, hits, cands)[0]

    def analyse(self, question: str, hits: list[Hit]) -> Analysis:
        """Candidates, features and scores of a question (the last one is remembered, so the
        answerability gate and the answer share one analysis)."""
        key = (question, tuple((h.chunk.id, h.chunk.text, h.score) for h in hits))
        with self._cache_lock:
            if self._last is not None and self._last[0] == key:
                return self._last[1]
        cands = self.candidates(hits)
        if cands:
            rows, cos = self._features(question, hits, cands)
        else:
            rows, cos = np.zeros((0, len(FEATURES))), np.zeros(0)
        result = Analysis(cands, rows, rows @ self.weights, cos)
        with self._cache_lock:
            self._last = (key, result)
        return result

    def _features(
        self, question: str, hits: list[Hit], cands: list[Candidate]
    ) -> tuple[np.ndarray, np.ndarray]:
        q_vec = self.embedder.embed([question], kind="query")[0]
        cos = self.sentence_vectors([c.text for c in cands]) @ q_vec
        cos_z = (cos - cos.mean()) / (cos.std() + 1e-6)
        q_seq = self.tokenizer.tokenize(question)
        q_toks = set(q_seq)
        s_toks = [self._tokens(c.text) for c in cands]
        df: dict[str, int] = {}
        for toks in s_toks:
            for t in toks & q_toks:
                df[t] = df.get(t, 0) + 1
        n = len(cands)
        idf = {t: math.log(1 + (n + 1) / (df.get(t, 0) + 0.5)) for t in q_toks}
        total = sum(idf.values()) or 1.0
        focus = [t for t in q_seq if t not in _NOT_FOCUS]
        q_bigrams = _bigrams(question)
        wants = answer_type(question)
        wants_date = bool(_DATE_Q.search(question))
        q_digits = set(_DIGITS.findall(question))
        q_anchors = set(self.tokenizer.anchors(question)) if wants == "entity" else set()
        best = hits[0].score
        rows = []
        for i, c in enumerate(cands):
            toks = s_toks[i]
            window = set(toks)
            for j in (i - 1, i + 1):
                if 0 <= j < n and cands[j].source == c.source:
                    window |= s_toks[j]
            new_digits = bool(set(_DIGITS.findall(c.text)) - q_digits)
            rows.append(
                [
                    float(cos_z[i]),
                    sum(idf[t] for t in q_toks & toks) / total,
                    sum(idf[t] for t in q_toks & window) / total,
                    _share(focus[-1:], toks),
                    _share(focus[-3:], toks),
                    len(q_bigrams & _bigrams(c.text)) / max(len(q_bigrams), 1),
                    hits[c.source].score - best,
                    float(wants == "number" and new_digits),
                    float(wants == "entity" and bool(self._anchors(c.text) - q_anchors)),
                    float(wants_date and new_digits and bool(_DATE.search(c.text))),
                ]
            )
        return np.array(rows, dtype=np.float64).reshape(n, len(FEATURES)), cos

    def score_sentences(self, question: str, hits: list[Hit]) -> list[ScoredSentence]:
        """Every sentence of the top passages, best first (score = features · weights)."""
        a = self.analyse(question, hits)
        out = [
            ScoredSentence(c.source, c.start, c.end, c.text, float(v))
            for c, v in zip(a.candidates, a.scores, strict=True)
        ]
        out.sort(key=lambda x: -x.score)
        return out

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence (passage) vectors, reusing those of sentences seen in recent questions."""
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
        2023). Spaces and punctuation are ignored, one word of a multi-word name suffices, a
        trailing particle Kiwi left on a name is tolerated, and so is a misspelling of a name of
        three characters or more (헤리슨 for 해리슨; numbers must match exactly). A word also
        counts when it names the passage's file ("footnote-endnote 예제"), a number only in
        the text (a file named hankook-2023-… does not report Apple's 2023 sales).
        """
        text = " ".join(f"{h.chunk.title} {h.chunk.context} {h.chunk.text}" for h in hits)
        compact = _compact(text.lower())
        names = _compact(" ".join(h.chunk.source for h in hits).lower())
        missing = []
        for anchor in self.tokenizer.anchors(question):
            keys = [_compact(anchor), *(_compact(w) for w in anchor.split() if len(w) >= 2)]
            if any(
                key in compact
                or (len(key) >= 3 and not key.isascii() and key[:-1] in compact)
                or _near(key, compact)
                or (not key.isdigit() and key in names)
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

    def compose(self, question: str, a: Analysis, hits: list[Hit]) -> list[int]:
        """The candidates an answer is made of, in reading order (indices into
        ``a.candidates``), so that it reads as one answer rather than unrelated sentences.

        The best sentence comes first: it is the one most likely to hold the asked-for number, name
        or date (when the question names a table, "표" or "칸", the best table row). Then up to
        ``max_sentences - 1`` more sentences of the same document (its best-scoring ones, read in
        document order). A sentence of another document is added, in place of the weakest of those,
        only when it adds what they lack: the asked-for kind of answer none of them holds, a word of
        the question none of them holds, or a score within
        ``rival_gap`` of the best (an answer as likely as the first one's). On KorQuAD dev this
        keeps as many gold answers as the three best sentences from anywhere did.
        """
        cands, scores = a.candidates, a.scores
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        if TABLE_WORDS & set(self.tokenizer.tokenize(question)):
            # a question naming a table ("요금표에서", "학번 칸에") asks for a cell: its best row
            rows = [i for i in order if self._is_row(hits, cands[i])]
            if rows and scores[rows[0]] >= self.threshold:
                order.remove(rows[0])
                order.insert(0, rows[0])
        first, floor = order[0], scores[order[0]] - self.margin

        def doc(i: int) -> str:
            return hits[cands[i].source].chunk.doc_id

        def span(i: int) -> tuple[str, int, int]:
            chunk = hits[cands[i].source].chunk
            return chunk.doc_id, chunk.start + cands[i].start, chunk.start + cands[i].end

        def overlaps(i: int, picked: list[int]) -> bool:
            # the same text, or text of the document a picked candidate already holds (a
            # window of short lines and one of its lines; overlapping chunks)
            doc_id, start, end = span(i)
            for p in picked:
                other_doc, other_start, other_end = span(p)
                if cands[p].text == cands[i].text or (
                    other_doc == doc_id and other_start < end and start < other_end
                ):
                    return True
            return False

        same: list[int] = []
        for i in order[1:]:
            if len(same) >= self.max_sentences - 1 or scores[i] < floor:
                break
            if doc(i) == doc(first) and not overlaps(i, [first, *same]):
                same.append(i)
        other = next(
            (i for i in order if doc(i) != doc(first) and not overlaps(i, [first, *same])), None
        )
        extra: list[int] = []
        if (
            other is not None
            and self.max_sentences > 1
            and scores[other] >= max(self.threshold, floor)
            and self._adds(question, a, [first, *same], other)
        ):
            if len(same) >= self.max_sentences - 1:
                same.remove(min(same, key=lambda i: scores[i]))
            extra.append(other)

        def position(i: int) -> tuple[int, int]:
            return hits[cands[i].source].chunk.start + cands[i].start, i

        return [first, *sorted(same, key=position), *extra]

    @staticmethod
    def _is_row(hits: list[Hit], c: Candidate) -> bool:
        return is_table_row(hits[c.source].chunk.text[c.start : c.end])

    def _adds(self, question: str, a: Analysis, picked: list[int], other: int) -> bool:
        """Whether sentence ``other`` adds what the ``picked`` ones lack (see :meth:`compose`)."""
        if answer_type(question) is not None:
            typed = a.features[:, _TYPED]
            if not typed[picked].any() and typed[other].any():
                return True
        have = frozenset().union(*(self._tokens(a.candidates[p].text) for p in picked))
        focus = {t for t in self.tokenizer.tokenize(question) if t not in _NOT_FOCUS}
        if (focus - have) & self._tokens(a.candidates[other].text):
            return True
        return bool(a.scores[other] >= a.scores[picked[0]] - self.rival_gap)

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Compose an answer of up to ``max_sentences`` cited sentences (see :meth:`compose`)."""
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
            return not_found(question, hits)
        analysis = self.analyse(question, hits)
        picked = [analysis.candidates[i] for i in self.compose(question, analysis, hits)]
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


_DIGITS = re.compile(r"(?<![A-Za-z])\d+")  # numbers, not model names such as R1 or H800
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


_NON_WORD = re.compile(r"[\W_]+")
_DATE_Q = re.compile(r"언제|연도|년도|해는|날짜|몇 ?년|시기|며칠")
_DATE = re.compile(r"\d+\s*(년|월|일|세기)")


def _compact(text: str) -> str:
    """Without spaces and punctuation, so 2.26 matches 2·26 and 델타 블루스 matches 델타블루스."""
    return _NON_WORD.sub("", text)


def _near(key: str, text: str) -> bool:
    """Whether ``text`` holds ``key`` misspelt: one edit for up to five characters, else two."""
    if len(key) < 3 or any(ch.isdigit() for ch in key):
        return False
    edits = 1 if len(key) <= 5 else 2
    for width in (len(key) - 1, len(key), len(key) + 1):
        for i in range(len(text) - width + 1):
            if Levenshtein.distance(key, text[i : i + width], score_cutoff=edits) <= edits:
                return True
    return False


def _bigrams(text: str) -> set[str]:
    """Character bigrams without spaces."""
    return {text[i : i + 2] for i in range(len(text) - 1) if " " not in text[i : i + 2]}


def _share(terms: list[str], tokens: frozenset[str]) -> float:
    return sum(t in tokens for t in terms) / len(terms) if terms else 0.0


# A line of at most FRAGMENT characters that is one sentence is a fragment: a label ("(71) 출원인"),
# a value ("주식회사 한글과컴퓨터"), a heading, a list item, a date under a title ("2019. 10. 29.").
# What it means often stands on the next lines, so consecutive fragments (up to WINDOW_LINES and
# WINDOW characters) are also read together, from each fragment on, as candidates of their own.
# (Windows of two or three lines were tried: realdocs answers holding gold 0.750 with two.)
FRAGMENT = 50
WINDOW = 200
WINDOW_LINES = 12
_JOIN = " · "
_LIST_ITEM = re.compile(r"^([-*•◦▪]|\d{1,2}[.)])\s")


def _fragment(sentence: str) -> bool:
    return len(sentence) <= FRAGMENT


def _windows(run: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """For each fragment of a run of consecutive ones, it and the next (at least two, at most
    :data:`WINDOW_LINES` and :data:`WINDOW` characters), joined as one candidate."""
    out = []
    for k in range(len(run) - 1):
        m, size = k + 1, len(run[k][2]) + len(_JOIN) + len(run[k + 1][2])
        if size > WINDOW:
            continue
        while (
            m + 1 < len(run)
            and m + 2 - k <= WINDOW_LINES
            and size + len(_JOIN) + len(run[m + 1][2]) <= WINDOW
        ):
            m += 1
            size += len(_JOIN) + len(run[m][2])
        out.append((run[k][0], run[m][1], _JOIN.join(part[2] for part in run[k : m + 1])))
    return out


def _lines(text: str) -> Iterator[tuple[int, str]]:
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            yield pos, line
        pos += len(line) + 1


__all__ = ["FEATURES", "WEIGHTS", "Candidate", "ExtractiveAnswerer", "ScoredSentence"]
