"""Web pages by address: fetching from a local server of the real pages, limits, refusals,
decoding and article extraction."""

from __future__ import annotations

import ipaddress
import json
import re
import time
from pathlib import Path

import pytest

from ingest import web
from ingest.errors import IngestError
from ingest.reader import document_from_loaded
from ingest.records import LoadOptions
from ingest.textfile import load_html

ROOT = Path(__file__).resolve().parents[2]
REALDOCS = ROOT.parent / "shared" / "realdocs"
QA = ROOT.parent / "shared" / "evaldata" / "realdocs_qa.jsonl"
HTML_QUESTIONS = [
    q
    for q in map(json.loads, QA.read_text(encoding="utf-8").splitlines())
    if str(q.get("source", "")).endswith(".html")
]
MB = 1_000_000


def fetch(url: str, **options: object) -> web.Fetched:
    limits: dict[str, object] = {"max_bytes": 5 * MB, "timeout": 10.0, "allow_private": True}
    return web.fetch(url, **{**limits, **options})  # type: ignore[arg-type]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def page_text(page_server, path: str) -> str:  # type: ignore[no-untyped-def]
    """A page fetched from the server, loaded and cleaned as ingestion does."""
    fetched = fetch(page_server.url(path))
    loaded = web.load_fetched(fetched)
    return norm(document_from_loaded(fetched.url, loaded, fetched.data).text)


def test_the_five_real_pages_are_fetched_by_address(page_server) -> None:
    for page in sorted((REALDOCS / "html").glob("*.html")):
        fetched = fetch(page_server.url(f"/html/{page.name}"))
        assert fetched.data == page.read_bytes()
        assert fetched.content_type == "text/html"
        loaded = web.load_fetched(fetched)
        assert loaded.format == "html"
        assert loaded.meta["url"] == page_server.url(f"/html/{page.name}")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", loaded.meta["fetched_at"])


@pytest.mark.parametrize("item", HTML_QUESTIONS, ids=lambda q: q["source"] + ":" + q["kind"])
def test_extraction_holds_every_html_answer(page_server, item) -> None:
    text = page_text(page_server, f"/html/{item['source']}")
    assert norm(item["evidence"]) in text
    assert any(norm(a) in text for a in item["answers"])


def test_undeclared_euc_kr_pages_are_decoded(page_server) -> None:
    for name in ("chromium_windows-949_noenc.html", "mozilla_bug9357.html"):
        loaded = web.load_fetched(fetch(page_server.url(f"/html/{name}")))
        assert loaded.meta["encoding"] == "cp949"
    assert "임채진 검찰총장" in page_text(page_server, "/html/chromium_windows-949_noenc.html")


def test_news_chrome_is_dropped_and_the_article_kept(page_server) -> None:
    text = page_text(page_server, "/html/newspim_1.html")
    assert text.startswith("[뉴욕=뉴스핌] 황숙혜 특파원 = 월가의 애널리스트가 패닉에 빠졌다.")
    assert "바이러스 확산 이전으로 복귀되지 않을 가능성이 높다는 의견이다." in text
    for chrome in (
        "차이나 머니 해외 기업 사냥 뛰어들었다",  # links to other articles
        "벌써 후폭풍",
        "1000% 갈 新 대장주",  # an advertisement
        "[사진=로이터 뉴스핌]",  # a photo credit
        "무단 전재",  # copyright
    ):
        assert chrome not in text


def test_a_page_saved_as_a_json_string_is_unescaped(page_server) -> None:
    text = page_text(page_server, "/html/news-naver.html")
    assert "\\n" not in text
    assert '\\"' not in text
    assert text.startswith('"코로나19 치료 효과" 클로로퀸 생산 재개한 중국 제약사')


def test_http_charset_comes_first(page_server) -> None:
    data = (REALDOCS / "txt" / "ude_iso2022kr.txt").read_bytes()
    url = page_server.route("/kr.txt", data, content_type="text/plain; charset=ISO-2022-KR")
    fetched = fetch(url)
    assert fetched.charset == "iso-2022-kr"
    loaded = web.load_fetched(fetched)
    assert loaded.format == "txt"
    assert loaded.text.startswith("북조선 사람들은 흔히 자국을 조선(朝鮮)이나")


def test_a_pdf_address_goes_to_the_pdf_loader(page_server) -> None:
    fetched = fetch(page_server.url("/pdf/bill_2125318.pdf"))
    assert fetched.content_type == "application/pdf"
    assert web.snapshot_suffix(fetched) == ".pdf"
    loaded = web.load_fetched(fetched)
    assert loaded.format == "pdf"
    assert loaded.meta["url"].endswith("/pdf/bill_2125318.pdf")
    assert "법률안" in loaded.text


def test_loopback_is_refused_by_default(page_server) -> None:
    url = page_server.url("/html/news-naver.html")
    with pytest.raises(IngestError) as err:
        fetch(url, allow_private=False)
    assert str(err.value).startswith(f"{url}: 127.0.0.1 is a private, loopback or link-local")
    assert "JARYO_WEB_ALLOW_PRIVATE" in str(err.value)
    with pytest.raises(IngestError, match=r"localhost \(127\.0\.0\.1\) is a private"):
        fetch(f"http://localhost:{page_server.port}/html/news-naver.html", allow_private=False)
    assert page_server.requests == []  # refused before connecting


def test_a_redirect_to_a_private_address_is_refused(page_server, monkeypatch) -> None:
    # the test server stands for a public site: only its own address counts as public
    public = ipaddress.ip_address("127.0.0.1")
    real = web._is_private
    monkeypatch.setattr(web, "_is_private", lambda a: a != public and real(a))
    target = f"http://127.0.0.2:{page_server.port}/admin"
    url = page_server.route("/go", status=302, headers={"Location": target})
    with pytest.raises(IngestError) as err:
        fetch(url, allow_private=False)
    assert str(err.value).startswith(f"{url}: the redirect target {target}: 127.0.0.2 is a")
    assert page_server.requests == ["/go"]


def test_redirects_are_followed_and_limited(page_server) -> None:
    page = page_server.url("/html/mozilla_bug9357.html")
    url = page_server.route(
        "/moved", status=301, headers={"Location": "/html/mozilla_bug9357.html"}
    )
    fetched = fetch(url)
    assert (fetched.url, fetched.final_url) == (url, page)
    assert web.load_fetched(fetched).meta["final_url"] == page
    loop = page_server.route("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(IngestError, match=r"/loop: more than 5 redirects"):
        fetch(loop)


@pytest.mark.parametrize("length", [True, False], ids=["declared", "streamed"])
def test_the_size_cap(page_server, length: bool) -> None:
    url = page_server.route("/big.html", b"<p>" + b"x" * (2 * MB) + b"</p>", length=length)
    with pytest.raises(IngestError, match=r"big\.html: the page is .*larger than the 1 MB limit"):
        fetch(url, max_bytes=MB)
    assert len(fetch(url, max_bytes=3 * MB).data) == 2 * MB + 7


def test_the_time_limit(page_server) -> None:
    url = page_server.route("/slow.html", b"<p>late</p>", delay=5.0)
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"slow\.html: no complete answer within 0\.5 s"):
        fetch(url, timeout=0.5)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("content_type", "error"),
    [
        ("image/png", "unsupported content type 'image/png' (web pages can be HTML, PDF or plain"),
        ("application/json", "unsupported content type 'application/json'"),
        (None, "the server did not say what the page is"),
    ],
)
def test_other_content_types_are_refused(page_server, content_type, error) -> None:
    url = page_server.route("/thing", b"\x89PNG\r\n\x1a\n....", content_type=content_type)
    with pytest.raises(IngestError, match=re.escape(f"{url}: {error}")):
        fetch(url)


def test_http_errors_and_bad_addresses_are_named(page_server) -> None:
    with pytest.raises(
        IngestError, match=r"/nothing\.html: the server answered HTTP 404 Not Found"
    ):
        fetch(page_server.url("/nothing.html"))
    with pytest.raises(IngestError, match=r"^ftp://x/y: only http:// and https://"):
        web.normalize_url("ftp://x/y")
    with pytest.raises(IngestError, match=r"user name or password"):
        web.normalize_url("https://me:secret@example.com/")
    with pytest.raises(IngestError, match=r"the page is empty"):
        web.load_fetched(fetch(page_server.route("/empty.html", b"  \n")))


def test_addresses_are_normalised() -> None:
    assert web.normalize_url(" HTTPS://News.Example.COM:443/a/b?x=1#top ") == (
        "https://news.example.com/a/b?x=1"
    )
    assert web.normalize_url("http://example.com") == "http://example.com/"
    assert web.normalize_url("http://example.com:8080/%ed%95%9c") == (
        "http://example.com:8080/%ED%95%9C"
    )
    assert web.normalize_url("https://example.com/대한민국") == (
        "https://example.com/%EB%8C%80%ED%95%9C%EB%AF%BC%EA%B5%AD"
    )
    assert web.normalize_url("http://한국.kr/") == "http://xn--3e0b707e.kr/"
    assert web.is_url("https://x.kr/")
    assert web.is_url("HTTP://x")
    assert not web.is_url("reports/http.txt")


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.0.10", True),
        ("169.254.169.254", True),  # cloud metadata service
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert web._is_private(ipaddress.ip_address(address)) is private


def test_html_tables_become_rows() -> None:
    page = (
        "<html><body><p>성적표</p><table><tr><th>이름</th><th>영어</th></tr>"
        "<tr><td>개똥이</td><td>95</td></tr><tr><td>A|B</td><td> 8 0 </td></tr></table>"
        "<table><tr><td><img src=x></td></tr><tr><td>사진 설명</td></tr></table></body></html>"
    )
    text = load_html("t.html", page.encode(), LoadOptions()).text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines == ["성적표", "| 이름 | 영어 |", "| 개똥이 | 95 |", "| A/B | 8 0 |", "사진 설명"]


def test_link_lists_are_dropped_but_a_page_of_links_is_kept() -> None:
    menu = "".join(f'<li><a href="/{n}">메뉴 {n}</a></li>' for n in range(5))
    page = f"<body><ul>{menu}</ul><p>본문 첫 문장이다. <a href='/x'>링크</a>가 있는 문장.</p>"
    page += '<p><a href="/sub">구독</a></p><p><a href="/tip">제보</a></p></body>'
    loaded = load_html("t.html", page.encode(), LoadOptions())
    lines = [line for line in loaded.text.splitlines() if line.strip()]
    assert lines == ["본문 첫 문장이다. 링크가 있는 문장.", "구독", "제보"]
    assert loaded.meta["link_lines_dropped"] == 5
    only_links = load_html(
        "links.html", f"<body><ul>{menu}</ul></body>".encode(), LoadOptions()
    ).text
    assert next(line for line in only_links.splitlines() if line.strip()) == "메뉴 0"


def test_https_connects_to_the_checked_address_and_verifies_the_host_name(
    tmp_path: Path, monkeypatch
) -> None:
    import datetime as dt
    import http.server
    import ssl
    import threading

    import httpx
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"<p>Host: {self.headers['Host']}</p>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    port = server.server_address[1]
    try:
        with pytest.raises(IngestError, match=r"its TLS certificate is not valid"):
            fetch(f"https://localhost:{port}/")  # a self-signed certificate is not trusted
        trusted = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        client = httpx.Client
        monkeypatch.setattr(httpx, "Client", lambda **kw: client(verify=trusted, **kw))
        fetched = fetch(f"https://localhost:{port}/")
        assert fetched.data == f"<p>Host: localhost:{port}</p>".encode()
        with pytest.raises(IngestError, match=r"its TLS certificate is not valid"):
            fetch(f"https://127.0.0.1:{port}/")  # the certificate names localhost only
    finally:
        server.shutdown()
        server.server_close()


def test_an_xml_page_read_as_html_prints_no_warning(capfd) -> None:
    from ingest.loaders import load_bytes

    feed = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss><channel><title>뉴스</title><item>'
        "<description>피드 본문 문장이다.</description></item></channel></rss>"
    ).encode()
    loaded = load_bytes("feed.html", feed)
    assert "피드 본문 문장이다." in loaded.text
    assert "XMLParsedAsHTMLWarning" not in capfd.readouterr().err  # the worker's console too
