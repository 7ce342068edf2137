"""One pymilvus ``MilvusClient`` per URI and token in this process, shared by the Milvus search
backend and store: pymilvus keys connections by URI, so a second client's close would close the
first's; a milvus-lite file's core is released when its last user disconnects."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ingest.errors import IndexError_

logger = logging.getLogger(__name__)

TIMEOUT = 120.0  # seconds per Milvus call (pymilvus otherwise retries for minutes)
LITE_START_WAIT = 20.0  # seconds a milvus-lite start is retried

_clients: dict[tuple[str, str], list[Any]] = {}  # (uri, token) -> [client, users]
_clients_lock = threading.Lock()


class _QuietIterator(logging.Filter):
    """Drops pymilvus's warning that milvus-lite gives its query iterator no timestamp."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "mvccTs" not in record.getMessage()


def connect(uri: str, token: str) -> Any:
    """One MilvusClient per URI in this process (pymilvus keys connections by URI, so a second
    client's close would close the first's)."""
    with _clients_lock:
        entry = _clients.get((uri, token))
        if entry is None:
            from pymilvus import MilvusClient

            if is_local(uri):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)

            quiet = logging.getLogger("pymilvus.orm.iterator")
            if not any(isinstance(f, _QuietIterator) for f in quiet.filters):
                quiet.addFilter(_QuietIterator())

            # a milvus-lite core left by a killed process stops only once it sees its lock
            # released, and a start meanwhile fails: keep trying for a while
            deadline = time.monotonic() + (LITE_START_WAIT if is_local(uri) else 0.0)
            while True:
                try:
                    with warnings.catch_warnings():  # milvus-lite 2.5.1 imports pkg_resources
                        warnings.filterwarnings("ignore", "pkg_resources is deprecated")
                        client = MilvusClient(uri=uri, token=token, timeout=TIMEOUT)
                    break
                except Exception as exc:
                    if time.monotonic() >= deadline:
                        raise IndexError_(f"Milvus at {uri} is unreachable: {exc}") from exc
                    logger.info("milvus-lite at %s did not start (%s); trying again", uri, exc)
                    time.sleep(0.5)
            entry = _clients[(uri, token)] = [client, 0]
        entry[1] += 1
        return entry[0]


def disconnect(uri: str, token: str) -> None:
    with _clients_lock:
        entry = _clients.get((uri, token))
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del _clients[(uri, token)]
            entry[0].close()
            if is_local(uri):  # pymilvus leaves milvus-lite running (and its file locked)
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(uri)


def is_local(uri: str) -> bool:
    """A milvus-lite file rather than a server address."""
    return "://" not in uri and not uri.startswith("unix:")
