"""Clean extracted text: normalise whitespace and strip news-page chrome around the article.

Chrome is recognised line by line with narrow patterns (share buttons, font-size and audio
widgets, "자동요약" notices, reporter bylines, copyright and registration footers, comment
prompts, date lines, photo credits), so that every sentence of the body stays. The date and
publisher a page states in its chrome are kept as metadata.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_BULLET = re.compile(r"^[•◦▪▫●○■□►▶➤]\s+")
PAGE_BREAK = "\f"  # loaders separate pages with a form feed; cleaning keeps it as a line


def _alt(*options: str) -> str:
    return "(?:" + "|".join(options) + ")"


_DATE = r"\d{4}\s*[-./]\s*\d{1,2}\s*[-./]\s*\d{1,2}\.?|\d{4}년\s*\d{1,2}월\s*\d{1,2}일"
_TIME = r"(?:오전|오후)?\s*\d{1,2}:\d{2}(?::\d{2})?"
_DATE_LABEL = r"(?:입력|수정|업데이트|기사입력|최종\s?수정|승인|게재|등록|송고|발행|날짜)"
_STAMP = rf"(?:{_DATE_LABEL}\s*[:：]?\s*)?(?:{_DATE})(?:\s*{_TIME})?"
_DATE_PARTS = re.compile(r"(\d{4})\s*(?:[-./]|년)\s*(\d{1,2})\s*(?:[-./]|월)\s*(\d{1,2})")

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_REPORTER = r"(?:기자|선임기자|객원기자|인턴기자|특파원|논설위원|편집위원|통신원|앵커)"
_NAMES = r"[가-힣]{2,4}(?:\s?[·,]\s?[가-힣]{2,4})*"

_SHARE_WORDS = {
    "인쇄", "프린트", "메일", "이메일", "페이스북", "트위터", "엑스", "카카오톡", "카카오스토리",
    "카카오", "밴드", "네이버", "블로그", "링크", "링크복사", "url", "공유", "공유하기", "복사",
    "스크랩", "텔레그램", "라인", "글자크기", "크게", "작게", "–", "-", "+", "x",
}  # fmt: skip

_CREDITS = _alt(
    "게티이미지뱅크", "게티이미지", "연합뉴스", "뉴시스", "뉴스1", "AFP", "AP", "EPA", "로이터",
    "신화", "셔터스톡", "제공",
)  # fmt: skip
_FOOTER_LABELS = _alt(
    "제호", "매체명", "등록번호", r"등록일(?:\s?\(발행일\))?", r"등록\s?일자", "발행일(?:자)?",
    "발행인", "편집인", r"발행\s?[·및]?\s?편집인", "전화번호", r"대표\s?전화", "팩스",
    r"청소년\s?보호\s?책임자", r"개인정보\s?(?:보호\s?)?(?:관리\s?)?책임자", "주소",
    r"사업자\s?등록\s?번호", r"통신판매업\s?신고\s?(?:번호)?", r"인터넷\s?신문\s?등록\s?번호",
    "발행소", "법인명", "대표이사",
)  # fmt: skip
_COMMENT_PROMPTS = _alt(
    r"댓글(?:\s?\d+\s?개?)?", r"댓글\s?(?:쓰기|보기|달기|작성|더보기)",
    r"이 기사에 대해 어떻게 생각하시나요\??", "이 기사를 추천합니다", r"기사\s?추천",
    r"좋아요\s?\d*", r"후속\s?기사\s?원해요", "구독하기",
)  # fmt: skip
_WIDGETS = _alt(
    r"음성\s?재생(?:\s?설정)?", r"(?:기사\s?)?(?:듣기|읽어주기)", r"번역\s?beta\b.*",
    r"글자\s?크기\b.*", r"이 글자\s?크기로 변경됩니다\.?",
)  # fmt: skip
_COPYRIGHT_MARK = r"(?:[ⓒ©]|\(c\))"
_COPYRIGHT_START = (
    rf"^[\[(<]?\s*(?:{_COPYRIGHT_MARK}|copyright\s*(?:{_COPYRIGHT_MARK}|\d{{4}}|by\b)"
    rf"|저작권자\s*{_COPYRIGHT_MARK})"
)
_NO_REPRINT = r"(?:무단\s?전재|재배포\s?금지|all rights reserved)"
_DATE_LINE = rf"^(?:{_NAMES}(?:\s?기자)?\s+)?{_STAMP}(?:\s*[|·/,]?\s*{_STAMP})*$"

# (reason, pattern, longest line it may match): long lines are body text, never chrome
_RULES: list[tuple[str, re.Pattern[str], int]] = [
    ("date line", re.compile(_DATE_LINE), 100),
    ("byline", re.compile(rf"^[\[(]?{_NAMES}\s?{_REPORTER}(?:\s*[(<]?{_EMAIL}[)>]?)?[\])]?$"), 100),
    ("byline", re.compile(rf"^[\[(]?{_NAMES}\s?{_REPORTER}\s*[=/]?\s*{_EMAIL}.*$"), 100),
    ("copyright", re.compile(_COPYRIGHT_START, re.I), 160),
    ("copyright", re.compile(rf"^(?=.*{_NO_REPRINT}).*(?:{_COPYRIGHT_MARK}|copyright)", re.I), 160),
    ("registration footer", re.compile(rf"^{_FOOTER_LABELS}\s*[:：]"), 120),
    ("comment prompt", re.compile(rf"^{_COMMENT_PROMPTS}$"), 40),
    ("related issues", re.compile(r"^관련\s?이슈\b"), 80),
    ("view counter", re.compile(r"^조회\s?수?\s*[:：]?\s*[\d,]+(?:\s?회)?$"), 30),
    ("widget", re.compile(rf"^{_WIDGETS}$", re.I), 80),
    ("widget", re.compile(r"^\(예시\)\s?가장 빠른 뉴스가"), 300),
    ("auto-summary notice", re.compile(r"^자동\s?요약\b"), 120),
    ("auto-summary notice", re.compile(r"^전체 맥락을 이해하기 위해서는 본문 보기를"), 80),
    ("photo caption", re.compile(rf"[.)]\s+(?:사진\s?=\s?)?[^.。]{{0,30}}?{_CREDITS}$"), 250),
    ("photo caption", re.compile(rf"^(?:사진\s?=\s?)?\S{{0,15}}\s?{_CREDITS}$"), 25),
    # a few words and a bracketed credit: "월가 [사진=로이터 뉴스핌]"
    ("photo caption", re.compile(r"^.{0,20}\[ ?(?:사진|그래픽|자료|영상) ?= ?[^\]]{1,25}\]$"), 50),
]

_FOOTER_REASONS = {"copyright", "registration footer"}
_ADDRESS = re.compile(
    r"^(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충청|충북|충남|전라|전북|전남|"
    r"경상|경북|경남|제주)\S*\s+(?:\S+\s+){0,3}\S*(?:로|길)\s*\d"
)
_MASTHEAD = re.compile(r"^(?:제호|매체명)\s*[:：]\s*(.+)$")
_COPYRIGHT_OWNER = re.compile(
    r"(?:[ⓒ©]|\(c\)|copyright|저작권자)\s*(?:[ⓒ©]|\(c\))?\s*(?:\d{4}\s*)?([^\s,.&\]\)|/]+)", re.I
)


@dataclass(frozen=True)
class Cleaned:
    """Cleaned text, the metadata its chrome stated, and the lines dropped (with reasons)."""

    text: str
    meta: dict[str, str] = field(default_factory=dict)
    dropped: tuple[tuple[str, str], ...] = ()  # (reason, line)


def normalize_lines(text: str) -> list[str]:
    """NFC, one space between words, no invisible characters or list bullets, no blank lines.

    A page break (form feed) becomes a line of its own, :data:`PAGE_BREAK`.
    """
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n")
    out: list[str] = []
    for n, page in enumerate(text.split(PAGE_BREAK)):
        if n:
            out.append(PAGE_BREAK)
        lines = (_BULLET.sub("", _SPACES.sub(" ", line).strip()) for line in page.split("\n"))
        out.extend(line for line in lines if line)
    return out


def chrome_reason(line: str) -> str | None:
    """Why ``line`` is page chrome rather than article text, or None if it is content."""
    words = line.lower().split()
    if len(line) <= 80 and words and all(w in _SHARE_WORDS for w in words):
        return "share buttons"
    for reason, pattern, longest in _RULES:
        if len(line) <= longest and pattern.search(line):
            return reason
    return None


def clean_document(text: str, *, chrome: bool = True) -> Cleaned:
    """Normalise ``text`` and drop news-page chrome; keep the date and publisher it states.

    With ``chrome=False`` (reports, forms: formats that have no page chrome) only normalise:
    a date or copyright line there is the author's text.
    """
    lines = normalize_lines(text)
    if not chrome:
        return Cleaned("\n".join(lines))
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    in_footer = in_summary = False
    for n, line in enumerate(lines):
        if line == PAGE_BREAK:
            kept.append(line)
            continue
        reason = chrome_reason(line)
        if reason is None and in_footer and len(line) <= 80 and _ADDRESS.search(line):
            reason = "address footer"
        if reason is None and in_summary:
            # the auto-summary repeats sentences of the body: drop them where they repeat
            rest = "\n".join(lines[n + 1 :])
            if len(line) >= 10 and line in rest:
                reason = "auto-summary"
            else:
                in_summary = False
        if reason is None:
            kept.append(line)
            continue
        dropped.append((reason, line))
        in_footer = in_footer or reason in _FOOTER_REASONS
        in_summary = in_summary or reason == "auto-summary notice"
    if dropped:
        logger.debug("dropped %d chrome lines", len(dropped))
    return Cleaned("\n".join(kept), _chrome_meta(dropped), tuple(dropped))


def clean_text(text: str) -> str:
    """The cleaned text alone (see :func:`clean_document`)."""
    return clean_document(text).text


def _chrome_meta(dropped: list[tuple[str, str]]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for reason, line in dropped:
        if reason == "date line" and "date" not in meta:
            date = parse_date(line)
            if date:
                meta["date"] = date
        elif reason == "registration footer" and (m := _MASTHEAD.match(line)):
            meta["publisher"] = m[1].strip()
    if "publisher" not in meta:
        for reason, line in dropped:
            if reason == "copyright" and (m := _COPYRIGHT_OWNER.search(line)):
                owner = m[1].strip()
                if owner.lower() not in {"all", "by", "copyright"}:
                    meta["publisher"] = owner
                    break
    return meta


def parse_date(text: str) -> str | None:
    """The first valid date in ``text`` as YYYY-MM-DD (2025-02-03, 2023. 5. 8., 2020.05.29)."""
    for m in _DATE_PARTS.finditer(text):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            continue
    return None
