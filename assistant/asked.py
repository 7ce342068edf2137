"""What a question asks for — a date, an amount, a count, a rate, a name, a code — and whether a
text holds a value of that kind that the question itself does not.

"공개특허의 등록일은?" asks for a date, "낙찰금액은?" for an amount, "몇 개인가?" for a count,
"10월 수익률은?" for a rate, "업체명은?" for a name. A document can hold every word of such a
question and still not the asked-for fact (a patent application has dates, but no registration
date): the answerability gate checks that the sentences around the question's words hold a value
of the asked-for kind (:func:`held`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The kinds a question may ask for: by its question words anywhere ("언제", "얼마", "몇"), and by
# the head noun of what is asked near its end ("등록일", "낙찰금액", "수익률", "업체명", "구축 수"),
# where a noun ending in 일/액/률 names a date, an amount, a rate (earlier in the question such a
# noun is a condition, as in "3개월 기준 몇 회").
_END = r"(?=[은는이가을를과와의도]|\s|[?？]|$)"  # where the asked-for noun ends
ASKS = {
    "date": re.compile(r"언제|날짜|일자|일시|연도|년도|몇\s*년|몇\s*월|며칠"),
    "amount": re.compile(r"금액|액수|비용|가격|예산|매출|수수료|요금"),
    "count": re.compile(r"몇|얼마|개수|인원"),  # a count or any other number
    "rate": re.compile(r"비율|퍼센트|%|배율"),
    "name": re.compile(
        r"누구|누가|이름|명칭|어디|어느|(?:업체|회사|기업|기관|제품|단체|학교|상호)명"
    ),
    "code": re.compile(r"번호|코드"),
}
HEADS = {
    "date": re.compile(r"(?<=[가-힣])(?:일|월|년)" + _END + r"|(?:시기|기간|시점)" + _END),
    "amount": re.compile(r"(?<=[가-힣])액" + _END),
    "count": re.compile(r"(?<![가-힣])수(?=[은는가])"),
    "rate": re.compile(r"(?<=[가-힣])(?:률|율)" + _END),
}
HEAD_SPAN = 12  # characters at the question's end where a head noun names what is asked

_NUM = r"\d[\d,]*(?:\.\d+)?"
# What a value of each kind looks like in a sentence (names are found by the tokenizer's anchors)
VALUES = {
    "date": re.compile(
        r"\d{2,4}\s*[.\-/]\s*\d{1,2}(?:\s*[.\-/]\s*\d{1,2})?|\d+\s*(?:년|월|일|세기)"
    ),
    "amount": re.compile(
        _NUM + r"\s*(?:원|달러|엔|위안|유로|파운드|만|억|조|천|백만|천만)|[$₩€£¥]\s*\d"
    ),
    "count": re.compile(_NUM),
    "rate": re.compile(_NUM + r"\s*(?:%|％|퍼센트|%p|포인트|배|bp)"),
    "code": re.compile(r"[A-Za-z\d]+(?:\s*[-–]\s*[A-Za-z\d]+)+|\d{4,}"),
}
_DIGITS = re.compile(r"\d+")


def asked_kinds(question: str) -> frozenset[str]:
    """The kinds of value ``question`` asks for (empty when it asks for none of them)."""
    head = question.rstrip(" ?？.")[-HEAD_SPAN:]
    kinds = {kind for kind, pattern in ASKS.items() if pattern.search(question)}
    return frozenset(kinds | {kind for kind, pattern in HEADS.items() if pattern.search(head)})


def held(kinds: Iterable[str], question: str, text: str, new_names: bool = False) -> frozenset[str]:
    """Which of ``kinds`` ``text`` holds a value of, other than the question's own numbers.

    A name is held when ``new_names`` says the text has a name the question lacks (the caller's
    tokenizer decides that)."""
    own = set(_DIGITS.findall(question))
    out = set()
    for kind in kinds:
        if kind == "name":
            if new_names:
                out.add(kind)
            continue
        for m in VALUES[kind].finditer(text):
            if set(_DIGITS.findall(m.group())) - own:
                out.add(kind)
                break
    return frozenset(out)


__all__ = ["ASKS", "HEADS", "VALUES", "asked_kinds", "held"]
