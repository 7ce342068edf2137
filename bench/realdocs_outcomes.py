"""Per-file outcome of every real document through ``ingest.loaders.load_bytes``, as Markdown.

    .venv/bin/python bench/realdocs_outcomes.py [--only hwp,hwpx] [--answers [--cleaned]]

One row per file in ../shared/realdocs: loaded (characters, tables, pages, title) or refused
(the message). ``--answers`` also checks ../shared/evaldata/realdocs_qa.jsonl against the
extracted text: for each answerable question on a listed file, whether an answer string and
the evidence (a shared run of min(30, len) characters, the evaluation's relevance rule) are in
the text, whitespace collapsed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the packages are importable without an editable install
    sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")

from ingest.errors import IngestError  # noqa: E402
from ingest.loaders import load_bytes, supported  # noqa: E402
from ingest.reader import document_from_bytes  # noqa: E402

_ROW = re.compile(r"^\| .* \|$")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _tables(text: str) -> int:
    """Runs of table-row lines (``| a | b |``), for loaders that do not count their tables."""
    runs, inside = 0, False
    for line in text.replace("\f", "\n").splitlines():
        row = bool(_ROW.match(line))
        runs += row and not inside
        inside = row
    return runs


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def outcomes(
    files: list[Path], root: Path, cleaned: bool = False
) -> tuple[list[str], dict[str, str]]:
    """Markdown table lines, and the text of each loaded file by name (with ``cleaned``, the
    text the index gets: the loader's text after cleaning)."""
    lines = [
        "| file | outcome | characters | tables | pages | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    texts: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        started = time.perf_counter()
        try:
            loaded = load_bytes(path.name, path.read_bytes())
        except IngestError as exc:
            reason = str(exc).removeprefix(f"{path.name}: ")
            lines.append(f"| {rel} | refused | 0 | 0 | | {_cell(reason)} |")
            continue
        seconds = time.perf_counter() - started
        texts[path.name] = loaded.text
        if cleaned:
            texts[path.name] = document_from_bytes(path, path.name, path.read_bytes()).text
        meta = loaded.meta
        notes = [f"title: {loaded.title}" if loaded.title else "no title"]
        for key in ("footnotes", "headers_footers"):
            if meta.get(key):
                notes.append(f"{key.replace('_', '/')}: {meta[key]}")
        if meta.get("distribution"):
            notes.append("배포용, decrypted")
        notes.append(f"{seconds:.2f} s")
        chars = len(loaded.text)
        pages = meta.get("pages", "")
        lines.append(
            f"| {rel} | loaded | {chars} | {meta.get('tables', _tables(loaded.text))} | {pages} "
            f"| {_cell('; '.join(notes))} |"
        )
    return lines, texts


def _shares_run(evidence: str, text: str) -> bool:
    need = min(30, len(evidence))
    match = SequenceMatcher(None, evidence, text, autojunk=False).find_longest_match()
    return match.size >= need


def check_answers(texts: dict[str, str], qa_path: Path) -> list[str]:
    """One line per question on a loaded file, then the totals."""
    lines, found, evidenced, total = [], 0, 0, 0
    for raw in qa_path.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        source, answers = item.get("source"), item.get("answers") or []
        if source not in texts or not answers:
            continue
        text = _norm(texts[source])
        total += 1
        has_answer = any(_norm(a) in text for a in answers)
        evidence = _norm(item.get("evidence", ""))
        has_evidence = not evidence or _shares_run(evidence, text)
        found += has_answer
        evidenced += has_evidence
        mark = ("answer" if has_answer else "NO ANSWER") + ("" if has_evidence else ", NO EVIDENCE")
        lines.append(f"- {source} ({item.get('kind')}): {mark} — {item['question']}")
    lines.append(f"\nanswers found: {found}/{total}; evidence found: {evidenced}/{total}")
    return lines


def main() -> None:
    """Print the outcome table (and the answer check) for the real documents."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=SHARED / "realdocs")
    parser.add_argument("--qa", type=Path, default=SHARED / "evaldata" / "realdocs_qa.jsonl")
    parser.add_argument("--only", help="comma-separated extensions, e.g. hwp,hwpx")
    parser.add_argument("--answers", action="store_true", help="check the QA answers too")
    parser.add_argument(
        "--cleaned", action="store_true", help="check answers in the cleaned (indexed) text"
    )
    args = parser.parse_args()
    exts = {f".{e.strip().lstrip('.')}" for e in args.only.split(",")} if args.only else None
    files = sorted(
        p
        for p in args.docs.rglob("*")
        if p.is_file() and supported(p.name) and (exts is None or p.suffix.lower() in exts)
    )
    lines, texts = outcomes(files, args.docs, cleaned=args.cleaned)
    print("\n".join(lines))
    if args.answers:
        print()
        print("\n".join(check_answers(texts, args.qa)))


if __name__ == "__main__":
    main()
