"""A mixed batch of good and hostile files in one `jaryo ingest`: per-file outcome and time,
peak RSS of the whole process tree over the same batch without the hostile files, and
whether the good files are searchable afterwards.

The hostile files are those of tests/ingest/hostile.py at the sizes the red-team pass used
(a 1 GB DOCX bomb, a 1 GB HWPX bomb, lying zip headers, a DOCX of many members, a few-KB PDF
of 90,000 pages, HTML nested 100,000 deep) plus a text file over the character budget.

    python bench/bad_input.py [--workdir DIR] [--models-dir DIR] [--bomb-mb 1000]
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from common import ROOT, base_parser, link_models, start, table

sys.path.insert(0, str(ROOT / "tests" / "ingest"))
import builders  # tests/ingest/builders.py: good PDF, DOCX and HWPX files
import hostile  # tests/ingest/hostile.py

GOOD_QUERY = {  # a good file -> a query its passages answer
    "segye-2025-deepseek.txt": "딥시크 V3 개발 비용",
    "china-full-stack-ai-alliance.txt": "모델-칩 생태계 혁신 연맹",
    "report.pdf": "PDF 본문 검증 문장",
    "brief.docx": "워드 문서 검증 문단",
    "gov.hwpx": "한글 문서 검증 문단",
}


def write_good(folder: Path) -> None:
    """Two shipped corpus articles and a small PDF, DOCX and HWPX."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("segye-2025-deepseek.txt", "china-full-stack-ai-alliance.txt"):
        shutil.copy(ROOT / "corpus" / name, folder / name)
    (folder / "report.pdf").write_bytes(builders.make_pdf(["PDF 본문 검증 문장이다."], title="PDF"))
    (folder / "brief.docx").write_bytes(builders.make_docx(["워드 문서 검증 문단이다."]))
    (folder / "gov.hwpx").write_bytes(builders.make_hwpx([["한글 문서 검증 문단이다."]]))


def write_hostile(folder: Path, bomb_mb: int) -> dict[str, str]:
    """The hostile files, {name: what it is}."""
    size = bomb_mb * 1_000_000
    files = {
        "bomb.docx": (hostile.docx_bomb(size), f"DOCX, document.xml unpacks to {bomb_mb} MB"),
        "many.docx": (hostile.docx_many_members(4, 90_000_000), "DOCX, 4 × 90 MB members"),
        "lying.docx": (
            hostile.lying_zip(hostile.docx_bomb(150_000_000), "word/document.xml"),
            "DOCX whose zip directory understates a 150 MB member",
        ),
        "bomb.hwpx": (hostile.hwpx_bomb(size), f"HWPX, a section unpacks to {bomb_mb} MB"),
        "pages.pdf": (hostile.many_page_pdf(90_000), "PDF of 90,000 pages"),
        "deep.html": (hostile.nested_html(100_000), "HTML nested 100,000 deep"),
        "huge.txt": ("over budget text. " * 1_400_000, "text of 25 M characters (budget 20 M)"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (data, what) in files.items():
        raw = data.encode() if isinstance(data, str) else data
        (folder / name).write_bytes(raw)
        out[name] = f"{what}; {len(raw) / 1e6:.2f} MB on disk"
    return out


class TreeSampler:
    """Peak summed RSS of a process and all its descendants, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        continue
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def stop(self) -> float:
        """The peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def jaryo(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, JARYO_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ingest(data_dir: Path, folder: Path) -> dict[str, Any]:
    """One `jaryo ingest --json FOLDER`: its report, per-file seconds (from the progress
    lines), wall time and the tree's peak RSS."""
    started = time.perf_counter()
    proc = jaryo(data_dir, "ingest", "--json", str(folder))
    sampler = TreeSampler(proc.pid)
    starts: list[tuple[str, float]] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("[") and "] " in line:
            name = line.split("] ", 1)[1].strip()
            starts.append((name, time.perf_counter()))  # "done, …" closes the last file
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    peak = sampler.stop()
    seconds = {name: nxt - at for (name, at), (_, nxt) in itertools.pairwise(starts)}
    return {
        "report": json.loads(out),
        "seconds": seconds,
        "wall": time.perf_counter() - started,
        "peak_mb": peak,
    }


def searchable(data_dir: Path) -> dict[str, bool]:
    """For each good file, whether `jaryo search` finds it for its query."""
    found = {}
    for name, query in GOOD_QUERY.items():
        proc = jaryo(data_dir, "search", "--json", "-k", "5", query)
        out, _ = proc.communicate()
        found[name] = any(row["doc_id"] == name for row in json.loads(out or "[]"))
    return found


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--bomb-mb", type=int, default=1000, help="Unpacked size of the bombs.")
    args = parser.parse_args()
    work, models = start(args, "jaryo-bad-input-")
    good, mixed = work / "good", work / "mixed"
    write_good(good)
    write_good(mixed)
    what = write_hostile(mixed, args.bomb_mb)
    runs = {}
    for label, folder in (("good files only", good), ("good + hostile", mixed)):
        data_dir = work / f"data-{folder.name}"
        shutil.rmtree(data_dir, ignore_errors=True)
        link_models(data_dir, models)
        runs[label] = ingest(data_dir, folder)
        runs[label]["found"] = searchable(data_dir)
    base, run = runs["good files only"], runs["good + hostile"]
    rows = []
    for entry in run["report"]["files"]:
        name = entry["doc_id"]
        reason = entry["reason"].removeprefix(f"{name}: ")
        rows.append([name, what.get(name, "good"), entry["status"],
                     f"{run['seconds'].get(name, 0):.2f}", reason[:110]])  # fmt: skip
    print("\n" + table(["file", "what", "outcome", "s", "reason"], rows))
    print("(s: from the file's progress line to the next one; the first file's includes loading "
          "Kiwi, the last one's embedding the batch)")  # fmt: skip
    print("\n" + table(
        ["batch", "files", "wall s", "peak RSS MiB (tree)", "good files found"],
        [[label, len(r["report"]["files"]), f"{r['wall']:.1f}", f"{r['peak_mb']:.0f}",
          f"{sum(r['found'].values())}/{len(r['found'])}"] for label, r in runs.items()],
    ))  # fmt: skip
    over = run["peak_mb"] - base["peak_mb"]
    failed_alone = all(
        e["status"] == "failed" for e in run["report"]["files"] if e["doc_id"] in what
    )
    print(
        f"\npeak RSS over the good-only batch: {over:+.0f} MiB (target ≤ 500); every hostile "
        f"file failed alone: {failed_alone}; good files searchable: "
        f"{all(run['found'].values())}"
    )


if __name__ == "__main__":
    main()
