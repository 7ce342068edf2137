"""Typed settings: environment variables prefixed ``JARYO_``, overridable by CLI flags."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.errors import AssistantError
from ingest.records import LoadOptions

DEFAULT_MODEL = "multilingual-e5-small"

RetrievalMode = Literal["hybrid", "dense", "bm25"]
AnswererName = Literal["extractive", "openai"]
EmbedBackend = Literal["onnx", "onnx-int8", "torch"]
StoreName = Literal["embedded", "milvus"]
MilvusIndexType = Literal["FLAT", "IVF_FLAT", "HNSW", "AUTOINDEX"]


class Settings(BaseSettings):
    """Every setting of the assistant, with its default."""

    model_config = SettingsConfigDict(env_prefix="JARYO_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where indexes, models and uploads live.")
    model: str = Field(
        DEFAULT_MODEL,
        description="Embedding model: the built-in default, a sentence-transformers hub name, "
        "or a local folder.",
    )
    embed_backend: EmbedBackend = Field(
        "onnx",
        description="Inference backend for the default model: onnx (ONNX Runtime float32, the "
        "same vectors as torch, loads in 2 s), onnx-int8 (faster ingestion, slightly different "
        "vectors, so its own index) or torch (PyTorch float32).",
    )
    embed_batch_size: int = Field(32, description="Texts per embedding batch.")
    chunk_size: int = Field(500, description="Maximum chunk length in characters.")
    chunk_overlap: int = Field(100, description="Characters of context repeated between chunks.")
    top_k: int = Field(5, description="Passages retrieved per question.")
    retrieval_mode: RetrievalMode = Field("hybrid", description="hybrid, dense or bm25.")
    dense_weight: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Weight of the dense score in hybrid fusion; empty = chosen per query "
        "from how well BM25's best passage covers it (bench/fusion.py).",
    )
    approximate_threshold: int = Field(
        1_000_000,
        description="Switch FAISS to HNSW past this many chunks (0 = always exact); exact search "
        "over 1M chunks measured p95 134 ms, 137 ms with BM25 (bench/scale.py).",
    )
    hnsw_ef_search: int = Field(
        2048,
        ge=1,
        description="HNSW search breadth (approximate index only): higher finds more of the "
        "true nearest chunks, slower; 2048 measured recall@10 0.968 at 1M chunks, p95 12 ms "
        "(bench/scale.py).",
    )
    store: StoreName = Field(
        "embedded",
        description="Where search happens: embedded (FAISS + BM25 files beside the SQLite "
        "store, no server) or milvus (documents, chunks, collections, dense and BM25 sparse "
        "vectors all in Milvus).",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus to use with store=milvus: a local file ending in .db (milvus-lite, one "
        "process at a time) or http://host:19530 (a Milvus 2.5+ server or cluster); empty = "
        "<data_dir>/milvus.db.",
    )
    milvus_token: SecretStr | None = Field(
        None, description="Milvus credentials: an API key, or user:password."
    )
    milvus_collection: str = Field(
        "",
        pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,60})?$",
        description="With store=milvus, a name for the index in Milvus that every app node "
        "pointed at the same Milvus shares (a node with an empty data folder finds the index "
        "by it); empty = a name of this data folder's own.",
    )
    milvus_index_type: MilvusIndexType = Field(
        "FLAT",
        description="Milvus index of the dense vectors: FLAT (exact, like the embedded "
        "default), IVF_FLAT, HNSW (servers) or AUTOINDEX.",
    )
    answerer: AnswererName = Field("extractive", description="extractive or openai.")
    max_question_chars: int = Field(
        2000,
        ge=1,
        description="Longest question or search query accepted, in characters (a 140 KB "
        "question took 55 s and held up every other reader).",
    )
    answer_sentences: int = Field(3, description="Sentences in an extractive answer (max).")
    not_found_threshold: float = Field(
        2.0,
        description="Below this best sentence score the answer is 'not in the documents' "
        "(scores are the extractive answerer's weighted features; 0.2% of answerable KorQuAD "
        "questions score below 2.0).",
    )
    gate_threshold: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        description="The answerability gate refuses when its probability that the passages "
        "answer is below this; empty = the fitted threshold (2 % of answerable KorQuAD "
        "questions refused), 0 turns the gate off; bench/abstain.py prints the trade-off.",
    )
    llm_base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint base URL."
    )
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the LLM endpoint.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM endpoint.")
    llm_timeout: float = Field(60.0, description="Seconds to wait for the LLM endpoint.")
    max_file_mb: float = Field(50.0, description="Largest file ingestion accepts, in MB.")
    follow_outside_links: bool = Field(
        False,
        description="Follow symbolic links in an ingested folder to files outside that folder.",
    )
    max_pages: int = Field(5000, ge=1, description="Most pages ingestion reads from one document.")
    max_text_chars: int = Field(
        20_000_000,
        ge=1,
        description="Most characters of text one document of any format may yield, text "
        "files and OCR included (a 50 MB Korean text file is ~17 M, one of mixed Korean and "
        "ASCII can pass 20 M); a 109 KB HWPX once unpacked to 73 M.",
    )
    max_member_mb: float = Field(
        100.0,
        gt=0,
        description="Largest unpacked member of a DOCX or HWPX package, in MB (counted as "
        "it unpacks, whatever the zip directory says).",
    )
    max_unzipped_mb: float = Field(
        300.0, gt=0, description="Largest unpacked size of all members of one package, in MB."
    )
    max_html_depth: int = Field(
        1000, ge=1, description="Deepest element nesting an HTML page may have."
    )
    parser_memory_mb: int = Field(
        1024,
        ge=200,
        description="Address space of the worker process that parses PDF, DOCX, HWP, HWPX "
        "and HTML files, in MB; a file that needs more fails alone.",
    )
    parser_timeout: float = Field(
        120.0, gt=0, description="Seconds the parser worker may spend on one file."
    )
    ocr: bool = Field(
        True, description="Read pages without a text layer (scans, images) with Tesseract."
    )
    ocr_languages: str = Field("kor+eng", description="Tesseract languages for OCR.")
    ocr_page_timeout: float = Field(60.0, gt=0, description="Seconds OCR may spend on one page.")
    web_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a web page fetched by address may take, redirects and download "
        "included.",
    )
    web_max_mb: float = Field(
        50.0, gt=0, description="Largest web page or PDF fetched by address, in MB."
    )
    web_allow_private: bool = Field(
        False,
        description="Allow fetching addresses on this machine or the local network (loopback, "
        "private, link-local); off so that the UI cannot be used to reach internal services.",
    )
    host: str = Field("127.0.0.1", description="Address the UI and the API bind to.")
    port: int = Field(7860, description="Port the UI and the API listen on.")
    auth_user: str | None = Field(None, description="UI login user (with auth_password).")
    auth_password: SecretStr | None = Field(None, description="UI login password.")
    login_attempts: int = Field(
        5,
        ge=1,
        description="Failed UI logins or API keys from one address before it must wait.",
    )
    login_delay: float = Field(
        1.0,
        gt=0,
        description="Seconds the first wait lasts; each further failure doubles it (up to "
        "15 minutes); a successful login ends it.",
    )
    api_keys: SecretStr | None = Field(
        None,
        description="Comma-separated API keys; when set, the HTTP API and MCP routes need "
        "'Authorization: Bearer KEY'.",
    )
    max_request_mb: float = Field(
        200.0, gt=0, description="Largest upload request to the HTTP API (all files), in MB."
    )

    def load_options(self, progress: Callable[[str], None] | None = None) -> LoadOptions:
        """What the loaders need to know of these settings."""
        return LoadOptions(
            ocr=self.ocr,
            ocr_languages=self.ocr_languages,
            ocr_page_timeout=self.ocr_page_timeout,
            max_pages=self.max_pages,
            max_text_chars=self.max_text_chars,
            max_member_mb=self.max_member_mb,
            max_unzipped_mb=self.max_unzipped_mb,
            max_html_depth=self.max_html_depth,
            parser_memory_mb=self.parser_memory_mb,
            parser_timeout=self.parser_timeout,
            progress=progress,
        )

    def api_key_list(self) -> list[str]:
        """The configured API keys (empty: the API needs none)."""
        raw = self.api_keys.get_secret_value() if self.api_keys else ""
        return [k.strip() for k in raw.split(",") if k.strip()]

    def ui_login(self) -> tuple[str, str] | None:
        """(user, password) of the UI login, or None; an error when only one is set."""
        password = self.auth_password.get_secret_value() if self.auth_password else ""
        if self.auth_user and password:
            return (self.auth_user, password)
        if self.auth_user or password:
            raise AssistantError(
                "로그인을 쓰려면 JARYO_AUTH_USER와 JARYO_AUTH_PASSWORD를 모두 설정하세요."
            )
        return None

    @property
    def index_dir(self) -> Path:
        """Folder of the index (SQLite store, FAISS file, manifest)."""
        return self.data_dir / "index"

    @property
    def milvus_target(self) -> str:
        """The Milvus URI in use: the setting, or a milvus-lite file in the data folder."""
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    @property
    def models_dir(self) -> Path:
        """Folder of built models (outside git)."""
        return self.data_dir / "models"

    @property
    def uploads_dir(self) -> Path:
        """Folder of uploaded files, stored under content-hash names."""
        return self.data_dir / "uploads"
