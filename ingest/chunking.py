"""Split cleaned text into passages on Korean sentence boundaries, preferring paragraph breaks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingest.layout import is_header_row, is_table_row
from ingest.records import Span

SentenceSplitter = Callable[[str], list[tuple[int, int]]]

_PARAGRAPH = re.compile(r"[^\n]+")
# Characters handed to the sentence splitter at once: Kiwi's time grows with the square of
# its input (a 400 KB line took 7.2 s, 1 MB 55 s, and it holds the lock questions need), so
# longer lines are cut first, at a sentence end or a space, in linear time.
MAX_SPLIT_LINE = 2000
_SENTENCE_ENDS = (". ", "? ", "! ", "。", "\t")
MAX_CAPTION = 100  # characters of a text line just above a table that is read as its caption
# A section's heading: a short line numbered as one ("제15조 (일시정지 및 재이용)", "4. 제안요청서
# 작성 방법", "Ⅱ. 추진계획", "## EncryptVersion") that does not end a sentence and closes what
# it opens (a wrapped line "제2조(2050 탄소중립…" does not). The extractive answerer reads a list
# item under it. (Ending a full chunk before the last heading in its last two thirds was tried:
# realdocs hybrid hit@5 0.889 without it, 0.875 with it.)
_HEADING = re.compile(
    r"^\s*(#{1,6}\s|제\s?\d+\s?[조장절편](\s|\(|의|$)|[IVXⅠ-Ⅻ]{1,4}\.\s|\d{1,2}\.\s|"
    r"\d{1,2}\)\s|[가-하][.)]\s)"
)
MAX_HEADING = 80
_BRACKETS = (("(", ")"), ("[", "]"), ("「", "」"), ("<", ">"))
_SPREAD_LINE = re.compile(r"^[\uac00-\ud7a3]( [\uac00-\ud7a3]){1,7}$")


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    para: int  # paragraph number: a chunk boundary between paragraphs is preferred
    header: str = ""  # the title and header rows of the table this row belongs to (if above it)


def _hard_split(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most ``size``, at spaces where possible."""
    pieces = []
    while end - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        cut = cut if cut > start else start + size
        pieces.append((start, cut))
        start = cut
        while start < end and text[start] == " ":
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _windows(line: str, limit: int) -> Iterator[tuple[int, int]]:
    """Cut ``line`` into pieces of at most ``limit`` characters, each ending at the last
    sentence end (else space) of its second half where there is one."""
    start, n = 0, len(line)
    while n - start > limit:
        half, end = start + limit // 2, start + limit
        cut = max(line.rfind(p, half, end) + len(p) for p in _SENTENCE_ENDS)
        if cut <= half:
            cut = line.rfind(" ", half, end) + 1
        if cut <= half:
            cut = end
        yield start, cut
        start = cut
    yield start, n


def split_sentences(
    text: str, splitter: SentenceSplitter, max_len: int, max_line: int = MAX_SPLIT_LINE
) -> list[_Sentence]:
    """Sentences of every line-delimited paragraph, with offsets into ``text``.

    A table row (``| a | b |``) is one sentence, never split by the sentence splitter, and
    knows the rows above it that head its table: the header row (the first of two or more filled
    cells) and a title row above that — or, when there is none, the table's caption: a short
    line of text just above it ("표 1", "① 초이스/스페셜/베이직"). A table and its caption are
    one paragraph, so that a chunk boundary falls before the caption rather than between it and
    the rows. The splitter sees at most ``max_line`` characters at a time (see MAX_SPLIT_LINE).
    """
    out: list[_Sentence] = []
    title = header = ""  # of the current table: a title row above its header row
    in_table = False
    caption, caption_para, prev_end = "", -1, -2  # the last short text line, if just above
    unit = -1  # paragraph number of the current table (its caption's, if it has one)
    for para, match in enumerate(_PARAGRAPH.finditer(text)):
        line = match.group()
        if not line.strip():
            continue
        base = match.start()
        if is_table_row(line):
            if not in_table:
                title, header, in_table = "", "", True
                above = caption and prev_end == base - 1
                unit = caption_para if above else para
                title = caption.strip() if above else ""
            row_header = "\n".join(p for p in (title, header) if p)
            if not header and is_header_row(line):
                header = line
            elif not header and (not title or title == caption.strip()):
                title = "\n".join(p for p in (title, line) if p)
            out.extend(
                _Sentence(a, b, unit, row_header)
                for a, b in _hard_split(text, base, base + len(line), max_len)
            )
            prev_end = match.end()
            continue
        in_table = False
        caption = line if len(line.strip()) <= MAX_CAPTION else ""
        caption_para, prev_end = para, match.end()
        for w_start, w_end in _windows(line, max_line):
            piece = line[w_start:w_end]
            for s, e in splitter(piece) or [(0, len(piece))]:
                s, e = base + w_start + s, base + w_start + e
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if e > s:
                    out.extend(_Sentence(a, b, para) for a, b in _hard_split(text, s, e, max_len))
    return out


def is_heading(line: str) -> bool:
    """Whether a line is a section heading (see ``_HEADING``)."""
    text = line.strip()
    if _SPREAD_LINE.match(text):
        return True  # laid out one syllable apart: "부 칙", "목 차"
    return (
        2 <= len(text) <= MAX_HEADING
        and _HEADING.match(text) is not None
        and not text.endswith((".", "?", "!"))
        and all(text.count(a) == text.count(b) for a, b in _BRACKETS)  # not a wrapped line
    )


def _paragraph_ends(sents: list[_Sentence]) -> list[int]:
    """For each sentence, the index of the last sentence of its paragraph."""
    ends = [0] * len(sents)
    last = len(sents) - 1
    for n in range(len(sents) - 1, -1, -1):
        if n < len(sents) - 1 and sents[n + 1].para != sents[n].para:
            last = n
        ends[n] = last
    return ends


def chunk_text(text: str, *, size: int, overlap: int, splitter: SentenceSplitter) -> list[Span]:
    """Pack whole sentences into chunks of at most ``size`` characters.

    A chunk never cuts inside a sentence (unless one sentence alone exceeds ``size``). A
    paragraph that will not fit in the current chunk starts a new one (once the chunk is a
    third full), and a full chunk with a paragraph break in its second half ends at that break.
    A table is one paragraph with its caption. The next chunk starts with up to ``overlap``
    characters of the previous chunk's last sentences. A chunk that starts inside a table carries
    the table's caption or title and header rows as its ``context``.
    """
    if size <= 0:
        raise ValueError("chunk size must be positive")
    sents = split_sentences(text, splitter, size)
    spans: list[Span] = []
    i = 0
    para_end = _paragraph_ends(sents)
    while i < len(sents):
        j = i + 1
        while j < len(sents) and sents[j].end - sents[i].start <= size:
            if (
                sents[j].para != sents[j - 1].para
                and sents[para_end[j]].end - sents[i].start > size
                and sents[j - 1].end - sents[i].start >= size // 3
            ):
                break  # the next paragraph will not fit: start it in a chunk of its own
            j += 1
        if j < len(sents):
            # full: prefer ending at the last paragraph break in the chunk's second half
            half = sents[i].start + size // 2
            for b in range(j - 1, i, -1):
                if sents[b].para != sents[b - 1].para and sents[b].start >= half:
                    j = b
                    break
        start, end = sents[i].start, sents[j - 1].end
        spans.append(Span(start, end, text[start:end], sents[i].header))
        if j >= len(sents):
            break
        # overlap: step back over whole sentences totalling at most ``overlap`` characters,
        # but never across the paragraph break we chose to end on
        nxt = j
        while (
            nxt - 1 > i
            and end - sents[nxt - 1].start <= overlap
            and sents[nxt - 1].para == sents[j].para
        ):
            nxt -= 1
        i = nxt
    return spans
