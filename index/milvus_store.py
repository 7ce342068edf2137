"""Documents, chunks and collections in Milvus: the store of ``JARYO_STORE=milvus``.

Several app nodes pointed at one Milvus share the index, and an app machine holds nothing
that cannot be lost. Milvus has no multi-row transactions, so a change is made visible by one
row, written last (:mod:`index.milvus_rows` names the collections):

1. every row a change writes is tagged with its transaction number ``tx`` = committed + 1;
2. the keys of the rows it replaces or deletes go to the journal, tagged the same way;
3. a new state row (primary key ``tx``) commits it; readers see only rows with ``tx`` up to
   the highest state row, minus the journalled keys of committed transactions;
4. the journalled rows are deleted; an interrupted deletion is finished by whoever opens the
   store next (deleting committed rows twice is harmless).

Rows of an uncommitted transaction (a writer killed before step 3) are invisible; the next
write deletes them before it begins. One writer at a time (a milvus-lite file is opened by one
process anyway; on a cluster, run one ingest worker per index), any number of readers.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from index import milvus_rows as rows_
from index.membership import DEFAULT_COLLECTION, CollectionInfo, clean_name
from index.milvus_client import connect, disconnect
from index.milvus_rows import TIMEOUT, ids_in, keys_in, parts, scan
from index.milvus_view import Change, CollRow, DocRow, State, View, row_key
from index.store import Applied, DocumentInfo, NewChunk, StoredDocument
from ingest.errors import IndexError_
from ingest.records import Chunk, Document

logger = logging.getLogger(__name__)

_CHUNK_FIELDS = ["id", "doc_key", "doc_id", "ordinal", "start", "end", "text", "context"]
_CHUNK_FIELDS += ["page", "page_end", "ocr"]


class MilvusStore:
    """The store in Milvus collections named ``<name>_docs``, ``<name>_chunks`` and so on."""

    def __init__(self, name: str, dim: int, *, uri: str, token: str = "") -> None:
        self.name = name
        self.dim = dim
        self.uri = uri
        self.path = Path(uri) if "://" not in uri else Path(name)  # named in error messages
        self._token = token
        self._lock = threading.RLock()
        self._client: Any = connect(uri, token)
        self._view = View()
        self._gone: set[str] = set()  # journalled keys of committed transactions
        try:
            for suffix in rows_.TABLES:
                rows_.create(self._client, self._table(suffix), suffix, dim)
            held = rows_.vector_dim(self._client, self._table("chunks"))
            if held != dim:
                raise IndexError_(
                    f"Milvus collection {self._table('chunks')} holds vectors of dimension "
                    f"{held}, the index {dim}; run `jaryo rebuild`"
                )
            with self._lock:
                view = self._current()
                if self._gone:
                    self._finish(view.state.tx)  # a commit whose deletions were interrupted
                if view.state.tx == 0 and view.cid_of(DEFAULT_COLLECTION) is None:
                    change = Change(view)
                    change.ensure(DEFAULT_COLLECTION)
                    self._commit(change)
        except BaseException:
            self.close()
            raise

    @property
    def read_only(self) -> bool:
        """Never: Milvus reports its own write failures."""
        return False

    def close(self) -> None:
        """Release this store's use of the shared client (idempotent)."""
        if self._client is not None:
            self._client = None
            disconnect(self.uri, self._token)

    def _table(self, suffix: str) -> str:
        return f"{self.name}_{suffix}"

    def _scan(
        self, suffix: str, expr: str, fields: list[str], batch: int = 4_000
    ) -> Iterator[list[dict[str, Any]]]:
        return scan(self._client, self._table(suffix), expr, fields, batch)

    # -- the committed view ----------------------------------------------------------------

    def _state(self) -> State:
        got = self._client.query(
            self._table("state"), filter="tx >= 0", output_fields=["tx", "value"], timeout=TIMEOUT
        )
        if not got:
            return State()
        return State.of(max(got, key=lambda r: int(r["tx"]))["value"])

    def _current(self) -> View:
        """The committed view, read again from Milvus when another transaction committed."""
        state = self._state()
        if state.tx != self._view.state.tx or state.tx == 0:
            self._view = self._load(state)
        return self._view

    def _load(self, state: State) -> View:
        committed = f"tx <= {state.tx}"
        gone: set[str] = set()
        for batch in self._scan("journal", committed, ["keys"]):
            for r in batch:
                gone.update(r["keys"].split())
        self._gone = gone
        view = View(state)
        for batch in self._scan("docs", committed, ["*"]):
            for r in batch:
                if r["key"] in gone:
                    continue
                row = rows_.doc_of(r)
                old = view.docs.get(row.doc_id)
                if old is None or old.tx < row.tx:
                    view.docs[row.doc_id] = row
        for batch in self._scan("colls", committed, ["*"]):
            for r in batch:
                if r["key"] not in gone:
                    c = CollRow(r["key"], int(r["tx"]), int(r["cid"]), r["name"], r["created_at"])
                    if c.cid not in view.colls or view.colls[c.cid].tx < c.tx:
                        view.colls[c.cid] = c
        for batch in self._scan("members", committed, ["*"]):
            for r in batch:
                if r["key"] not in gone:
                    view.members[(int(r["cid"]), r["doc_id"])] = r["key"]
        return view

    def _visible(self, view: View, doc_key: str, doc_id: str) -> bool:
        row = view.docs.get(doc_id)
        return row is not None and row.key == doc_key

    # -- reads -----------------------------------------------------------------------------

    def generation(self) -> int:
        """Counter bumped by every committed change of chunks."""
        with self._lock:
            return self._state().generation

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Every stored document (of one collection), oldest first."""
        with self._lock:
            view = self._current()
            docs = view.scope_docs([collection] if collection is not None else [], [])
            groups = view.of_documents()
        docs.sort(key=lambda d: (d.added_at, d.doc_id))
        return [DocumentInfo(**_info_fields(d), collections=groups.get(d.doc_id, ())) for d in docs]

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its number of documents, the default first."""
        with self._lock:
            return self._current().listing()

    def membership_version(self) -> int:
        """Counter bumped by every change of collections or memberships."""
        with self._lock:
            return self._current().state.memberships

    def scope_chunk_ids(self, collections: list[str], documents: list[str]) -> list[int]:
        """Chunk ids of the documents in any of ``collections`` that are among ``documents``."""
        with self._lock:
            view = self._current()
            keys = [d.key for d in view.scope_docs(collections, documents)]
            out: list[int] = []
            for part in rows_.batches(keys, 500):
                for batch in scan(
                    self._client, self._table("chunks"), keys_in("doc_key", part), ["id"]
                ):
                    out.extend(int(r["id"]) for r in batch)
        return sorted(out)

    def document_hash(self, doc_id: str) -> str | None:
        """Content hash of a stored document, or None."""
        with self._lock:
            row = self._current().docs.get(doc_id)
        return row.content_hash if row else None

    def content_hashes(self) -> set[str]:
        """The content hash of every stored document."""
        with self._lock:
            return {d.content_hash for d in self._current().docs.values()}

    def doc_with_hash(self, content_hash: str) -> str | None:
        """The id of a stored document with this content, or None."""
        with self._lock:
            docs = self._current().docs.values()
            return min((d.doc_id for d in docs if d.content_hash == content_hash), default=None)

    def document(self, doc_id: str) -> Document | None:
        """A stored document with its cleaned text."""
        with self._lock:
            row = self._current().docs.get(doc_id)
            if row is None:
                return None
            expr = f'doc_key == "{row.key}"'
            got = [
                r
                for b in scan(self._client, self._table("texts"), expr, ["part", "text"], 64)
                for r in b
            ]
        text = "".join(r["text"] for r in sorted(got, key=lambda r: int(r["part"])))
        return Document(
            row.doc_id, text, row.title, row.source, row.format, row.content_hash, row.size,
            row.meta,
        )  # fmt: skip

    def _query_ids(self, ids: list[int], fields: list[str]) -> Iterator[dict[str, Any]]:
        """Visible chunk rows of these ids."""
        view = self._current()
        for part in rows_.batches(sorted({int(i) for i in ids}), 1_000):
            got = self._client.query(
                self._table("chunks"),
                filter=ids_in("id", part),
                output_fields=[*fields, "doc_key", "doc_id"],
                timeout=TIMEOUT,
            )
            yield from (r for r in got if self._visible(view, r["doc_key"], r["doc_id"]))

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by id (missing ids are left out)."""
        out: dict[int, Chunk] = {}
        with self._lock:
            docs = self._current().docs
            for r in self._query_ids(list(ids), _CHUNK_FIELDS):
                d = docs[r["doc_id"]]
                out[int(r["id"])] = Chunk(
                    int(r["id"]), d.doc_id, int(r["ordinal"]), r["text"],
                    int(r["start"]), int(r["end"]), d.title, d.source, context=r["context"],
                    page=rows_.page(r["page"]), page_end=rows_.page(r["page_end"]),
                    ocr=bool(r["ocr"]),
                )  # fmt: skip
        return out

    def _scan_chunks(
        self, fields: list[str], batch: int = 4_000, view: View | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Visible chunk rows (as of ``view``, by default the current one), in batches."""
        view = view or self._current()
        expr = f"tx <= {view.state.tx}"
        for rows in scan(
            self._client, self._table("chunks"), expr, [*fields, "doc_key", "doc_id"], batch
        ):
            yield [r for r in rows if self._visible(view, r["doc_key"], r["doc_id"])]

    def iter_vectors(self, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of every chunk, in batches."""
        with self._lock:
            view = self._current()
        # one batch in memory at a time (a commit during the scan can only take rows out)
        for rows in self._scan_chunks(["id", "vector"], min(batch, 4_000), view):
            if rows:
                rows.sort(key=lambda r: int(r["id"]))
                ids = np.asarray([int(r["id"]) for r in rows], dtype=np.int64)
                yield ids, np.asarray([r["vector"] for r in rows], dtype=np.float32)

    def iter_tokens(self) -> Iterator[tuple[int, list[str]]]:
        """(id, morphemes) of every chunk, ordered by id."""
        with self._lock:
            got = [
                (int(r["id"]), r["tokens"])
                for rows in self._scan_chunks(["id", "tokens"])
                for r in rows
            ]
        got.sort()
        for cid, tokens in got:
            yield cid, tokens.split(" ") if tokens else []

    def chunk_ids(self) -> list[int]:
        """Every chunk id, ascending."""
        with self._lock:
            return sorted(int(r["id"]) for rows in self._scan_chunks(["id"]) for r in rows)

    def count_chunks(self) -> int:
        """Number of stored chunks (as the document rows record them)."""
        with self._lock:
            return sum(d.chunks for d in self._current().docs.values())

    def vectors_of(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored vectors by chunk id (missing ids are left out)."""
        with self._lock:
            return {
                int(r["id"]): np.asarray(r["vector"], dtype=np.float32)
                for r in self._query_ids(list(ids), ["id", "vector"])
            }

    def iter_documents(self) -> Iterator[StoredDocument]:
        """Every stored document with its text, oldest first."""
        with self._lock:
            order = sorted(self._current().docs.values(), key=lambda d: (d.added_at, d.doc_id))
        for row in order:
            doc = self.document(row.doc_id)
            if doc is not None:
                yield StoredDocument(doc, row.added_at)

    def problems(self, dim: int) -> list[str]:
        """Chunk rows of no document, documents whose chunk count differs from their rows."""
        out: list[str] = []
        with self._lock:
            view = self._view = self._load(self._state())  # what Milvus holds, not a cache
            keys = {d.key: d for d in view.docs.values()}
            counts: dict[str, int] = {}
            orphans = 0
            expr = f"tx <= {view.state.tx}"
            for rows in self._scan("chunks", expr, ["doc_key"]):
                for r in rows:
                    if r["doc_key"] in keys:
                        counts[r["doc_key"]] = counts.get(r["doc_key"], 0) + 1
                    elif r["doc_key"] not in self._gone:
                        orphans += 1
            held = rows_.vector_dim(self._client, self._table("chunks"))
        if orphans:
            out.append(f"{orphans} chunk rows belong to no document")
        wrong = [d.doc_id for k, d in keys.items() if counts.get(k, 0) != d.chunks]
        if wrong:
            out.append(f"{len(wrong)} documents do not hold the chunks they record: {wrong[:5]}")
        if held != dim:
            out.append(f"stored vectors have dimension {held}, not {dim}")
        return out

    def membership_problems(self) -> list[str]:
        """Documents in no collection; a missing default collection."""
        with self._lock:
            self._view = self._load(self._state())  # what Milvus holds, not a cache
            return self._view.problems()

    def chunk_ids_of(self, doc_id: str) -> list[int]:
        """Chunk ids of one document."""
        with self._lock:
            row = self._current().docs.get(doc_id)
            return [] if row is None else self._ids_of([row.key])

    def _ids_of(self, doc_keys: list[str]) -> list[int]:
        out: list[int] = []
        for part in rows_.batches(doc_keys, 500):
            for rows in self._scan("chunks", keys_in("doc_key", part), ["id"]):
                out.extend(int(r["id"]) for r in rows)
        return sorted(out)

    # -- collections -----------------------------------------------------------------------

    def create_collection(self, name: str) -> None:
        """A new empty collection (ConflictError if the name is taken)."""
        self._edit(lambda c: c.create(clean_name(name)))

    def rename_collection(self, old: str, new: str) -> None:
        """Rename a collection."""
        self._edit(lambda c: c.rename(old, clean_name(new)))

    def link(self, doc_ids: list[str], collection: str) -> None:
        """Put stored documents in a collection too (created if missing)."""
        self._edit(lambda c: c.link(doc_ids, clean_name(collection)))

    def collection_snapshot(self) -> tuple[list[tuple[str, float]], list[tuple[str, str]]]:
        """Collections and memberships, to copy into a rebuilt store."""
        with self._lock:
            view = self._current()
        names = [(c.name, c.created_at) for c in view.colls.values()]
        pairs = [(view.colls[c].name, d) for c, d in view.members if c in view.colls]
        return names, pairs

    def restore_collections(
        self, snapshot: tuple[list[tuple[str, float]], list[tuple[str, str]]]
    ) -> None:
        """Recreate collections and memberships taken by :meth:`collection_snapshot`."""
        self._edit(lambda c: c.restore(*snapshot))

    def _edit(self, fn: Any) -> None:
        with self._lock:
            view = self._begin()
            change = Change(view)
            fn(change)
            self._commit(change)

    # -- writes ----------------------------------------------------------------------------

    def _begin(self) -> View:
        """The committed view, after deleting what a killed writer left uncommitted."""
        view = self._current()
        later = f"tx > {view.state.tx}"
        for suffix in rows_.TABLES:
            self._client.delete(self._table(suffix), filter=later, timeout=TIMEOUT)
        return view

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
        """Replace/insert ``put`` documents and delete ``delete`` ids in one transaction (the
        semantics of :meth:`index.store.Store.apply`)."""
        now = time.time()
        added_at = added_at or {}
        target = clean_name(collection) if collection is not None else None
        for doc, chunks in put:
            if any(ch.vector is None for ch in chunks):
                raise ValueError(f"chunks of {doc.doc_id} have no vectors")
        with self._lock:
            view = self._begin()
            change = Change(view)
            previous = view.state.generation
            delete = list(delete)
            if unlink is not None:
                delete += change.unlink(unlink[1], unlink[0])
            if drop_collection is not None:
                delete += change.drop(drop_collection)
            kept = {d.doc_id: view.of_document(d.doc_id) for d, _ in put}
            old_keys = [
                row.key
                for doc_id in [*delete, *(d.doc_id for d, _ in put)]
                if (row := change.remove_document(doc_id)) is not None
            ]
            removed = self._ids_of(old_keys)
            chunk_rows: list[dict[str, Any]] = []
            text_rows: list[dict[str, Any]] = []
            added: list[int] = []
            for doc, chunks in put:
                row = rows_.doc_row(doc, change.tx, added_at.get(doc.doc_id, now), len(chunks))
                change.add_document(row)
                text_rows += [
                    {"key": row_key(row.key, i), "tx": change.tx, "doc_key": row.key, "part": i,
                     "text": t}
                    for i, t in enumerate(parts(doc.text))
                ]  # fmt: skip
                for ch in chunks:
                    cid = change.after.state.next_id
                    change.after.state.next_id += 1
                    added.append(cid)
                    chunk_rows.append(rows_.chunk_row(cid, change.tx, row, ch))
                groups = list(kept[doc.doc_id])
                if target is not None:
                    groups.append(target)
                for name in groups or [DEFAULT_COLLECTION]:
                    change.link([doc.doc_id], name)
            if put or delete:
                change.after.state.generation += 1
            self._commit(change, chunk_rows, text_rows)
            generation = change.after.state.generation
        return Applied(added, removed, previous, generation, delete)

    def _commit(
        self,
        change: Change,
        chunk_rows: list[dict[str, Any]] | None = None,
        text_rows: list[dict[str, Any]] | None = None,
    ) -> None:
        """Write the journal and the new rows, then the state row that commits them, then
        delete the journalled rows."""
        tx, client = change.tx, self._client
        journal = [
            {"key": row_key(tx, "j", kind, i), "tx": tx, "kind": kind, "keys": " ".join(part)}
            for kind, keys in change.gone().items()
            for i, part in enumerate(rows_.batches(keys, rows_.JOURNAL_KEYS))
        ]
        docs, colls, members = change.added()
        rows_.insert(client, self._table("journal"), journal)
        rows_.insert(client, self._table("texts"), text_rows or [], 50)
        rows_.insert(client, self._table("chunks"), chunk_rows or [], 200)
        rows_.insert(client, self._table("docs"), [dataclasses.asdict(d) for d in docs], 100)
        rows_.insert(
            client,
            self._table("colls"),
            [{"key": c.key, "tx": tx, "cid": c.cid, "name": c.name, "created_at": c.created_at}
             for c in colls],
        )  # fmt: skip
        rows_.insert(
            client,
            self._table("members"),
            [{"key": k, "tx": tx, "cid": c, "doc_id": d} for k, c, d in members],
        )
        rows_.insert(
            client, self._table("state"), [{"tx": tx, "value": change.after.state.as_json()}]
        )
        # committed: from here on the change is the store's state
        self._view = change.after
        self._gone = {k for keys in change.gone().values() for k in keys}
        self._finish(tx)

    def _finish(self, tx: int) -> None:
        """Delete the rows committed transactions up to ``tx`` left behind, their journal,
        and older state rows."""
        client, gone = self._client, list(self._gone)
        for table, field in (("chunks", "doc_key"), ("texts", "doc_key"), ("docs", "key")):
            rows_.delete_keys(client, self._table(table), field, gone)
        for table in ("colls", "members"):
            rows_.delete_keys(client, self._table(table), "key", gone)
        client.delete(self._table("journal"), filter=f"tx <= {tx}", timeout=TIMEOUT)
        client.delete(self._table("state"), filter=f"tx < {tx}", timeout=TIMEOUT)
        self._gone = set()


def _info_fields(d: DocRow) -> dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(DocumentInfo)}
    return {k: v for k, v in dataclasses.asdict(d).items() if k in fields}
