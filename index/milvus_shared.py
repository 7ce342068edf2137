"""A shared name for a Milvus index, so that any app node finds it (``JARYO_MILVUS_COLLECTION``).

The name's ``<shared>_current`` rows register the collections that hold the index now: the
shared name itself until a rebuild writes new collections and registers them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index import milvus_rows as rows_
from index.milvus import collection_name, folder_collection
from index.milvus_client import connect, disconnect
from index.milvus_rows import TIMEOUT


def index_name(folder: Path, shared: str, *, uri: str, token: str = "") -> str:
    """The collections' name of the index in ``folder``: with a ``shared`` name, the one its
    ``<shared>_current`` rows register (``shared`` itself before any rebuild), recorded in the
    folder's ``milvus.json``; else the folder's own."""
    if not shared:
        return folder_collection(folder)
    client = connect(uri, token)
    try:
        current = registered(client, shared) or shared
    finally:
        disconnect(uri, token)
    if collection_name(folder) != current:
        (folder / "milvus.json").unlink(missing_ok=True)  # the search state of other collections
    return folder_collection(folder, current)


def registered(client: Any, shared: str) -> str | None:
    """The collections' name ``<shared>_current`` registers last, if any."""
    table = f"{shared}_current"
    if not client.has_collection(table, timeout=TIMEOUT):
        return None
    got = client.query(table, filter="tx >= 0", output_fields=["prefix"], timeout=TIMEOUT)
    return str(max(got, key=lambda r: int(r["tx"]))["prefix"]) if got else None


def register(shared: str, prefix: str, *, uri: str, token: str = "") -> None:
    """Make ``prefix`` the current collections of the shared index (one row, written last)."""
    client = connect(uri, token)
    try:
        table = f"{shared}_current"
        rows_.create(client, table, "current", 0)
        got = client.query(table, filter="tx >= 0", output_fields=["tx"], timeout=TIMEOUT)
        tx = max((int(r["tx"]) for r in got), default=0) + 1
        rows_.insert(client, table, [{"tx": tx, "prefix": prefix}])
        client.delete(table, filter=f"tx < {tx}", timeout=TIMEOUT)
    finally:
        disconnect(uri, token)
