"""Shared by the HWP 5.0 and HWPX loaders: run an extraction task in the bounded parser
worker and turn its result into a Loaded, or its failure into a specific IngestError."""

from __future__ import annotations

from typing import Any

from ingest.bounded import budget_message, options_args
from ingest.errors import IngestError
from ingest.records import Loaded, LoadOptions
from ingest.sandbox import BudgetExceeded, Refused, run_bounded

PAGE_BREAK = "\f"  # the loader contract's page separator
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LABELS = {"hwp": "HWP", "hwpx": "HWPX"}


def parse_in_worker(name: str, task: str, data: bytes, fmt: str, options: LoadOptions) -> Loaded:
    """Run an extraction task in the bounded worker; every failure is an IngestError."""
    label = _LABELS[fmt]
    try:
        result = run_bounded(
            task,
            data,
            options.parser_timeout,
            memory_mb=options.parser_memory_mb,
            args={"name": name, "options": options_args(options)},
        )
    except BudgetExceeded as exc:
        raise IngestError(f"{name}: {label} parsing stopped: {budget_message(exc)}") from exc
    except Refused as exc:
        if exc.kind == "ingest":  # a budget's message, already naming the file
            raise IngestError(exc.detail) from exc
        raise IngestError(f"{name}: {refusal_message(exc, label)}") from exc
    text: str = result["text"]
    stats: dict[str, int] = result["stats"]
    if not stats.get("text_chars"):
        raise IngestError(f"{name}: {_empty_reason(label, stats)}")
    meta: dict[str, Any] = dict(result.get("meta", {}))
    counts = {"tables": "tables", "notes": "footnotes", "headers_footers": "headers_footers"}
    meta.update({key: stats[k] for k, key in counts.items() if stats.get(k)})
    if PAGE_BREAK in text:
        meta["pages"] = text.count(PAGE_BREAK) + 1
    return Loaded(text, fmt, title=result.get("title") or None, meta=meta)


def refusal_message(exc: Refused, label: str) -> str:
    """The user's message for a worker's refusal of an HWP 5.0 or HWPX document."""
    if exc.kind == "password":
        if label == "HWP":
            what = "password-protected HWP 5.0"
        else:
            what = f"password-protected/encrypted {label}"
        return f"{what} document — remove the password in Hangul and add it again"
    if exc.kind == "drm":
        return f"DRM-protected {label} document — it opens only with its DRM software"
    if exc.kind == "distribution":
        return f"distribution (배포용) {label} document that cannot be decrypted ({exc.detail})"
    if exc.kind == "not_hwp":
        return f"not an {label} document ({exc.detail}) — another format renamed?"
    return f"corrupt {label} document ({exc.detail})"


def _empty_reason(label: str, stats: dict[str, int]) -> str:
    if stats.get("charts"):
        return f"{label} document holds only a chart, no text"
    if stats.get("images"):
        return f"{label} document holds only images, no text (scanned?) — run OCR first"
    if stats.get("empty_tables"):
        return f"{label} document holds only empty tables, no text"
    return f"{label} document has no text"
