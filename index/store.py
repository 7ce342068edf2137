"""SQLite store of documents, chunks, their morphemes and vectors (no pickle, nothing executable).

The store is the source of truth: the FAISS and BM25 indexes are derived from it and can be
rebuilt at any time. Every change happens in one transaction, so a killed process leaves the
previous state.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import membership
from index.failures import disk_full, is_disk_full, rollback, translate
from index.membership import DEFAULT_COLLECTION, CollectionInfo
from ingest.records import Chunk, Document

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    added_at REAL NOT NULL,
    meta TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL,
    vector BLOB NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    page INTEGER,
    page_end INTEGER,
    ocr INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_LATER_COLUMNS = [
    ("context", "TEXT NOT NULL DEFAULT ''"),
    ("page", "INTEGER"),
    ("page_end", "INTEGER"),
    ("ocr", "INTEGER NOT NULL DEFAULT 0"),
]


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Stores written before pages and table context were kept gain those columns."""
    have = {r[1] for r in db.execute("PRAGMA table_info(chunks)")}
    for column, decl in _LATER_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE chunks ADD COLUMN {column} {decl}")


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document's metadata (without its text)."""

    doc_id: str
    title: str
    source: str
    format: str
    content_hash: str
    size: int
    added_at: float
    chunks: int
    meta: dict[str, Any]
    collections: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewChunk:
    """A chunk to store: its place in the document, morphemes and vector."""

    ordinal: int
    start: int
    end: int
    text: str
    tokens: list[str]
    vector: np.ndarray | None = None  # filled in by the embedder before storing
    context: str = ""  # e.g. the header row of the table the chunk starts inside
    page: int | None = None  # 1-based page of the chunk's start, in paged documents
    page_end: int | None = None
    ocr: bool = False  # its text was read from a page image


@dataclass(frozen=True)
class Applied:
    """What one committed change did: chunk ids added and removed, and the generations."""

    added: list[int]
    removed: list[int]
    previous_generation: int
    generation: int
    deleted: list[str] = field(default_factory=list)  # documents deleted by this change


@dataclass(frozen=True)
class StoredDocument:
    """A stored document with its text, as needed to re-chunk it."""

    document: Document
    added_at: float


class _Guard:
    """The store's lock; a SQLite error raised while it is held leaves as a vocabulary error
    (disk full, corrupt store) naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_only = False
        self._lock = threading.RLock()

    def __enter__(self) -> _Guard:
        self._lock.acquire()
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        self._lock.release()
        if not isinstance(exc, sqlite3.Error):
            return
        name = getattr(exc, "sqlite_errorname", "")
        if self.read_only and name.startswith("SQLITE_READONLY"):
            raise disk_full(self.path, exc) from exc  # opened read-only for a full disk
        translated = translate(self.path, exc)
        if translated is not exc:
            raise translated from exc


class Store:
    """Documents and chunks in one SQLite file.

    Opening it writes nothing when the schema is current; if the disk is too full even for
    SQLite's shared-memory index, the store is opened read-only (``read_only``), so listing,
    search and checks go on, and every write fails with a DiskFullError.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _Guard(path)
        with self._lock:
            try:
                self._db = self._open()
            except sqlite3.Error as exc:
                if not is_disk_full(exc):
                    raise
                self._db = self._open_read_only(exc)

    @property
    def read_only(self) -> bool:
        """Whether the store was opened read-only because the disk is full."""
        return self._lock.read_only

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            _add_missing_columns(db)
            membership.create_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self, cause: sqlite3.Error) -> sqlite3.Connection:
        """The store as last committed, read without SQLite's shared memory or journal.

        Only safe when no other connection is open and no commit waits in the write-ahead
        log: both need the shared memory a full disk could not give, so an unrecovered log
        means there is no consistent state to read without room to recover it.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        if not self.path.exists() or (wal.exists() and wal.stat().st_size > 0):
            raise disk_full(self.path, cause) from cause
        uri = self.path.resolve().as_uri() + "?mode=ro&immutable=1"
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"documents", "chunks", "state", "collections", "memberships"} <= tables:
            db.close()
            raise disk_full(self.path, cause) from cause  # a new store needs room to begin
        self._lock.read_only = True
        logger.warning(
            "디스크가 가득 차서 %s를 읽기 전용으로 엽니다: 목록, 검색, 점검만 됩니다 (disk full: "
            "the store is open read-only; free some space to add or remove documents)",
            self.path,
        )
        return db

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            self._db.close()

    # -- reads -----------------------------------------------------------------------------

    def generation(self) -> int:
        """Counter bumped by every committed change (derived indexes record it)."""
        with self._lock:
            return self._generation()

    def _generation(self) -> int:
        row = self._db.execute("SELECT value FROM state WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Every stored document (of one collection), oldest first."""
        with self._lock:
            where, args = "", []
            if collection is not None:
                where = " WHERE d.doc_id IN (SELECT doc_id FROM memberships WHERE collection_id=?)"
                args.append(membership.collection_id(self._db, collection))
            rows = self._db.execute(
                "SELECT d.doc_id, d.title, d.source, d.format, d.content_hash, d.size, d.added_at,"
                " d.meta, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id)"
                f" FROM documents d{where} ORDER BY d.added_at, d.doc_id",
                args,
            ).fetchall()
            groups = membership.of_documents(self._db)
        return [
            DocumentInfo(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[8],
                json.loads(r[7]),
                groups.get(r[0], ()),
            )
            for r in rows
        ]

    # -- collections -------------------------------------------------------------------------

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its number of documents, the default first."""
        with self._lock:
            return membership.listing(self._db)

    def membership_version(self) -> int:
        """Counter bumped by every change of collections or memberships."""
        with self._lock:
            return membership.version(self._db)

    def scope_chunk_ids(self, collections: list[str], documents: list[str]) -> list[int]:
        """Chunk ids a search scoped to these collections and documents may return."""
        with self._lock:
            return membership.scope_chunk_ids(self._db, collections, documents)

    def create_collection(self, name: str) -> None:
        """A new empty collection (ConflictError if the name is taken)."""
        self._write(membership.create, membership.clean_name(name))

    def rename_collection(self, old: str, new: str) -> None:
        """Rename a collection."""
        self._write(membership.rename, old, membership.clean_name(new))

    def link(self, doc_ids: list[str], collection: str) -> None:
        """Put stored documents in a collection too (created if missing)."""
        self._write(membership.link, doc_ids, membership.clean_name(collection))

    def collection_snapshot(self) -> tuple[list[tuple[str, float]], list[tuple[str, str]]]:
        """Collections and memberships, to copy into a rebuilt store."""
        with self._lock:
            return membership.snapshot(self._db)

    def restore_collections(
        self, snapshot: tuple[list[tuple[str, float]], list[tuple[str, str]]]
    ) -> None:
        """Recreate collections and memberships taken by :meth:`collection_snapshot`."""
        self._write(membership.restore, *snapshot)

    def _write(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db, *args)
                self._db.execute("COMMIT")
            except BaseException:
                rollback(self._db)
                raise
        return out

    def document_hash(self, doc_id: str) -> str | None:
        """Content hash of a stored document, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT content_hash FROM documents WHERE doc_id=?", (doc_id,)
            ).fetchone()
        return row[0] if row else None

    def content_hashes(self) -> set[str]:
        """The content hash of every stored document."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT content_hash FROM documents")}

    def doc_with_hash(self, content_hash: str) -> str | None:
        """The id of a stored document with this content, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT doc_id FROM documents WHERE content_hash=? LIMIT 1", (content_hash,)
            ).fetchone()
        return row[0] if row else None

    def document(self, doc_id: str) -> Document | None:
        """A stored document with its cleaned text."""
        with self._lock:
            r = self._db.execute(
                "SELECT doc_id, text, title, source, format, content_hash, size, meta"
                " FROM documents WHERE doc_id=?",
                (doc_id,),
            ).fetchone()
        if r is None:
            return None
        return Document(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by id (missing ids are left out)."""
        ids = list(ids)
        out: dict[int, Chunk] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    "SELECT c.id, c.doc_id, c.ordinal, c.text, c.start, c.end, d.title, d.source,"
                    " c.context, c.page, c.page_end, c.ocr"
                    f" FROM chunks c JOIN documents d USING (doc_id) WHERE c.id IN ({marks})",
                    part,
                ).fetchall()
                for r in rows:
                    out[r[0]] = Chunk(
                        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                        context=r[8], page=r[9], page_end=r[10], ocr=bool(r[11]),
                    )  # fmt: skip
        return out

    def iter_vectors(self, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of every chunk, in batches."""
        last = -1
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, vector FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
                ).fetchall()
            if not rows:
                return
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            last = int(ids[-1])
            yield ids, vecs

    def iter_tokens(self) -> Iterator[tuple[int, list[str]]]:
        """(id, morphemes) of every chunk, ordered by id."""
        with self._lock:
            rows = self._db.execute("SELECT id, tokens FROM chunks ORDER BY id").fetchall()
        for cid, tokens in rows:
            yield cid, tokens.split(" ") if tokens else []

    def chunk_ids(self) -> list[int]:
        """Every chunk id, ascending."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM chunks ORDER BY id")]

    def count_chunks(self) -> int:
        """Number of stored chunks."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def vectors_of(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored vectors by chunk id (missing ids are left out)."""
        ids = list(ids)
        out: dict[int, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                marks = ",".join("?" * len(part))
                for cid, blob in self._db.execute(
                    f"SELECT id, vector FROM chunks WHERE id IN ({marks})", part
                ):
                    out[int(cid)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def iter_documents(self) -> Iterator[StoredDocument]:
        """Every stored document with its text, oldest first (one row in memory at a time)."""
        with self._lock:
            keys = self._db.execute(
                "SELECT doc_id FROM documents ORDER BY added_at, doc_id"
            ).fetchall()
        for (doc_id,) in keys:
            with self._lock:
                r = self._db.execute(
                    "SELECT doc_id, text, title, source, format, content_hash, size, meta, added_at"
                    " FROM documents WHERE doc_id=?",
                    (doc_id,),
                ).fetchone()
            if r is not None:
                doc = Document(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))
                yield StoredDocument(doc, float(r[8]))

    def problems(self, dim: int) -> list[str]:
        """Damage SQLite itself can see: page corruption, broken references, bad vectors."""
        out: list[str] = []
        with self._lock:
            quick = [r[0] for r in self._db.execute("PRAGMA quick_check")]
            if quick != ["ok"]:
                out.extend(f"SQLite: {msg}" for msg in quick[:10])
            orphans = self._db.execute("PRAGMA foreign_key_check").fetchall()
            bad_vectors = self._db.execute(
                "SELECT COUNT(*) FROM chunks WHERE length(vector) != ?", (4 * dim,)
            ).fetchone()[0]
        if orphans:
            out.append(f"{len(orphans)} chunk rows belong to no document")
        if bad_vectors:
            out.append(f"{bad_vectors} stored vectors do not have dimension {dim}")
        return out

    def membership_problems(self) -> list[str]:
        """Documents in no collection; a missing default collection."""
        with self._lock:
            return membership.problems(self._db)

    def chunk_ids_of(self, doc_id: str) -> list[int]:
        """Chunk ids of one document."""
        with self._lock:
            return [
                r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))
            ]

    # -- writes ----------------------------------------------------------------------------

    def apply(
        self,
        *,
        put: list[tuple[Document, list[NewChunk]]],
        delete: list[str],
        added_at: Mapping[str, float] | None = None,
        collection: str | None = None,
        unlink: tuple[str, list[str]] | None = None,
        drop_collection: str | None = None,
    ) -> Applied:
        """Replace/insert ``put`` documents and delete ``delete`` ids in one transaction.

        ``added_at`` keeps the original time of re-stored documents (used by a rebuild).
        Replaced documents keep their collections; ``put`` documents also join ``collection``
        (new ones join the default collection when it is None). ``unlink`` = (collection,
        doc ids) takes documents out of a collection and ``drop_collection`` deletes one; in
        both cases the documents left in no collection are deleted too. The generation moves
        only when chunks change.
        """
        added: list[int] = []
        removed: list[int] = []
        now = time.time()
        added_at = added_at or {}
        target = membership.clean_name(collection) if collection is not None else None
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                previous = self._generation()
                delete = list(delete)
                if unlink is not None:
                    delete += membership.unlink(self._db, unlink[1], unlink[0])
                if drop_collection is not None:
                    delete += membership.drop(self._db, drop_collection)
                kept = {d.doc_id: membership.of_documents_in(self._db, d.doc_id) for d, _ in put}
                for doc_id in [*delete, *(d.doc_id for d, _ in put)]:
                    removed.extend(
                        r[0]
                        for r in self._db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))
                    )
                    self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
                    self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
                for doc, chunks in put:
                    if any(ch.vector is None for ch in chunks):
                        raise ValueError(f"chunks of {doc.doc_id} have no vectors")
                    self._db.execute(
                        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                        (
                            doc.doc_id,
                            doc.title,
                            doc.source,
                            doc.format,
                            doc.content_hash,
                            doc.size,
                            added_at.get(doc.doc_id, now),
                            json.dumps(doc.meta, ensure_ascii=False),
                            doc.text,
                        ),
                    )
                    for ch in chunks:
                        cur = self._db.execute(
                            "INSERT INTO chunks (doc_id, ordinal, start, end, text, tokens,"
                            " vector, context, page, page_end, ocr) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (
                                doc.doc_id,
                                ch.ordinal,
                                ch.start,
                                ch.end,
                                ch.text,
                                " ".join(ch.tokens),
                                np.ascontiguousarray(ch.vector, dtype=np.float32).tobytes(),
                                ch.context,
                                ch.page,
                                ch.page_end,
                                int(ch.ocr),
                            ),
                        )
                        added.append(int(cur.lastrowid or 0))
                    groups = list(kept[doc.doc_id])
                    if target is not None:
                        groups.append(target)
                    for name in groups or [DEFAULT_COLLECTION]:
                        membership.link(self._db, [doc.doc_id], name)
                if put or delete:
                    self._db.execute(
                        "INSERT INTO state VALUES ('generation', ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                        ("1",),
                    )
                generation = self._generation()
                self._db.execute("COMMIT")
            except BaseException:
                rollback(self._db)
                raise
        return Applied(added, removed, previous, generation, delete)
