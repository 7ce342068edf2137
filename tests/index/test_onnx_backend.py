"""The ONNX Runtime backend: export, int8 quantisation, and agreement with the torch model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embedder import ONNX_INT8_NAME, load_embedder, onnx_model_path
from index.onnx_backend import INT8_FILE, OnnxEmbedder, ensure_onnx_model
from ingest.settings import Settings

SENTENCES = [
    "딥시크는 V3 모델의 학습 비용이 약 560만 달러라고 주장했다.",
    "서울은 대한민국의 수도이며 인구가 가장 많은 도시이다.",
    "미국은 첨단 반도체의 중국 수출을 통제하고 있다.",
    "세종대왕은 1443년에 훈민정음을 창제하였다.",
    "오늘 점심으로 김치찌개를 먹었다.",
    "인공지능 자립을 위해 중국 정부는 대규모 투자를 이어가고 있다. " * 6,
]

pytestmark = pytest.mark.quality


@pytest.fixture(scope="module")
def onnx(onnx_dir: Path, real_embedder) -> dict[str, OnnxEmbedder]:
    """Both precisions of the export, each loaded once (a load takes seconds, a call does not)."""
    int8 = OnnxEmbedder(onnx_dir, name="multilingual-e5-small", precision="int8")
    return {"fp32": real_embedder, "int8": int8}


@pytest.mark.parametrize("precision", ["int8", "fp32"])
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_onnx_vectors_match_torch(onnx, torch_embedder, precision, kind) -> None:
    ours = onnx[precision].embed(SENTENCES, kind=kind)
    reference = torch_embedder.embed(SENTENCES, kind=kind)
    assert ours.shape == reference.shape == (len(SENTENCES), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * reference).sum(axis=1)
    if precision == "fp32":  # the same vectors, so one index serves both backends
        np.testing.assert_allclose(ours, reference, atol=1e-5)
    else:
        assert cosine.min() >= 0.99


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_padding_does_not_change_a_vector(onnx, precision) -> None:
    alone = onnx[precision].embed([SENTENCES[0]], kind="passage")[0]
    batched = onnx[precision].embed(SENTENCES, kind="passage")[0]  # padded to the longest one
    if precision == "fp32":
        np.testing.assert_allclose(batched, alone, atol=1e-4)
    else:  # dynamic int8 scales activations per batch, so companions move a vector slightly
        assert float(batched @ alone) >= 0.995


def test_int8_keeps_the_ranking(onnx, torch_embedder) -> None:
    query = "딥시크가 주장한 V3 개발 비용은?"
    for embedder in (onnx["int8"], torch_embedder):
        q = embedder.embed([query], kind="query")[0]
        p = embedder.embed(SENTENCES, kind="passage")
        assert int(np.argmax(p @ q)) == 0


def test_ensure_reuses_the_export_and_settings_select_it(
    onnx_dir: Path, e5_model_dir: Path, tmp_path: Path
) -> None:
    before = (onnx_dir / INT8_FILE).stat().st_mtime_ns
    assert ensure_onnx_model(e5_model_dir, onnx_dir) == onnx_dir
    assert (onnx_dir / INT8_FILE).stat().st_mtime_ns == before

    settings = Settings(data_dir=tmp_path / "data")
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "multilingual-e5-small").symlink_to(e5_model_dir)
    onnx_model_path(settings).symlink_to(onnx_dir)
    default = load_embedder(settings)  # the default backend: ONNX Runtime, float32
    assert isinstance(default, OnnxEmbedder)
    assert default.precision == "fp32"
    assert (default.name, default.dim) == ("multilingual-e5-small", 384)  # shared with torch

    int8 = load_embedder(settings.model_copy(update={"embed_backend": "onnx-int8"}))
    assert isinstance(int8, OnnxEmbedder)
    assert int8.precision == "int8"
    assert (int8.name, int8.dim) == (ONNX_INT8_NAME, 384)  # never mixed with float32


def test_int8_backend_opens_its_own_index(
    onnx_dir: Path, e5_model_dir: Path, tmp_path: Path
) -> None:
    from assistant.build import build_assistant

    settings = Settings(data_dir=tmp_path / "data", embed_backend="onnx-int8")
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "multilingual-e5-small").symlink_to(e5_model_dir)
    onnx_model_path(settings).symlink_to(onnx_dir)
    assistant = build_assistant(settings)
    try:
        assert assistant.embedder.name == ONNX_INT8_NAME
        vectors = assistant.embedder.embed(SENTENCES[:2], kind="passage")  # loads the model
        assert vectors.shape == (2, 384)
    finally:
        assistant.index.close()
