"""The jaryo CLI on a really full disk: run inside a mount namespace with a small tmpfs.

Run as ``python _disk_full_worker.py MOUNT DOCS``: MOUNT is an empty tmpfs of a few MB, DOCS
holds seoul.txt, busan.txt and big.txt. It
ingests a document, fills the disk to the last byte, runs ``docs``, ``search``, ``check``,
``ingest`` and ``remove``; then frees all but a little room and ingests a file too big for it
(SQLite itself meets the full disk inside its commit); then frees the disk and checks again.
Prints one JSON object: per step, the exit code and what the command printed.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any


def fill(path: Path, leave: int = 0) -> None:
    """Write zeros into ``path`` until the disk has at most ``leave`` bytes free."""
    with open(path, "ab") as fh:
        block = b"\0" * (1 << 16)
        while True:
            room = os.statvfs(path).f_bavail * os.statvfs(path).f_frsize - leave
            if room <= 0:
                return
            try:
                fh.write(block[: min(len(block), room)])
                fh.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return


def main() -> None:
    """Entry point: ``MOUNT DOCS``."""
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here.parents[1]), str(here.parent)]
    from _ingest_worker import WordTokenizer
    from click.testing import CliRunner
    from conftest import FakeEmbedder  # tests/conftest.py

    import assistant.build
    import index.collection
    from assistant.cli import main as cli

    mount = Path(sys.argv[1])
    docs = Path(sys.argv[2])
    embedder = FakeEmbedder()
    assistant.build.load_embedder = lambda settings: embedder  # type: ignore[assignment]
    index.collection.MorphTokenizer = WordTokenizer  # type: ignore[misc,assignment]  # no Kiwi
    base = ["--data-dir", str(mount / "data"), "--model", "fake-bigram"]
    steps: dict[str, Any] = {}

    def run(step: str, *args: str) -> None:
        result = CliRunner().invoke(cli, [*base, *args])
        error = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            error = f"{type(result.exception).__name__}: {result.exception}"
        steps[step] = {"code": result.exit_code, "output": result.output, "exception": error}
        gc.collect()  # the command's store closes, as when its process ends

    run("first ingest", "ingest", str(docs / "seoul.txt"))
    fill(mount / "fill")
    steps["free bytes when full"] = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    run("docs", "docs")
    run("search", "search", "서울 인구", "--mode", "hybrid")
    run("check", "check")
    run("ingest when full", "ingest", str(docs / "busan.txt"))
    run("remove when full", "remove", "seoul.txt")
    (mount / "fill").unlink()
    fill(mount / "fill", leave=150_000)
    run("ingest too big", "ingest", str(docs / "big.txt"))
    (mount / "fill").unlink()
    run("check after", "check")
    run("docs after", "docs")
    run("ingest after", "ingest", str(docs / "busan.txt"))
    print(json.dumps(steps, ensure_ascii=False))


if __name__ == "__main__":
    main()
