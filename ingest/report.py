"""Progress and summary output for ingestion runs (terminal and JSON)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ingest.reader import IngestReport, Progress

STATUSES = ("added", "updated", "unchanged", "duplicate", "skipped", "removed", "failed")
_DETAILS = (
    ("failed", "Failed"),
    ("duplicate", "Duplicates"),
    ("skipped", "Skipped"),
    ("removed", "Removed"),
)


class _Bar:
    """A tqdm bar over files whose postfix counts the chunks embedded so far."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="file", file=sys.stderr)
        self.embedded = 0
        self.name = ""
        self.note = ""

    def __call__(self, done: int, total: int, name: str) -> None:
        self.bar.total = total
        self.bar.n = done
        self.name, self.note = name, ""
        self._postfix()

    def chunks(self, embedded: int) -> None:
        """Called by the ingestor after each batch of chunks is embedded and stored."""
        self.embedded = embedded
        self._postfix()

    def detail(self, line: str) -> None:
        """A loader's line about the current file ("bill.pdf: page 3/12 (OCR)")."""
        self.note = line.rsplit(": ", 1)[-1]
        self._postfix()

    def _postfix(self) -> None:
        where = f"{self.name[-40:]} {self.note}".strip()
        self.bar.set_postfix_str(f"{self.embedded} chunks {where}".rstrip())
        self.bar.refresh()


class _Lines:
    """Progress as plain lines on stderr, for logs and pipes: each file, page news at most
    once a second, and the chunks embedded."""

    def __init__(self, *, every: float = 1.0) -> None:
        self.every = every
        self.last_detail = 0.0
        self.embedded = 0

    def _say(self, line: str) -> None:
        click.echo(line, err=True)

    def __call__(self, done: int, total: int, name: str) -> None:
        if name:
            self._say(f"[{done + 1}/{total}] {name}")
        else:
            self._say(f"[{done}/{total}] done, {self.embedded} chunks embedded")

    def chunks(self, embedded: int) -> None:
        """Called by the ingestor after each batch of chunks is embedded and stored."""
        if embedded != self.embedded:
            self.embedded = embedded
            self._say(f"  {embedded} chunks embedded")

    def detail(self, line: str) -> None:
        """A loader's line about the current file, throttled (OCR pages always pass)."""
        now = time.monotonic()
        if "OCR" in line or now - self.last_detail >= self.every:
            self.last_detail = now
            self._say(f"  {line}")


@contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Progress]:
    """Progress on stderr: a bar when it is a terminal, plain lines otherwise (``--json`` too,
    since its report goes to stdout); nothing at all when not ``enabled``."""
    if not enabled:
        yield _silent
        return
    if not sys.stderr.isatty():
        yield _Lines()
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.bar.close()


def _silent(done: int, total: int, name: str) -> None:
    """Progress that says nothing."""


def report_json(report: IngestReport) -> dict[str, Any]:
    """The report as plain JSON: totals per status, then one entry per file."""
    return {
        "seconds": round(report.seconds, 3),
        "summary": {s: report.count(s) for s in STATUSES},  # type: ignore[arg-type]
        "new_chunks": sum(o.chunks for o in report.outcomes),
        "files": [
            {"doc_id": o.doc_id, "status": o.status, "chunks": o.chunks, "reason": o.reason}
            for o in report.outcomes
        ],
    }


def format_report(report: IngestReport) -> str:
    """A summary table (files and new chunks per status), then the files that need a word."""
    chunks = {s: 0 for s in STATUSES}
    for o in report.outcomes:
        chunks[o.status] += o.chunks
    total = sum(chunks.values())
    lines = [
        f"{len(report.outcomes)} files in {report.seconds:.1f} s, {total} new chunks",
        "",
        f"  {'status':<10} {'files':>6} {'chunks':>7}",
    ]
    for s in STATUSES:
        if s == "skipped" and not report.count("skipped"):
            continue  # only uploads skip files with a note; folders leave hidden files out
        shown = str(chunks[s]) if s in ("added", "updated") else ""
        lines.append(f"  {s:<10} {report.count(s):>6} {shown:>7}")  # type: ignore[arg-type]
    lines.append(f"  {'total':<10} {len(report.outcomes):>6} {total:>7}")
    for status, title in _DETAILS:
        picked = [o for o in report.outcomes if o.status == status]
        if not picked:
            continue
        lines += ["", f"{title} ({len(picked)}):"]
        for o in picked:
            if status == "failed":
                lines.append(f"  {o.reason}")
            elif status in ("duplicate", "skipped"):
                lines.append(f"  {o.doc_id}: {o.reason}")
            else:
                lines.append(f"  {o.doc_id}")
    return "\n".join(lines)


def print_report(report: IngestReport) -> None:
    """Print :func:`format_report` to standard output."""
    click.echo(format_report(report))
