"""Read files into text: one loader per format, each raising IngestError with the reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import IngestError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """Raw text of a file and what the format says about it."""

    text: str
    format: str
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def decode_text(data: bytes, name: str) -> str:
    """Decode text bytes: UTF-8 (with or without BOM), UTF-16, or CP949/EUC-KR."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp949")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: not a text file (cannot detect its encoding)")
    return str(best)


def load_text(path: Path, data: bytes) -> Loaded:
    """Plain text or Markdown."""
    fmt = "md" if path.suffix.lower() == ".md" else "txt"
    return Loaded(decode_text(data, path.name), fmt)


LOADERS = {".txt": load_text, ".md": load_text}


def supported(path: Path) -> bool:
    """Whether ingestion reads files with this extension."""
    return path.suffix.lower() in LOADERS


def load_bytes(path: Path, data: bytes) -> Loaded:
    """Parse ``data`` read from ``path`` with the loader for its extension."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        exts = ", ".join(sorted(LOADERS))
        raise IngestError(f"{path.name}: unsupported file type {path.suffix!r} (supported: {exts})")
    return loader(path, data)
