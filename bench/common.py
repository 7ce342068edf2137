"""Shared helpers for the bench scripts: machine line, child processes, percentiles, tables.

Bench scripts run as ``python bench/NAME.py`` from the repository root. Each measured system
runs in its own child process (the same script with ``--child``) so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the packages are importable without an editable install
    sys.path.insert(0, str(ROOT))

KORQUAD_DEV = ROOT.parent / "shared" / "evaldata" / "korquad_v1" / "KorQuAD_v1.0_dev.json"
if not KORQUAD_DEV.exists():
    KORQUAD_DEV = Path("/work/shared/evaldata/korquad_v1/KorQuAD_v1.0_dev.json")

ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
os.environ.update(ENV)


def base_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every bench shares: work folder, models folder, and the child-process hooks."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--workdir", help="work folder (default: a new temporary folder)")
    parser.add_argument("--models-dir", help="built models (default: <workdir>/models)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def start(args: argparse.Namespace, prefix: str) -> tuple[Path, Path]:
    """Work and models folders of a bench run; prints the machine line and builds the model."""
    work = workdir(args.workdir, prefix)
    models = Path(args.models_dir) if args.models_dir else work / "models"
    print(machine_line(), flush=True)
    ensure_models(models)
    return work, models


def machine_line() -> str:
    """CPU model, cores, RAM and today's date, for the head of every table."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, Python "
        f"{platform.python_version()}; load avg at start {load:.1f}; "
        f"date {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Read from VmHWM, which starts afresh in each new program: ``ru_maxrss`` carries the parent's
    peak over fork and exec, so a child would report the bench driver's peak if that was higher.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    """Median, 0.0 for no values."""
    return statistics.median(values) if values else 0.0


def workdir(path: str | None, prefix: str) -> Path:
    """The given work folder (created), or a fresh temporary one."""
    if path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return Path(tempfile.mkdtemp(prefix=prefix))


def ensure_models(models_dir: Path) -> Path:
    """The built default model under ``models_dir``, with its ONNX export (the default backend);
    both are built offline if missing (~30 s + ~45 s)."""
    from index.e5build import ensure_e5_model
    from index.onnx_backend import ensure_onnx_model

    model = ensure_e5_model(models_dir / "multilingual-e5-small")
    ensure_onnx_model(model, models_dir / "multilingual-e5-small-onnx")
    return model


def link_models(data_dir: Path, models_dir: Path) -> None:
    """Point ``data_dir/models`` at the shared models folder, so every system uses one copy."""
    from index.embedder import share_models

    share_models(data_dir, models_dir)


def korquad(docs_dir: Path, limit: int | None = None) -> list[Any]:
    """Convert KorQuAD dev into ``docs_dir`` (outside git) and return its questions.

    With ``limit``, only the articles needed for the first ``limit`` questions are written, so
    a quick run indexes a smaller collection.
    """
    from assistant.evaluation import squad_to_documents

    if limit is None:
        return squad_to_documents(KORQUAD_DEV, docs_dir)
    data = json.loads(KORQUAD_DEV.read_text(encoding="utf-8"))
    kept, count = [], 0
    for article in data["data"]:
        if count >= limit:
            break
        kept.append(article)
        count += sum(len(p["qas"]) for p in article["paragraphs"])
    subset = docs_dir.parent / "korquad-subset.json"
    subset.write_text(json.dumps({"data": kept}, ensure_ascii=False), encoding="utf-8")
    return squad_to_documents(subset, docs_dir)[:limit]


def run_child(script: Path, args: list[str], *, timeout: float = 3600) -> dict[str, Any]:
    """Run ``script --child ... --result FILE`` in a fresh interpreter and return its JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result = Path(fh.name)
    try:
        cmd = [sys.executable, str(script), *args, "--result", str(result)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=timeout, env={**os.environ, **ENV})
        data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        data.setdefault("wall_s", time.perf_counter() - t0)
        return data
    finally:
        result.unlink(missing_ok=True)


def write_result(path: str, data: dict[str, Any]) -> None:
    """Child side of :func:`run_child`: add peak RSS and write the JSON result."""
    data["peak_rss_mb"] = peak_rss_mb()
    Path(path).write_text(json.dumps(data), encoding="utf-8")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats printed with sensible precision."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) <= 1 else f"{v:,.1f}"
        return str(v)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
