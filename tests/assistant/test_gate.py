"""The answerability gate: its model file, and that a refusal spends no answerer call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.answers import Answer
from assistant.gate import GATE_FEATURES, AnswerabilityGate, GateModel, default_model, expand
from ingest.records import Hit

N = len(GATE_FEATURES)


def _model(intercept: float) -> GateModel:
    width = expand(np.zeros((1, N))).shape[1]
    return GateModel(np.zeros(N), np.ones(N), np.r_[np.zeros(width), intercept], 0.5)


class CountingAnswerer:
    """An answerer that records every call (stands in for an LLM endpoint)."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        self.calls += 1
        return Answer("답 [1]", [], question=question)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        yield self.answer(question, hits)


def test_the_shipped_model_fits_the_features_and_round_trips(tmp_path: Path) -> None:
    model = default_model()
    assert len(model.weights) == expand(np.zeros((1, N)), model.pairs).shape[1] + 1
    assert 0.0 < model.threshold < 1.0
    model.save(tmp_path / "m.json")
    again = GateModel.load(tmp_path / "m.json")
    row = np.linspace(0, 1, N)
    assert again.probability(row) == pytest.approx(model.probability(row))


def test_a_model_for_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    _model(0.0).save(path)
    path.write_text(path.read_text().replace(GATE_FEATURES[0], "something_else"))
    with pytest.raises(ValueError, match="other features"):
        GateModel.load(path)


@pytest.mark.parametrize(("intercept", "found", "calls"), [(-20.0, False, 0), (20.0, True, 1)])
def test_a_refused_question_never_reaches_the_answerer(
    fake_assistant, tmp_path: Path, intercept: float, found: bool, calls: int
) -> None:
    doc = tmp_path / "고래.txt"
    doc.write_text("고래 연구소의 올해 예산은 417억원이다. 연구소는 울산에 있다.", encoding="utf-8")
    fake_assistant.ingest([doc])
    scorer = fake_assistant.answerers["extractive"]
    fake_assistant.gate = AnswerabilityGate(
        scorer, fake_assistant.index.term_statistics, model=_model(intercept)
    )
    counting = CountingAnswerer()
    fake_assistant.answerers["counting"] = counting
    answer = fake_assistant.ask("고래 연구소의 예산은 얼마인가?", backend="counting")
    assert answer.found is found
    assert counting.calls == calls
    if not found:
        assert "gate" in answer.flags
        assert answer.sources, "the closest passages are still shown"


def test_words_naming_the_file_or_a_part_of_the_document_are_not_missing(
    fake_assistant, tmp_path: Path
) -> None:
    doc = tmp_path / "whale-notes.txt"
    doc.write_text("고래 연구소의 올해 예산은 417억원이다. 연구소는 울산에 있다.", encoding="utf-8")
    fake_assistant.ingest([doc])
    gate = AnswerabilityGate(
        fake_assistant.answerers["extractive"],
        fake_assistant.index.term_statistics,
        model=_model(0.0),
    )
    question = "whale-notes 문서의 첫 번째 표에서 고래 연구소의 예산은 얼마인가?"
    hits = fake_assistant.search(question, k=3)
    row, missing = gate.features(question, hits)
    assert missing == ()
    assert row[GATE_FEATURES.index("missing_rare")] == 0.0
    assert "직원" in gate.features("고래 연구소의 직원 수는?", hits)[1]


@pytest.mark.parametrize("pairs", [False, True])
def test_a_model_with_or_without_pairwise_products_round_trips(tmp_path: Path, pairs: bool) -> None:
    width = expand(np.zeros((1, N)), pairs).shape[1]
    assert width == (N + N * (N + 1) // 2 if pairs else N)
    rng = np.random.default_rng(0)
    model = GateModel(np.zeros(N), np.ones(N), rng.normal(size=width + 1), 0.4, pairs)
    model.save(tmp_path / "m.json")
    again = GateModel.load(tmp_path / "m.json")
    assert again.pairs is pairs
    row = np.linspace(0, 1, N)
    assert again.probability(row) == pytest.approx(model.probability(row))


def test_a_monotone_model_never_turns_round_far_out_of_range() -> None:
    """With positive slopes only, more evidence never lowers P(answerable)."""
    model = GateModel(np.zeros(N), np.ones(N), np.r_[np.full(N, 0.5), 0.0], 0.5)
    row = np.zeros(N)
    ps = [model.probability(row + step) for step in (0.0, 1.0, 10.0, 100.0)]
    assert ps == sorted(ps)


def test_a_passage_without_the_asked_for_kind_of_value_counts_against(
    fake_assistant, tmp_path: Path
) -> None:
    doc = tmp_path / "입찰.txt"
    doc.write_text(
        "강남센터 용역 입찰의 낙찰자는 적격심사로 정한다. 입찰서는 나라장터로 낸다.\n\n"
        "강남센터 용역의 기초금액은 1,200만원이다.",
        encoding="utf-8",
    )
    fake_assistant.ingest([doc])
    gate = AnswerabilityGate(
        fake_assistant.answerers["extractive"],
        fake_assistant.index.term_statistics,
        model=_model(0.0),
    )
    cover = GATE_FEATURES.index("asked_cover")

    def row(question: str) -> np.ndarray:
        return gate.features(question, fake_assistant.search(question, k=3))[0]

    assert row("강남센터 용역의 기초금액은?")[cover] > 0.5
    assert row("강남센터 용역 낙찰자의 계약 체결 일자는?")[cover] == 0.0  # no date anywhere
    assert row("강남센터 용역 낙찰자는 어떻게 정하나?")[cover] > 0.5  # asks for no value
