"""A very long line reaches the sentence splitter in bounded pieces, so chunking stays linear
(Kiwi's time grows with the square of its input) and no sentence text is lost."""

from __future__ import annotations

import re

from ingest.chunking import MAX_SPLIT_LINE, chunk_text, split_sentences


class RecordingSplitter:
    """Splits at ". " like a sentence splitter and records what it was handed."""

    def __init__(self) -> None:
        self.inputs: list[int] = []

    def __call__(self, text: str) -> list[tuple[int, int]]:
        self.inputs.append(len(text))
        return [(m.start(), m.end()) for m in re.finditer(r"[^.]+(?:\.|$)", text)]


def test_a_long_line_is_handed_over_in_pieces() -> None:
    sentence = "금고의 비밀번호는 매달 바뀌며 관리실 직원이 보관한다. "
    line = sentence * 20_000  # about 600,000 characters on one line
    splitter = RecordingSplitter()
    sents = split_sentences(line, splitter, 500)
    assert max(splitter.inputs) <= MAX_SPLIT_LINE
    assert sum(splitter.inputs) == len(line)  # each character once: linear work
    # cuts fall at sentence ends, so every sentence comes out whole
    texts = {line[s.start : s.end] for s in sents}
    assert texts == {sentence.strip()}


def test_a_line_without_spaces_or_sentence_ends_is_cut_hard_and_kept() -> None:
    line = "가" * (MAX_SPLIT_LINE * 3 + 17)
    splitter = RecordingSplitter()
    spans = chunk_text(line, size=500, overlap=0, splitter=splitter)
    assert max(splitter.inputs) <= MAX_SPLIT_LINE
    assert "".join(s.text for s in spans) == line


def test_a_long_line_of_words_is_cut_at_spaces() -> None:
    line = " ".join(f"단어{n}" for n in range(3000))
    splitter = RecordingSplitter()
    sents = split_sentences(line, splitter, 10_000)
    assert max(splitter.inputs) <= MAX_SPLIT_LINE
    assert all(re.fullmatch(r"단어\d+( 단어\d+)*", line[s.start : s.end]) for s in sents)
    assert " ".join(line[s.start : s.end] for s in sents) == line
