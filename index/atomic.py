"""Atomic file writes: temporary names that say who writes them, durable renames."""

from __future__ import annotations

import os
from pathlib import Path


def temp_path(path: Path) -> Path:
    """Where this process writes ``path`` before renaming it into place: the name carries the
    writer's pid, so that another process can tell a live writer's file from a leftover."""
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


def is_stale_temp(path: Path) -> bool:
    """Whether a ``*.tmp`` file was left by a writer that is gone (or by an older version)."""
    parts = path.name.rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
