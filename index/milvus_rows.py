"""The Milvus store's collections: their schemas, and reading and writing rows in bounded parts.

Every collection has an INT64 ``tx`` field (the transaction that wrote the row) and, where it
has no vector of its own, a two-float dummy vector (Milvus 2.5 collections need one). Keys are
hex digests (:func:`index.milvus_view.row_key`), so filter expressions never quote user text.
Milvus's VARCHAR holds at most 65,535 bytes: a document's text is stored in rows of at most
``PART_CHARS`` characters (4 bytes each at most in UTF-8); a chunk's text, morphemes and table
context must each fit one (chunks hold ``chunk_size`` characters, 500 by default). No ARRAY
fields: pymilvus 2.5 cannot read an empty result that has one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from index.milvus_view import DocRow, row_key
from index.store import NewChunk
from ingest.errors import IndexError_
from ingest.records import Document

logger = logging.getLogger(__name__)

TIMEOUT = 120.0
PART_CHARS = 16_000  # characters per VARCHAR part: at most 64,000 bytes
MAX_FIELD = 65_535
JOURNAL_KEYS = 1_024  # 32-digit keys per journal row
DUMMY = [0.0, 0.0]

# suffix -> scalar fields (name, kind, extra); kinds are pymilvus DataType names
TABLES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "docs": [
        ("key", "VARCHAR", {"is_primary": True, "max_length": 64}),
        ("tx", "INT64", {}),
        ("doc_id", "VARCHAR", {"max_length": MAX_FIELD}),
        ("title", "VARCHAR", {"max_length": MAX_FIELD}),
        ("source", "VARCHAR", {"max_length": MAX_FIELD}),
        ("format", "VARCHAR", {"max_length": 1024}),
        ("content_hash", "VARCHAR", {"max_length": 1024}),
        ("size", "INT64", {}),
        ("added_at", "DOUBLE", {}),
        ("chunks", "INT64", {}),
        ("meta", "JSON", {}),
    ],
    "texts": [
        ("key", "VARCHAR", {"is_primary": True, "max_length": 64}),
        ("tx", "INT64", {}),
        ("doc_key", "VARCHAR", {"max_length": 64}),
        ("part", "INT64", {}),
        ("text", "VARCHAR", {"max_length": MAX_FIELD}),
    ],
    "chunks": [
        ("id", "INT64", {"is_primary": True}),
        ("tx", "INT64", {}),
        ("doc_key", "VARCHAR", {"max_length": 64}),
        ("doc_id", "VARCHAR", {"max_length": MAX_FIELD}),
        ("ordinal", "INT64", {}),
        ("start", "INT64", {}),
        ("end", "INT64", {}),
        ("page", "INT64", {}),  # -1: none
        ("page_end", "INT64", {}),
        ("ocr", "BOOL", {}),
        ("context", "VARCHAR", {"max_length": MAX_FIELD}),
        ("text", "VARCHAR", {"max_length": MAX_FIELD}),
        ("tokens", "VARCHAR", {"max_length": MAX_FIELD}),  # morphemes joined by spaces
    ],
    "colls": [
        ("key", "VARCHAR", {"is_primary": True, "max_length": 64}),
        ("tx", "INT64", {}),
        ("cid", "INT64", {}),
        ("name", "VARCHAR", {"max_length": 1024}),
        ("created_at", "DOUBLE", {}),
    ],
    "members": [
        ("key", "VARCHAR", {"is_primary": True, "max_length": 64}),
        ("tx", "INT64", {}),
        ("cid", "INT64", {}),
        ("doc_id", "VARCHAR", {"max_length": MAX_FIELD}),
    ],
    "journal": [  # keys of rows a transaction leaves behind, deleted once it is committed
        ("key", "VARCHAR", {"is_primary": True, "max_length": 64}),
        ("tx", "INT64", {}),
        ("kind", "VARCHAR", {"max_length": 16}),
        ("keys", "VARCHAR", {"max_length": MAX_FIELD}),  # up to JOURNAL_KEYS, space-separated
    ],
    "state": [  # one row per committed transaction; the highest tx is the store's state
        ("tx", "INT64", {"is_primary": True}),
        ("value", "JSON", {}),
    ],
}


# the rows naming the current collections of a shared index (``<shared name>_current``)
CURRENT: list[tuple[str, str, dict[str, Any]]] = [
    ("tx", "INT64", {"is_primary": True}),
    ("prefix", "VARCHAR", {"max_length": 256}),
]


def create(client: Any, name: str, suffix: str, dim: int) -> bool:
    """Create collection ``name`` of kind ``suffix`` if missing; True if it was created."""
    from pymilvus import DataType, MilvusClient

    if client.has_collection(name, timeout=TIMEOUT):
        return False
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    for field, kind, extra in TABLES.get(suffix, CURRENT):
        schema.add_field(field, DataType[kind], **extra)
    vector_dim = dim if suffix == "chunks" else len(DUMMY)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vector_dim)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP" if suffix == "chunks" else "L2")
    client.create_collection(
        name, schema=schema, index_params=index, consistency_level="Strong", timeout=TIMEOUT
    )
    logger.info("created Milvus collection %s", name)
    return True


def vector_dim(client: Any, name: str) -> int | None:
    """The dimension of a collection's vector field."""
    info = client.describe_collection(name, timeout=TIMEOUT)
    for f in info.get("fields", []):
        if f.get("name") == "vector":
            return int(f.get("params", {}).get("dim", 0))
    return None


def parts(text: str) -> list[str]:
    """``text`` in VARCHAR-sized parts (at least one)."""
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


def bounded(text: str, what: str) -> str:
    """A field's value; an IndexError_ if it cannot fit a VARCHAR."""
    if len(text) > PART_CHARS:
        raise IndexError_(
            f"{what} is longer than {PART_CHARS} characters, more than the Milvus store holds "
            "in one field (a smaller JARYO_CHUNK_SIZE keeps chunks shorter)"
        )
    return text


def keys_in(field: str, keys: Iterable[str]) -> str:
    """``field in [...]`` over hex keys (nothing there to escape)."""
    listed = ",".join(f'"{k}"' for k in keys)
    return f"{field} in [{listed}]"


def ids_in(field: str, ids: Iterable[int]) -> str:
    """``field in [...]`` over integers."""
    return f"{field} in [{','.join(str(int(i)) for i in ids)}]"


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def scan(
    client: Any, name: str, expr: str, fields: list[str], batch: int = 4_000
) -> Iterator[list[dict[str, Any]]]:
    """Every row matching ``expr``, in batches (no 16,384-row limit)."""
    it = client.query_iterator(
        name, batch_size=batch, filter=expr, output_fields=fields, timeout=TIMEOUT
    )
    try:
        while rows := it.next():
            yield rows
    finally:
        it.close()


def insert(client: Any, name: str, rows: list[dict[str, Any]], size: int = 500) -> None:
    """Insert rows in batches; every row gains the dummy vector unless it has one."""
    for part in batches(rows, size):
        for row in part:
            row.setdefault("vector", DUMMY)
        client.insert(name, part, timeout=TIMEOUT)


def delete_keys(client: Any, name: str, field: str, keys: list[str]) -> None:
    """Delete the rows whose ``field`` is one of ``keys``."""
    for part in batches(sorted(set(keys)), 500):
        client.delete(name, filter=keys_in(field, part), timeout=TIMEOUT)


def page(value: Any) -> int | None:
    """A stored page number (-1: none)."""
    return None if value is None or int(value) < 0 else int(value)


def doc_row(doc: Document, tx: int, added_at: float, chunks: int) -> DocRow:
    """The row of one version of a document."""
    return DocRow(
        row_key(tx, "d", doc.doc_id), tx, bounded(doc.doc_id, "a document id"),
        bounded(doc.title, f"the title of {doc.doc_id}"),
        bounded(doc.source, f"the source of {doc.doc_id}"), doc.format, doc.content_hash,
        doc.size, added_at, chunks, dict(doc.meta),
    )  # fmt: skip


def doc_of(r: dict[str, Any]) -> DocRow:
    """A document row read back."""
    fields = [f.name for f in dataclasses.fields(DocRow)]
    return DocRow(**{f: r[f] for f in fields} | {"meta": dict(r["meta"] or {})})


def chunk_row(cid: int, tx: int, doc: DocRow, ch: NewChunk) -> dict[str, Any]:
    """The row of a chunk of ``doc``."""
    what = f"chunk {ch.ordinal} of {doc.doc_id}"
    return {
        "id": cid, "tx": tx, "doc_key": doc.key, "doc_id": doc.doc_id, "ordinal": ch.ordinal,
        "start": ch.start, "end": ch.end,
        "page": -1 if ch.page is None else ch.page,
        "page_end": -1 if ch.page_end is None else ch.page_end,
        "ocr": bool(ch.ocr), "context": bounded(ch.context, f"the context of {what}"),
        "text": bounded(ch.text, f"the text of {what}"),
        "tokens": bounded(" ".join(ch.tokens), f"the morphemes of {what}"),
        "vector": np.asarray(ch.vector, dtype=np.float32).tolist(),
    }  # fmt: skip
