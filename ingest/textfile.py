"""Loaders for text formats: plain text, Markdown and HTML, with Korean encoding detection."""

from __future__ import annotations

import logging
import re

from ingest.bounded import load_bounded
from ingest.budgets import check_text
from ingest.errors import IngestError
from ingest.htmltext import parse_html
from ingest.records import Loaded, LoadOptions

logger = logging.getLogger(__name__)

# Control characters that never appear in real text files (tab, newlines and form feed do).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_MAX_CONTROL_RATIO = 0.02
_ISO2022KR_DESIGNATOR = b"\x1b$)C"


def decode_text(data: bytes, name: str, *, charset: str | None = None) -> tuple[str, str]:
    """Decode text bytes and name the encoding: UTF-8 (± BOM), UTF-16, ISO-2022-KR, CP949/EUC-KR;
    a declared ``charset`` (an HTTP header's) is used when there is no BOM and it fits.

    Raises IngestError when the bytes are not text (NUL bytes, many control characters).
    """
    declared = None
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        declared = _decode_as(data, charset)
    if declared is not None and declared[1] in _WESTERN and not data.isascii():
        # servers and editors label Korean pages ISO-8859-1 by default; such bytes always
        # "fit" a single-byte charset, so UTF-8 or mostly-Hangul CP949 outranks the label
        guessed = _guess(data, name)
        if guessed[1] in ("utf-8", "cp949"):
            declared = guessed
    if declared is not None:
        text, encoding = declared
    elif data.startswith(b"\xef\xbb\xbf"):
        text, encoding = _strict(data[3:], "utf-8", name), "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = _strict(data, "utf-16", name), "utf-16"
    elif b"\x00" in data:
        text, encoding = _utf16_without_bom(data, name)
    elif data.lstrip()[:4] == _ISO2022KR_DESIGNATOR or _ISO2022KR_DESIGNATOR in data[:1024]:
        # 7-bit Korean mail encoding: the designator escape, then SO/SI around Hangul
        text, encoding = _strict(data, "iso2022_kr", name), "iso2022_kr"
    else:
        text, encoding = _guess(data, name)
    _check_is_text(text, name)
    return text, encoding


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(f"{name}: not valid {encoding.upper()} text ({exc.reason})") from exc


def _utf16_without_bom(data: bytes, name: str) -> tuple[str, str]:
    """UTF-16 text saved without a BOM: the byte order under which the text reads as
    letters of real scripts (little-endian, Windows' order, on a tie); anything else with
    NUL bytes is binary data.

    Where the NUL bytes fall is no guide for Korean: Hangul needs no NUL byte, and those it
    has are the low bytes of syllables like 가 (U+AC00), which little-endian puts first.
    """
    if len(data) % 2 == 0:
        readings = []
        for encoding in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            readings.append((_script_share(text), encoding, text))
        if readings:
            share, encoding, text = max(readings, key=lambda r: r[0])  # the first on a tie
            if share >= 0.9 and len(_CONTROL.findall(text)) <= _MAX_CONTROL_RATIO * len(text):
                return text, encoding
    raise IngestError(f"{name}: not a text file (it contains NUL bytes; binary data?)")


# letters and punctuation of the scripts documents are written in: ASCII, Latin, Greek,
# Cyrillic, general punctuation, CJK symbols, kana, Hangul jamo, CJK ideographs, Hangul
# syllables, full-width forms
_SCRIPTS = re.compile(
    r"[\t\n\r\f\x20-\x7e\u00c0-\u024f\u0370-\u04ff\u1100-\u11ff\u2000-\u206f"
    r"\u3000-\u30ff\u3130-\u318f\u4e00-\u9fff\uac00-\ud7a3\uff00-\uffef]"
)


def _script_share(text: str) -> float:
    """Share of ``text``'s characters that belong to a real script (see _SCRIPTS)."""
    return len(_SCRIPTS.findall(text)) / len(text) if text else 0.0


def _guess(data: bytes, name: str) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp949")  # cp949 is a superset of EUC-KR
    except UnicodeDecodeError:
        pass
    else:
        # Western single-byte text can decode as CP949 too, into Hangul nobody wrote
        wide = [c for c in text if ord(c) > 0x7F]
        if sum(1 for c in wide if "\uac00" <= c <= "\ud7a3") >= 0.5 * len(wide):
            return text, "cp949"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: not a text file (cannot detect its encoding)")
    return str(best), best.encoding


def _check_is_text(text: str, name: str) -> None:
    if not text:
        return
    bad = len(_CONTROL.findall(text))
    if bad / len(text) > _MAX_CONTROL_RATIO:
        raise IngestError(
            f"{name}: not a text file ({bad} control characters in {len(text)}; binary data?)"
        )


def load_text(name: str, data: bytes, options: LoadOptions) -> Loaded:
    """Plain text or Markdown; a Markdown ``# heading`` on the first line is the title."""
    text, encoding = decode_text(data, name)
    text = text.lstrip("\ufeff")
    check_text(name, text, options)
    fmt = "md" if name.lower().endswith((".md", ".markdown")) else "txt"
    title = None
    if fmt == "md":
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if first.startswith("# "):
            title = first[2:].strip() or None
    return Loaded(text, fmt, title=title, meta={"encoding": encoding})


def load_html(
    name: str, data: bytes, options: LoadOptions, *, charset: str | None = None
) -> Loaded:
    """An HTML page: the text of its main content, title from og:title, <h1> or <title>
    (parsed in the bounded worker: a page's tree can take many times its size in memory)."""
    args = {"charset": charset} if charset else {}
    return load_bounded(
        name, data, options, parser="ingest.textfile:parse_html_file", label="HTML", **args
    )


def parse_html_file(
    name: str, data: bytes, options: LoadOptions, charset: str | None = None
) -> Loaded:
    """Inside the worker: decode and flatten an HTML page (``charset``: the HTTP header's)."""
    text, encoding = decode_html(data, name, charset)
    return parse_html(name, text, encoding, max_depth=options.max_html_depth)


def decode_html(data: bytes, name: str, charset: str | None = None) -> tuple[str, str]:
    """Decode an HTML page: a BOM, then ``charset`` (the HTTP header's), then the page's
    <meta> charset, each only if it fits the bytes; else detection as for text files."""
    if _decode_as(data, charset) is None:
        charset = _meta_charset(data)
    return decode_text(data, name, charset=charset)


_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _meta_charset(data: bytes) -> str | None:
    match = _CHARSET.search(data[:4096])
    return match[1].decode("ascii") if match else None


_WESTERN = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "windows-1252", "cp1252"}
_CHARSET_ALIASES = {"euc-kr": "cp949", "ks_c_5601-1987": "cp949", "x-windows-949": "cp949"}


def _decode_as(data: bytes, label: str | None) -> tuple[str, str] | None:
    """``data`` decoded with the named charset, or None if it is unknown or does not fit."""
    if not label:
        return None
    codec = label.strip().strip("\"'").lower()
    codec = _CHARSET_ALIASES.get(codec, codec)
    try:
        return data.decode(codec), codec
    except (LookupError, UnicodeDecodeError):
        return None
