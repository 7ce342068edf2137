"""Swap a rebuilt index folder into place atomically, and finish a swap a killed process left.

The swap is two renames: ``index`` → ``index.old``, then ``index.new`` → ``index``. A process
killed at any point leaves a loadable index: before the first rename the old one is untouched;
between the renames :func:`recover_interrupted_rebuild` (called whenever an index is opened)
finishes the swap, because ``index.new`` is marked complete before the first rename.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from index.atomic import fsync_dir

logger = logging.getLogger(__name__)

COMPLETE_MARK = "REBUILD-COMPLETE"


def staging_folder(folder: Path) -> Path:
    """Where a rebuild writes the new index."""
    return folder.with_name(folder.name + ".new")


def retired_folder(folder: Path) -> Path:
    """Where the old index waits during the swap."""
    return folder.with_name(folder.name + ".old")


def recover_interrupted_rebuild(folder: Path) -> None:
    """Finish (or undo) a swap that a killed rebuild left half done."""
    new, old = staging_folder(folder), retired_folder(folder)
    if not folder.exists() and old.exists():
        if (new / COMPLETE_MARK).exists():
            logger.warning("finishing an interrupted rebuild: %s becomes the index", new.name)
            os.rename(new, folder)
        else:
            logger.warning("undoing an interrupted rebuild: restoring %s", old.name)
            os.rename(old, folder)
        fsync_dir(folder.parent)
    if folder.exists() and old.exists():
        shutil.rmtree(old)
    (folder / COMPLETE_MARK).unlink(missing_ok=True)


def swap_in(folder: Path) -> None:
    """Make the complete staging folder the index (see the module docstring)."""
    new, old = staging_folder(folder), retired_folder(folder)
    (new / COMPLETE_MARK).touch()
    fsync_dir(new)
    if old.exists():
        shutil.rmtree(old)
    os.rename(folder, old)
    os.rename(new, folder)
    fsync_dir(folder.parent)
    shutil.rmtree(old)
    (folder / COMPLETE_MARK).unlink(missing_ok=True)
