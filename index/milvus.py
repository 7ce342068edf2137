"""The Milvus search backend: dense vectors and BM25 sparse vectors in Milvus collections.

With :mod:`index.milvus_store` (documents, chunks and collections in Milvus too) the only
pymilvus importers. ``uri`` is a local file (milvus-lite, the Milvus core in this process's
child; one process at a time) or ``http://host:19530`` (a Milvus 2.5+ server or cluster).
Search uses two collections per index, named in the folder's ``milvus.json``:
``<name>_dense`` (chunk id, vector; FLAT/IVF_FLAT/HNSW/AUTOINDEX, inner product) and
``<name>_bm25`` (chunk id, BM25 term weights as a sparse vector, inner product,
:mod:`index.sparse`). ``milvus.json`` also records the store generation and average chunk
length Milvus was last brought to; when they differ from the store (a killed write, another
writer) every row is written again from the store.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import fsync_dir, temp_path
from index.backend import Retrieved, Scoped, empty_ids, empty_scores
from index.milvus_client import TIMEOUT, connect, disconnect
from index.milvus_rows import TABLES
from index.sparse import CorpusStats, document_vector
from index.sparse import query_vector as sparse_query
from index.storage import ChunkStore
from index.store import Applied
from ingest.errors import IndexError_

logger = logging.getLogger(__name__)

STATE_FILE = "milvus.json"
MAX_LIMIT = 16_384  # Milvus's largest top k
_BATCH = 2_000
_INDEX_PARAMS: dict[str, dict[str, Any]] = {
    "FLAT": {},
    "IVF_FLAT": {"nlist": 1024},
    "HNSW": {"M": 32, "efConstruction": 200},
    "AUTOINDEX": {},
}
_SEARCH_PARAMS: dict[str, dict[str, Any]] = {
    "FLAT": {},
    "IVF_FLAT": {"nprobe": 64},
    "HNSW": {"ef": 2048},
    "AUTOINDEX": {},
}


def collection_name(folder: Path) -> str | None:
    """The Milvus collection name an index folder's ``milvus.json`` records, if any."""
    try:
        name = json.loads((folder / STATE_FILE).read_text(encoding="utf-8")).get("collection")
    except (OSError, ValueError, AttributeError):
        return None
    return str(name) if name else None


def folder_collection(folder: Path, name: str = "") -> str:
    """The collection name of an index folder: the one ``milvus.json`` records, else ``name``
    (a new random one when empty), recorded there before anything is written to Milvus."""
    recorded = collection_name(folder)
    if recorded:
        return recorded
    name = name or f"jaryo_{uuid.uuid4().hex[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATE_FILE
    tmp = temp_path(path)
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"collection": name, "generation": -1}, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(folder)
    return name


STORE_SUFFIXES = tuple(f"_{suffix}" for suffix in TABLES)  # those of index.milvus_store


def drop_collections(uri: str, token: str, name: str) -> None:
    """Delete an index's collections (those of a folder a rebuild replaced)."""
    client = connect(uri, token)
    try:
        for suffix in ("_dense", "_bm25", *STORE_SUFFIXES):
            if client.has_collection(name + suffix, timeout=TIMEOUT):
                client.drop_collection(name + suffix, timeout=TIMEOUT)
    finally:
        disconnect(uri, token)


def _id_list(ids: Iterable[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _batches(items: list[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class MilvusBackend:
    """Dense and keyword search in Milvus, kept in step with the SQLite store."""

    def __init__(
        self, folder: Path, dim: int, *, uri: str, token: str = "", index_type: str = "FLAT"
    ) -> None:
        if index_type not in _INDEX_PARAMS:
            raise IndexError_(f"unknown Milvus index type {index_type!r}")
        self.folder = folder
        self.dim = dim
        self.uri = uri
        self._token = token
        self.index_type = index_type
        self._client: Any = None
        self._name = ""
        self._generation = -1
        self._avg_len = 0.0  # the average chunk length the stored sparse vectors assume
        self._stats = CorpusStats()

    # -- names and state -------------------------------------------------------------------

    @property
    def dense_collection(self) -> str:
        """The collection of dense vectors."""
        return f"{self._name}_dense"

    @property
    def keyword_collection(self) -> str:
        """The collection of BM25 sparse vectors."""
        return f"{self._name}_bm25"

    def _read_state(self) -> dict[str, Any]:
        path = self.folder / STATE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("%s is unreadable (%s); Milvus is refilled from the store", path, exc)
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self) -> None:
        path = self.folder / STATE_FILE
        tmp = temp_path(path)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "collection": self._name,
                    "generation": self._generation,
                    "avg_len": self._avg_len,
                    "uri": self.uri,
                },
                fh,
                indent=2,
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(self.folder)

    def _ensure_collections(self) -> bool:
        """Create missing collections; True if any was created."""
        from pymilvus import DataType, MilvusClient

        created = False
        client = self._client
        for name, field, kind in (
            (self.dense_collection, "vector", DataType.FLOAT_VECTOR),
            (self.keyword_collection, "sparse", DataType.SPARSE_FLOAT_VECTOR),
        ):
            if client.has_collection(name, timeout=TIMEOUT):
                continue
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            if kind == DataType.FLOAT_VECTOR:
                schema.add_field(field, kind, dim=self.dim)
                index_type, params = self.index_type, _INDEX_PARAMS[self.index_type]
            else:
                schema.add_field(field, kind)
                index_type, params = "SPARSE_INVERTED_INDEX", {}
            index = client.prepare_index_params()
            index.add_index(field, index_type=index_type, metric_type="IP", params=params)
            client.create_collection(
                name,
                schema=schema,
                index_params=index,
                consistency_level="Strong",
                timeout=TIMEOUT,
            )
            logger.info("created Milvus collection %s (%s)", name, index_type)
            created = True
        return created

    # -- keeping in step -------------------------------------------------------------------

    def load(self, store: ChunkStore, generation: int) -> None:
        """Connect; trust Milvus if it was last brought to this generation and holds as many
        rows as the store, else write every row again from the store."""
        if self._client is None:
            self._client = connect(self.uri, self._token)
        state = self._read_state()
        self._name = str(state.get("collection") or f"jaryo_{uuid.uuid4().hex[:16]}")
        created = self._ensure_collections()
        self._generation = generation
        self._stats = CorpusStats.of(tokens for _, tokens in store.iter_tokens())
        rows = store.count_chunks()
        in_step = (
            not created
            and state.get("generation") == generation
            and state.get("avg_len") == self._stats.avg_len
            and self._count(self.dense_collection) == rows
            and self._count(self.keyword_collection) == rows
        )
        if in_step:
            self._avg_len = self._stats.avg_len
            return
        if state:
            logger.info("Milvus is not at store generation %d; refilling it", generation)
        self._refill(store)

    def _refill(self, store: ChunkStore) -> None:
        """Every row written again from the store; rows the store no longer has deleted."""
        t0 = time.perf_counter()
        self._write_state_generation(-1)  # a refill killed half-way is redone next time
        rows = set(store.chunk_ids())
        for name in (self.dense_collection, self.keyword_collection):
            extra = sorted(set(self._ids(name).tolist()) - rows)
            for part in _batches(extra, 10_000):
                self._client.delete(name, ids=part, timeout=TIMEOUT)
        for ids, vecs in store.iter_vectors(batch=_BATCH):
            self._upsert_dense(ids, vecs)
        tokens = list(store.iter_tokens())
        self._stats = CorpusStats.of(t for _, t in tokens)
        self._avg_len = self._stats.avg_len
        self._upsert_keywords(tokens)
        self._write_state()
        logger.info("filled Milvus with %d chunks in %.1f s", len(rows), time.perf_counter() - t0)

    def _write_state_generation(self, generation: int) -> None:
        keep = self._generation
        self._generation = generation
        self._write_state()
        self._generation = keep

    def _upsert_dense(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        rows = [
            {"id": int(i), "vector": np.asarray(v, dtype=np.float32).tolist()}
            for i, v in zip(ids, vectors, strict=True)
        ]
        for part in _batches(rows):
            self._client.upsert(self.dense_collection, part, timeout=TIMEOUT)

    def _upsert_keywords(self, tokens: list[tuple[int, list[str]]]) -> None:
        rows = [
            {"id": int(cid), "sparse": document_vector(toks, self._avg_len)} for cid, toks in tokens
        ]
        for part in _batches(rows, 5_000):
            self._client.upsert(self.keyword_collection, part, timeout=TIMEOUT)

    def update(
        self,
        store: ChunkStore,
        applied: Applied,
        added: np.ndarray,
        vectors: np.ndarray,
        in_step: bool,
    ) -> None:
        """Delete the removed rows and write the added ones; all keyword rows again when the
        average chunk length moved (BM25's length normalisation depends on it)."""
        self._generation = applied.generation
        if not in_step:
            logger.info("the store was changed by another process; refilling Milvus")
            self.load(store, applied.generation)
            return
        try:
            for part in _batches(sorted(applied.removed), 10_000):
                for name in (self.dense_collection, self.keyword_collection):
                    self._client.delete(name, ids=part, timeout=TIMEOUT)
            if len(added):
                self._upsert_dense(added, vectors)
            tokens = list(store.iter_tokens())
            self._stats = CorpusStats.of(t for _, t in tokens)
            if self._stats.avg_len != self._avg_len:
                self._avg_len = self._stats.avg_len
                self._upsert_keywords(tokens)
            else:
                new = set(added.tolist())
                self._upsert_keywords([(cid, t) for cid, t in tokens if cid in new])
            self._write_state()
        except Exception:
            logger.exception("writing to Milvus failed; it is refilled from the store")
            try:
                self.load(store, applied.generation)
            except Exception:
                logger.exception("refilling Milvus failed too; the next open retries")
            raise

    # -- search ----------------------------------------------------------------------------

    def _count(self, name: str) -> int:
        res = self._client.query(name, filter="", output_fields=["count(*)"], timeout=TIMEOUT)
        return int(res[0]["count(*)"])

    def _ids(self, name: str) -> np.ndarray:
        it = self._client.query_iterator(
            name, batch_size=10_000, filter="", output_fields=["id"], timeout=TIMEOUT
        )
        out: list[int] = []
        try:
            while batch := it.next():
                out.extend(int(r["id"]) for r in batch)
        finally:
            it.close()
        return np.asarray(sorted(out), dtype=np.int64)

    def _search(
        self, name: str, field: str, query: Any, n: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if n <= 0 or (allowed is not None and len(allowed) == 0):
            return empty_ids(), empty_scores()
        kwargs: dict[str, Any] = {}
        if allowed is not None:
            kwargs["filter"] = f"id in {_id_list(allowed)}"
            n = min(n, len(allowed))
        res = self._client.search(
            name,
            data=[query],
            anns_field=field,
            limit=min(n, MAX_LIMIT),
            output_fields=[],
            search_params={"metric_type": "IP", "params": self._params(field)},
            timeout=TIMEOUT,
            **kwargs,
        )
        hits = res[0] if res else []
        ids = np.asarray([int(h["id"]) for h in hits], dtype=np.int64)
        scores = np.asarray([float(h["distance"]) for h in hits], dtype=np.float32)
        return ids, scores

    def _params(self, field: str) -> dict[str, Any]:
        if field == "sparse":
            return {"drop_ratio_search": 0.0}
        return dict(_SEARCH_PARAMS[self.index_type])

    def retrieve(
        self,
        query_vector: np.ndarray | None,
        tokens: list[str] | None,
        n: int,
        scope: Scoped | None,
    ) -> Retrieved:
        """Milvus's top n of each retriever (a scope as an ``id in [...]`` filter)."""
        allowed = None if scope is None else scope.ids
        t0 = time.perf_counter()
        d_ids, d_scores = empty_ids(), empty_scores()
        dense_q = None
        if query_vector is not None:
            dense_q = np.asarray(query_vector, dtype=np.float32).tolist()
            d_ids, d_scores = self._search(self.dense_collection, "vector", dense_q, n, allowed)
        t1 = time.perf_counter()
        k_ids, k_scores = empty_ids(), empty_scores()
        sparse_q: dict[int, float] = {}
        if tokens is not None:
            sparse_q = sparse_query(tokens, self._stats) if self._stats.chunks else {}
            if sparse_q:
                k_ids, k_scores = self._search(
                    self.keyword_collection, "sparse", sparse_q, n, allowed
                )
                keep = k_scores > 0
                k_ids, k_scores = k_ids[keep], k_scores[keep]
        t2 = time.perf_counter()
        dense_of = None
        if query_vector is not None and len(d_ids):
            q = np.asarray(query_vector, dtype=np.float32)

            def dense_of(ids: np.ndarray) -> np.ndarray:
                held = self.vectors_of(ids)
                return np.asarray(
                    [float(held[int(i)] @ q) if int(i) in held else 0.0 for i in ids],
                    dtype=np.float32,
                )

        keyword_of = None
        if tokens is not None and self._stats.chunks:

            def keyword_of(ids: np.ndarray) -> np.ndarray:
                if not sparse_q:
                    return np.zeros(len(ids), dtype=np.float32)
                got = dict(
                    zip(
                        *self._search(self.keyword_collection, "sparse", sparse_q, len(ids), ids),
                        strict=True,
                    )
                )
                return np.asarray([max(got.get(int(i), 0.0), 0.0) for i in ids], np.float32)

        return Retrieved(d_ids, d_scores, k_ids, k_scores, dense_of, keyword_of, t1 - t0, t2 - t1)

    def vectors_of(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Dense vectors held in Milvus, by chunk id."""
        out: dict[int, np.ndarray] = {}
        for part in _batches([int(i) for i in ids], 1_000):
            rows = self._client.query(
                self.dense_collection,
                filter=f"id in {_id_list(part)}",
                output_fields=["vector"],
                timeout=TIMEOUT,
            )
            for r in rows:
                out[int(r["id"])] = np.asarray(r["vector"], dtype=np.float32)
        return out

    def term_statistics(self, tokens: list[str]) -> tuple[int, dict[str, int]]:
        """(chunks, chunks holding each token), from the statistics kept beside Milvus."""
        return self._stats.chunks, {t: int(self._stats.df.get(t, 0)) for t in tokens}

    # -- maintenance -----------------------------------------------------------------------

    def held_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids in the dense collection, ids in the keyword collection)."""
        return self._ids(self.dense_collection), self._ids(self.keyword_collection)

    def problems(self, store: ChunkStore, rows: np.ndarray, dim: int, sample: int) -> list[str]:
        """Missing or extra rows in either collection, sampled dense and keyword vectors
        compared with the store, the recorded generation."""
        problems: list[str] = []
        dense, keyword = self.held_ids()
        row_set, vec_set = set(rows.tolist()), set(dense.tolist())
        if len(vec_set) != len(dense):
            problems.append(f"{len(dense) - len(vec_set)} duplicate ids in Milvus")
        if row_set - vec_set:
            problems.append(f"{len(row_set - vec_set)} chunk rows have no vector in Milvus")
        if vec_set - row_set:
            problems.append(f"{len(vec_set - row_set)} Milvus vectors have no chunk row")
        if len(keyword) != len(rows) or set(keyword.tolist()) != row_set:
            problems.append("Milvus keyword vectors are out of step with the chunk rows")
        both = np.asarray(sorted(row_set & vec_set), dtype=np.int64)
        if len(both) and sample > 0:
            pick = np.random.default_rng(0).choice(both, min(sample, len(both)), replace=False)
            stored = store.vectors_of(pick.tolist())
            held = self.vectors_of(pick.tolist())
            differ = sum(
                int(i) not in held
                or held[int(i)].shape != (dim,)
                or not np.allclose(stored[int(i)], held[int(i)], atol=1e-5)
                for i in pick
                if int(i) in stored
            )
            if differ:
                problems.append(f"{differ} of {len(pick)} sampled vectors differ from SQLite")
            problems.extend(self._keyword_problems(store, set(pick.tolist())))
        state = self._read_state()
        if state.get("generation") != self._generation:
            problems.append(
                f"Milvus was last brought to store generation {state.get('generation')}, "
                f"not {self._generation}"
            )
        return problems

    def _keyword_problems(self, store: ChunkStore, pick: set[int]) -> list[str]:
        expected = {
            cid: document_vector(toks, self._avg_len)
            for cid, toks in store.iter_tokens()
            if cid in pick
        }
        rows = self._client.query(
            self.keyword_collection,
            filter=f"id in {_id_list(expected)}",
            output_fields=["sparse"],
            timeout=TIMEOUT,
        )
        held = {int(r["id"]): {int(k): float(v) for k, v in r["sparse"].items()} for r in rows}
        differ = 0
        for cid, want in expected.items():
            got = held.get(cid, {})
            if set(got) != set(want) or any(abs(got[k] - w) > 1e-5 for k, w in want.items()):
                differ += 1
        if differ:
            return [f"{differ} of {len(expected)} sampled keyword vectors differ from the store"]
        return []

    def __len__(self) -> int:
        return self._count(self.dense_collection) if self._client is not None else 0

    def drop(self) -> None:
        """Delete this folder's collections from Milvus (after a rebuild replaced them)."""
        for name in (self.dense_collection, self.keyword_collection):
            if self._client.has_collection(name, timeout=TIMEOUT):
                self._client.drop_collection(name, timeout=TIMEOUT)

    def close(self) -> None:
        """Release this backend's use of the shared client (idempotent)."""
        if self._client is not None:
            self._client = None
            disconnect(self.uri, self._token)
