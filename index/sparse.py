"""BM25 as sparse vectors: the same scores as :mod:`index.keyword`, as an inner product.

A chunk's vector holds, per morpheme, its saturated and length-normalised term frequency
``tf / (tf + k1 * (1 - b + b * len / avg_len))``; a query's holds each morpheme's IDF
``log(1 + (N - df + 0.5) / (df + 0.5))`` (once per occurrence). Their inner product is
bm25s's Lucene BM25 with the same k1 and b. The document side depends on the average chunk
length, so the vectors are recomputed when it moves (:attr:`CorpusStats.avg_len`).

Morphemes become dimensions through a 32-bit hash (no vocabulary to keep in step); two
morphemes of one corpus share a dimension with probability about n² / 2³³ (≈ 1 pair at
100k distinct morphemes).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from index.keyword import PARAMS

EMPTY_TOKEN = "\u2400"  # what KeywordIndex indexes for a chunk without morphemes
_DIMENSIONS = 2**32 - 1  # Milvus sparse indices are uint32 below this


def term_id(token: str) -> int:
    """The dimension of a morpheme."""
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") % _DIMENSIONS


def _tokens(tokens: list[str]) -> list[str]:
    return tokens or [EMPTY_TOKEN]


@dataclass
class CorpusStats:
    """Chunk count, total length and document frequencies: the corpus side of BM25."""

    chunks: int = 0
    total_len: int = 0
    df: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, corpus: Iterable[list[str]]) -> CorpusStats:
        """Statistics of a corpus of token lists."""
        stats = cls()
        for tokens in corpus:
            toks = _tokens(tokens)
            stats.chunks += 1
            stats.total_len += len(toks)
            stats.df.update(set(toks))
        return stats

    @property
    def avg_len(self) -> float:
        """Average chunk length in morphemes (1.0 for an empty corpus)."""
        return self.total_len / self.chunks if self.chunks else 1.0

    def idf(self, token: str) -> float:
        """Lucene's IDF of a morpheme (0 for one in no chunk)."""
        df = self.df.get(token, 0)
        if not df:
            return 0.0
        return math.log(1.0 + (self.chunks - df + 0.5) / (df + 0.5))


def document_vector(tokens: list[str], avg_len: float) -> dict[int, float]:
    """A chunk's BM25 term weights, by dimension."""
    toks = _tokens(tokens)
    k1, b = float(PARAMS["k1"]), float(PARAMS["b"])
    norm = k1 * (1.0 - b + b * len(toks) / avg_len)
    out: dict[int, float] = {}
    for token, tf in Counter(toks).items():
        dim = term_id(token)
        out[dim] = out.get(dim, 0.0) + tf / (tf + norm)
    return out


def query_vector(tokens: list[str], stats: CorpusStats) -> dict[int, float]:
    """A query's IDF weights, by dimension (empty when no morpheme is in the corpus)."""
    out: dict[int, float] = {}
    for token in tokens:
        idf = stats.idf(token)
        if idf > 0:
            dim = term_id(token)
            out[dim] = out.get(dim, 0.0) + idf
    return out
