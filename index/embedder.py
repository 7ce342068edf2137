"""Text embedding: a one-method interface and its sentence-transformers implementation.

This is the only module that imports ``sentence_transformers``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from index.fairness import ANSWER, BACKGROUND_BATCH, INGEST, ShareLock, work_class
from ingest.errors import ModelError
from ingest.settings import DEFAULT_MODEL, Settings

logger = logging.getLogger(__name__)

Kind = Literal["query", "passage"]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        """Embed ``texts`` as queries or passages; returns an array of shape (len(texts), dim)."""
        ...


class SentenceTransformerEmbedder:
    """An :class:`Embedder` backed by a sentence-transformers model folder or hub name."""

    def __init__(self, model: str | Path, *, name: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            self._model = SentenceTransformer(str(model), device="cpu")
        except Exception as exc:  # library raises many types (OSError, ValueError, HF errors)
            raise ModelError(f"cannot load embedding model {model!r}: {exc}") from exc
        self.name = name
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        self._batch_size = batch_size
        self._prompts = set(self._model.prompts)
        # answers run at once; a background ingest's batches alone, for half the time
        self._turns = ShareLock(shared=frozenset({ANSWER}))

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        """Embed in length-sorted batches, one batch per turn at the model (a background
        ingest's turns are of at most ``BACKGROUND_BATCH`` texts)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        prompt_name = kind if kind in self._prompts else None
        step = self._batch_size
        if work_class() == INGEST:
            step = min(step, BACKGROUND_BATCH)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            with self._turns:
                vectors = self._model.encode(
                    [texts[i] for i in rows],
                    prompt_name=prompt_name,
                    batch_size=step,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[rows] = vectors
        return out


def default_model_path(settings: Settings) -> Path:
    """Folder holding the built default model."""
    return settings.models_dir / DEFAULT_MODEL


ONNX_INT8_NAME = f"{DEFAULT_MODEL}-onnx-int8"  # the index manifest's model name for this backend


def onnx_model_path(settings: Settings) -> Path:
    """Folder holding the ONNX export (fp32 and int8) of the built default model."""
    return settings.models_dir / f"{DEFAULT_MODEL}-onnx"


def embedder_name(settings: Settings) -> str:
    """The name an index records for the configured model and backend.

    Float32 vectors from ONNX Runtime and from torch agree to 1e-6, so they share the model's
    name and one index; int8 vectors differ materially (KorQuAD dense hit@1 0.777 vs 0.788,
    bench/ingest.py), so they get their own name: an index never mixes them.
    """
    if settings.model == DEFAULT_MODEL and settings.embed_backend == "onnx-int8":
        return ONNX_INT8_NAME
    return settings.model


def build_default_model(settings: Settings) -> tuple[Path, Path | None]:
    """The default model's folder and, unless the backend is torch, its ONNX export; each is
    built offline first if missing."""
    from index.e5build import ensure_e5_model

    path = ensure_e5_model(default_model_path(settings))
    if settings.embed_backend == "torch":
        return path, None
    from index.onnx_backend import ensure_onnx_model

    return path, ensure_onnx_model(path, onnx_model_path(settings))


def share_models(data_dir: Path, models: Path) -> None:
    """Point ``data_dir/models`` at ``models``, so another data folder uses the built models."""
    link = data_dir / "models"
    if link.exists() or link.is_symlink():
        return
    models.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    link.symlink_to(models.resolve(), target_is_directory=True)


def load_embedder(settings: Settings) -> Embedder:
    """Create the embedder named in the settings, building the default model if needed."""
    if settings.model != DEFAULT_MODEL:
        if settings.embed_backend != "torch":
            logger.info("ONNX serves only the default model; using torch for %s", settings.model)
        return SentenceTransformerEmbedder(
            settings.model, name=settings.model, batch_size=settings.embed_batch_size
        )
    path, onnx = build_default_model(settings)
    if onnx is None:
        return SentenceTransformerEmbedder(
            path, name=DEFAULT_MODEL, batch_size=settings.embed_batch_size
        )
    from index.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(
        onnx,
        name=embedder_name(settings),
        precision="int8" if settings.embed_backend == "onnx-int8" else "fp32",
        batch_size=settings.embed_batch_size,
    )
