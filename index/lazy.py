"""An embedder proxy that loads the real model on first use.

Opening the index needs only the model's name and dimension; loading the model itself takes
seconds, so commands that embed nothing (an unchanged re-ingest, ``docs``, ``check``) skip it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embedder import Embedder, Kind

logger = logging.getLogger(__name__)


class LazyEmbedder:
    """Behaves like the embedder ``factory`` returns, creating it on the first :meth:`embed`."""

    def __init__(self, name: str, dim: int, factory: Callable[[], Embedder]) -> None:
        self.name = name
        self.dim = dim
        self._factory = factory
        self._real: Embedder | None = None
        self._lock = threading.Lock()

    def load(self) -> Embedder:
        """Create the real embedder now (idempotent)."""
        with self._lock:
            if self._real is None:
                real = self._factory()
                if (real.name, real.dim) != (self.name, self.dim):
                    raise ValueError(
                        f"model {real.name!r} has dim {real.dim}, expected {self.name!r}/{self.dim}"
                    )
                self._real = real
            return self._real

    @property
    def loaded(self) -> bool:
        """Whether the real model has been created."""
        return self._real is not None

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        """Embed with the real model, loading it first if needed."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.load().embed(texts, kind=kind)


def folder_dimension(folder: Path) -> int | None:
    """The embedding dimension a sentence-transformers folder declares, if it says."""
    try:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    dim = config.get("embedding_dimension") or config.get("word_embedding_dimension")
    return int(dim) if dim else None
