"""Kill ``jaryo ingest`` with SIGKILL at random moments, again and again: after each kill
``jaryo check`` must be clean, and an ingest left to finish must converge to the corpus.

    .venv/bin/python bench/kill.py --models-dir data/models [--trials 50] [--store milvus]

The corpus is ``--files`` small Korean texts made from the shipped corpus's sentences. Before
each trial the folder changes: every file takes one of four versions or is absent (one in
five), so ``jaryo ingest --sync`` of the folder adds, updates and removes documents, with the
real default model. The ingest is killed after a random delay, uniform between 0 and the
median of three unkilled ingests of changed folders, so kills land in start-up, reading,
embedding, the commits and the report (an ingest that ends first is not counted). Then
``jaryo check`` runs (exit 0 and ``ok`` or the trial is inconsistent), then the same ingest
runs to its end and the store must hold exactly the folder's files, each with
its bytes' hash and at least one chunk (read from SQLite directly). Reported: trials,
inconsistent ones, the phase each kill reached (from the ingest's own log lines) and what
the kill left on disk, and median times. ``--store milvus`` runs the same against a
milvus-lite file (``JARYO_STORE=milvus``). Every loop is bounded (at most 3 × ``--trials`` ingests).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import common

VERSIONS = 4
ABSENT = 0.2


def sentences() -> list[str]:
    """The shipped corpus's sentences (ending at 다. or a full stop), long enough to index."""
    text = " ".join(
        p.read_text(encoding="utf-8") for p in sorted((common.ROOT / "corpus").glob("*"))
    )
    found = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text)]
    return [s for s in found if 20 <= len(s) <= 300]


def write_corpus(folder: Path, files: int, rng: random.Random, pool: list[str]) -> dict[str, str]:
    """Lay out this trial's version of every file; returns {file name: sha256 of its bytes}."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    for i in range(files):
        path = folder / f"doc{i:02d}.txt"
        if rng.random() < ABSENT:
            path.unlink(missing_ok=True)
            continue
        version = rng.randrange(VERSIONS)
        pick = random.Random(i * 1000 + version)  # the same version is the same bytes
        body = " ".join(pick.sample(pool, pick.randint(3, 12)))
        data = f"문서 {i}번 제{version}판\n\n{body}\n".encode()
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        expected[path.name] = hashlib.sha256(data).hexdigest()
    return expected


def jaryo(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "assistant.cli", "--data-dir", str(data), *args]


def phase_of(lines: list[str]) -> str:
    """How far the killed ingest got, from the lines it printed: ``[k/N] name`` as it reads
    each file, then one embedding call and commit for the batch (``index now holds``), the
    ``--sync`` removals (a second commit), the report and closing."""
    phase = "start-up (imports, opening the index)"
    for line in lines:
        read = re.match(r"\[(\d+)/(\d+)\] (.*)", line)
        if read and not read.group(3).startswith("done"):
            last = read.group(1) == read.group(2)
            phase = "embedding, committing" if last else "reading, chunking (Kiwi loading)"
        elif "index now holds" in line:
            phase = "between the commits of additions and of removals"
        elif read or " files in " in line:
            phase = "after the last commit (report, closing)"
    return phase


def leftovers(index_dir: Path) -> list[str]:
    """What the kill left on disk that a clean close would not."""
    found = []
    wal = index_dir / "store.sqlite3-wal"
    if wal.exists() and wal.stat().st_size:
        found.append("SQLite WAL not checkpointed")
    if any(index_dir.glob("*.tmp")):
        found.append("*.tmp files")
    return found


def stored(index_dir: Path) -> tuple[dict[str, str], int]:
    """{doc id: content hash} of the store, and how many documents have no chunk."""
    con = sqlite3.connect(f"file:{index_dir / 'store.sqlite3'}?mode=ro", uri=True)
    try:
        docs = dict(con.execute("SELECT doc_id, content_hash FROM documents").fetchall())
        bare = con.execute(
            "SELECT COUNT(*) FROM documents d WHERE NOT EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.doc_id = d.doc_id)"
        ).fetchone()[0]
    finally:
        con.close()
    return docs, int(bare)


def killed_run(cmd: list[str], env: dict[str, str], delay: float) -> tuple[list[str], float, bool]:
    """Start ``cmd``, SIGKILL it after ``delay`` s unless it ended first; its lines, the moment
    it ended and whether the kill did it."""
    proc = subprocess.Popen(
        cmd,
        cwd=common.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    out = proc.stdout

    def read() -> None:
        for line in out:
            lines.append(line.rstrip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    t0 = time.perf_counter()
    killed = False
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        killed = proc.wait(timeout=60) == -signal.SIGKILL
    died = time.perf_counter() - t0
    reader.join(timeout=10)
    out.close()
    return lines, died, killed


def main() -> None:
    """Run the trials and print the table."""
    parser = common.base_parser(__doc__)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--store", choices=["embedded", "milvus"], default="embedded")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    work, models = common.start(args, "jaryo-kill-")
    data, corpus = work / "data", work / "corpus"
    common.link_models(data, models)
    env = {**os.environ, **common.ENV, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(common.ROOT)}
    if args.store == "milvus":
        env.update(JARYO_STORE="milvus", JARYO_MILVUS_URI=str(work / "milvus.db"))
    index_dir = data / "index"
    rng = random.Random(args.seed)
    pool = sentences()
    ingest = jaryo(data, "-v", "ingest", str(corpus), "--sync")

    def converge(expected: dict[str, str]) -> tuple[float, str]:
        t0 = time.perf_counter()
        done = subprocess.run(ingest, cwd=common.ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            return seconds, f"re-ingest exited {done.returncode}: {done.stdout[-300:]}"
        docs, bare = stored(index_dir)
        if docs != expected:
            return seconds, f"store holds {len(docs)} documents, the folder {len(expected)}"
        return seconds, f"{bare} documents without chunks" if bare else ""

    unkilled = []  # kills fall uniformly within the median of three unkilled ingests
    for _ in range(3):
        seconds, problem = converge(write_corpus(corpus, args.files, rng, pool))
        if problem:
            raise SystemExit(f"an unkilled ingest failed: {problem}")
        unkilled.append(seconds)
    longest = common.median(unkilled)
    phases: Counter[str] = Counter()
    left: Counter[str] = Counter()
    failures: list[str] = []
    checks: list[float] = []
    reingests: list[float] = []
    kill_at: list[float] = []
    kills = finished = 0
    for trial in range(3 * args.trials):  # an ingest that ends before its kill is not counted
        if kills == args.trials:
            break
        expected = write_corpus(corpus, args.files, rng, pool)
        lines, died, killed = killed_run(ingest, env, rng.uniform(0.0, longest))
        if not killed:
            finished += 1
            continue
        kills += 1
        kill_at.append(died)
        phases[phase_of(lines)] += 1
        for what in leftovers(index_dir):
            left[what] += 1
        t0 = time.perf_counter()
        check = subprocess.run(
            jaryo(data, "check"), cwd=common.ROOT, env=env, capture_output=True, text=True
        )
        checks.append(time.perf_counter() - t0)
        trouble = []
        if check.returncode != 0 or not check.stdout.rstrip().endswith("ok"):
            trouble.append(f"check: {(check.stdout + check.stderr).strip()[-300:]}")
        seconds, problem = converge(expected)
        reingests.append(seconds)
        if problem:
            trouble.append(problem)
        if trouble:
            failures.append(f"trial {trial} ({phase_of(lines)}): " + "; ".join(trouble))
        print(
            f"  kill {kills}/{args.trials}: at {died:.1f} s, in "
            f"{phase_of(lines)}; {'INCONSISTENT' if trouble else 'check ok, converged'}",
            flush=True,
        )
    final = subprocess.run(
        jaryo(data, "check"), cwd=common.ROOT, env=env, capture_output=True, text=True
    )
    print(
        f"\n{kills} SIGKILLs of `jaryo ingest --sync` ({args.store} store, {args.files} "
        f"files changing between trials, real default model; {finished} more ingests ended "
        f"before their kill)\n"
    )
    headers = ["kills", "inconsistent", "killed at s (median)", "check s (median)"]
    headers.append("re-ingest s (median)")
    row = [str(kills), str(len(failures)), f"{common.median(kill_at):.1f}"]
    row += [f"{common.median(checks):.1f}", f"{common.median(reingests):.1f}"]
    print(common.table(headers, [row]))
    print("\nphase reached when killed:")
    print(common.table(["phase", "trials"], sorted(phases.items(), key=lambda kv: -kv[1])))
    if left:
        print("\nleft on disk by the kill (repaired by the next open):")
        print(common.table(["what", "trials"], sorted(left.items())))
    print(f"\nfinal `jaryo check`: {final.stdout.strip().splitlines()[-1] if final.stdout else ''}")
    for f in failures:
        print(f"inconsistent: {f}")


if __name__ == "__main__":
    main()
