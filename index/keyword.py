"""BM25 keyword index over Kiwi morphemes (bm25s), kept beside the vectors."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import temp_path
from ingest.errors import IndexError_

logger = logging.getLogger(__name__)

# BM25 parameters; a saved index built with other ones is not loaded
# k1 and b tuned on KorQuAD dev (k1 0.3, b 0.5: hybrid hit@1 0.923 vs 0.910 at bm25s defaults);
# a low k1 makes repeated words count little, which suits short Korean passages.
PARAMS: dict[str, Any] = {"k1": 0.3, "b": 0.5, "method": "lucene"}


def _bm25s() -> Any:
    """The bm25s module, its logger following ours: importing it sets that logger to DEBUG."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


class KeywordIndex:
    """BM25 scores for every chunk; rebuilt only when the documents change, never per query."""

    def __init__(self, ids: list[int], tokens: list[list[str]]) -> None:
        bm25s = _bm25s()
        self.ids = np.asarray(ids, dtype=np.int64)
        self._bm25 = bm25s.BM25(**PARAMS)
        if ids:
            # bm25s needs at least one token per document
            self._bm25.index([t or ["\u2400"] for t in tokens], show_progress=False)
        self._row = {int(cid): row for row, cid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``self.ids``)."""
        if not len(self.ids) or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_tokens), dtype=np.float32)

    def document_frequencies(self, tokens: list[str]) -> dict[str, int]:
        """How many chunks hold each of ``tokens`` (0 for a token the index never saw)."""
        if not len(self.ids):
            return dict.fromkeys(tokens, 0)
        vocab: dict[str, int] = self._bm25.vocab_dict
        indptr = self._bm25.scores["indptr"]
        out = {}
        for t in tokens:
            i = vocab.get(t)
            out[t] = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
        return out

    def search(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score."""
        scores = self.scores(query_tokens)
        if not len(scores):
            return np.zeros(0, dtype=np.int64), scores
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        top = top[scores[top] > 0]
        return self.ids[top], scores[top]

    def save(self, folder: Path) -> None:
        """Write to ``folder`` atomically: a temporary folder, fsync, rename (numpy + JSON only)."""
        tmp = temp_path(folder)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            if len(self.ids):
                self._bm25.save(str(tmp), allow_pickle=False, show_progress=False)
            np.save(tmp / "ids.npy", self.ids, allow_pickle=False)
            (tmp / "jaryo-params.json").write_text(json.dumps(PARAMS), encoding="utf-8")
            for path in tmp.iterdir():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # a half-written folder would only take room
            raise
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.is_dir():
                raise
            shutil.rmtree(tmp)  # another process saved the same generation first

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Read a folder written by :meth:`save` (never unpickles); IndexError_ if unusable."""
        bm25s = _bm25s()
        try:
            params = json.loads((folder / "jaryo-params.json").read_text(encoding="utf-8"))
            if params != PARAMS:
                raise IndexError_(f"{folder.name} was built with BM25 parameters {params}")
            ids = np.load(folder / "ids.npy", allow_pickle=False)
            obj = cls([], [])
            obj.ids = np.asarray(ids, dtype=np.int64)
            if len(ids):
                obj._bm25 = bm25s.BM25.load(
                    str(folder), allow_pickle=False, mmap=False, show_progress=False
                )
                if int(obj._bm25.scores["num_docs"]) != len(ids):
                    raise IndexError_(f"{folder.name} holds a different number of chunks")
        except (OSError, ValueError, KeyError) as exc:
            raise IndexError_(f"keyword index {folder.name} is unreadable: {exc}") from exc
        obj._row = {int(cid): row for row, cid in enumerate(obj.ids)}
        return obj
