"""Start-up time: the UI ready (model and index loaded) and a cold CLI ``ask``, medians of 3.

    .venv/bin/python bench/startup.py [--runs 3] [--backend onnx|onnx-int8|torch] [--workdir DIR]

The shipped corpus (``corpus/``) is ingested once into the work folder; each run is then a
fresh interpreter (the OS page cache stays warm: this measures imports and loading, not disk).
UI ready = interpreter start → ``build_assistant``, ``ui.warm`` (model loaded) and ``ui.build_app``
returned, i.e. everything ``serve`` does before it listens.
Cold ask = wall time of ``python -m assistant.cli --data-dir D ask "..."``.
Add ``--profile`` to print where a cold ask spends its time (-X importtime and cProfile).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import common

QUESTION = "딥시크가 주장한 V3 개발 비용은?"
UI_SNIPPET = """
import time
t0 = time.perf_counter()
from assistant.build import build_assistant
from ingest.settings import Settings
import ui
t1 = time.perf_counter()
assistant = build_assistant(Settings(data_dir={data!r}))
t2 = time.perf_counter()
ui.warm(assistant)
t3 = time.perf_counter()
ui.build_app(assistant)
t4 = time.perf_counter()
print("STAGES", t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def _env(backend: str) -> dict[str, str]:
    path = os.pathsep.join([str(common.ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, **common.ENV, "JARYO_EMBED_BACKEND": backend, "PYTHONPATH": path}


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=common.ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, done.stdout


def _profile(data: Path, env: dict[str, str]) -> None:
    """Largest cumulative imports and functions of one cold ask."""
    cli = [sys.executable, "-m", "assistant.cli", "--data-dir", str(data), "ask", QUESTION]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *cli[1:]],
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    top = [r for r in sorted(rows, reverse=True) if r[1].count("  ") <= 1][:12]
    print("\nslowest top-level imports of a cold ask (cumulative s):")
    print(common.table(["seconds", "module"], [[f"{s:.2f}", m.strip()] for s, m in top]))
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-s", "cumulative", *cli[1:]],
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    print("\ncProfile of a cold ask (top by cumulative time):")
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join(lines[start : start + 30]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="onnx", choices=["onnx", "onnx-int8", "torch"])
    parser.add_argument("--workdir", help="work folder (default: a new temporary folder)")
    parser.add_argument("--models-dir", help="built models (default: <workdir>/models)")
    parser.add_argument("--profile", action="store_true", help="profile one cold ask")
    args = parser.parse_args()

    work = common.workdir(args.workdir, "bench-startup-")
    models = Path(args.models_dir) if args.models_dir else work / "models"
    data = work / f"data-{args.backend}"
    env = _env(args.backend)
    print(common.machine_line(), flush=True)
    common.ensure_models(models)
    common.link_models(data, models)
    cli = [sys.executable, "-m", "assistant.cli", "--data-dir", str(data)]
    subprocess.run(
        [*cli, "ingest", str(common.ROOT / "corpus")],
        env=env,
        cwd=common.ROOT,
        check=True,
        capture_output=True,
    )
    ui_runs, stages, ask_runs = [], [], []
    for _ in range(args.runs):
        seconds, out = _timed([sys.executable, "-c", UI_SNIPPET.format(data=str(data))], env)
        ui_runs.append(seconds)
        stages.append([float(x) for x in out.split("STAGES", 1)[1].split()])
        seconds, _ = _timed([*cli, "ask", QUESTION], env)
        ask_runs.append(seconds)
    imports, build, warm, app = (common.median([s[i] for s in stages]) for i in range(4))
    print()
    print(f"backend {args.backend}; medians over {args.runs} runs, seconds")
    print(
        common.table(
            ["measure", "median s", "runs s", "target s"],
            [
                ["UI ready", common.median(ui_runs), " / ".join(f"{s:.1f}" for s in ui_runs), 15],
                ["  of which imports (assistant, ui)", imports, "", ""],
                ["  of which build_assistant", build, "", ""],
                ["  of which model load (ui.warm)", warm, "", ""],
                ["  of which ui.build_app", app, "", ""],
                [
                    "CLI ask, cold",
                    common.median(ask_runs),
                    " / ".join(f"{s:.1f}" for s in ask_runs),
                    20,
                ],
            ],
        )
    )
    if args.profile:
        _profile(data, env)


if __name__ == "__main__":
    main()
