"""Citations come only from the answerer's own markers: a document's "[1]" stays text, and an
invalid marker is taken out without leaving a hole, with a notice."""

from __future__ import annotations

import re
from pathlib import Path

import assistant.ui_callbacks as cb
from assistant.answers import Answer, Source, validate_citations
from ingest.records import Chunk, Hit

VAULT = (
    "금고 관리 규정\n\n"
    "금고의 비밀번호는 매달 바뀌며 자세한 절차는 별표 [3]에 있다. "
    "금고 열쇠는 관리실 직원이 보관한다.\n"
)


def _hit(n: int, text: str) -> Hit:
    return Hit(Chunk(n, f"doc{n}.txt", 0, text, 0, len(text), f"문서 {n}", f"doc{n}.txt"), 1.0)


def test_a_bracket_inside_a_document_is_not_a_citation(fake_assistant, tmp_path: Path) -> None:
    for n in range(1, 4):
        other = tmp_path / f"other{n}.txt"
        text = f"문서 {n}\n\n금고와 무관한 {n}번째 보고서의 내용이다.\n"
        other.write_text(text, encoding="utf-8")
        fake_assistant.ingest([other])
    doc = tmp_path / "vault.txt"
    doc.write_text(VAULT, encoding="utf-8")
    fake_assistant.ingest([doc])
    question = "금고의 비밀번호 절차는 어디에 있나?"
    for answer in (fake_assistant.ask(question), list(fake_assistant.stream(question))[-1]):
        assert "별표 〔3〕에 있다" in answer.text  # the document's bracket, as text
        assert "[3]" not in answer.text.split("별표")[1].split("있다")[0]
        vault = [s for s in answer.sources if s.hit.chunk.doc_id == "vault.txt"]
        assert vault
        assert "별표 [3]에" in vault[0].hit.chunk.text  # the source shows the document as it is
        assert answer.cited_numbers() == [vault[0].number]
        links = re.findall(r'href="#source-(\d+)"', cb.answer_markdown(answer))
        assert links
        assert set(links) == {str(vault[0].number)}


def test_an_invalid_marker_used_as_a_word_leaves_no_hole() -> None:
    hits = [_hit(1, "비밀은 금고에 있다."), _hit(2, "열쇠는 관리실에 있다.")]
    sources = [Source(1, hits[0]), Source(2, hits[1])]
    raw = Answer("비밀은 [7]에 있고 열쇠는 관리실에 있다 [2]. 금고는 지하에 있다 [9].", sources)
    answer = validate_citations(raw)
    assert answer.text == (
        "비밀은 (없는 출처 7)에 있고 열쇠는 관리실에 있다 [2]. 금고는 지하에 있다."
    )
    assert " 에 " not in answer.text
    assert answer.flags == ["invalid-citations-removed"]
    assert answer.notice == "제공된 구절에 없는 인용 [7], [9]을(를) 답변에서 뺐습니다."
    assert answer.cited_numbers() == [2]


def test_valid_markers_and_their_text_are_unchanged() -> None:
    sources = [Source(1, _hit(1, "비밀은 금고에 있다."))]
    raw = Answer("비밀은 [1]에 따르면 금고에 있다 [1].", sources)
    answer = validate_citations(raw)
    assert answer.text == raw.text
    assert answer.notice == ""
    assert answer.flags == []
