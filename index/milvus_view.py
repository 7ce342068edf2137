"""The committed state of a Milvus store held in memory, and one change computed on a copy.

A :class:`View` is what one committed transaction left: documents (without text), collections
and memberships, and the state row's counters. A :class:`Change` applies the collection rules
of :mod:`index.membership` (the SQLite version) to a copy of it; what it added and what it
left behind is then written to Milvus as new rows and journalled deletions.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from index.membership import DEFAULT_COLLECTION, CollectionInfo
from ingest.errors import ConflictError, NotFoundError


def row_key(*parts: object) -> str:
    """A row key made only of hex digits (safe inside a Milvus filter expression)."""
    return hashlib.sha256("\x00".join(map(str, parts)).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class DocRow:
    """A document's stored metadata; ``key`` names this version of it."""

    key: str
    tx: int
    doc_id: str
    title: str
    source: str
    format: str
    content_hash: str
    size: int
    added_at: float
    chunks: int
    meta: dict[str, Any]


@dataclass(frozen=True)
class CollRow:
    """A collection (``cid`` stays when it is renamed; ``key`` names this version)."""

    key: str
    tx: int
    cid: int
    name: str
    created_at: float


@dataclass
class State:
    """The counters the state row commits."""

    tx: int = 0  # the committed transaction: rows tagged later are not (yet) part of the store
    generation: int = 0  # bumped when chunks change
    memberships: int = 0  # bumped when collections or memberships change
    next_id: int = 1  # next chunk id
    next_cid: int = 1  # next collection id

    def as_json(self) -> dict[str, int]:
        """The state row's value."""
        return {
            "tx": self.tx,
            "generation": self.generation,
            "memberships": self.memberships,
            "next_id": self.next_id,
            "next_cid": self.next_cid,
        }

    @classmethod
    def of(cls, value: dict[str, Any]) -> State:
        """Read a state row's value."""
        return cls(**{k: int(value[k]) for k in cls().as_json() if k in value})


@dataclass
class View:
    """Documents, collections and memberships as of ``state.tx``."""

    state: State = field(default_factory=State)
    docs: dict[str, DocRow] = field(default_factory=dict)
    colls: dict[int, CollRow] = field(default_factory=dict)
    members: dict[tuple[int, str], str] = field(default_factory=dict)  # (cid, doc) -> key

    def cid_of(self, name: str) -> int | None:
        """The id of collection ``name``, if any."""
        return next((c.cid for c in self.colls.values() if c.name == name), None)

    def collection_id(self, name: str) -> int:
        """The id of an existing collection; NotFoundError otherwise."""
        cid = self.cid_of(name)
        if cid is None:
            raise NotFoundError(f"no such collection: {name}")
        return cid

    def of_document(self, doc_id: str) -> tuple[str, ...]:
        """The collections of one document, sorted (the default first)."""
        names = [self.colls[c].name for c, d in self.members if d == doc_id and c in self.colls]
        return tuple(sorted(names, key=lambda n: (n != DEFAULT_COLLECTION, n)))

    def of_documents(self) -> dict[str, tuple[str, ...]]:
        """The collections of every document."""
        out: dict[str, list[str]] = {}
        for cid, doc_id in self.members:
            if cid in self.colls:
                out.setdefault(doc_id, []).append(self.colls[cid].name)
        return {
            d: tuple(sorted(ns, key=lambda n: (n != DEFAULT_COLLECTION, n)))
            for d, ns in out.items()
        }

    def listing(self) -> list[CollectionInfo]:
        """Every collection with its number of documents, the default first, then by age."""
        counts: dict[int, int] = {}
        for cid, doc_id in self.members:
            if doc_id in self.docs:
                counts[cid] = counts.get(cid, 0) + 1
        rows = sorted(
            self.colls.values(), key=lambda c: (c.name != DEFAULT_COLLECTION, c.created_at, c.name)
        )
        return [CollectionInfo(c.name, c.created_at, counts.get(c.cid, 0)) for c in rows]

    def scope_docs(self, collections: Sequence[str], documents: Sequence[str]) -> list[DocRow]:
        """Documents in any of ``collections`` (all when empty) that are among ``documents``
        (all when empty); NotFoundError for an unknown name or id."""
        rows = list(self.docs.values())
        if collections:
            cids = {self.collection_id(c) for c in collections}
            inside = {d for c, d in self.members if c in cids}
            rows = [r for r in rows if r.doc_id in inside]
        if documents:
            missing = [d for d in documents if d not in self.docs]
            if missing:
                raise NotFoundError(f"no such document: {', '.join(missing)}")
            wanted = set(documents)
            rows = [r for r in rows if r.doc_id in wanted]
        return rows

    def problems(self) -> list[str]:
        """Documents in no collection, and a missing default collection."""
        out = []
        if self.cid_of(DEFAULT_COLLECTION) is None:
            out.append(f"the default collection {DEFAULT_COLLECTION} is missing")
        housed = {d for c, d in self.members if c in self.colls}
        orphans = sum(1 for d in self.docs if d not in housed)
        if orphans:
            out.append(f"{orphans} documents belong to no collection")
        return out


class Change:
    """One transaction's edits on a copy of a view; :meth:`added` and :meth:`gone` diff it."""

    def __init__(self, view: View) -> None:
        self.before = view
        self.after = copy.deepcopy(view)
        self.tx = view.state.tx + 1
        self.after.state.tx = self.tx

    # -- collections (the rules of index.membership) ---------------------------------------

    def bump(self) -> None:
        """Count a change of collections or memberships."""
        self.after.state.memberships += 1

    def ensure(self, name: str) -> int:
        """The id of collection ``name``, created if missing."""
        cid = self.after.cid_of(name)
        if cid is not None:
            return cid
        state = self.after.state
        cid, state.next_cid = state.next_cid, state.next_cid + 1
        self.after.colls[cid] = CollRow(row_key(self.tx, "c", cid), self.tx, cid, name, time.time())
        self.bump()
        return cid

    def create(self, name: str) -> None:
        """A new empty collection; ConflictError if the name is taken."""
        if self.after.cid_of(name) is not None:
            raise ConflictError(f"a collection named {name} already exists")
        self.ensure(name)

    def rename(self, old: str, new: str) -> None:
        """Give a collection a new name."""
        if old == DEFAULT_COLLECTION:
            raise ConflictError(f"the default collection {DEFAULT_COLLECTION} cannot be renamed")
        cid = self.after.collection_id(old)
        if new == old:
            return
        if self.after.cid_of(new) is not None:
            raise ConflictError(f"a collection named {new} already exists")
        row = self.after.colls[cid]
        self.after.colls[cid] = replace(row, key=row_key(self.tx, "c", cid), tx=self.tx, name=new)
        self.bump()

    def link(self, doc_ids: Iterable[str], name: str) -> None:
        """Put stored documents in collection ``name`` (created if missing)."""
        cid = self.ensure(name)
        for doc_id in doc_ids:
            if doc_id not in self.after.docs or (cid, doc_id) in self.after.members:
                continue
            kept = self.before.members.get((cid, doc_id))  # relinked in this change: keep its row
            self.after.members[(cid, doc_id)] = kept or row_key(self.tx, "m", cid, doc_id)
        self.bump()

    def unlink(self, doc_ids: Sequence[str], name: str) -> list[str]:
        """Take documents out of collection ``name``; returns those now in no collection."""
        cid = self.after.collection_id(name)
        for doc_id in doc_ids:
            self.after.members.pop((cid, doc_id), None)
        self.bump()
        return self.homeless(doc_ids)

    def homeless(self, doc_ids: Sequence[str]) -> list[str]:
        """Those of ``doc_ids`` that belong to no collection."""
        housed = {d for _, d in self.after.members}
        return [d for d in doc_ids if d not in housed]

    def drop(self, name: str) -> list[str]:
        """Delete collection ``name``; returns the documents no other collection holds."""
        if name == DEFAULT_COLLECTION:
            raise ConflictError(f"the default collection {DEFAULT_COLLECTION} cannot be deleted")
        cid = self.after.collection_id(name)
        members = [d for c, d in self.after.members if c == cid]
        del self.after.colls[cid]
        for doc_id in members:
            del self.after.members[(cid, doc_id)]
        self.bump()
        return self.homeless(members)

    def restore(self, names: list[tuple[str, float]], pairs: list[tuple[str, str]]) -> None:
        """Recreate a snapshot over the documents held (others are skipped)."""
        for name, created in names:
            cid = self.ensure(name)
            row = self.after.colls[cid]
            if row.created_at != created:
                self.after.colls[cid] = replace(
                    row, key=row_key(self.tx, "c", cid), tx=self.tx, created_at=created
                )
        wanted = {d for _, d in pairs if d in self.after.docs}
        for cid, doc_id in list(self.after.members):
            if doc_id in wanted:
                del self.after.members[(cid, doc_id)]
        for name, doc_id in pairs:
            found = self.after.cid_of(name)
            if found is not None and doc_id in self.after.docs:
                kept = self.before.members.get((found, doc_id))
                self.after.members[(found, doc_id)] = kept or row_key(self.tx, "m", found, doc_id)
        self.bump()

    # -- documents -------------------------------------------------------------------------

    def remove_document(self, doc_id: str) -> DocRow | None:
        """Take a document and its memberships out; its row, if it was held."""
        row = self.after.docs.pop(doc_id, None)
        for key in [k for k in self.after.members if k[1] == doc_id]:
            del self.after.members[key]
        return row

    def add_document(self, row: DocRow) -> None:
        """Hold a (new version of a) document."""
        self.after.docs[row.doc_id] = row

    # -- the diff --------------------------------------------------------------------------

    def added(self) -> tuple[list[DocRow], list[CollRow], list[tuple[str, int, str]]]:
        """Rows this change creates: documents, collections, (key, cid, doc) memberships."""
        old_docs = {r.key for r in self.before.docs.values()}
        old_colls = {r.key for r in self.before.colls.values()}
        old_members = set(self.before.members.values())
        return (
            [r for r in self.after.docs.values() if r.key not in old_docs],
            [r for r in self.after.colls.values() if r.key not in old_colls],
            [(k, c, d) for (c, d), k in self.after.members.items() if k not in old_members],
        )

    def gone(self) -> dict[str, list[str]]:
        """Keys of the rows this change leaves behind, by kind (docs, colls, members)."""
        docs = {r.key for r in self.after.docs.values()}
        colls = {r.key for r in self.after.colls.values()}
        members = set(self.after.members.values())
        return {
            "docs": [r.key for r in self.before.docs.values() if r.key not in docs],
            "colls": [r.key for r in self.before.colls.values() if r.key not in colls],
            "members": [k for k in self.before.members.values() if k not in members],
        }
