"""Disk-full and corrupt-store failures of SQLite, FAISS and plain files, translated into the
error vocabulary: one readable Korean line (with the English) naming the file and what to do."""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

from ingest.errors import DiskFullError, IndexError_

logger = logging.getLogger(__name__)

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# SQLite's names for "the disk is full": its own, and the shared-memory index it cannot grow
_FULL_SQLITE = {"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE"}
_CORRUPT_SQLITE = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_FULL_TEXT = ("No space left on device", "Disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (an OSError, a SQLite error, FAISS's RuntimeError) means a full disk."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "")
        return name in _FULL_SQLITE or name.startswith("SQLITE_FULL")
    if isinstance(exc, RuntimeError):  # FAISS reports C++ I/O failures with the errno text
        return any(text in str(exc) for text in _FULL_TEXT)
    return False


def is_corrupt(exc: BaseException) -> bool:
    """Whether a SQLite error says the file is damaged or is no database at all."""
    name = getattr(exc, "sqlite_errorname", "") if isinstance(exc, sqlite3.Error) else ""
    return any(name.startswith(code) for code in _CORRUPT_SQLITE)


def disk_full(path: Path, exc: BaseException | None = None) -> DiskFullError:
    """The error for a write to ``path`` that found the disk full."""
    detail = f": {exc}" if exc is not None else ""
    return DiskFullError(
        f"디스크가 가득 차서 {path}에 쓸 수 없습니다 — 공간을 비운 뒤 다시 하세요; 이미 저장된 "
        f"색인은 그대로입니다 (disk full, cannot write {path}{detail}; free some space and "
        "try again, the index as last committed is intact)"
    )


def corrupt_store(path: Path, exc: BaseException) -> IndexError_:
    """The error for a SQLite store that is damaged or is not a database."""
    return IndexError_(
        f"색인 저장소 {path}가 손상되었습니다 — 백업에서 되살리거나, 색인 폴더 {path.parent}를 "
        f"다른 곳으로 옮긴 뒤 문서를 다시 `jaryo ingest` 하세요 (the SQLite store is corrupt: "
        f"{exc}; restore it from a backup, or move {path.parent} aside and ingest the "
        "documents again)"
    )


def translate(path: Path, exc: BaseException) -> BaseException:
    """``exc`` as a vocabulary error if it is a full disk or a corrupt store, else itself."""
    if is_disk_full(exc):
        return disk_full(path, exc)
    if is_corrupt(exc):
        return corrupt_store(path, exc)
    return exc


def rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already (it does after a full disk),
    never hiding the error that led here behind "cannot rollback"."""
    if not db.in_transaction:
        return
    try:
        db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.warning("rollback failed after an error: %s", exc)
