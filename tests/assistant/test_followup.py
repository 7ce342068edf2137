"""Rebuilding a follow-up from the conversation: the rules on a fake tokenizer, the wiring on
a small real index (fake embedder, real Kiwi)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.followup import expand_followup, needs_context, topic_terms


class FakeTokenizer:
    """Words are nouns; those in ``names`` are proper nouns (key terms when present)."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def nouns(self, text: str) -> list[tuple[str, str]]:
        return [(w, "NNP" if w in self.names else "NNG") for w in re.findall(r"\w+", text)]

    def key_terms(self, text: str) -> list[str]:
        words = list(dict.fromkeys(w for w, _ in self.nouns(text)))
        return [w for w in words if w in self.names] or words


TOK = FakeTokenizer("딥시크", "항저우", "AIIG")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("그 정책에 대한 미국의 대응은?", True),
        ("그럼 미국은?", True),
        ("알리바바는?", True),  # short: the topic is the previous turn's
        ("이에 대해 중국은 어떻게 했나?", True),
        ("해당 보고서에는 무엇이 기재됐나?", True),
        ("딥시크 V3의 개발 비용은 얼마인가?", False),
        ("두 나라 사이에 있는 섬의 이름은 무엇인가?", False),  # 이에 inside a word
    ],
)
def test_needs_context(question: str, expected: bool) -> None:
    assert needs_context(question) is expected


def test_a_standalone_question_or_a_first_turn_is_left_as_asked() -> None:
    q = "딥시크 V3의 개발 비용은 얼마인가?"
    assert expand_followup(q, ["딥시크 도시"], TOK, context="딥시크 항저우") == q
    assert expand_followup("그 회사는?", [], TOK, context="딥시크 항저우") == "그 회사는?"


def test_follow_up_takes_the_previous_question_and_the_answers_topic() -> None:
    rebuilt = expand_followup(
        "그 회사의 추론모델은?",
        ["딥시크 어느 도시"],
        TOK,
        context="딥시크 항저우 스타트업 [1] 항저우 회사",
    )
    # the previous question's name first, then the answer's name; nothing the question says
    assert rebuilt == "딥시크 항저우 스타트업 그 회사의 추론모델은?"


def test_without_an_answer_only_the_previous_question_is_used() -> None:
    assert expand_followup("그 회사는?", ["딥시크 도시"], TOK) == "딥시크 그 회사는?"


def test_topic_terms_rank_rare_names_first() -> None:
    idf = {"중국": 0.1, "연맹": 2.0, "AIIG": 2.0, "정부": 1.0}
    text = "중국 중국 중국 정부 연맹 AIIG"
    assert topic_terms(text, TOK, idf=lambda terms: {t: idf[t] for t in terms}) == [
        "AIIG",  # a name: boosted over the equally rare common noun
        "연맹",
        "정부",
    ]
    # without IDF, the count decides
    assert topic_terms(text, TOK)[0] == "중국"


def test_topic_terms_skip_markers_one_letter_nouns_and_excluded_words() -> None:
    text = "것 수 [1] [2] 연맹 정책 미국"
    assert topic_terms(text, TOK, exclude=["그 정책에 대한 미국의 대응은?"]) == ["연맹"]
    assert topic_terms("[1] 것", TOK) == []


# -- wired into the assistant ------------------------------------------------------------------

DOCS = {
    "deepseek.txt": "딥시크는 항저우의 스타트업이다. 딥시크는 추론모델 R1을 내놓았다.",
    "huawei.txt": "화웨이는 선전의 통신장비 기업이다. 화웨이는 스마트폰 메이트 60을 내놓았다.",
}


@pytest.fixture
def small_assistant(fake_assistant, tmp_path: Path):  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    fake_assistant.ingest([docs])
    return fake_assistant


def test_condense_uses_the_previous_answers_text(small_assistant) -> None:
    history = [("통신장비 기업은 어디인가?", "화웨이는 선전의 통신장비 기업이다. [1]")]
    rebuilt = small_assistant.condense("그 회사의 스마트폰은?", history, "extractive")
    assert "화웨이" in rebuilt
    assert rebuilt.endswith("그 회사의 스마트폰은?")


def test_condense_without_answers_uses_the_passages_the_question_retrieves(
    small_assistant,
) -> None:
    # CLI --history and MCP pass questions only: the retrieved passage names the company
    history = [("통신장비 기업은 어디인가?", "")]
    rebuilt = small_assistant.condense("그 회사의 스마트폰은?", history, "extractive")
    assert "화웨이" in rebuilt
    assert small_assistant.condense("메이트 60은 누가 만드나?", history, "extractive") == (
        "메이트 60은 누가 만드나?"
    )


def test_term_idf_ranks_rare_terms_higher(small_assistant) -> None:
    idf = small_assistant.index.term_idf(["딥시크", "내놓", "없는말"])
    assert idf["딥시크"] > idf["내놓"]  # one passage of two against both
    assert idf["없는말"] > idf["딥시크"]
