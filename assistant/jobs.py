"""Background jobs (long uploads) whose progress a client can poll."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.errors import AssistantError, NotFoundError
from ingest.reader import Progress

logger = logging.getLogger(__name__)

JobStatus = Literal["running", "done", "failed"]
MAX_LOG = 200


@dataclass
class Job:
    """One background job: its progress over files, a log, and the result when done."""

    id: str
    kind: str
    status: JobStatus = "running"
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    done: int = 0
    total: int = 0
    current: str = ""
    log: list[str] = field(default_factory=list)
    result: Any = None
    error: str = ""

    def snapshot(self) -> dict[str, Any]:
        """The job as plain JSON."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "done": self.done,
            "total": self.total,
            "current": self.current,
            "log": list(self.log),
            "result": self.result,
            "error": self.error,
        }


class Jobs:
    """Runs jobs in threads and keeps the latest ``keep`` of them in memory."""

    def __init__(self, *, keep: int = 100) -> None:
        self._keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(
        self,
        kind: str,
        work: Callable[[Progress], Any],
        *,
        cleanup: Callable[[], None] | None = None,
    ) -> Job:
        """Run ``work(progress)`` in a thread; its return value becomes the job's result."""
        job = Job(uuid.uuid4().hex, kind)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)

        def progress(done: int, total: int, name: str) -> None:
            with self._lock:
                job.done, job.total, job.current = done, total, name
                if name:
                    job.log.append(f"{done + 1}/{total} {name}")
                    del job.log[:-MAX_LOG]

        def run() -> None:
            try:
                result = work(progress)
            except AssistantError as exc:
                self._finish(job, "failed", error=str(exc))
            except Exception as exc:
                logger.exception("job %s (%s) failed", job.id, kind)
                self._finish(job, "failed", error=f"{exc.__class__.__name__}: {exc}")
            else:
                self._finish(job, "done", result=result)
            finally:
                if cleanup is not None:
                    cleanup()

        threading.Thread(target=run, name=f"jaryo-job-{job.id[:8]}", daemon=True).start()
        return job

    def _finish(self, job: Job, status: JobStatus, *, result: Any = None, error: str = "") -> None:
        with self._lock:
            job.status, job.result, job.error = status, result, error
            job.finished_at = time.time()
            job.done = job.total
            job.current = ""

    def get(self, job_id: str) -> dict[str, Any]:
        """A job's state as plain JSON; NotFoundError if unknown (or long forgotten)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"no such job: {job_id}")
            return job.snapshot()
