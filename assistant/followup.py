"""Turn a follow-up question into a standalone one for the extractive answerer."""

from __future__ import annotations

import re

from index.morph import MorphTokenizer

# Demonstratives and pronouns that lean on the previous turn ("그 회사", "거기", "그것" …).
_REFERS_BACK = re.compile(
    r"(^|\s)(그|이|저|해당|위|앞의)\s|그것|이것|저것|거기|여기|그곳|이곳|그들|그녀|그는|그가|"
    r"그의|그런|이런|그때|당시|\b(it|they|them|that|this|its|their)\b",
    re.IGNORECASE,
)
SHORT_QUESTION = 8  # characters; shorter questions ("왜?", "언제?") need the previous topic


def needs_context(question: str) -> bool:
    """Whether a question leans on the previous turn."""
    q = question.strip()
    return len(q) < SHORT_QUESTION or bool(_REFERS_BACK.search(q))


def expand_followup(question: str, history: list[str], tokenizer: MorphTokenizer) -> str:
    """Prefix a dependent follow-up with the key terms of the previous (standalone) question."""
    if not history or not needs_context(question):
        return question
    terms = [t for t in tokenizer.key_terms(history[-1]) if t not in question]
    return f"{' '.join(terms)} {question}".strip() if terms else question
