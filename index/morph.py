"""Korean morpheme tokenisation (Kiwi) for keyword search and sentence scoring."""

from __future__ import annotations

import re
from functools import cache

from index.fairness import ShareLock

# Content-bearing part-of-speech tags kept for BM25: nouns, numerals, foreign words, Chinese
# characters, verb/adjective stems, roots. Particles and endings are dropped.
KEEP_TAGS = frozenset(
    {"NNG", "NNP", "NNB", "NR", "NP", "SL", "SH", "SN", "XR", "VV", "VA", "MAG", "W_HASHTAG"}
)
JOIN_TAGS = frozenset({"SL", "SN"})


# FIFO per class of work and shared by time: answers and a background ingest both get turns
_KIWI_LOCK = ShareLock()

# A heading or table cell spread over its width one syllable apart ("부 칙", "명 세 서", "| 의 안
# 번 호 |"): a word, which Kiwi would read as single syllables. Only a whole line or cell counts,
# (or a labelled cell "의 안 번 호 · 25318", "발 의 자:"), so prose with short words ("할 때")
# is left alone.
_SPREAD = re.compile(
    r"(?m)(^|[|·:])([ \t]*)([\uac00-\ud7a3](?: [\uac00-\ud7a3]){1,7})(?=[ \t]*(?:[|·:]|$))"
)


def collapse_spread(text: str) -> str:
    """``text`` with every line or table cell written one syllable apart written as one word."""
    return _SPREAD.sub(lambda m: m.group(1) + m.group(2) + m.group(3).replace(" ", ""), text)


@cache
def _shared_kiwi():  # type: ignore[no-untyped-def]
    """One Kiwi per process (loading its model takes seconds); created on first use."""
    from kiwipiepy import Kiwi

    return Kiwi()


class MorphTokenizer:
    """Splits Korean text into lower-cased content morphemes (thread-safe, Kiwi loaded lazily)."""

    def __init__(self) -> None:
        self._lock = _KIWI_LOCK

    @property
    def _kiwi(self):  # type: ignore[no-untyped-def]
        return _shared_kiwi()

    def tokenize(self, text: str) -> list[str]:
        """Content morphemes of ``text``; Latin/number runs such as ``H800`` also kept whole;
        a line or cell spread one syllable apart read as one word (:func:`collapse_spread`)."""
        text = collapse_spread(text)
        with self._lock:
            tokens = self._kiwi.tokenize(text)
        out: list[str] = []
        run: list[str] = []
        last_end = -1
        for tok in tokens:
            if tok.tag in KEEP_TAGS:
                out.append(tok.form.lower())
            if tok.tag in JOIN_TAGS and tok.start == last_end and run:
                run.append(tok.form.lower())
            else:
                if len(run) > 1:
                    out.append("".join(run))
                run = [tok.form.lower()] if tok.tag in JOIN_TAGS else []
            last_end = tok.start + tok.len
        if len(run) > 1:
            out.append("".join(run))
        return out

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        """Tokenise several texts."""
        return [self.tokenize(t) for t in texts]

    def split_sentences(self, text: str) -> list[tuple[int, int]]:
        """Sentence boundaries of ``text`` as (start, end) character offsets."""
        with self._lock:
            sents = self._kiwi.split_into_sents(text)
        return [(s.start, s.end) for s in sents]

    def key_terms(self, text: str) -> list[str]:
        """Proper nouns (or, failing those, common nouns and foreign words) of ``text``."""
        with self._lock:
            tokens = self._kiwi.tokenize(text)
        proper = [t.form for t in tokens if t.tag == "NNP"]
        if proper:
            return list(dict.fromkeys(proper))
        return list(dict.fromkeys(t.form for t in tokens if t.tag in {"NNG", "SL"}))

    def nouns(self, text: str) -> list[tuple[str, str]]:
        """(form, tag) of every proper noun, common noun and foreign word of ``text``, in order
        (repeats kept, so callers can count them)."""
        with self._lock:
            tokens = self._kiwi.tokenize(text)
        return [(t.form, t.tag) for t in tokens if t.tag in {"NNP", "NNG", "SL"}]

    def anchors(self, text: str) -> list[str]:
        """Proper nouns, foreign words and numbers of ``text`` (lower-cased), Latin/number runs
        joined (``H20``)."""
        with self._lock:
            tokens = self._kiwi.tokenize(text)
        out: list[str] = []
        prev_end = -1
        for t in tokens:
            if t.tag in ("NNP", "SL", "SN"):
                form = t.form.lower()
                if out and t.start == prev_end and t.tag in JOIN_TAGS and out[-1][-1:].isalnum():
                    out[-1] += form
                else:
                    out.append(form)
                prev_end = t.start + t.len
        return list(dict.fromkeys(out))
