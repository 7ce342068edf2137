"""Progress and summary output for ingestion runs (terminal and JSON)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ingest.pipeline import IngestReport, Progress

STATUSES = ("added", "updated", "unchanged", "duplicate", "removed", "failed")


@contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Progress | None]:
    """A tqdm bar over files when stderr is a terminal; otherwise nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", file=sys.stderr)

    def update(done: int, total: int, name: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(name[-40:])
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def report_json(report: IngestReport) -> dict[str, Any]:
    """The report as plain JSON."""
    return {
        "seconds": round(report.seconds, 3),
        "summary": {s: report.count(s) for s in STATUSES},  # type: ignore[arg-type]
        "files": [
            {"doc_id": o.doc_id, "status": o.status, "chunks": o.chunks, "reason": o.reason}
            for o in report.outcomes
        ],
    }


def print_report(report: IngestReport) -> None:
    """A summary table, then one line per failure."""
    counts = {s: report.count(s) for s in STATUSES}  # type: ignore[arg-type]
    chunks = sum(o.chunks for o in report.outcomes)
    click.echo(f"{'status':<10} {'files':>5}")
    for s in STATUSES:
        click.echo(f"{s:<10} {counts[s]:>5}")
    click.echo(f"{len(report.outcomes)} files, {chunks} new chunks, {report.seconds:.1f} s")
    for o in report.outcomes:
        if o.status == "failed":
            click.echo(f"failed: {o.reason}")
        elif o.status == "duplicate":
            click.echo(f"duplicate: {o.doc_id} ({o.reason})")
