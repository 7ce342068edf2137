"""Collections and which documents belong to them: SQL run inside the store's transactions."""

from __future__ import annotations

import sqlite3
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from index.failures import rollback
from ingest.errors import AssistantError, ConflictError, NotFoundError

DEFAULT_COLLECTION = "기본"
MAX_NAME = 100

SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    PRIMARY KEY (collection_id, doc_id)
);
CREATE INDEX IF NOT EXISTS memberships_doc ON memberships(doc_id);
"""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection and how many documents it holds."""

    name: str
    created_at: float
    documents: int


def clean_name(name: str) -> str:
    """A collection name as stored: NFC, trimmed; an error if empty, too long or unprintable."""
    cleaned = unicodedata.normalize("NFC", name or "").strip()
    if not cleaned:
        raise AssistantError("a collection needs a name")
    if len(cleaned) > MAX_NAME:
        raise AssistantError(f"a collection name has at most {MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise AssistantError("a collection name cannot hold control characters")
    return cleaned


def create_schema(db: sqlite3.Connection) -> None:
    """The tables, the default collection, and every document without a collection put in it.

    Stores written before collections existed hold documents that belong to none.
    """
    db.executescript(SCHEMA)
    db.execute("BEGIN IMMEDIATE")
    try:
        default = ensure(db, DEFAULT_COLLECTION)
        db.execute(
            "INSERT INTO memberships (collection_id, doc_id) SELECT ?, d.doc_id FROM documents d"
            " WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.doc_id = d.doc_id)",
            (default,),
        )
        db.execute("COMMIT")
    except BaseException:
        rollback(db)
        raise


def ensure(db: sqlite3.Connection, name: str) -> int:
    """The id of collection ``name``, created if missing."""
    row = db.execute("SELECT id FROM collections WHERE name=?", (name,)).fetchone()
    if row:
        return int(row[0])
    cur = db.execute(
        "INSERT INTO collections (name, created_at) VALUES (?, ?)", (name, time.time())
    )
    bump(db)
    return int(cur.lastrowid or 0)


def collection_id(db: sqlite3.Connection, name: str) -> int:
    """The id of an existing collection; NotFoundError otherwise."""
    row = db.execute("SELECT id FROM collections WHERE name=?", (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"no such collection: {name}")
    return int(row[0])


def bump(db: sqlite3.Connection) -> None:
    """Count a change of collections or memberships (search scopes cached before are stale)."""
    db.execute(
        "INSERT INTO state VALUES ('memberships', '1')"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def version(db: sqlite3.Connection) -> int:
    """The membership change counter."""
    row = db.execute("SELECT value FROM state WHERE key='memberships'").fetchone()
    return int(row[0]) if row else 0


def listing(db: sqlite3.Connection) -> list[CollectionInfo]:
    """Every collection, the default first, then by creation."""
    rows = db.execute(
        "SELECT k.name, k.created_at, COUNT(m.doc_id) FROM collections k"
        " LEFT JOIN memberships m ON m.collection_id = k.id GROUP BY k.id"
        " ORDER BY k.name != ?, k.created_at, k.name",
        (DEFAULT_COLLECTION,),
    ).fetchall()
    return [CollectionInfo(r[0], float(r[1]), int(r[2])) for r in rows]


def of_documents(db: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """The collections of every document (names sorted, the default first)."""
    out: dict[str, list[str]] = {}
    for doc_id, name in db.execute(
        "SELECT m.doc_id, k.name FROM memberships m JOIN collections k ON k.id = m.collection_id"
        " ORDER BY k.name != ?, k.name",
        (DEFAULT_COLLECTION,),
    ):
        out.setdefault(doc_id, []).append(name)
    return {d: tuple(names) for d, names in out.items()}


def of_documents_in(db: sqlite3.Connection, doc_id: str) -> tuple[str, ...]:
    """The collections of one document."""
    return tuple(
        r[0]
        for r in db.execute(
            "SELECT k.name FROM memberships m JOIN collections k ON k.id = m.collection_id"
            " WHERE m.doc_id=?",
            (doc_id,),
        )
    )


def link(db: sqlite3.Connection, doc_ids: Iterable[str], name: str) -> None:
    """Put documents in collection ``name`` (created if missing)."""
    cid = ensure(db, name)
    db.executemany(
        "INSERT OR IGNORE INTO memberships (collection_id, doc_id) VALUES (?, ?)",
        [(cid, d) for d in doc_ids],
    )
    bump(db)


def unlink(db: sqlite3.Connection, doc_ids: Sequence[str], name: str) -> list[str]:
    """Take documents out of collection ``name``; returns those now in no collection."""
    cid = collection_id(db, name)
    db.executemany(
        "DELETE FROM memberships WHERE collection_id=? AND doc_id=?", [(cid, d) for d in doc_ids]
    )
    bump(db)
    return homeless(db, doc_ids)


def homeless(db: sqlite3.Connection, doc_ids: Sequence[str]) -> list[str]:
    """Those of ``doc_ids`` that belong to no collection."""
    return [
        d
        for d in doc_ids
        if db.execute("SELECT 1 FROM memberships WHERE doc_id=? LIMIT 1", (d,)).fetchone() is None
    ]


def drop(db: sqlite3.Connection, name: str) -> list[str]:
    """Delete collection ``name``; returns the documents no other collection holds."""
    if name == DEFAULT_COLLECTION:
        raise ConflictError(f"the default collection {DEFAULT_COLLECTION} cannot be deleted")
    cid = collection_id(db, name)
    members = [
        r[0] for r in db.execute("SELECT doc_id FROM memberships WHERE collection_id=?", (cid,))
    ]
    db.execute("DELETE FROM collections WHERE id=?", (cid,))  # memberships cascade
    bump(db)
    return homeless(db, members)


def rename(db: sqlite3.Connection, old: str, new: str) -> None:
    """Give a collection a new name (documents keep their membership)."""
    if old == DEFAULT_COLLECTION:
        raise ConflictError(f"the default collection {DEFAULT_COLLECTION} cannot be renamed")
    cid = collection_id(db, old)
    if new == old:
        return
    if db.execute("SELECT 1 FROM collections WHERE name=?", (new,)).fetchone():
        raise ConflictError(f"a collection named {new} already exists")
    db.execute("UPDATE collections SET name=? WHERE id=?", (new, cid))
    bump(db)


def create(db: sqlite3.Connection, name: str) -> None:
    """A new empty collection; ConflictError if the name is taken."""
    if db.execute("SELECT 1 FROM collections WHERE name=?", (name,)).fetchone():
        raise ConflictError(f"a collection named {name} already exists")
    ensure(db, name)


def scope_chunk_ids(
    db: sqlite3.Connection, collections: Sequence[str], documents: Sequence[str]
) -> list[int]:
    """Chunk ids of the documents in any of ``collections`` (all when empty) that are among
    ``documents`` (all when empty), ascending; NotFoundError for an unknown name or id."""
    where: list[str] = []
    args: list[int | str] = []
    if collections:
        ids = [collection_id(db, c) for c in collections]
        where.append(
            "c.doc_id IN (SELECT doc_id FROM memberships"
            f" WHERE collection_id IN ({','.join('?' * len(ids))}))"
        )
        args.extend(ids)
    if documents:
        known = {
            r[0]
            for part in _parts(documents)
            for r in db.execute(
                f"SELECT doc_id FROM documents WHERE doc_id IN ({','.join('?' * len(part))})", part
            )
        }
        missing = [d for d in documents if d not in known]
        if missing:
            raise NotFoundError(f"no such document: {', '.join(missing)}")
        where.append("c.doc_id IN (SELECT value FROM json_each(?))")
        args.append(_json_list(documents))
    sql = "SELECT c.id FROM chunks c"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [int(r[0]) for r in db.execute(sql + " ORDER BY c.id", args)]


def problems(db: sqlite3.Connection) -> list[str]:
    """Documents in no collection, and a missing default collection."""
    out = []
    if (
        db.execute("SELECT 1 FROM collections WHERE name=?", (DEFAULT_COLLECTION,)).fetchone()
        is None
    ):
        out.append(f"the default collection {DEFAULT_COLLECTION} is missing")
    orphans = db.execute(
        "SELECT COUNT(*) FROM documents d"
        " WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.doc_id = d.doc_id)"
    ).fetchone()[0]
    if orphans:
        out.append(f"{orphans} documents belong to no collection")
    return out


def snapshot(db: sqlite3.Connection) -> tuple[list[tuple[str, float]], list[tuple[str, str]]]:
    """(collections with their creation times, (collection, document) pairs), to copy over."""
    names = [(r[0], float(r[1])) for r in db.execute("SELECT name, created_at FROM collections")]
    pairs = [
        (r[0], r[1])
        for r in db.execute(
            "SELECT k.name, m.doc_id FROM memberships m"
            " JOIN collections k ON k.id = m.collection_id"
        )
    ]
    return names, pairs


def restore(
    db: sqlite3.Connection, names: list[tuple[str, float]], pairs: list[tuple[str, str]]
) -> None:
    """Recreate a :func:`snapshot` over the documents this store holds (others are skipped)."""
    for name, created in names:
        db.execute(
            "INSERT INTO collections (name, created_at) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET created_at = excluded.created_at",
            (name, created),
        )
    held = {r[0] for r in db.execute("SELECT doc_id FROM documents")}
    wanted = {d for _, d in pairs if d in held}
    # the snapshot decides: drop the memberships the store gave documents by default
    db.executemany("DELETE FROM memberships WHERE doc_id=?", [(d,) for d in wanted])
    db.executemany(
        "INSERT OR IGNORE INTO memberships (collection_id, doc_id)"
        " SELECT id, ? FROM collections WHERE name=?",
        [(d, name) for name, d in pairs if d in held],
    )
    bump(db)


def _parts(items: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _json_list(items: Sequence[str]) -> str:
    import json

    return json.dumps(list(items), ensure_ascii=False)
