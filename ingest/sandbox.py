"""Run a parser on untrusted bytes in a separate process, under a memory cap and a time limit.

One worker process is started on first use and reused for every later document (starting
Python and importing a parser costs ~0.2 s; a reused worker adds ~1 ms per document). It is
replaced when a document takes it over budget: a parse that runs past the time limit is
killed, and one that needs more memory than RLIMIT_AS allows fails inside the worker.

Tasks are functions ``f(data: bytes) -> dict`` (JSON-serialisable) named "module:function"
inside this package; a task signals an expected refusal by raising :class:`Refused`.
The worker answers in JSON, so a hostile document can never make the parent unpickle data.

Protocol (both directions over pipes): a 4-byte big-endian length, then a JSON header; a
request header is followed by an 8-byte length and the document bytes.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

MEMORY_LIMIT_MB = 1024  # address space of the worker, Python and the parser included
TIME_LIMIT_S = 60.0  # for one document


class Refused(Exception):
    """A task's expected refusal (encrypted, not this format, ...): ``kind`` names it."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail


class BudgetExceeded(Exception):
    """The document took the worker over its time or memory budget, or crashed it."""


def _write_frame(out: IO[bytes], header: dict[str, Any], payload: bytes | None = None) -> None:
    raw = json.dumps(header, ensure_ascii=False).encode()
    out.write(struct.pack(">I", len(raw)) + raw)
    if payload is not None:
        out.write(struct.pack(">Q", len(payload)))
        out.write(payload)
    out.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Worker:
    """A reusable worker process; ``run`` is serialised by a lock (one document at a time)."""

    def __init__(self, memory_mb: int = MEMORY_LIMIT_MB) -> None:
        self.memory_mb = memory_mb
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def run(self, task: str, data: bytes, timeout: float = TIME_LIMIT_S) -> dict[str, Any]:
        """The task's result; raises Refused (the task's refusal, or a parser error as kind
        "corrupt") or BudgetExceeded."""
        with self._lock:
            proc = self._ensure_started()
            assert proc.stdin is not None
            try:
                _write_frame(proc.stdin, {"task": task}, data)
                reply = self._read_reply(proc, timeout)
            except (BrokenPipeError, EOFError) as exc:
                code = self._stop()
                raise BudgetExceeded(_death_reason(code, self.memory_mb)) from exc
            except TimeoutError as exc:
                self._stop()
                raise BudgetExceeded(f"parsing took longer than {timeout:g} s") from exc
        if reply.get("ok"):
            result: dict[str, Any] = reply["result"]
            return result
        kind = str(reply.get("kind", "corrupt"))
        if kind == "memory":
            with self._lock:
                self._stop()  # its heap may be fragmented; start afresh next time
            raise BudgetExceeded(f"parsing needed more than {self.memory_mb} MB of memory")
        raise Refused(kind, str(reply.get("detail", "")))

    def close(self) -> None:
        """Stop the worker process (a later ``run`` starts a new one)."""
        with self._lock:
            self._stop()

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.sandbox", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        logger.debug("started parser worker pid %d", self._proc.pid)
        return self._proc

    def _read_reply(self, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = bytearray()
        need = 4
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while len(buf) < need:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError
                chunk = os.read(fd, max(need - len(buf), 65536))
                if not chunk:
                    raise EOFError
                buf += chunk
                if need == 4 and len(buf) >= 4:
                    need = 4 + struct.unpack(">I", bytes(buf[:4]))[0]
        reply: dict[str, Any] = json.loads(bytes(buf[4:need]))
        return reply

    def _stop(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            code = proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        return code


def _death_reason(code: int | None, memory_mb: int) -> str:
    if code is not None and code < 0:
        return f"the parser crashed (signal {-code}; memory limit {memory_mb} MB)"
    return f"the parser stopped unexpectedly (exit code {code}; memory limit {memory_mb} MB)"


_worker: Worker | None = None
_worker_lock = threading.Lock()


def run_bounded(task: str, data: bytes, timeout: float = TIME_LIMIT_S) -> dict[str, Any]:
    """Run ``task`` on ``data`` in the shared worker process (started on first use)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker()
            atexit.register(_worker.close)
        worker = _worker
    return worker.run(task, data, timeout)


# -- inside the worker process -----------------------------------------------------------------


def _serve(memory_mb: int) -> None:
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # the protocol owns the real stdout; anything a library prints goes to stderr
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    while True:
        try:
            (size,) = struct.unpack(">I", _read_exact(inp, 4))
            header = json.loads(_read_exact(inp, size))
            (length,) = struct.unpack(">Q", _read_exact(inp, 8))
            data = _read_exact(inp, length)
        except EOFError:
            return  # the parent closed the pipe: done
        reply = _handle(str(header.get("task", "")), data)
        del data
        _write_frame(out, reply)
        if reply.get("kind") == "memory":
            return


def _handle(task: str, data: bytes) -> dict[str, Any]:
    module_name, _, func_name = task.partition(":")
    if not module_name.startswith("ingest.") or not func_name:
        return {"ok": False, "kind": "corrupt", "detail": f"unknown task {task!r}"}
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return {"ok": True, "result": func(data)}
    except Refused as exc:
        return {"ok": False, "kind": exc.kind, "detail": exc.detail}
    except MemoryError:
        return {"ok": False, "kind": "memory"}
    except Exception as exc:  # hostile input: any parser failure is a corrupt document
        return {"ok": False, "kind": "corrupt", "detail": f"{type(exc).__name__}: {exc}"[:500]}


if __name__ == "__main__":
    # import by the package name, so tasks and this loop share one Refused class
    from ingest.sandbox import _serve as serve

    serve(int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_LIMIT_MB)
