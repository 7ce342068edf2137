"""Kill a real ingest process at random moments, again and again; the index must stay sound."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from index.collection import Index
from index.store import Store

WORKER_PATH = Path(__file__).with_name("_ingest_worker.py")
ROOT = WORKER_PATH.parents[2]
# 8 rounds here (4 on milvus-lite); bench/kill.py runs 50+ (JARYO_KILL_ROUNDS)
KILLS = int(os.environ.get("JARYO_KILL_ROUNDS", "8"))


def _start_worker(
    data_dir: Path, seed: int, log: Path, *, rebuild_first: bool, store: dict[str, str]
) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.update(store)
    with open(log, "a", encoding="utf-8") as err:
        return subprocess.Popen(
            [
                sys.executable,
                str(WORKER_PATH),
                str(data_dir),
                str(seed),
                *(["rebuild-first"] if rebuild_first else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def _assert_sound(index: Index) -> None:
    report = index.check()
    assert report.problems == [], report
    rows = index.store.chunk_ids()
    held = sorted(int(i) for i in index.backend.held_ids()[0])
    assert held == rows
    assert sorted(int(i) for i in index.backend.held_ids()[1]) == rows
    docs = index.documents()
    with_chunks = {c.doc_id for c in index.store.chunks(rows).values()}
    assert len(docs) == len(with_chunks) == report.documents
    assert all(d.chunks > 0 for d in docs)
    if rows:
        probe = index.store.chunks(rows[:1])[rows[0]]
        vector = index.store.vectors_of([rows[0]])[rows[0]]
        for mode in ("hybrid", "dense", "bm25"):
            hits = index.search(probe.text, vector, k=3, mode=mode)
            assert hits, mode
        assert index.search(probe.text, vector, k=1, mode="dense")[0].chunk.id == probe.id


@pytest.mark.slow
def test_killed_ingest_leaves_a_sound_index(
    tmp_path: Path, fake_embedder, ingest_worker, store: str
) -> None:  # type: ignore[no-untyped-def]
    worker = ingest_worker
    data = tmp_path / "data"
    settings = worker.worker_settings(data)
    env: dict[str, str] = {}
    kills = KILLS
    if store == "milvus":  # a milvus-lite file of its own: one process at a time opens it
        env = {"JARYO_STORE": "milvus", "JARYO_MILVUS_URI": str(tmp_path / "milvus.db")}
        settings = settings.model_copy(
            update={"store": "milvus", "milvus_uri": env["JARYO_MILVUS_URI"]}
        )
        kills = max(1, KILLS // 2)  # each milvus-lite start-up costs about a second
    tokenizer = worker.WordTokenizer()
    rng = random.Random(4)
    seen: Counter[str] = Counter()
    sizes = []
    for round_ in range(kills):
        # every fourth run starts with a rebuild, so that some kills land inside one
        proc = _start_worker(
            data, round_, tmp_path / "worker.log", rebuild_first=round_ % 4 == 3, store=env
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the index is open
        assert line.strip() == "ready", (tmp_path / "worker.log").read_text()
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL, (tmp_path / "worker.log").read_text()
        proc.stdout.close()

        index_dir = settings.index_dir
        if index_dir.with_name("index.new").exists():
            seen["half-built rebuild folder present"] += 1
        if not index_dir.exists():
            seen["killed between the swap's renames"] += 1
        state = None
        if env and (index_dir / "milvus.json").exists():
            # read before opening (which refills Milvus); the store's generation after: one
            # milvus-lite start per round, as a second start right after a release can fail
            state = json.loads((index_dir / "milvus.json").read_text())
        elif not env and (index_dir / "store.sqlite3").exists():
            probe = Store(index_dir / "store.sqlite3")
            generation = probe.generation()
            probe.close()
            if (index_dir / f"vectors-{generation}.faiss").exists():
                seen["FAISS file current"] += 1
            else:
                seen["FAISS rebuilt from SQLite"] += 1
        index = worker.open_index(settings, fake_embedder, tokenizer)
        try:
            if state is not None:
                current = state["generation"] == index.store.generation()
                seen["Milvus current" if current else "Milvus behind, refilled"] += 1
            _assert_sound(index)
            sizes.append(len(index))
        finally:
            index.close()
    print(f"\n{kills} kills, all consistent; {dict(seen)}; chunks per round {sizes}")
    assert max(sizes) > 0
    assert np.count_nonzero(np.diff(sizes)) > 0  # the worker really was writing
