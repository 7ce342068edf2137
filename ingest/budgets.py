"""The budgets every parser works within (archive sizes, extracted text), and the errors
that name them: a file over a budget fails alone, with the setting to raise."""

from __future__ import annotations

import io
import zipfile

from ingest.errors import IngestError
from ingest.records import LoadOptions

_READ = 1 << 20  # archive members are unpacked this many bytes at a time, never whole
MB = 1_000_000


def over_budget(name: str, korean: str, english: str, setting: str) -> IngestError:
    """The error of a file over one budget: Korean, then the English detail and the setting."""
    return IngestError(f"{name}: {korean} — {english} (JARYO_{setting})")


def check_archive(name: str, data: bytes, options: LoadOptions, label: str) -> None:
    """Refuse a zip package (DOCX, HWPX) that unpacks past the per-member or total budget.

    The sizes its directory declares are checked first; then every member is unpacked and
    its bytes are counted as they stream, so a directory that lies does not help a bomb.
    """
    member_limit = int(options.max_member_mb * MB)
    total_limit = int(options.max_unzipped_mb * MB)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{name}: corrupt {label} (not a valid zip archive: {exc})") from exc
    with archive:
        infos = archive.infolist()
        for info in infos:
            if info.file_size > member_limit:
                raise _member_error(name, label, info.filename, options)
        if sum(i.file_size for i in infos) > total_limit:
            raise _total_error(name, label, options)
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            size = 0
            try:
                with archive.open(info) as member:
                    while chunk := member.read(_READ):
                        size += len(chunk)
                        total += len(chunk)
                        if size > member_limit:
                            raise _member_error(name, label, info.filename, options)
                        if total > total_limit:
                            raise _total_error(name, label, options)
            except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
                # zlib.error is no OSError: caught by the loader's own translation
                raise IngestError(f"{name}: corrupt {label} ({info.filename}: {exc})") from exc


def _member_error(name: str, label: str, member: str, options: LoadOptions) -> IngestError:
    return over_budget(
        name,
        "압축을 푼 파일 하나가 한도보다 큽니다",
        f"{label} member {member} unpacks to more than {options.max_member_mb:g} MB",
        "MAX_MEMBER_MB",
    )


def _total_error(name: str, label: str, options: LoadOptions) -> IngestError:
    return over_budget(
        name,
        "압축을 푼 크기가 한도보다 큽니다",
        f"{label} unpacks to more than {options.max_unzipped_mb:g} MB in total",
        "MAX_UNZIPPED_MB",
    )


def check_text(name: str, text: str, options: LoadOptions) -> None:
    """Refuse a document whose extracted text is longer than the character budget."""
    if len(text) > options.max_text_chars:
        raise over_budget(
            name,
            "추출한 글자 수가 한도보다 많습니다",
            f"{len(text):,} characters of text, more than {options.max_text_chars:,}",
            "MAX_TEXT_CHARS",
        )
