"""PDF page lines to text: running headers dropped, wrapped lines re-joined, tables as rows.

Korean word processors (Hangul's default) wrap a line at any syllable, so a line end may
split a word ("최저임" / "금"); Word and most others wrap between words. Which kind a document
is shows in its line starts: only a syllable-wrapped document starts lines with endings
such as "니다." or "는". In such a document a break is joined without a space when the
document's own words say so: the next line starts with an ending or a particle, the joined
word is written whole elsewhere, or the line's last piece is no word on its own. On a sample
of 59 breaks in a Hancom PDF, 54 come out right (no morphological analyser in ingestion).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.pdf_layout import Line, PageLayout
from ingest.pdf_open import LIST_ITEM, SENTENCE_END

HEADER_ZONE = 0.12  # top and bottom share of the page where running headers and footers sit
EDGE_LINES = 2  # ...and always this many first and last lines of each page
HEADER_LABEL = "머리글(각 쪽):"  # put before a running header where it is kept, once
FOOTER_LABEL = "바닥글(각 쪽):"

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TOKEN = re.compile(r"[\uac00-\ud7a3]+")
_PUNCTUATION = re.compile(r"[^\w]+")
_COUNTER_END = re.compile(r"\d[\uac00-\ud7a3]$")  # a number and its counter: "40대", "제15조"
_NUMBER_START = re.compile(r"[\uac00-\ud7a3]\d")  # a prefix before a number: "제2항"
# a cell spread over its width one syllable apart ("개 정 안"): one word, as readers ask for it
_SPREAD = re.compile(r"^[\uac00-\ud7a3]( [\uac00-\ud7a3]){1,7}$")
# syllables and endings that never start a Korean word: after a line break they continue one
_NEVER_INITIAL = set("는을를었았였겠됩읍했됐")
_ENDING_START = re.compile(
    r"^(니다|습니|읍니|다[.,!?]|요[.,!?]|죠[.,!?]|까[.?]|부터|까지|조차|처럼|에서|에게|으로|이라|"
    r"라고|라는|이며|입니다|이다|이고|이나|에는|에도|와의|과의)"
)
# a word ending in one of these is complete more often than not
_WORD_FINAL = set("는은을를의과와에서로도만이가고며면게지다됨함음데께나야요른한된던신할될듯차라")
_PARTICLE = set("이가은는을를의에도와과로만")
_NAME_LIST = re.compile(r"^([\uac00-\ud7a3]{2,4}[․ㆍ·])+[\uac00-\ud7a3]{1,3}$")
_APART = re.compile(r"^(및|등|등[의에을이은과])$")  # written apart from the word before
_PAGE_NUMBER = re.compile(
    r"^[-–—(\[]?\s*(page|p\.)?\s*\d{1,4}\s*(/|of)?\s*(\d{1,4})?\s*[-–—)\]]?$|^[-–—]\s*\d{1,4}\s*[-–—]$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Rendered:
    """A document's pages as text, and what was dropped from them."""

    pages: list[str]
    dropped_lines: int  # running header/footer lines and page numbers removed
    running: list[str]  # each running header or footer as kept once, in reading order


def render(layouts: list[PageLayout]) -> Rendered:
    """Every page's text: paragraphs one per line, table rows ``| a | b |``."""
    repeated = _running_keys(layouts)
    seen: dict[str, str] = {}  # key: the line as kept where it first appears
    kept_pages: list[list[Line]] = []
    dropped = 0
    for layout in layouts:
        edge = {id(line) for line in _edge_lines(layout)}
        kept: list[Line] = []
        for line in layout.lines:
            if id(line) in edge:
                text = _line_text(line)
                if _PAGE_NUMBER.match(text.strip()):
                    dropped += 1
                    continue
                key = _key(text)
                if key in repeated:
                    if key in seen:
                        dropped += 1
                        continue
                    line = _labelled(line, layout)
                    seen[key] = _line_text(line)
            kept.append(line)
        kept_pages.append(kept)
    joiner = Joiner(text for page in kept_pages for line in page for text in _texts(line))
    pages = [_page_text(page, joiner) for page in kept_pages]
    return Rendered(pages, dropped, list(seen.values()))


# -- running headers and footers -------------------------------------------------------------


def _labelled(line: Line, layout: PageLayout) -> Line:
    """A running header or footer where it is kept, named as such: readers ask what "the
    header on every page" says, and the words of the line alone do not say it is one."""
    if line.cells is not None:
        return line  # a boxed heading keeps its rows
    label = HEADER_LABEL if line.bottom <= layout.height / 2 else FOOTER_LABEL
    return dataclasses.replace(line, text=f"{label} {line.text}")


def _texts(line: Line) -> list[str]:
    """The text lines of a line: itself, or each line of each cell of a table row."""
    return [line.text] if line.cells is None else [text for cell in line.cells for text in cell]


def _line_text(line: Line) -> str:
    if line.cells is None:
        return line.text
    return " ".join(" ".join(cell) for cell in line.cells if cell)


def _key(text: str) -> str:
    """Text compared across pages: page numbers and spacing do not count."""
    return re.sub(r"[\d\s]+", "", text)


def _edge_lines(layout: PageLayout) -> list[Line]:
    """Lines where running headers and footers can be: the page's top and bottom."""
    if not layout.lines:
        return []
    by_top = sorted(layout.lines, key=lambda line: line.top)
    out = by_top[:EDGE_LINES] + by_top[-EDGE_LINES:]
    top_zone, bottom_zone = HEADER_ZONE * layout.height, (1 - HEADER_ZONE) * layout.height
    out += [line for line in by_top if line.bottom <= top_zone or line.top >= bottom_zone]
    # a table that starts in the margin (an MSDS's boxed heading) is a header as a whole
    tables = {line.table_id for line in out if line.table_id is not None}
    out += [line for line in layout.lines if line.table_id in tables]
    return list({id(line): line for line in out}.values())


def _running_keys(layouts: list[PageLayout]) -> set[str]:
    """Header and footer lines found on most pages (page numbers aside)."""
    pages = [layout for layout in layouts if layout.lines]
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for layout in pages:
        counts.update({_key(_line_text(line)) for line in _edge_lines(layout)})
    need = max(2, (len(pages) + 1) // 2)
    return {key for key, n in counts.items() if n >= need and len(key) >= 2}


# -- joining wrapped lines -------------------------------------------------------------------


class Joiner:
    """Decides whether a line break inside a paragraph is a space or splits a word."""

    def __init__(self, lines: Iterable[str]) -> None:
        lines = list(lines)
        self.words: Counter[str] = Counter()  # Korean words seen whole, inside lines
        for line in lines:
            for token in line.split()[1:-1]:  # a line's first and last words may be cut
                self.words.update(_whole_words(token))
        starts = [line.split()[0] for line in lines if line.split()]
        endings = sum(1 for s in starts if s[0] in _NEVER_INITIAL or _ENDING_START.match(s))
        # a syllable-wrapped document starts some lines mid-word, a word-wrapped one never
        self.syllable_wrapped = endings >= 2 and endings >= 0.01 * len(starts)

    def join(self, prev: str, nxt: str) -> str:
        """``prev`` and ``nxt`` as one line."""
        if prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and nxt[:1].islower():
            return prev[:-1] + nxt
        if self.splits_word(prev, nxt):
            return prev + nxt
        return f"{prev} {nxt}"

    def splits_word(self, prev: str, nxt: str) -> bool:
        """Whether the break between ``prev`` and ``nxt`` falls inside a Korean word."""
        if not self.syllable_wrapped or not prev or not nxt:
            return False
        if not (_HANGUL.match(prev[-1]) and _HANGUL.match(nxt[0])):
            return False
        tail_token, head = prev.split()[-1], nxt.split()[0]
        if _NAME_LIST.match(tail_token):
            return True  # "김철민․허영․조승" / "래": lists of names wrap inside a name
        if head[0] in _NEVER_INITIAL or _ENDING_START.match(head):
            return True
        tail = _TOKEN.findall(tail_token)[-1]
        match = _TOKEN.match(head)
        assert match is not None
        head_run = match.group()
        if head_run in _PARTICLE:
            return True
        if _APART.match(head_run):
            return False
        if _COUNTER_END.search(tail_token) or _NUMBER_START.match(head):
            return False  # "40대" / "노동자", "의사일정" / "제2항": a number ends or starts a word
        if self._starts_word(tail + head_run, len(tail) + 1):
            return True  # the joined word, or its start, is written whole elsewhere
        if len(head_run) == 1 and self.words[head_run] < 3:
            return True  # a lone syllable that is no word here: an ending, a name's end
        if len(tail) == 1:
            return self.words[tail] < 3  # "여" / "러분도", but "이" / "엄중한"
        if self._starts_word(head_run) and (self.words[tail] or len(tail) + len(head_run) >= 7):
            return False  # two known words, or a word after what would be an over-long one
        if self.words[tail] >= 2:
            return False  # "이상" / "고령": a word written whole elsewhere ends the line
        return tail[-1] not in _WORD_FINAL

    def _starts_word(self, run: str, shortest: int = 2) -> bool:
        """Whether ``run`` or a start of it (a word before its particle) is a word here."""
        if self.words[run]:
            return True
        return any(self.words[run[:n]] for n in range(len(run) - 1, max(shortest, 2) - 1, -1))


def _whole_words(token: str) -> list[str]:
    """The Korean words of a space-separated token, split at punctuation: "(의안번호" and
    "대표발의)" count, but not the syllables around digits and letters ("제15조", "5월"),
    which are no words on their own ("조" / "수진" is a name broken at a line end)."""
    return [part for part in _PUNCTUATION.split(token) if _TOKEN.fullmatch(part)]


def _starts_paragraph(prev: Line, line: Line, leading: float) -> bool:
    """Whether ``line`` starts a new paragraph rather than continuing ``prev``."""
    height = max(prev.bottom - prev.top, 1.0)
    if SENTENCE_END.search(prev.text):
        return True
    # "다." after "...합니" ends a word; after a sentence it is the list item 다
    if LIST_ITEM.match(line.text) and not (
        _HANGUL.match(prev.text[-1:]) and _ENDING_START.match(line.text)
    ):
        return True
    if line.top >= prev.top and line.top - prev.bottom > leading + 0.6 * height:
        return True  # more space than between the page's lines: a blank line
    if prev.x1 < prev.col_x1 - 4 * height:
        return True  # the line ended well before the column's edge: a heading, a last line
    same_column = abs(line.col_x0 - prev.col_x0) < 1.0
    # an indented first line
    return same_column and line.top >= prev.top and line.x0 - line.col_x0 > 0.8 * height


def _leading(lines: list[Line]) -> float:
    """The usual space between one text line and the next on a page."""
    gaps = [
        b.top - a.bottom
        for a, b in itertools.pairwise(lines)
        if a.cells is None and b.cells is None and 0 <= b.top - a.bottom < 3 * (a.bottom - a.top)
    ]
    return statistics.median(gaps) if gaps else 0.0


def _page_text(lines: list[Line], joiner: Joiner) -> str:
    out: list[str] = []
    prev: Line | None = None
    leading = _leading(lines)
    for line in lines:
        if line.cells is not None:
            row = " | ".join(_cell_text(cell, joiner) for cell in line.cells)
            out.append(f"| {row} |")
            prev = None
            continue
        if prev is not None and out and not _starts_paragraph(prev, line, leading):
            out[-1] = joiner.join(out[-1], line.text)
        else:
            out.append(line.text)
        prev = line
    return "\n".join(out)


def _cell_text(lines: list[str], joiner: Joiner) -> str:
    text = ""
    for line in lines:
        text = joiner.join(text, line) if text else line
    text = " ".join(text.replace("|", "/").split())
    return text.replace(" ", "") if _SPREAD.match(text) else text
