"""A real ingest process for the kill test: writes to an index until it is killed.

Run as ``python _ingest_worker.py DATA_DIR SEED [rebuild-first]``. It prints ``ready`` once the
index is open, then, forever: adds new documents, replaces and deletes stored ones (through the
ingestor's commit path, in small batches) and now and then rebuilds the whole index. A fake
embedder and a whitespace tokenizer keep each start-up under a second.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from pathlib import Path

from assistant import build
from assistant.pipeline import Ingestor
from index.collection import Index
from index.embedder import Embedder
from ingest.records import Document
from ingest.settings import Settings

PLACES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "제주", "수원", "전주"]
TOPICS = ["날씨", "인구", "교통", "축제", "음식", "역사", "산업", "대학", "공원", "시장"]
VERBS = ["발표했다", "조사했다", "늘었다", "줄었다", "열렸다", "바뀌었다"]
_SENTENCE = re.compile(r"[^.!?]+[.!?]?")


class WordTokenizer:
    """Stands in for Kiwi: words as tokens, sentences split at full stops."""

    def tokenize(self, text: str) -> list[str]:
        """Lower-cased words."""
        return re.findall(r"\w+", text.lower())

    def split_sentences(self, text: str) -> list[tuple[int, int]]:
        """Sentence spans ending at . ! or ?."""
        return [(m.start(), m.end()) for m in _SENTENCE.finditer(text)]


def generated_document(doc_id: str, rng: random.Random) -> Document:
    """A short Korean-looking document with 1-8 sentences."""
    place = rng.choice(PLACES)
    sentences = [
        f"{place}의 {rng.choice(TOPICS)} 지표는 {rng.randint(1, 999)}로 {rng.choice(VERBS)}."
        for _ in range(rng.randint(1, 8))
    ]
    text = f"{place} 소식 {doc_id}\n" + " ".join(sentences)
    return Document(
        doc_id=doc_id,
        text=text,
        title=f"{place} 소식 {doc_id}",
        source=doc_id,
        format="txt",
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        size=len(text.encode()),
    )


def worker_settings(data_dir: Path) -> Settings:
    """The settings every worker run and the checking test share."""
    return Settings(
        data_dir=data_dir,
        model="fake-bigram",
        chunk_size=80,
        chunk_overlap=10,
        approximate_threshold=150,
    )


def open_index(settings: Settings, embedder: Embedder, tokenizer: WordTokenizer) -> Index:
    """Open the worker's index with the shared tokenizer."""
    return build.open_index(settings, embedder, tokenizer)  # type: ignore[arg-type]


def run(data_dir: Path, seed: int, embedder: Embedder, *, rebuild_first: bool = False) -> None:
    """Write to the index until killed."""
    from assistant.rebuild import rebuild_index

    rng = random.Random(seed)
    settings = worker_settings(data_dir)
    tokenizer = WordTokenizer()
    index = open_index(settings, embedder, tokenizer)

    def ingestor_for(index: Index) -> Ingestor:
        return Ingestor(
            index, embedder, chunk_size=80, chunk_overlap=10, max_bytes=1 << 20, batch_chunks=4
        )

    ingestor = ingestor_for(index)
    print("ready", flush=True)
    n = 0
    while True:
        stored = [d.doc_id for d in index.documents()]
        roll = rng.random()
        if (roll < 0.04 or rebuild_first) and stored:
            rebuild_first = False
            index.close()
            rebuild_index(settings, embedder=embedder, tokenizer=tokenizer, batch_chunks=16)
            index = open_index(settings, embedder, tokenizer)
            ingestor = ingestor_for(index)
            continue
        delete: list[str] = []
        if stored and (roll < 0.3 or len(stored) > 250):
            delete = rng.sample(stored, min(len(stored), rng.randint(1, 6)))
        pending = []
        for _ in range(rng.randint(0 if delete else 1, 4)):
            if stored and rng.random() < 0.3:
                doc_id = rng.choice(stored)  # a replacement
            else:
                n += 1
                doc_id = f"s{seed}-{n}.txt"
            if doc_id in delete or any(d.doc_id == doc_id for d, _ in pending):
                continue
            doc = generated_document(doc_id, rng)
            pending.append((doc, ingestor.chunk(doc)))
        ingestor._flush(pending, delete)  # the ingestor's own commit path


def main() -> None:
    """Entry point: ``DATA_DIR SEED [rebuild-first]``."""
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here.parents[1]), str(here.parent)]
    from conftest import FakeEmbedder  # tests/conftest.py

    run(
        Path(sys.argv[1]),
        int(sys.argv[2]),
        FakeEmbedder(),
        rebuild_first=sys.argv[3:] == ["rebuild-first"],
    )


if __name__ == "__main__":
    main()
