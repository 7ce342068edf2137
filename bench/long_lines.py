"""Single-line text files of 1, 10 and 50 MB through the ingestion steps before embedding:
reading, cleaning, sentence splitting (Kiwi) and chunking. Shows the time grows linearly with
the line's length (the splitter used to get the whole line: 400 KB 7.2 s, 1 MB 55 s).

    .venv/bin/python bench/long_lines.py [--sizes 1,10,50]

The line repeats Korean sentences with spaces (so sentence ends exist, as in a text that
lost its line breaks); the chunks are not embedded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.morph import MorphTokenizer  # noqa: E402
from ingest.chunking import MAX_SPLIT_LINE, chunk_text  # noqa: E402
from ingest.clean import clean_document  # noqa: E402
from ingest.loaders import load_bytes  # noqa: E402
from ingest.records import LoadOptions  # noqa: E402

SENTENCE = "딥시크는 V3 모델의 개발 비용이 558만달러라고 주장했지만 일부 전문가는 이를 의심한다. "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50", help="Line sizes in MB (UTF-8).")
    args = parser.parse_args()
    splitter = MorphTokenizer().split_sentences
    splitter("준비")  # load Kiwi before timing
    print(f"sentence splitter gets at most {MAX_SPLIT_LINE:,} characters at a time\n")
    print("| line | characters | read + clean s | split + chunk s | chunks | s per MB |")
    print("|---|---|---|---|---|---|")
    for mb in (float(s) for s in args.sizes.split(",")):
        unit = SENTENCE.encode()
        data = unit * int(mb * 1_000_000 / len(unit))
        t0 = time.perf_counter()
        # a character per byte at most: the text budget must not stop the longest line
        options = LoadOptions(max_text_chars=max(len(data), LoadOptions.max_text_chars))
        text = clean_document(load_bytes("line.txt", data, options).text).text
        t1 = time.perf_counter()
        spans = chunk_text(text, size=500, overlap=100, splitter=splitter)
        t2 = time.perf_counter()
        total = t2 - t0
        print(
            f"| {mb:g} MB | {len(text):,} | {t1 - t0:.2f} | {t2 - t1:.2f} | {len(spans):,} "
            f"| {total / mb:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
