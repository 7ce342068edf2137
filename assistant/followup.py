"""Turn a follow-up question into a standalone one for the extractive answerer.

The rebuilt question is the follow-up prefixed with what it leans on: the key terms of the
previous (standalone) question, then the few nouns that best name the topic of the previous
answer's cited passages (proper nouns and foreign words first, each weighted by how often the
passages say it and how rare it is in the index). So after "중국이 AI 자립을 위해 추진한 정책은
무엇인가?", "그 정책에 대한 미국의 대응은?" is searched with the policy the answer named
("연맹", "스택", …), not only with "중국".
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable

from index.morph import MorphTokenizer

logger = logging.getLogger(__name__)

# Demonstratives and pronouns that lean on the previous turn ("그 회사", "거기", "그것" …).
_REFERS_BACK = re.compile(
    r"(^|\s)(그|이|저|해당|위|앞의)\s|그것|이것|저것|거기|여기|그곳|이곳|그들|그녀|그는|그가|"
    r"그의|그런|이런|그때|당시|(^|\s)(그럼|그러면|그건|이건|그보다|이때|이에|이를)|"
    r"\b(it|they|them|that|this|its|their)\b",
    re.IGNORECASE,
)
SHORT_QUESTION = 8  # characters; shorter questions ("왜?", "언제?") need the previous topic
CONTEXT_TERMS = 3  # topic nouns taken from the previous answer's passages
_NAME_TAGS = frozenset({"NNP", "SL"})  # proper nouns and foreign words (H20, WAIC)
NAME_BOOST = 1.5  # a name says more about the topic than a common noun of the same weight
_MARKER = re.compile(r"\[\d+\]")

Idf = Callable[[list[str]], dict[str, float]]


def needs_context(question: str) -> bool:
    """Whether a question leans on the previous turn."""
    q = question.strip()
    return len(q) < SHORT_QUESTION or bool(_REFERS_BACK.search(q))


def topic_terms(
    text: str,
    tokenizer: MorphTokenizer,
    *,
    idf: Idf | None = None,
    exclude: Iterable[str] = (),
    limit: int = CONTEXT_TERMS,
) -> list[str]:
    """The ``limit`` nouns that best name what ``text`` is about, best first.

    A noun's weight is (1 + log of its count) × its IDF (1 without ``idf``), × NAME_BOOST for
    proper nouns and foreign words; one-character common nouns (것, 수) never count, nor do
    nouns inside any ``exclude`` text (the follow-up itself, terms already taken). Ties keep
    the order of first mention.
    """
    skip = [e for e in exclude if e]
    counts: Counter[str] = Counter()
    names: set[str] = set()
    for form, tag in tokenizer.nouns(_MARKER.sub(" ", text)):
        if (len(form) < 2 and tag not in _NAME_TAGS) or any(form in e for e in skip):
            continue
        counts[form] += 1
        if tag in _NAME_TAGS:
            names.add(form)
    if not counts:
        return []
    rarity = idf(list(counts)) if idf is not None else {}
    weight = {
        form: (1 + math.log(n)) * rarity.get(form, 1.0) * (NAME_BOOST if form in names else 1.0)
        for form, n in counts.items()
    }
    ranked = sorted(counts, key=lambda f: -weight[f])[:limit]
    logger.debug("topic terms %s", {f: round(weight[f], 2) for f in ranked})
    return ranked


def expand_followup(
    question: str,
    history: list[str],
    tokenizer: MorphTokenizer,
    *,
    context: str = "",
    idf: Idf | None = None,
) -> str:
    """Prefix a dependent follow-up with the key terms of the previous (standalone) question
    and the topic nouns of ``context``, the previous answer's cited passages (or its text)."""
    if not history or not needs_context(question):
        return question
    terms = [t for t in tokenizer.key_terms(history[-1]) if t not in question]
    if context.strip():
        terms += topic_terms(context, tokenizer, idf=idf, exclude=[question, *terms])
    rebuilt = f"{' '.join(terms)} {question}".strip() if terms else question
    logger.info("follow-up %r rebuilt as %r", question, rebuilt)
    return rebuilt
