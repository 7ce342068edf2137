"""The extractive answerer on hand-made passages (fake embedder, real Kiwi)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assistant.answers import NOT_FOUND
from assistant.extractive import FEATURES, WEIGHTS, Analysis, ExtractiveAnswerer, answer_type
from index.morph import MorphTokenizer
from ingest.records import Chunk, Hit


def _hit(n: int, text: str, score: float = 1.0, source: str | None = None) -> Hit:
    chunk = Chunk(n, f"doc{n}", 0, text, 0, len(text), f"문서{n}", source or f"doc{n}.txt")
    return Hit(chunk, score)


@pytest.fixture
def answerer(fake_embedder) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(fake_embedder, MorphTokenizer())


def test_every_feature_has_a_weight() -> None:
    assert len(WEIGHTS) == len(FEATURES)


def test_number_question_prefers_the_sentence_with_the_amount(answerer) -> None:
    hits = [
        _hit(
            1,
            "딥시크는 항저우의 스타트업이다. 딥시크가 밝힌 V3 개발 비용은 558만달러였다. "
            "업계는 딥시크의 V3 개발 비용 주장을 의심했다.",
        )
    ]
    answer = answerer.answer("딥시크가 밝힌 V3 개발 비용은 얼마인가?", hits)
    assert answer.found
    assert answer.text.startswith("딥시크가 밝힌 V3 개발 비용은 558만달러였다. [1]")


def test_focus_word_picks_the_sentence_that_answers(answerer) -> None:
    hits = [
        _hit(
            1,
            "세운상가는 1967년에 종로에 지어졌다. 세운상가는 김수근 건축가가 설계했다.",
        )
    ]
    best = answerer.score_sentences("세운상가를 설계한 사람은?", hits)[0]
    assert "김수근" in best.text


def test_offsets_point_at_the_sentence_in_the_chunk(answerer) -> None:
    text = "첫 문단의 문장이다.\n\n둘째 문단에서 고래 연구소의 예산은 417억원이다. 끝 문장."
    hits = [_hit(1, text)]
    answer = answerer.answer("고래 연구소의 예산은 얼마인가?", hits)
    (start, end) = answer.sources[0].highlights[0]
    assert text[start:end] == "둘째 문단에서 고래 연구소의 예산은 417억원이다."


def test_sources_are_numbered_in_order_of_first_use(answerer) -> None:
    hits = [
        _hit(1, "관련 없는 날씨 이야기가 이어진다.", score=2.0),
        _hit(2, "고래 연구소의 예산은 417억원이다.", score=1.9),
    ]
    answer = answerer.answer("고래 연구소의 예산은 얼마인가?", hits)
    assert answer.text.startswith("고래 연구소의 예산은 417억원이다. [1]")
    assert answer.sources[0].number == 1
    assert answer.sources[0].hit.chunk.source == "doc2.txt"
    assert answer.cited_numbers() == [s.number for s in answer.sources]


def test_at_most_max_sentences_and_no_repeats(fake_embedder) -> None:
    answerer = ExtractiveAnswerer(fake_embedder, MorphTokenizer(), max_sentences=2)
    sent = "고래 연구소의 예산은 417억원이다."
    hits = [_hit(1, f"{sent} {sent} 연구소는 제주에 있다. 고래 연구소는 1990년에 세워졌다.")]
    answer = answerer.answer("고래 연구소의 예산은?", hits)
    assert answer.text.count("[1]") == 2
    assert answer.text.count(sent) == 1


def test_missing_names_mean_not_found_with_the_closest_passages(answerer) -> None:
    hits = [_hit(1, "딥시크는 항저우의 스타트업이다. V3 개발 비용은 558만달러였다.")]
    answer = answerer.answer("애플의 2023년 매출은 얼마인가?", hits)
    assert not answer.found
    assert answer.text.startswith(NOT_FOUND)
    assert [s.hit.chunk.id for s in answer.sources] == [1]


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("벤저민 헤리슨 대통령 당선 년도는?", "벤저민 해리슨은 1888년 대통령에 당선되었다."),
        ("2.26사건으로 경찰관 몇 명이 사망했나?", "2·26 사건으로 경찰관 다섯 명이 사망했다."),
        ("델타블루스의 아버지는 누구인가?", "찰리 패튼은 델타 블루스의 아버지로 불린다."),
    ],
)
def test_misspelt_or_punctuated_names_still_count_as_present(
    answerer, question: str, passage: str
) -> None:
    hits = [_hit(1, passage)]
    assert answerer.missing_anchors(question, hits) == []
    assert answerer.answer(question, hits).found


def test_numbers_must_match_exactly(answerer) -> None:
    hits = [_hit(1, "화웨이의 2021년 매출은 3분의 1 수준으로 줄었다.")]
    assert answerer.missing_anchors("화웨이의 2023년 매출은?", hits) == ["2023"]


def test_weak_best_sentence_means_not_found(fake_embedder) -> None:
    hits = [_hit(1, "딥시크는 항저우의 스타트업이다. V3 개발 비용은 558만달러였다.")]
    strict = ExtractiveAnswerer(fake_embedder, MorphTokenizer(), threshold=100.0)
    assert not strict.answer("딥시크의 개발 비용은?", hits).found
    lenient = ExtractiveAnswerer(fake_embedder, MorphTokenizer(), threshold=-100.0)
    assert lenient.answer("딥시크의 개발 비용은?", hits).found


def test_no_passages_is_not_found(answerer) -> None:
    answer = answerer.answer("딥시크의 개발 비용은?", [])
    assert not answer.found
    assert answer.sources == []


def test_sentence_vectors_are_cached(fake_embedder) -> None:
    answerer = ExtractiveAnswerer(fake_embedder, MorphTokenizer())
    hits = [_hit(1, "고래 연구소의 예산은 417억원이다. 연구소는 제주에 있다.")]
    answerer.answer("고래 연구소의 예산은?", hits)
    before = sum(fake_embedder.calls)
    answerer.answer("연구소는 어디에 있나?", hits)
    assert sum(fake_embedder.calls) - before == 1  # only the new question was embedded


def test_features_are_one_row_per_candidate(answerer) -> None:
    hits = [_hit(1, "고래 연구소의 예산은 417억원이다. 연구소는 제주에 있다.")]
    cands = answerer.candidates(hits)
    rows = answerer.features("고래 연구소의 예산은 얼마인가?", hits, cands)
    assert rows.shape == (2, len(FEATURES))
    number_typed = FEATURES.index("number_typed")
    assert rows[:, number_typed].tolist() == [1.0, 0.0]
    assert np.all(rows[:, FEATURES.index("passage_gap")] == 0.0)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("V3 개발 비용은 얼마인가?", "number"),
        ("딥시크는 언제 R1을 내놓았나?", "number"),
        ("딥시크는 어느 도시의 스타트업인가?", "entity"),
        ("연맹을 주도한 회사는?", "entity"),
        ("미국이 중국을 견제하는 이유는?", None),
    ],
)
def test_answer_type(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


def test_a_table_cell_is_answered_by_its_row_read_with_the_header(answerer) -> None:
    header = "| 이름 | 국어 | 영어 | 수학 |"
    rows = ["| 개똥이 | 89 | 65 | 78 |", "| 칠득이 | 77 | 70 | 71 |", "| --- | --- | --- | --- |"]
    text = "C반 기말고사 성적\n" + "\n".join([header, rows[2], *rows[:2]])
    answer = answerer.answer("C반 기말고사에서 개똥이의 영어 점수는?", [_hit(1, text)])
    assert answer.found
    assert answer.text.startswith("이름: 개똥이 · 국어: 89 · 영어: 65 · 수학: 78 [1]")
    (start, end) = answer.sources[0].highlights[0]
    assert text[start:end] == rows[0]  # the card highlights the row itself
    assert "---" not in answer.text


def test_a_chunk_starting_inside_a_table_reads_rows_with_the_header_of_its_context(
    answerer,
) -> None:
    text = "| 칠득이 | 77 | 70 | 71 |\n| 팔푼이 | 88 | 66 | 60 |"
    chunk = Chunk(
        1, "doc1", 0, text, 0, len(text), "성적", "doc1.txt", "| 이름 | 국어 | 영어 | 수학 |"
    )
    sentences = [c.text for c in answerer.candidates([Hit(chunk, 1.0)])]
    assert sentences == [
        "이름: 칠득이 · 국어: 77 · 영어: 70 · 수학: 71",
        "이름: 팔푼이 · 국어: 88 · 영어: 66 · 수학: 60",
    ]


# -- composing the answer: one document read in order, another only when it adds something --

HOME = "고래 연구소는 1990년에 세워졌다. 연구소는 제주에 있다. 고래 연구소의 예산은 417억원이다."


def _scripted(answerer, monkeypatch, hits, scores, typed=()) -> None:
    """Make the answerer score the candidates of ``hits`` as given (``typed``: candidates
    holding the asked-for kind of answer)."""
    cands = answerer.candidates(hits)
    assert len(cands) == len(scores)
    rows = np.zeros((len(cands), len(FEATURES)))
    for i in typed:
        rows[i, FEATURES.index("number_typed")] = 1.0
    analysis = Analysis(cands, rows, np.array(scores, dtype=float), np.zeros(len(cands)))
    monkeypatch.setattr(answerer, "analyse", lambda question, hits: analysis)


def test_answer_starts_with_the_answering_sentence_then_its_document_in_order(
    answerer, monkeypatch
) -> None:
    hits = [_hit(1, HOME), _hit(2, "오늘 제주의 날씨는 맑다.", score=0.9)]
    _scripted(answerer, monkeypatch, hits, [3.0, 2.5, 6.0, 2.6], typed=[2])
    answer = answerer.answer("고래 연구소의 예산은 얼마인가?", hits)
    assert answer.text == (
        "고래 연구소의 예산은 417억원이다. [1] 고래 연구소는 1990년에 세워졌다. [1] "
        "연구소는 제주에 있다. [1]"
    )
    assert [s.hit.chunk.id for s in answer.sources] == [1]  # the weather adds nothing


def test_another_chunk_of_the_same_document_is_read_in_document_order(
    answerer, monkeypatch
) -> None:
    first = Chunk(1, "doc", 0, "연구소는 제주에 있다.", 0, 12, "연구소", "doc.txt")
    later = Chunk(
        2,
        "doc",
        1,
        "고래 연구소의 예산은 417억원이다. 예산은 매년 늘었다.",
        13,
        43,
        "연구소",
        "doc.txt",
    )
    hits = [Hit(later, 1.0), Hit(first, 0.9)]
    _scripted(answerer, monkeypatch, hits, [6.0, 2.5, 3.0], typed=[0])
    answer = answerer.answer("고래 연구소의 예산은 얼마인가?", hits)
    assert answer.text == (
        "고래 연구소의 예산은 417억원이다. [1] 연구소는 제주에 있다. [2] 예산은 매년 늘었다. [1]"
    )


@pytest.mark.parametrize(
    ("other", "scores", "typed"),
    [
        # it holds a word of the question the first document lacks (소장)
        ("고래 연구소 소장은 김바다이다.", [3.0, 2.5, 6.0, 2.2], [2]),
        # it holds the asked-for kind of answer (a number) and the first document does not
        ("작년 고래 연구소 지원금은 12억원이었다.", [3.0, 2.5, 6.0, 2.2], [3]),
        # it scores within a point of the best: an answer as likely as the first one's
        ("고래 연구소는 제주에서 고래를 연구한다.", [3.0, 2.5, 6.0, 5.5], [2]),
    ],
)
def test_another_documents_sentence_only_when_it_adds_what_the_first_lacks(
    answerer, monkeypatch, other: str, scores: list[float], typed: list[int]
) -> None:
    hits = [_hit(1, HOME), _hit(2, other, score=0.9)]
    _scripted(answerer, monkeypatch, hits, scores, typed=typed)
    question = (
        "고래 연구소 소장과 예산은 얼마인가?" if "소장" in other else "고래 연구소 예산은 얼마인가?"
    )
    answer = answerer.answer(question, hits)
    # the weakest sentence of the first document (연구소는 제주에 있다.) makes room for it
    assert answer.text == (
        f"고래 연구소의 예산은 417억원이다. [1] 고래 연구소는 1990년에 세워졌다. [1] {other} [2]"
    )
    assert [s.hit.chunk.id for s in answer.sources] == [1, 2]


def test_a_label_line_is_read_with_the_value_on_the_next_line(answerer) -> None:
    text = (
        "(43) 공개일자 2023년06월16일\n(71) 출원인\n주식회사 한글과컴퓨터\n"
        "(72) 발명자\n안치연\n"
        "전자 문서에 삽입되는 이미지 개체 내에 포함된 개인 정보를 식별할 수 있는 "
        "전자 단말 장치이다."
    )
    candidates = [c.text for c in answerer.candidates([_hit(1, text)])]
    assert any(c.startswith("(71) 출원인 · 주식회사 한글과컴퓨터") for c in candidates)
    answer = answerer.answer("이 특허의 출원인은 누구인가?", [_hit(1, text)])
    assert answer.found
    for start, end in answer.sources[0].highlights:  # the window's own lines are not cited again
        assert text[start:end] in text
    spans = sorted(answer.sources[0].highlights)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_lines_longer_than_a_fragment_are_not_joined(answerer) -> None:
    text = (
        "세운상가는 1967년에 서울 종로에 지어진 한국 최초의 주상복합 건물로, 김수근 건축가가 "
        "설계했다.\n2017년에 다시 문을 열었다 하고, 지금은 메이커 공간이 들어서 있다고 한다."
    )
    candidates = [c.text for c in answerer.candidates([_hit(1, text)])]
    assert " · " not in " ".join(candidates)


def test_a_question_naming_a_table_is_answered_first_by_its_best_row(answerer) -> None:
    text = (
        "정규 표현식 저장부에는 하기의 표 1과 같은 개인 정보의 표기 형식에 대응되는 정규 "
        "표현식들이 저장되어 있을 수 있다.\n표 1\n"
        "| 개인 정보의 표기 형식 | 정규 표현식 |\n"
        "| 휴대폰번호 표기 형식 | ^\\d{3}-\\d{3,4}-\\d{4}$ |\n"
        "| 주민등록번호 표기 형식 | ^\\d{6}-\\d{7}$ |"
    )
    answer = answerer.answer("표 1에서 주민등록번호 표기 형식의 정규 표현식은?", [_hit(1, text)])
    assert answer.text.startswith("개인 정보의 표기 형식: 주민등록번호 표기 형식 · 정규 표현식:")


def test_a_list_item_is_read_under_its_heading(answerer) -> None:
    text = (
        "## EncryptVersion\n- 0: None\n- 1: (한글 2.5 버전 이하)\n- 3: (한글 3.0 버전 Old)\n"
        "- 4: (한글 7.0 버전 이후)"
    )
    candidates = [c.text for c in answerer.candidates([_hit(1, text)])]
    assert "EncryptVersion · - 4: (한글 7.0 버전 이후)" in candidates
