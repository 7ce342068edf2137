"""UI callbacks with the fake embedder: no browser, no real model."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from pydantic import SecretStr

import ui
from assistant import ui_callbacks as cb
from assistant.answers import NOT_FOUND, Answer, Source
from assistant.build import build_assistant
from ingest.errors import AssistantError
from ingest.records import Hit
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
# Two small articles of the shipped corpus keep these tests fast.
ARTICLES = [CORPUS / "segye-2025-deepseek.txt", CORPUS / "hankook-2023-china-ai-self-reliance.txt"]
QUESTION = "딥시크가 주장한 V3 개발 비용은?"


class ScriptedAnswerer:
    """Streams a fixed answer in two pieces citing the first hit, its first sentence marked."""

    name = "scripted"

    def __init__(self) -> None:
        self.questions: list[str] = []

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        *_, final = self.stream(question, hits)
        assert isinstance(final, Answer)
        return final

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        self.questions.append(question)
        yield "문서에 따르면 "
        yield "이렇습니다 [1]."
        text = hits[0].chunk.text
        end = text.find(".") + 1 or len(text)
        yield Answer("문서에 따르면 이렇습니다 [1].", [Source(1, hits[0], ((0, end),))])


@pytest.fixture
def corpus_assistant(fake_assistant):
    fake_assistant.ingest(ARTICLES)
    return fake_assistant


@pytest.fixture
def scripted(corpus_assistant) -> ScriptedAnswerer:
    answerer = ScriptedAnswerer()
    corpus_assistant.answerers["scripted"] = answerer
    return answerer


def run(gen: Iterator[tuple]) -> list[tuple]:
    return list(gen)


# -- app -------------------------------------------------------------------------------------


def test_build_app_constructs_without_launching(corpus_assistant) -> None:
    app = ui.build_app(corpus_assistant)
    assert isinstance(app, gr.Blocks)
    dropdowns = [c for c in app.blocks.values() if isinstance(c, gr.Dropdown)]
    engine = next(d for d in dropdowns if d.label == "답변 엔진")
    assert engine.visible is False  # one answerer: no choice to offer
    chat = next(c for c in app.blocks.values() if isinstance(c, gr.Chatbot))
    assert {"text": QUESTION} in chat.examples


def test_build_app_offers_the_answerer_choice_when_several(corpus_assistant, scripted) -> None:
    app = ui.build_app(corpus_assistant)
    engine = next(
        c for c in app.blocks.values() if isinstance(c, gr.Dropdown) and c.label == "답변 엔진"
    )
    assert engine.visible is True


def test_mount_options_default_is_local_without_login(settings: Settings, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ui"):
        ui.check_exposure(settings)
        opts = ui.mount_options(settings)
    assert opts["auth"] is None
    assert opts["allowed_paths"] == []
    assert opts["max_file_size"] == int(settings.max_file_mb * 1_000_000)
    assert not caplog.records


def test_an_open_address_without_key_or_login_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AssistantError, match=r"refusing to serve on 0\.0\.0\.0"):
        ui.check_exposure(Settings(data_dir=tmp_path, host="0.0.0.0"))


def test_an_open_address_with_a_key_but_no_login_warns(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ui"):
        ui.check_exposure(Settings(data_dir=tmp_path, host="0.0.0.0", api_keys="k"))
    assert "without a login" in caplog.text


def test_mount_options_login(tmp_path: Path, caplog) -> None:
    s = Settings(data_dir=tmp_path, host="0.0.0.0", auth_user="kim", auth_password="s3cret")
    with caplog.at_level(logging.WARNING, logger="ui"):
        ui.check_exposure(s)
        opts = ui.mount_options(s)
    assert opts["auth"] == ("kim", "s3cret")
    assert not caplog.records
    with pytest.raises(AssistantError, match="AUTH_PASSWORD"):
        ui.mount_options(Settings(data_dir=tmp_path, auth_user="kim"))
    with pytest.raises(AssistantError, match="AUTH_USER"):
        ui.mount_options(Settings(data_dir=tmp_path, auth_password=SecretStr("x")))


# -- chat ------------------------------------------------------------------------------------


def test_respond_streams_then_shows_sources_with_marks(corpus_assistant, scripted) -> None:
    steps = run(cb.respond(corpus_assistant, f"  {QUESTION} ", [], [], 3, "hybrid", "scripted"))
    box, chat, sources, turns = steps[0]
    assert chat == [{"role": "user", "content": QUESTION}]
    assert sources == ""
    assert turns == []
    partial = [s[1][-1]["content"] for s in steps[1:-1]]
    assert partial == ["문서에 따르면 ", "문서에 따르면 이렇습니다 [1]."]
    box, chat, sources, turns = steps[-1]
    assert box == ""
    assert chat[-1]["role"] == "assistant"
    assert 'href="#source-1"' in chat[-1]["content"]
    assert 'id="source-1"' in sources
    assert "<mark>" in sources
    assert "점수" in sources
    assert ".txt" in sources
    assert turns == [(QUESTION, "문서에 따르면 이렇습니다 [1].")]


def test_respond_extractive_answer_highlights_cited_sentence(tmp_path: Path, fake_embedder) -> None:
    settings = Settings(data_dir=tmp_path / "d", model="fake-bigram", not_found_threshold=-1.0)
    assistant = build_assistant(settings, embedder=fake_embedder)
    try:
        assistant.ingest(ARTICLES)
        *_, (_, chat, sources, turns) = run(cb.respond(assistant, QUESTION, [], []))
    finally:
        assistant.index.close()
    assert "[1]" in turns[0][1]
    assert '<a class="cite" href="#source-1"' in chat[-1]["content"]
    assert sources.count("<mark>") >= 1
    assert "<h3>출처</h3>" in sources


def test_respond_not_found_still_shows_nearest_passages(corpus_assistant) -> None:
    *_, (_, chat, sources, turns) = run(
        cb.respond(corpus_assistant, "양자 중력 이론의 창시자는?", [], [])
    )
    assert NOT_FOUND in chat[-1]["content"]
    assert "가장 가까운 구절" in sources
    assert 'id="source-1"' in sources
    assert "not-found" in sources
    assert turns[0][1].startswith(NOT_FOUND)


def test_followups_pass_the_conversation(corpus_assistant, monkeypatch) -> None:
    seen: list[list[tuple[str, str]]] = []
    real = corpus_assistant.stream

    def spy(question, **kwargs):
        seen.append(list(kwargs["history"]))
        return real(question, **kwargs)

    monkeypatch.setattr(corpus_assistant, "stream", spy)
    *_, (_, chat, _, turns) = run(
        cb.respond(corpus_assistant, "딥시크는 어느 도시의 스타트업이야?", [], [])
    )
    *_, (_, chat, _, turns) = run(cb.respond(corpus_assistant, "그 회사의 V3 비용은?", chat, turns))
    assert seen[0] == []
    assert seen[1][0][0] == "딥시크는 어느 도시의 스타트업이야?"
    assert len(chat) == 4
    assert len(turns) == 2


def test_respond_ignores_an_empty_question(corpus_assistant) -> None:
    assert run(cb.respond(corpus_assistant, "   ", [], [])) == [("", [], "", [])]


def test_respond_turns_assistant_errors_into_gr_error(corpus_assistant) -> None:
    with pytest.raises(gr.Error, match="not configured"):
        run(cb.respond(corpus_assistant, QUESTION, [], [], backend="nope"))


def test_new_chat_clears_everything() -> None:
    assert cb.new_chat() == ("", [], "", [])


def test_link_markers_only_links_known_sources() -> None:
    out = cb.link_markers("가 [1] 나 [7]", [1, 2])
    assert 'href="#source-1"' in out
    assert "[7]" in out
    assert "#source-7" not in out


def test_sources_html_escapes_passage_text(corpus_assistant) -> None:
    hit = corpus_assistant.search(QUESTION, k=1)[0]
    chunk = hit.chunk.__class__(**{**hit.chunk.__dict__, "text": "<script>x</script> 끝."})
    answer = Answer("답 [1]", [Source(1, Hit(chunk, 0.5), ((0, 8),))])
    html = cb.sources_html(answer)
    assert "<script>" not in html
    assert "<mark>&lt;script&gt;</mark>" in html


def test_example_questions_come_from_the_indexed_documents(fake_assistant, tmp_path) -> None:
    assert cb.example_questions(fake_assistant) == []
    note = tmp_path / "note.txt"
    note.write_text("사내 복지 안내\n\n휴가는 연 20일이다.", encoding="utf-8")
    fake_assistant.ingest([note])
    assert cb.example_questions(fake_assistant) == ["「사내 복지 안내」의 핵심 내용은?"]
    fake_assistant.ingest(ARTICLES)
    questions = cb.example_questions(fake_assistant)
    assert QUESTION in questions
    assert len(questions) == 3


# -- documents -------------------------------------------------------------------------------


def test_document_rows_and_choices(corpus_assistant) -> None:
    rows = cb.document_rows(corpus_assistant)
    assert len(rows) == 2
    by_file = {r[1]: r for r in rows}
    _title, _file, fmt, chunks, groups, added = by_file["segye-2025-deepseek.txt"]
    assert fmt == "txt"
    assert groups == "기본"
    assert chunks > 0
    assert len(added) == len("2025-01-01 00:00")
    assert "segye-2025-deepseek.txt" in dict(
        (v, k) for k, v in cb.document_choices(corpus_assistant)
    )
    assert cb.pick_row(rows[0]) == rows[0][1]
    assert cb.pick_row(None) is None


def test_upload_reports_each_file_and_keeps_the_good_ones(fake_assistant, tmp_path) -> None:
    good = tmp_path / "whale.txt"
    good.write_text(
        "제주 파란고래 연구소\n\n제주 파란고래 연구소의 2026년 예산은 417억원이다.", "utf-8"
    )
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    calls: list[tuple] = []

    result = cb.upload(
        fake_assistant, [str(good), str(bad)], progress=lambda p, desc: calls.append((p, desc))
    )

    rows = {r[0]: r for r in result.outcomes}
    assert rows["whale.txt"][1] == "추가됨"
    assert rows["whale.txt"][2] > 0
    assert rows["broken.pdf"][1] == "실패"
    assert rows["broken.pdf"][3]
    assert not rows["broken.pdf"][3].startswith("broken.pdf")  # the row names the file
    assert "추가됨 1" in result.summary
    assert "실패 1" in result.summary
    assert calls[-1] == ((2, 2), "완료")
    assert len(calls) >= 2
    assert [r[1] for r in cb.document_rows(fake_assistant)] == ["whale.txt"]
    stored = list((fake_assistant.settings.uploads_dir).iterdir())
    assert all(p.stem != "whale" for p in stored)  # content-hash names, not upload names

    again = cb.upload(fake_assistant, [str(good)])
    assert again.outcomes[0][1] == "변경 없음"


def test_upload_without_files_asks_for_some(fake_assistant) -> None:
    with pytest.raises(gr.Error, match="파일"):
        cb.upload(fake_assistant, None)


def test_delete_flow_removes_the_document_from_answers(fake_assistant, tmp_path) -> None:
    fake_assistant.ingest(ARTICLES[:1])
    note = tmp_path / "whale.txt"
    note.write_text(
        "제주 파란고래 연구소\n\n제주 파란고래 연구소의 2026년 예산은 417억원이다.", "utf-8"
    )
    cb.upload(fake_assistant, [str(note)])
    question = "제주 파란고래 연구소의 2026년 예산은?"
    *_, (_, _, sources, _) = run(cb.respond(fake_assistant, question, [], []))
    assert "whale.txt" in sources

    with pytest.raises(gr.Error, match="고르세요"):
        cb.delete_prompt(fake_assistant, None)
    prompt = cb.delete_prompt(fake_assistant, "whale.txt")
    assert "제주 파란고래 연구소" in prompt
    assert "삭제할까요" in prompt
    status = cb.delete(fake_assistant, "whale.txt")
    assert "삭제했습니다" in status
    assert "whale.txt" not in [r[1] for r in cb.document_rows(fake_assistant)]
    *_, (_, _, sources, _) = run(cb.respond(fake_assistant, question, [], []))
    assert "whale.txt" not in sources
    with pytest.raises(gr.Error, match="찾을 수 없습니다"):
        cb.delete(fake_assistant, "whale.txt")


def test_a_source_card_shows_the_passage_in_its_surrounding_text(corpus_assistant) -> None:
    hit = next(h for h in corpus_assistant.search(QUESTION, k=5) if h.chunk.ordinal > 0)
    doc = corpus_assistant.index.store.document(hit.chunk.doc_id)
    before = doc.text[max(0, hit.chunk.start - 40) : hit.chunk.start]
    answer = Answer("답 [1]", [Source(1, hit, ())])
    html_ = cb.sources_html(answer, cb.document_surroundings(corpus_assistant))
    assert "문서에서 앞뒤 내용 보기" in html_
    assert html.escape(before.split("\n")[-1]) in html_
    stale = hit.chunk.__class__(**{**hit.chunk.__dict__, "text": "바뀐 글"})
    plain = cb.sources_html(
        Answer("답 [1]", [Source(1, Hit(stale, 0.5), ())]),
        cb.document_surroundings(corpus_assistant),
    )
    assert "앞뒤 내용" not in plain  # a changed document shows no misleading context


# -- collections -----------------------------------------------------------------------------


def test_upload_into_a_collection_and_ask_within_it(fake_assistant, tmp_path: Path) -> None:
    whale = tmp_path / "whale.txt"
    whale.write_text("제주 파란고래 연구소의 2026년 예산은 417억원이다.", encoding="utf-8")
    fake_assistant.ingest(ARTICLES)
    result = cb.upload(fake_assistant, [whale], collection="고래")
    assert "컬렉션 「고래」" in result.summary
    assert ("고래 (1)", "고래") in cb.collection_choices(fake_assistant)
    rows = {r[1]: r for r in cb.document_rows(fake_assistant)}
    assert rows["whale.txt"][4] == "고래"
    steps = list(cb.respond(fake_assistant, QUESTION, [], [], 5, "hybrid", None, ["고래"], []))
    _, _, sources, _ = steps[-1]
    assert "whale.txt" in sources
    assert ARTICLES[0].name not in sources  # the DeepSeek article is not in 고래
    chosen = list(
        cb.respond(fake_assistant, QUESTION, [], [], 5, "hybrid", None, [], [ARTICLES[1].name])
    )[-1][2]
    assert ARTICLES[1].name in chosen
    assert "whale.txt" not in chosen
    assert cb.scope_of([], []) is None


def test_collection_management_callbacks(fake_assistant, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("모음에만 있는 메모다. 다른 곳에는 없다.", encoding="utf-8")
    assert "「보고서」" in cb.create_collection(fake_assistant, " 보고서 ")
    with pytest.raises(gr.Error, match="already exists"):
        cb.create_collection(fake_assistant, "보고서")
    assert "「연구」" in cb.rename_collection(fake_assistant, "보고서", "연구")
    cb.upload(fake_assistant, [note], collection="연구")
    prompt = cb.delete_collection_prompt(fake_assistant, "연구")
    assert "문서 1개 중" in prompt
    assert "1개는 색인에서도 삭제" in prompt
    with pytest.raises(gr.Error, match="삭제할 수 없습니다"):
        cb.delete_collection_prompt(fake_assistant, "기본")
    with pytest.raises(gr.Error):
        cb.rename_collection(fake_assistant, None, "x")
    assert "문서 1개를 삭제" in cb.delete_collection(fake_assistant, "연구")
    assert fake_assistant.documents() == []
    assert [name for _, name in cb.collection_choices(fake_assistant)] == ["기본"]


def test_the_app_has_collection_pickers(corpus_assistant) -> None:
    app = ui.build_app(corpus_assistant)
    dropdowns = {c.elem_id: c for c in app.blocks.values() if isinstance(c, gr.Dropdown)}
    assert dropdowns["chat-collections"].multiselect
    assert dropdowns["chat-documents"].multiselect
    assert dropdowns["doc-collection"].value == "기본"
    assert ("기본 (2)", "기본") in dropdowns["doc-collection"].choices


def test_a_dotfile_in_an_upload_batch_is_skipped_with_a_note(fake_assistant, tmp_path) -> None:
    good = tmp_path / "whale.txt"
    good.write_text("제주 파란고래 연구소의 예산은 417억원이다.", encoding="utf-8")
    finder = tmp_path / ".DS_Store"
    finder.write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 64)
    lock = tmp_path / "~$보고서.docx"
    lock.write_bytes(b"office lock")
    result = cb.upload(fake_assistant, [str(finder), str(good), str(lock)])
    rows = {r[0]: r for r in result.outcomes}
    assert rows["whale.txt"][1] == "추가됨"
    assert rows[".DS_Store"][1] == rows["~$보고서.docx"][1] == "건너뜀"
    assert "숨은 파일" in rows[".DS_Store"][3]
    assert result.failed == 0
    assert "건너뜀 2" in result.summary


def test_the_upload_box_takes_a_batch_with_files_of_any_name(corpus_assistant, tmp_path) -> None:
    from gradio.data_classes import FileData, ListFiles

    app = ui.build_app(corpus_assistant)
    box = next(c for c in app.blocks.values() if getattr(c, "elem_id", None) == "upload")
    paths = []
    for name in (".DS_Store", "report.hwp", "scan.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
        paths.append(str(tmp_path / name))
    taken = box.preprocess(ListFiles(root=[FileData(path=p) for p in paths]))
    assert [Path(p).name for p in taken] == [".DS_Store", "report.hwp", "scan.png", "notes.txt"]
