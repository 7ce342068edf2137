"""What a question asks for, and whether a text holds a value of that kind."""

from __future__ import annotations

import pytest

from assistant.asked import asked_kinds, held


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("공개특허의 특허 등록일과 등록번호는?", {"date", "code"}),
        ("입찰서 제출 마감 일시는?", {"date"}),
        ("최종 낙찰된 업체명과 낙찰금액은?", {"name", "amount"}),
        ("펀드의 10월 한 달 수익률은 얼마였나?", {"rate", "count"}),
        ("5G 기지국 전국 구축 수는 몇 개인가?", {"count"}),
        ("이 법은 언제부터 시행되는가?", {"date"}),
        ("캐글을 창업한 사람은 누구인가?", {"name"}),
        ("샌디에이고가 신시내티를 꺾은 뒤 기록한 시즌 전적은?", set()),
        # a noun ending in 률/일/월 early in the question is a condition, not what is asked
        ("일부개정법률안 부칙에 따른 시행 조건은?", set()),
        ("3개월 기준 1회선당 몇 회로 제한되는가?", {"count"}),
        ("기간제노동자에게 명시하려는 권리는?", set()),
    ],
)
def test_the_asked_for_kinds(question: str, kinds: set[str]) -> None:
    assert asked_kinds(question) == kinds


def test_a_value_of_the_asked_kind_is_held_unless_it_is_the_questions_own() -> None:
    q = "2023년 10월 수익률과 설정일은?"
    kinds = asked_kinds(q)
    assert kinds == {"rate", "date"}
    assert held(kinds, q, "1년 수익률은 12.5%이다.") == {"rate", "date"}
    assert held(kinds, q, "설정일은 2015.03.02이다.") == {"date"}
    assert held(kinds, q, "2023년 10월 펀드의 운용 현황") == set()  # only the question's date
    assert held({"amount"}, "낙찰금액은?", "추정가격 1,200만원") == {"amount"}
    assert held({"amount"}, "낙찰금액은?", "낙찰자는 적격심사로 정한다.") == set()
    assert held({"code"}, "등록번호는?", "출원번호 10-2021-0175798") == {"code"}
    assert held({"name"}, "출원인은 누구인가?", "출원인 주식회사 가나", new_names=True) == {"name"}
    assert held({"name"}, "출원인은 누구인가?", "출원인 주식회사 가나") == set()
