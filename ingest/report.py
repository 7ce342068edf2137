"""Progress and summary output for ingestion runs (terminal and JSON)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ingest.reader import IngestReport, Progress

STATUSES = ("added", "updated", "unchanged", "duplicate", "removed", "failed")
_DETAILS = (("failed", "Failed"), ("duplicate", "Duplicates"), ("removed", "Removed"))


class _Bar:
    """A tqdm bar over files whose postfix counts the chunks embedded so far."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="file", file=sys.stderr)
        self.embedded = 0
        self.name = ""

    def __call__(self, done: int, total: int, name: str) -> None:
        self.bar.total = total
        self.bar.n = done
        self.name = name
        self._postfix()

    def chunks(self, embedded: int) -> None:
        """Called by the ingestor after each batch of chunks is embedded and stored."""
        self.embedded = embedded
        self._postfix()

    def _postfix(self) -> None:
        self.bar.set_postfix_str(f"{self.embedded} chunks {self.name[-40:]}".rstrip())
        self.bar.refresh()


@contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Progress | None]:
    """A bar over files and chunks when stderr is a terminal; otherwise nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.bar.close()


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
            elif status == "duplicate":
                lines.append(f"  {o.doc_id}: {o.reason}")
            else:
                lines.append(f"  {o.doc_id}")
    return "\n".join(lines)


def print_report(report: IngestReport) -> None:
    """Print :func:`format_report` to standard output."""
    click.echo(format_report(report))
