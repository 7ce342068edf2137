"""Evaluation: the shared relevance rule, retrieval metrics, and answer metrics.

The data format and the relevance rule are those of ``shared/evaldata/README.md``.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.answers import Answer
from ingest.errors import AssistantError
from ingest.records import Chunk

_WS = re.compile(r"\s+")
SPAN = 30  # characters the chunk and the evidence must share


def normalize(text: str) -> str:
    """Collapse every whitespace run to one space and strip both ends."""
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class EvalItem:
    """One question in the project's evaluation format."""

    question: str
    answers: tuple[str, ...] = ()
    source: str | None = None
    evidence: str | None = None
    answerable: bool = True
    kind: str | None = None  # what the question exercises (table, footnote, …), if the set says


def load_jsonl(path: Path) -> list[EvalItem]:
    """Read questions in the project's evaluation format."""
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AssistantError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise AssistantError(f"{path}:{n}: not valid JSON ({exc})") from exc
        items.append(
            EvalItem(
                question=row["question"],
                answers=tuple(row.get("answers") or ()),
                source=row.get("source"),
                evidence=row.get("evidence"),
                kind=row.get("kind"),
                answerable=row.get("answerable", True) is not False,
            )
        )
    return items


def squad_to_documents(path: Path, out_dir: Path) -> list[EvalItem]:
    """Convert a SQuAD-format file: each article becomes ``<title>.txt`` (paragraphs joined by a
    blank line); each question gets source, evidence = its paragraph, answers."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise AssistantError(f"{path} is not a SQuAD-format file: {exc}") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for article in data:
        name = article["title"].replace("/", "_") + ".txt"
        paragraphs = [p["context"] for p in article["paragraphs"]]
        target = out_dir / name
        text = "\n\n".join(paragraphs)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                items.append(EvalItem(qa["question"], answers, name, p["context"]))
    return items


def _grams(text: str, n: int) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


class RelevanceRule:
    """The shared relevance rule, with the evidence's n-grams cached per question."""

    def __init__(self, item: EvalItem) -> None:
        self.item = item
        self.evidence = normalize(item.evidence) if item.evidence else None
        self.span = min(SPAN, len(self.evidence)) if self.evidence else 0
        self.ev_grams = _grams(self.evidence, self.span) if self.evidence else set()
        self.answers = [normalize(a) for a in item.answers]
        self.check_answers = bool(self.answers) and all(len(a) <= SPAN for a in item.answers)

    def __call__(self, chunk_text: str, chunk_source: str) -> bool:
        """Whether a chunk is relevant to the question."""
        if self.item.source is not None and chunk_source != self.item.source:
            return False
        text = normalize(chunk_text)
        if self.evidence is not None and (
            self.span == 0 or not (self.ev_grams & _grams(text, self.span))
        ):
            return False
        return not (self.check_answers and not any(a in text for a in self.answers))


def is_relevant(chunk: Chunk, item: EvalItem) -> bool:
    """The shared relevance rule for one chunk."""
    return RelevanceRule(item)(chunk.text, chunk.source)


@dataclass
class RetrievalMetrics:
    """hit@k, MRR@10 and latency over the answerable questions."""

    mode: str
    questions: int = 0
    hits: dict[int, int] = field(default_factory=lambda: {1: 0, 3: 0, 5: 0, 10: 0})
    rr: float = 0.0
    latencies: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [questions, hit@5]

    def add(self, rank: int | None, seconds: float, question: str, kind: str | None = None) -> None:
        """Record one question; ``rank`` is 1-based or None when not in the top 10."""
        if kind:
            tally = self.by_kind.setdefault(kind, [0, 0])
            tally[0] += 1
            tally[1] += int(rank is not None and rank <= 5)
        self.questions += 1
        self.latencies.append(seconds)
        if rank is not None:
            for k in self.hits:
                if rank <= k:
                    self.hits[k] += 1
            self.rr += 1.0 / rank
        if rank != 1:
            self.misses.append(question)

    def summary(self) -> dict[str, Any]:
        """Figures as a dict."""
        n = max(self.questions, 1)
        lat = sorted(self.latencies) or [0.0]
        return {
            "mode": self.mode,
            "questions": self.questions,
            **{f"hit@{k}": round(v / n, 4) for k, v in self.hits.items()},
            "mrr@10": round(self.rr / n, 4),
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p95_ms": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))] * 1000, 1),
            "by_kind": self.by_kind,
        }


def first_relevant_rank(chunks: Iterable[Chunk], rule: RelevanceRule) -> int | None:
    """1-based rank of the first relevant chunk in the top 10."""
    for rank, chunk in enumerate(chunks, 1):
        if rank > 10:
            break
        if rule(chunk.text, chunk.source):
            return rank
    return None


def evaluate_retrieval(assistant: Any, items: list[EvalItem], mode: str) -> RetrievalMetrics:
    """Search each answerable question and score the ranking."""
    metrics = RetrievalMetrics(mode)
    for item in items:
        if not item.answerable:
            continue
        t0 = time.perf_counter()
        hits = assistant.search(item.question, k=10, mode=mode)
        seconds = time.perf_counter() - t0
        metrics.add(
            first_relevant_rank((h.chunk for h in hits), RelevanceRule(item)),
            seconds,
            item.question,
            item.kind,
        )
    return metrics


def first_sentence(text: str) -> str:
    """The answer's first sentence (up to its first citation marker)."""
    m = re.search(r"\[\d+\]", text)
    return text[: m.start()] if m else text


@dataclass
class AnswerMetrics:
    """How often answers contain a gold answer, and how 'not found' behaves."""

    answerable: int = 0
    contains: int = 0
    first_contains: int = 0
    cited_right_source: int = 0
    unanswerable: int = 0
    unanswerable_refused: int = 0
    answerable_refused: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [questions, contains]

    def add(self, item: EvalItem, answer: Answer) -> None:
        """Record one answered question."""
        if not item.answerable:
            self.unanswerable += 1
            self.unanswerable_refused += int(not answer.found)
            if answer.found:
                self.failures.append({"question": item.question, "answer": answer.text})
            return
        self.answerable += 1
        golds = [normalize(a) for a in item.answers]
        text = normalize(answer.text) if answer.found else ""
        ok = any(g in text for g in golds)
        self.contains += int(ok)
        if item.kind:
            tally = self.by_kind.setdefault(item.kind, [0, 0])
            tally[0] += 1
            tally[1] += int(ok)
        self.first_contains += int(any(g in normalize(first_sentence(text)) for g in golds))
        self.answerable_refused += int(not answer.found)
        if item.source is not None:
            self.cited_right_source += int(
                any(s.hit.chunk.source == item.source for s in answer.sources)
            )
        if not ok:
            self.failures.append({"question": item.question, "answer": answer.text})

    def summary(self) -> dict[str, Any]:
        """Figures as a dict."""
        n = max(self.answerable, 1)
        return {
            "answerable": self.answerable,
            "answer_contains_gold": round(self.contains / n, 4),
            "first_sentence_contains_gold": round(self.first_contains / n, 4),
            "cites_right_source": round(self.cited_right_source / n, 4),
            "answerable_refused": self.answerable_refused,
            "unanswerable": self.unanswerable,
            "unanswerable_refused": self.unanswerable_refused,
            "by_kind": self.by_kind,
        }


def kind_line(by_kind: dict[str, list[int]]) -> str:
    """Per-kind figures on one line: "table 15/19 0.789 · footnote 4/4 1.000"."""
    return " · ".join(
        f"{kind} {good}/{n} {good / n:.3f}" for kind, (n, good) in sorted(by_kind.items()) if n
    )


def evaluate_answers(assistant: Any, items: list[EvalItem]) -> AnswerMetrics:
    """Ask every question and score the answers."""
    metrics = AnswerMetrics()
    for item in items:
        metrics.add(item, assistant.ask(item.question))
    return metrics


def as_json(obj: Any) -> Any:
    """Dataclasses to plain JSON-able values."""
    return asdict(obj) if hasattr(obj, "__dataclass_fields__") else obj


# -- follow-up conversations ---------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One question of a conversation, with its gold answers and the document holding them."""

    question: str
    answers: tuple[str, ...]
    doc: str


@dataclass(frozen=True)
class Conversation:
    """Two or more turns, each after the first leaning on the one before."""

    id: str
    turns: tuple[Turn, ...]


def load_conversations(path: Path) -> list[Conversation]:
    """Read conversations: one JSON object a line, ``{"id", "turns": [{"question", "answers",
    "doc"}, …]}``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AssistantError(f"cannot read {path}: {exc.strerror or exc}") from exc
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = tuple(Turn(t["question"], tuple(t["answers"]), t["doc"]) for t in row["turns"])
            out.append(Conversation(str(row.get("id", n)), turns))
        except (ValueError, KeyError, TypeError) as exc:
            raise AssistantError(f"{path}:{n}: not a conversation ({exc})") from exc
    return out


@dataclass
class FollowupMetrics:
    """Over the follow-up turns (the second and later): the right passage in the top 3, and
    answers holding gold."""

    rebuild: bool
    turns: int = 0
    top3: int = 0
    contains: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Figures as a dict."""
        n = max(self.turns, 1)
        return {
            "rebuild": self.rebuild,
            "followup_turns": self.turns,
            "top3": round(self.top3 / n, 4),
            "answer_contains_gold": round(self.contains / n, 4),
        }


def evaluate_conversations(
    assistant: Any, conversations: list[Conversation], *, rebuild: bool = True
) -> FollowupMetrics:
    """Play each conversation turn by turn, the earlier (question, answer text) pairs as its
    history; score the follow-up turns. Without ``rebuild`` a follow-up is searched and
    answered as asked (the raw question, no history), the comparison."""
    metrics = FollowupMetrics(rebuild)
    for conv in conversations:
        history: list[tuple[str, str]] = []
        for n, turn in enumerate(conv.turns):
            past = history if rebuild else []
            answer = assistant.ask(turn.question, history=past)
            if n:
                query = assistant.condense(turn.question, past, "extractive")
                item = EvalItem(turn.question, turn.answers, turn.doc)
                hits = assistant.search(query, k=3)
                in_top3 = first_relevant_rank((h.chunk for h in hits), RelevanceRule(item))
                golds = [normalize(a) for a in turn.answers]
                text = normalize(answer.text) if answer.found else ""
                ok = any(g in text for g in golds)
                metrics.turns += 1
                metrics.top3 += int(in_top3 is not None)
                metrics.contains += int(ok)
                if in_top3 is None or not ok:
                    metrics.failures.append(
                        {
                            "id": conv.id,
                            "question": turn.question,
                            "searched": query,
                            "top3": "yes" if in_top3 else "no",
                            "answer": answer.text,
                        }
                    )
            history.append((turn.question, answer.text))
    return metrics
