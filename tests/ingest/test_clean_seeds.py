"""Cleaning the four seed articles: page chrome goes, every body sentence stays.

Decision on report author lines: in spri-2020, "박강민 | 선임연구원 | gangmin.park@spri.kr"
sits under a section heading and says who wrote that section, so it is content and stays.
A news byline ("정재호 기자 next88@hankookilbo.com") says nothing about the story and goes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.clean import chrome_reason, clean_document, clean_text, normalize_lines

CORPUS = Path(__file__).resolve().parents[2] / "corpus"

SEEDS: dict[str, dict[str, list[str] | dict[str, str]]] = {
    "segye-2025-deepseek.txt": {
        "gone": [
            "관련이슈 오피니언 최신",
            "입력 : 2025-02-03 23:09:43 수정 : 2025-02-03 23:09:42",
            "인쇄 메일 페이스북 공유 트위터 공유 url 공유 – +",
            "[ⓒ 세계일보 & Segye.com, 무단전재 및 재배포 금지]",
            "제호 : 세계일보",
            "서울특별시 용산구 서빙고로 17",
            "등록번호 : 서울, 아03959",
            "등록일(발행일) : 2015년 11월 2일",
            "발행인 : 정희택",
            "편집인 : 황정미",
            "전화번호 : 02-2000-1234",
            "청소년보호 책임자 : 임인섭",
            "Copyright ⓒ 세계일보 All rights reserved.",
            "댓글",
        ],
        "stay": [
            "중국의 삼성전자 격인 화웨이는 2년여 전 미국의 독한 제재에도 고성능 스마트폰을 "
            "선보여 세계를 놀라게 했다.",
            "오픈AI는 딥시크의 데이터 무단 수집을 의심하며 조사에 돌입했다.",
            "이제라도 미·중 간 AI 패권경쟁에서 기회를 포착하는 전략을 짜고 인재 양성·유출방지 "
            "프로그램도 마련해야 한다.",
        ],
        "meta": {"publisher": "세계일보", "date": "2025-02-03"},
    },
    "hankook-2023-china-ai-self-reliance.txt": {
        "gone": [
            "정재호 2023. 5. 8. 20:02",
            "자동요약 기사 제목과 주요 문장을 기반으로 자동요약한 결과입니다.",
            "전체 맥락을 이해하기 위해서는 본문 보기를 권장합니다.",
            "음성재생 설정",
            "번역beta Translated by kaka i",
            "글자크기 설정 파란원을 좌우로 움직이시면 글자크기가 변경 됩니다.",
            "이 글자크기로 변경됩니다.",
            "(예시) 가장 빠른 뉴스가 있고 다양한 정보, 쌍방향 소통이 숨쉬는 다음뉴스를 "
            "만나보세요. 다음뉴스는 국내외 주요이슈와 실시간 속보, 문화생활 및 다양한 분야의 "
            "뉴스를 입체적으로 전달하고 있습니다.",
            "미중 갈등 이미지. 게티이미지뱅크",
            "지난달 26일 중국 쑤저우에 위치한 '화웨이 5GtoB' 연구소에서 화웨이 관계자가 각국 "
            "취재진 앞에서 화웨이의 다양한 솔루션을 시연하고 있다. 화웨이 제공",
            "지난 3월 중국 수도 베이징에 위치한 바이두 본사 외곽 벽에 새겨진 기업 로고. "
            "베이징=AFP 연합뉴스",
            "정재호 기자 next88@hankookilbo.com",
            "Copyright © 한국일보. 무단전재 및 재배포 금지.",
            "이 기사에 대해 어떻게 생각하시나요?",
        ],
        "stay": [
            "미국 제재의 반작용?... 중국, '최신형 미국산 칩' 빼고 AI 기술 개발",
            "화웨이·바이두·알리바바, AI 공동 연구·개발",
            "고성능 칩 부족하자 '저성능 칩 결합' 시도",
            "미국의 제재가 오히려 중국의 인공지능(AI) 기술 발전 '홀로서기'를 촉진하는 자극제가 "
            "되고 있다는 분석이 나왔다.",
            "바이두, 화웨이 칩으로 AI '어니봇' 개발",
            'WSJ는 "1,000개의 H100 성능 구현을 위해선 3,000개 이상의 H800이 필요하다"며 비용 '
            "문제가 크다고 전했다.",
            # looks like a notice about information, but is the story
            '지난 3월 중국 국가사이버정보판공실은 자국의 정보 제공업체들에 "기업 및 학술 정보 '
            '등을 해외 단체에 공개하지 말라"고 지시했다.',
        ],
        "meta": {"publisher": "한국일보", "date": "2023-05-08"},
    },
    "spri-2020-us-china-ai-rivalry.txt": {
        "gone": ["날짜2020.05.29", "조회수11342", "글자크기"],
        "stay": [
            "포스트 코로나 시대의 미-중 AI패권경쟁을 바라보는 관전 포인트",
            "박강민AI정책연구실 선임연구원",
            "박강민 | 선임연구원 | gangmin.park@spri.kr",
            "김준연 | 책임연구원 | catchup@spri.kr",
            "※ 자료 : NIA(2019.6.), 미국 인공지능 관련 정책동향 수정보완",
            "[그림 2] 코로나19와 코드 부여",
            "10 구글은 전 세계 독감 데이터까지도 모두 공개하고 있다."
            "(http://www.google.org/flutrends/)",
            "19 「习近平:实施国家大数据战略加快建设数字中国」, 2017年12月9日",
        ],
        "meta": {"date": "2020-05-29"},
    },
    "china-full-stack-ai-alliance.txt": {
        "gone": [],
        "stay": [
            "미국 H20 수출 허락 차버린 중국",
            "한국도 혁신 연구조직 세워야",
        ],
        "meta": {},
    },
}


def seed(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_chrome_lines_go(name):
    lines = clean_text(seed(name)).split("\n")
    for line in SEEDS[name]["gone"]:
        assert line not in lines


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_body_sentences_stay(name):
    text = clean_text(seed(name))
    for sentence in SEEDS[name]["stay"]:
        assert sentence in text


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_only_the_listed_chrome_goes(name):
    """Every line dropped is one the test lists (plus auto-summary repeats of the body)."""
    cleaned = clean_document(seed(name))
    dropped = [line for reason, line in cleaned.dropped if reason != "auto-summary"]
    assert sorted(dropped) == sorted(SEEDS[name]["gone"])
    everything = cleaned.text.split("\n") + [line for _, line in cleaned.dropped]
    assert sorted(everything) == sorted(normalize_lines(seed(name)))  # nothing else is lost


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_date_and_publisher_from_the_page(name):
    assert clean_document(seed(name)).meta == SEEDS[name]["meta"]


def test_auto_summary_repeats_go_but_the_body_keeps_them_once():
    text = clean_text(seed("hankook-2023-china-ai-self-reliance.txt"))
    sentence = (
        "중국군의 첨단 반도체·AI 기술 활용 등을 다룬 미국 싱크탱크 보고서가 결정적 계기가 됐다."
    )
    assert text.count(sentence) == 1
    assert text.split("\n")[1] == "화웨이·바이두·알리바바, AI 공동 연구·개발"


def test_chinese_alliance_article_is_only_whitespace_normalised():
    raw = seed("china-full-stack-ai-alliance.txt")
    assert clean_text(raw) == "\n".join(line.strip() for line in raw.splitlines() if line.strip())


@pytest.mark.parametrize(
    "line",
    [
        "저작권 침해 소송이 늘면서 언론사들은 AI 기업에 사용료를 요구하고 있다.",
        "저작권자의 허락 없이 기사를 학습에 쓰는 것은 무단 전재에 해당한다는 주장이 나왔다.",
        "Copyright law in Korea protects news articles as literary works.",
        "발행인과 편집인은 기사에 대한 책임을 진다고 법은 정한다.",
        "주소를 입력하면 지도가 열린다.",
        "댓글 조작 의혹이 불거졌다.",
        "정부는 연구 결과를 민간에 제공",
        "기자회견에서 그는 2025년 2월 3일 발표를 예고했다.",
        "인쇄 산업의 디지털 전환이 빨라지고 있다.",
    ],
)
def test_body_lines_that_look_like_chrome_stay(line):
    assert chrome_reason(line) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("홍길동 기자 gildong@example.co.kr", "byline"),
        ("[홍길동·김철수 기자]", "byline"),
        ("저작권자 © 연합뉴스, 무단 전재-재배포, AI 학습 및 활용 금지", "copyright"),
        ("입력 2024.03.01 09:00 | 수정 2024.03.01 10:30", "date line"),
        ("사진=연합뉴스", "photo caption"),
        ("카카오톡 페이스북 링크복사", "share buttons"),
        ("댓글 12개", "comment prompt"),
    ],
)
def test_other_common_chrome_goes(line, reason):
    assert chrome_reason(line) == reason


def test_metadata_from_other_publishers():
    meta = clean_document(
        "본문 문장이다.\n입력 2024.03.01 09:00 | 수정 2024.03.02 10:30\n"
        "저작권자 © 연합뉴스, 무단 전재-재배포 금지"
    ).meta
    assert meta == {"date": "2024-03-01", "publisher": "연합뉴스"}


def test_reports_keep_their_date_and_copyright_lines() -> None:
    text = "디지털 정부혁신 추진계획\n2019. 10. 29.\n관계부처 합동\nⓒ 행정안전부 무단 전재 금지"
    assert clean_document(text, chrome=False).text == text
    assert "2019. 10. 29." not in clean_document(text).text  # a news page's date line is chrome
