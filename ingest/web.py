"""Web pages by address: fetch within size and time limits, never from private networks unless
allowed, and load the page (HTML article text, PDF or plain text) like an uploaded file.

Every host is resolved before connecting and the connection goes to the address that was
checked (TLS still verifies the certificate for the host name), so a name that resolves to a
public address for the check and to a private one for the request cannot slip through; each
redirect is checked the same way. Proxies from the environment are not used for the same reason.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from ingest.errors import IngestError
from ingest.loaders import LOADERS
from ingest.records import Loaded, LoadOptions
from ingest.textfile import decode_text, load_html

__all__ = ["Fetched", "fetch", "is_url", "load_fetched", "normalize_url", "snapshot_suffix"]

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
USER_AGENT = "jaryo/0.1 (document ingestion)"
# media type -> the loader's format
KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
_SUFFIXES = {"html": ".html", "pdf": ".pdf", "txt": ".txt"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


@dataclass(frozen=True)
class Fetched:
    """A fetched page: the address asked for (normalised), where it came from after
    redirects, its media type (one of :data:`KINDS`), bytes and the HTTP charset if any."""

    url: str
    final_url: str
    content_type: str
    data: bytes
    charset: str | None = None


def is_url(text: str) -> bool:
    """Whether ``text`` is a web address (http:// or https://) rather than a file path."""
    return text.strip().lower().startswith(("http://", "https://"))


def normalize_url(url: str) -> str:
    """The address as a document id: scheme and host lower-case (IDNA), default port and
    fragment dropped, percent escapes upper-case; raises IngestError for what cannot be fetched."""
    raw = url.strip()
    try:
        parsed = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError) as exc:
        raise IngestError(f"{raw}: not a valid web address ({exc})") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise IngestError(f"{raw}: only http:// and https:// addresses can be fetched")
    if not parsed.host:
        raise IngestError(f"{raw}: the address has no host name")
    if parsed.userinfo:
        # a password in the address would be stored in the document id and shown in the UI
        raise IngestError(f"{raw}: addresses with a user name or password are not supported")
    port = None if parsed.port == _DEFAULT_PORTS[parsed.scheme] else parsed.port
    parts = urlsplit(str(parsed.copy_with(port=port, fragment=None)))
    text = urlunsplit(parts._replace(path=parts.path or "/"))
    return _PERCENT.sub(lambda m: m[0].upper(), text)


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # documentation ranges; multicast can be "global" but is never a web server
    return not address.is_global or address.is_multicast


def _resolve(url: httpx.URL, *, allow_private: bool, shown: str, redirected: bool) -> str:
    """The address to connect to for ``url``'s host, refusing private ones unless allowed."""
    host = url.host
    port = url.port or _DEFAULT_PORTS[url.scheme]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise IngestError(f"{shown}: cannot find the host {host} ({reason})") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise IngestError(f"{shown}: cannot find the host {host} (no address)")
    private = [a for a in addresses if _is_private(a)]
    if private and not allow_private:
        where = host if str(private[0]) == host else f"{host} ({private[0]})"
        if redirected:
            where = f"the redirect target {url}: {where}"
        raise IngestError(
            f"{shown}: {where} is a private, loopback or link-local address; fetching from "
            "this machine or the local network is off (setting JARYO_WEB_ALLOW_PRIVATE)"
        )
    return str(addresses[0])


def _host_header(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.raw_host.decode("ascii")
    return host if url.port is None else f"{host}:{url.port}"


def fetch(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Fetched:
    """Download ``url`` (HTML, PDF or plain text) in at most ``timeout`` seconds and
    ``max_bytes`` bytes, following up to five redirects; raises IngestError with the reason."""
    shown = normalize_url(url)
    current = httpx.URL(shown)
    deadline = time.monotonic() + timeout
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml,application/pdf,text/plain;q=0.9,*/*;q=0.1",
    }
    with httpx.Client(headers=headers, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            address = _resolve(
                current, allow_private=allow_private, shown=shown, redirected=str(current) != shown
            )
            extensions = {"sni_hostname": current.host} if current.scheme == "https" else {}
            request = client.build_request(
                "GET",
                current.copy_with(host=address),
                headers={"Host": _host_header(current)},
                extensions=extensions,
                timeout=httpx.Timeout(max(deadline - time.monotonic(), 0.001)),
            )
            try:
                response = client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        target = current.join(location).copy_with(fragment=None)
                        if target.scheme not in _DEFAULT_PORTS:
                            raise IngestError(f"{shown}: redirected to a non-web address {target}")
                        logger.info("%s: redirected to %s", shown, target)
                        current = target
                        continue
                    return _read(response, shown, str(current), max_bytes, deadline, timeout)
                finally:
                    response.close()
            except httpx.InvalidURL as exc:  # a malformed Location header
                raise IngestError(f"{shown}: redirected to an invalid address ({exc})") from exc
            except httpx.TimeoutException as exc:
                raise IngestError(f"{shown}: no complete answer within {timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise IngestError(f"{shown}: cannot fetch ({_describe(exc)})") from exc
    raise IngestError(f"{shown}: more than {MAX_REDIRECTS} redirects")


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "its TLS certificate is not valid"
    return text


def _read(
    response: httpx.Response,
    shown: str,
    final_url: str,
    max_bytes: int,
    deadline: float,
    timeout: float,
) -> Fetched:
    """Check the answer's status and type, then read its body up to ``max_bytes``."""
    if not 200 <= response.status_code < 300:
        raise IngestError(
            f"{shown}: the server answered HTTP {response.status_code} "
            f"{response.reason_phrase}".rstrip()
        )
    header = response.headers.get("content-type", "")
    media_type = header.split(";", 1)[0].strip().lower()
    charset = response.charset_encoding
    if media_type and media_type not in KINDS:
        raise IngestError(
            f"{shown}: unsupported content type {media_type!r} (web pages can be HTML, PDF or "
            "plain text)"
        )
    limit = f"larger than the {max_bytes / 1e6:g} MB limit (setting JARYO_WEB_MAX_MB)"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise IngestError(f"{shown}: the page is {int(declared) / 1e6:.1f} MB, {limit}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise IngestError(f"{shown}: the page is {limit}")
        if time.monotonic() > deadline:
            raise IngestError(f"{shown}: no complete answer within {timeout:g} s")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not media_type:
        media_type = _sniff(data, shown)
    return Fetched(shown, final_url, media_type, data, charset)


def _sniff(data: bytes, shown: str) -> str:
    """The media type of an answer that did not name one."""
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<p")):
        return "text/html"
    raise IngestError(f"{shown}: the server did not say what the page is (no content type)")


def snapshot_suffix(fetched: Fetched) -> str:
    """The file extension a fetched page's snapshot is stored with."""
    return _SUFFIXES[KINDS[fetched.content_type]]


def load_fetched(fetched: Fetched, options: LoadOptions | None = None) -> Loaded:
    """Load a fetched page with its format's loader; meta gets the address and fetch time."""
    name = fetched.url
    if not fetched.data.strip():
        raise IngestError(f"{name}: the page is empty")
    kind = KINDS[fetched.content_type]
    if kind == "html":
        loaded = load_html(name, fetched.data, options or LoadOptions(), charset=fetched.charset)
    elif kind == "pdf":
        loaded = LOADERS[".pdf"](name, fetched.data, options or LoadOptions())
    else:
        text, encoding = decode_text(fetched.data, name, charset=fetched.charset)
        loaded = Loaded(text.lstrip("\ufeff"), "txt", meta={"encoding": encoding})
    meta = {
        **loaded.meta,
        "url": fetched.url,
        "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "content_type": fetched.content_type,
    }
    if fetched.final_url != fetched.url:
        meta["final_url"] = fetched.final_url
    return Loaded(loaded.text, loaded.format, loaded.title, meta)
