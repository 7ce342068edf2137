"""The shared relevance rule and the metrics, on hand-made cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation import (
    EvalItem,
    RelevanceRule,
    RetrievalMetrics,
    first_relevant_rank,
    load_jsonl,
    normalize,
    squad_to_documents,
)
from ingest.records import Chunk

EVIDENCE = (
    "딥시크 주장에 따르면 개발 비용은 558만달러(78억1200만원)로 1억달러가 들어간 챗GPT의 5.6%"
)


def chunk(text: str, source: str = "a.txt") -> Chunk:
    return Chunk(1, source, 0, text, 0, len(text), "t", source)


def test_normalize_collapses_whitespace() -> None:
    assert normalize("  딥시크 \n\t 비용  ") == "딥시크 비용"


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        (f"앞 문장. {EVIDENCE} 뒤 문장.", "a.txt", True),
        (f"앞 문장. {EVIDENCE}", "b.txt", False),  # wrong file
        (EVIDENCE[:29] + " 전혀 다른 이야기 558만달러", "a.txt", False),  # 29 shared chars only
        (EVIDENCE[5:35] + " 558만달러", "a.txt", True),  # exactly 30 shared chars + answer
        (EVIDENCE.replace("558만달러", "X"), "a.txt", False),  # no answer in the chunk
        (EVIDENCE.replace(" ", "\n  "), "a.txt", True),  # whitespace differs
    ],
)
def test_relevance_rule(text: str, source: str, expected: bool) -> None:
    item = EvalItem("비용은?", ("558만달러",), "a.txt", EVIDENCE)
    assert RelevanceRule(item)(text, source) is expected


def test_short_evidence_must_appear_whole_and_long_answers_are_not_required() -> None:
    short = EvalItem("q", (), None, "H20")
    assert RelevanceRule(short)("엔비디아 H20 수출", "x.txt")
    assert not RelevanceRule(short)("엔비디아 H2 0", "x.txt")
    long_answer = EvalItem("q", ("가" * 31,), "a.txt", None)
    assert RelevanceRule(long_answer)("아무 내용", "a.txt")  # answers over 30 chars are not checked


def test_metrics_count_rank_and_mrr() -> None:
    item = EvalItem("q", ("정답",), None, None)
    chunks = [chunk("오답"), chunk("정답 있음"), chunk("정답")]
    assert first_relevant_rank(chunks, RelevanceRule(item)) == 2
    m = RetrievalMetrics("hybrid")
    m.add(1, 0.01, "a")
    m.add(2, 0.03, "b")
    m.add(None, 0.02, "c")
    s = m.summary()
    assert (s["hit@1"], s["hit@3"], s["mrr@10"]) == (round(1 / 3, 4), round(2 / 3, 4), 0.5)
    assert s["p50_ms"] == 20.0


def test_loaders_read_jsonl_and_squad(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"question": "q1", "answers": ["a"], "source": "s.txt"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"question": "q2", "answers": [], "answerable": False})
        + "\n",
        encoding="utf-8",
    )
    items = load_jsonl(qa)
    assert [i.answerable for i in items] == [True, False]
    squad = tmp_path / "squad.json"
    squad.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "title": "제목",
                        "paragraphs": [
                            {
                                "context": "첫 문단",
                                "qas": [{"question": "q", "answers": [{"text": "첫"}]}],
                            },
                            {"context": "둘째 문단", "qas": []},
                        ],
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    converted = squad_to_documents(squad, tmp_path / "docs")
    assert converted == [EvalItem("q", ("첫",), "제목.txt", "첫 문단")]
    assert (tmp_path / "docs" / "제목.txt").read_text(encoding="utf-8") == "첫 문단\n\n둘째 문단"


def test_cli_eval_indexes_afresh_but_reuses_the_built_models(
    tmp_path: Path, fake_embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    import assistant.build
    from assistant.cli import main

    models_seen: list[Path] = []

    def load(settings):  # type: ignore[no-untyped-def]
        models_seen.append(settings.models_dir.resolve())
        return fake_embedder

    monkeypatch.setattr(assistant.build, "load_embedder", load)
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "서울은 대한민국의 수도이다. 인구가 가장 많다."
    (docs / "seoul.txt").write_text(text, encoding="utf-8")
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"question": "대한민국의 수도는?", "answers": ["서울"], "source": "seoul.txt"})
        + "\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    args = ["--data-dir", str(data), "--model", "fake-bigram", "eval", "--data", str(qa)]
    result = CliRunner().invoke(main, [*args, "--docs", str(docs), "--mode", "hybrid"])
    assert result.exit_code == 0, result.output
    assert "hybrid" in result.output
    assert models_seen == [(data / "models").resolve()]  # not a fresh, empty models folder
    assert not (data / "index").exists()  # the evaluation's index lived in a temporary folder


# -- follow-up conversations ---------------------------------------------------------------


def test_load_conversations_reads_turns_and_names_a_bad_line(tmp_path: Path) -> None:
    from assistant.evaluation import Conversation, Turn, load_conversations
    from ingest.errors import AssistantError

    path = tmp_path / "conv.jsonl"
    row = {"id": "c1", "turns": [{"question": "q1", "answers": ["a"], "doc": "d.txt"}]}
    path.write_text(json.dumps(row) + "\n\n" + '{"id": "c2"}\n', encoding="utf-8")
    with pytest.raises(AssistantError, match=r"conv.jsonl:3: not a conversation"):
        load_conversations(path)
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert load_conversations(path) == [Conversation("c1", (Turn("q1", ("a",), "d.txt"),))]


class ScriptedAssistant:
    """Finds the right passage and answers well only when the follow-up is rebuilt with the
    topic of the previous answer (here: when the history is passed)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[tuple[str, str]]]] = []

    def condense(self, question: str, history: list[tuple[str, str]], backend: str) -> str:
        return f"딥시크 {question}" if history else question

    def search(self, query: str, *, k: int):  # type: ignore[no-untyped-def]
        from ingest.records import Hit

        text = "딥시크의 추론모델은 R1이다." if "딥시크" in query else "다른 이야기."
        return [Hit(chunk(text, "seg.txt"), 1.0)]

    def ask(self, question: str, *, history: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
        from assistant.answers import Answer

        self.asked.append((question, list(history)))
        query = self.condense(question, history, "extractive")
        return Answer(self.search(query, k=1)[0].chunk.text, [], found=True)


def test_conversations_score_only_follow_up_turns_with_and_without_the_rebuild() -> None:
    from assistant.evaluation import Conversation, Turn, evaluate_conversations

    conv = Conversation(
        "c1",
        (
            Turn("딥시크는 어디 회사인가?", ("항저우",), "seg.txt"),  # not scored
            Turn("그 회사의 추론모델은?", ("R1",), "seg.txt"),
        ),
    )
    fake = ScriptedAssistant()
    rebuilt = evaluate_conversations(fake, [conv]).summary()
    assert rebuilt == {
        "rebuild": True,
        "followup_turns": 1,
        "top3": 1.0,
        "answer_contains_gold": 1.0,
    }
    first_answer = "딥시크의 추론모델은 R1이다."
    assert fake.asked[1] == ("그 회사의 추론모델은?", [("딥시크는 어디 회사인가?", first_answer)])
    raw = evaluate_conversations(fake, [conv], rebuild=False)
    assert raw.summary()["top3"] == 0.0
    assert raw.summary()["answer_contains_gold"] == 0.0
    assert raw.failures[0]["searched"] == "그 회사의 추론모델은?"


def test_cli_eval_conversations_prints_both_lines(
    tmp_path: Path, fake_embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    import assistant.build
    from assistant.cli import main

    monkeypatch.setattr(assistant.build, "load_embedder", lambda settings: fake_embedder)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "seg.txt").write_text(
        "딥시크는 항저우의 스타트업이다. 딥시크는 추론모델 R1을 내놓았다.", encoding="utf-8"
    )
    conv = tmp_path / "conv.jsonl"
    turns = [
        {"question": "딥시크는 어느 도시의 스타트업인가?", "answers": ["항저우"], "doc": "seg.txt"},
        {"question": "그 회사의 추론모델은?", "answers": ["R1"], "doc": "seg.txt"},
    ]
    conv.write_text(json.dumps({"id": "c1", "turns": turns}) + "\n", encoding="utf-8")
    out = tmp_path / "figures.json"
    args = ["--data-dir", str(tmp_path / "data"), "--model", "fake-bigram", "eval"]
    args += ["--conversations", str(conv), "--docs", str(docs), "--json", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "follow-ups, rebuilt from the conversation: 1 turns of 1 conversations" in result.output
    assert "follow-ups, raw follow-up (no rebuild): 1 turns" in result.output
    assert "hit@1" not in result.output  # no --data: no retrieval table
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert [f["rebuild"] for f in figures["followups"]] == [True, False]
    assert figures["followups"][0]["top3"] == 1.0
