"""Uploaded files and fetched pages, kept in the data folder under content-hash names and
deleted once no stored document has their content."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from pathlib import Path

from index.failures import disk_full, is_disk_full

logger = logging.getLogger(__name__)

# <sha256 of the bytes><suffix>, and <...>.part while it is written
_NAME = re.compile(r"([0-9a-f]{64})(\.[0-9A-Za-z]+)?(\.part)?")
STALE_SECONDS = 3600.0  # another process's upload is ingested within this, or is garbage


def store_upload(folder: Path, data: bytes, suffix: str) -> Path:
    """Keep ``data`` in ``folder`` under its content hash (written atomically)."""
    stored = folder / f"{hashlib.sha256(data).hexdigest()}{suffix.lower()}"
    part = stored.with_name(stored.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not stored.exists():
            part.write_bytes(data)
            part.replace(stored)
        else:
            stored.touch()  # fresh again: a collection elsewhere must not take it meanwhile
    except OSError as exc:
        part.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(folder, exc) from exc
        raise
    return stored


def content_hash(path: Path) -> str | None:
    """The content hash an upload's name carries (None: not an upload's name)."""
    match = _NAME.fullmatch(path.name)
    return match[1] if match else None


def collect(folder: Path, held: set[str], *, gone: set[str], now: float | None = None) -> int:
    """Delete the uploads whose content no stored document has (``held``): at once those of
    ``gone`` (contents this process just stored, replaced or deleted), the others once they
    are STALE_SECONDS old, since another process may be about to ingest them.

    Returns how many files were deleted; a file that cannot be deleted is only logged.
    """
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    deleted = 0
    for path in folder.iterdir():
        digest = content_hash(path)
        if digest is None or digest in held:
            continue
        try:
            if digest not in gone and path.stat().st_mtime > cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue  # another process collected it first
        except OSError as exc:
            logger.warning("could not delete the upload %s: %s", path, exc)
            continue
        deleted += 1
    if deleted:
        logger.info("deleted %d upload(s) no document holds any more", deleted)
    return deleted
