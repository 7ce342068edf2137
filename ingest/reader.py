"""Read files into cleaned Documents, and the records that report what ingestion did with each."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.clean import clean_document
from ingest.errors import IngestError
from ingest.layout import split_pages
from ingest.loaders import load_bytes, supported, unsupported_error
from ingest.records import Document, Loaded, LoadOptions
from ingest.titles import choose_title

logger = logging.getLogger(__name__)

Status = Literal["added", "updated", "unchanged", "duplicate", "skipped", "failed", "removed"]
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file."""

    doc_id: str
    status: Status
    chunks: int = 0
    reason: str = ""


@dataclass
class IngestReport:
    """Outcomes of an ingestion run."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        """Number of files with this outcome."""
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class Source:
    """A file to ingest and the id it will have; ``problem`` says why it cannot be read;
    ``document`` is one already loaded (a fetched web page, whose snapshot is ``path``)."""

    path: Path
    doc_id: str
    problem: str = ""
    document: Document | None = None


SCANNED_MARK = "〔스캔한 쪽: OCR〕"


def passage_text(
    title: str, text: str, context: str = "", *, source: str = "", scanned: bool = False
) -> str:
    """The text embedded and keyword-indexed for a chunk: the document's title, a mark on text
    read by OCR ("스캔된 법률안"), and the chunk's context (a table's title and header rows it
    starts under) give the passage its meaning. The file name (readers name a document by it:
    "sample-5017의 첫 번째 표", "국어 시험지 서식(.hwp)") goes in the keyword text only: in the
    embedded text it pulled the shipped articles' passages away from their questions (seed
    hybrid hit@1 0.913 with it, 1.000 without)."""
    head = " ".join(p for p in (title, f"({source})" if source else "") if p)
    mark = SCANNED_MARK if scanned else ""
    return "\n".join(part for part in (head, mark, context, text) if part)


def collect_sources(paths: Iterable[Path], *, allow_outside: bool = False) -> list[Source]:
    """Expand folders recursively; ids are paths relative to the root (NFC-normalised).

    Every visible file in a folder is a source, so a file no loader reads is reported as
    failed rather than silently left out; hidden files and folders and Office lock files
    (``~$name``) are skipped. A symbolic link in a folder is followed only to a file inside
    that folder (unless ``allow_outside``); other links are sources with a ``problem``.
    """
    out: list[Source] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for sub in sorted(path.rglob("*")):
                rel = sub.relative_to(path)
                if _skipped(rel) or not (sub.is_file() or sub.is_symlink()):
                    continue
                doc_id = _nfc(rel.as_posix())
                problem = _link_problem(sub, root, allow_outside) if sub.is_symlink() else ""
                out.append(Source(sub, doc_id, problem=problem and f"{doc_id}: {problem}"))
        else:
            out.append(Source(path, _nfc(path.name)))
    return out


def _link_problem(link: Path, root: Path, allow_outside: bool) -> str:
    """Why a symbolic link inside an ingested folder is not followed, or "" when it is."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:
        return "symbolic link loop (the link points back at itself)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points back at itself)"
        return f"broken symbolic link (its target {os.readlink(link)} is gone)"
    if not allow_outside and not target.is_relative_to(root):
        return (
            f"symbolic link to {target}, outside the ingested folder — not followed "
            "(set JARYO_FOLLOW_OUTSIDE_LINKS=true to allow it)"
        )
    return ""


def _skipped(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts) or rel.name.startswith("~$")


def _nfc(name: str) -> str:
    # macOS writes decomposed Hangul in file names; one document must have one id
    return unicodedata.normalize("NFC", name)


def read_document(
    path: Path, doc_id: str, *, max_bytes: int, options: LoadOptions | None = None
) -> tuple[Document, bytes]:
    """Read and clean one file; raises IngestError naming the file and the reason."""
    name = doc_id
    if path.is_symlink() and not path.exists():
        raise IngestError(f"{name}: broken symbolic link (its target {os.readlink(path)} is gone)")
    if not path.exists():
        raise IngestError(f"{name}: file not found")
    if path.is_dir():
        raise IngestError(f"{name}: is a directory, not a file")
    if not path.is_file():
        raise IngestError(f"{name}: not a regular file (a device, socket or pipe?)")
    if not supported(doc_id):
        raise unsupported_error(name)
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(
            f"{name}: file is {size / 1e6:.1f} MB, larger than the {max_bytes / 1e6:g} MB limit"
        )
    if not os.access(path, os.R_OK):
        raise IngestError(f"{name}: permission denied (cannot read the file)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    return document_from_bytes(path, doc_id, data, options), data


def document_from_bytes(
    path: Path, doc_id: str, data: bytes, options: LoadOptions | None = None
) -> Document:
    """Parse and clean file bytes into a Document; ``doc_id``'s extension picks the loader."""
    if not data:
        raise IngestError(f"{doc_id}: file is empty (0 bytes)")
    if not data.strip():
        raise IngestError(f"{doc_id}: file contains only whitespace")
    return document_from_loaded(doc_id, load_bytes(doc_id, data, options), data)


WEB_FORMATS = frozenset({"txt", "md", "html"})  # text saved from pages, which carry page chrome


def document_from_loaded(
    doc_id: str, loaded: Loaded, data: bytes, *, source: str | None = None
) -> Document:
    """Clean a loaded file into a Document; ``source`` (default: the file name) is shown to
    users and names the document in the evaluation."""
    cleaned = clean_document(loaded.text, chrome=loaded.format in WEB_FORMATS)
    if not cleaned.text.strip():
        if cleaned.dropped:
            raise IngestError(f"{doc_id}: no article text, only page chrome (menus, footers)")
        raise IngestError(f"{doc_id}: no text in the file (whitespace only)")
    text, page_starts = split_pages(cleaned.text)
    title = choose_title(
        loaded.title, text, Path(doc_id).stem, avoid=loaded.meta.get("running_headers", ())
    )
    meta: dict[str, Any] = {**loaded.meta, **cleaned.meta, "file": Path(doc_id).name}
    if len(page_starts) > 1 or "pages" in loaded.meta:
        meta["page_starts"] = page_starts
    if cleaned.dropped:
        meta["chrome_lines_dropped"] = len(cleaned.dropped)
    return Document(
        doc_id=doc_id,
        text=text,
        title=title,
        source=source or Path(doc_id).name,
        format=loaded.format,
        content_hash=hashlib.sha256(data).hexdigest(),
        size=len(data),
        meta=meta,
    )
