"""Run a parser on untrusted bytes in a separate process, under a memory cap and a time limit.

One worker process is started on first use and reused for every later document (starting
Python and importing a parser costs ~0.2 s; a reused worker adds ~1 ms per document). It is
replaced when a document takes it over budget: a parse that runs past the time limit is
killed, one that needs more memory than RLIMIT_AS allows fails inside the worker, and a
worker whose address space came near the cap retires after answering.

Tasks are functions ``f(data: bytes, **args) -> dict`` (JSON-serialisable) named
"module:function" inside this package; a task signals an expected refusal by raising
:class:`Refused`, and may send progress lines with :func:`report`. The worker answers in
JSON, so a hostile document can never make the parent unpickle data.

Protocol (both directions over pipes): a 4-byte big-endian length, then a JSON header; a
request header is followed by an 8-byte length and the document bytes. Before its reply the
worker may send any number of ``{"progress": line}`` frames.
"""

from __future__ import annotations

import atexit
import contextlib
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
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

# the worker imports this module by its package name, so tasks share its Refused class
_WORKER_MAIN = "import sys; from ingest.sandbox import serve; serve(int(sys.argv[1]))"
MEMORY_LIMIT_MB = 1024  # address space of the worker, Python and the parser included
TIME_LIMIT_S = 60.0  # for one document


class Refused(Exception):
    """A task's expected refusal (encrypted, not this format, ...): ``kind`` names it."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail


class BudgetExceeded(Exception):
    """The document took the worker over its time or memory budget, or crashed it:
    ``budget`` is "time", "memory" or "crash"."""

    def __init__(self, message: str, budget: str = "crash") -> None:
        super().__init__(message)
        self.budget = budget


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

    def run(
        self,
        task: str,
        data: bytes,
        timeout: float = TIME_LIMIT_S,
        *,
        args: dict[str, Any] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """The task's result; raises Refused (the task's refusal, or a parser error as kind
        "corrupt") or BudgetExceeded. ``args`` (JSON) are passed to the task as keywords;
        ``progress`` hears the task's progress lines."""
        with self._lock:
            proc = self._ensure_started()
            assert proc.stdin is not None
            try:
                _write_frame(proc.stdin, {"task": task, "args": args or {}}, data)
                reply = self._read_reply(proc, timeout, progress)
            except (BrokenPipeError, EOFError) as exc:
                code = self._stop()
                raise BudgetExceeded(_death_reason(code, self.memory_mb)) from exc
            except TimeoutError as exc:
                self._stop(kill=True)  # it is busy parsing: closing its input would not stop it
                raise BudgetExceeded(f"parsing took longer than {timeout:g} s", "time") from exc
            if reply.get("retire"):
                self._stop()
        if reply.get("ok"):
            result: dict[str, Any] = reply["result"]
            return result
        kind = str(reply.get("kind", "corrupt"))
        if kind == "memory":
            raise BudgetExceeded(
                f"parsing needed more than {self.memory_mb} MB of memory", "memory"
            )
        raise Refused(kind, str(reply.get("detail", "")))

    @property
    def pid(self) -> int | None:
        """The worker process's id while one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

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
            [sys.executable, "-c", _WORKER_MAIN, str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        logger.debug("started parser worker pid %d", self._proc.pid)
        return self._proc

    def _read_reply(
        self,
        proc: subprocess.Popen[bytes],
        timeout: float,
        progress: Callable[[str], None] | None,
    ) -> dict[str, Any]:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                need = 4 + struct.unpack(">I", bytes(buf[:4]))[0] if len(buf) >= 4 else 4
                if len(buf) >= need > 4:
                    frame: dict[str, Any] = json.loads(bytes(buf[4:need]))
                    del buf[:need]
                    if "progress" not in frame:
                        return frame
                    if progress is not None:
                        progress(str(frame["progress"]))
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError
                buf += chunk

    def _stop(self, *, kill: bool = False) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if kill:
            proc.kill()
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
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


def run_bounded(
    task: str,
    data: bytes,
    timeout: float | None = None,
    *,
    memory_mb: int | None = None,
    args: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``task`` on ``data`` in the shared worker process (started on first use), within
    ``timeout`` seconds (default TIME_LIMIT_S) and ``memory_mb`` (default MEMORY_LIMIT_MB)."""
    global _worker
    with _worker_lock:
        if _worker is None or (memory_mb is not None and _worker.memory_mb != memory_mb):
            if _worker is not None:
                _worker.close()
            _worker = Worker(MEMORY_LIMIT_MB if memory_mb is None else memory_mb)
            atexit.register(_worker.close)
        worker = _worker
    limit = TIME_LIMIT_S if timeout is None else timeout
    return worker.run(task, data, limit, args=args, progress=progress)


_progress_out: IO[bytes] | None = None  # inside the worker: where progress frames go


def report(line: str) -> None:
    """Inside a task: send one progress line to the parent (nothing outside the worker)."""
    if _progress_out is not None:
        _write_frame(_progress_out, {"progress": line})


# -- inside the worker process -----------------------------------------------------------------


def serve(memory_mb: int) -> None:
    """The worker's loop: cap its memory, then answer requests until stdin closes."""
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # the protocol owns the real stdout; anything a library prints goes to stderr
    global _progress_out
    out = _progress_out = os.fdopen(os.dup(1), "wb")
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
        reply = _handle(str(header.get("task", "")), data, header.get("args") or {})
        del data
        peak = _peak_bytes()
        if not reply["ok"] and peak >= 0.9 * limit:
            # C parsers (libxml2) report a failed allocation as a parse error: near the cap,
            # the document needed more memory than it may have
            reply = {"ok": False, "kind": "memory"}
        # a worker that came near its cap retires, so the next document starts with a low peak
        reply["retire"] = reply.get("kind") == "memory" or peak >= 0.5 * limit
        _write_frame(out, reply)
        if reply["retire"]:
            return


def _peak_bytes() -> int:
    """The peak size of this process's address space (Linux; 0 where unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _handle(task: str, data: bytes, args: dict[str, Any]) -> dict[str, Any]:
    module_name, _, func_name = task.partition(":")
    if not module_name.startswith("ingest.") or not func_name:
        return {"ok": False, "kind": "corrupt", "detail": f"unknown task {task!r}"}
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return {"ok": True, "result": func(data, **args)}
    except Refused as exc:
        return {"ok": False, "kind": exc.kind, "detail": exc.detail}
    except MemoryError:
        return {"ok": False, "kind": "memory"}
    except Exception as exc:  # hostile input: any parser failure is a corrupt document
        return {"ok": False, "kind": "corrupt", "detail": f"{type(exc).__name__}: {exc}"[:500]}
