"""Compare article extractors for web pages on the real pages in ../shared/realdocs/html.

Measured per extractor (each followed by ``ingest.clean.clean_document``, as ingestion does):

- QA held: html-source questions of realdocs_qa.jsonl whose evidence and one answer are both in
  the extracted text (whitespace collapsed), i.e. what retrieval could possibly find;
- article kept: share of the page's article sentences found in the text. The article is the
  page's visible text (lxml ``text_content`` of <body>, split at line breaks and sentence ends)
  less the chrome listed below;
- chrome kept: share of the chrome strings below that are still in the text (lower is better);
- ms/page: extraction time, median of 5 runs.

Chrome is listed by hand: link lists to other articles, advertisements, photo credits, copyright
lines, and the literal ``\\n`` escapes one saved page carries. The links at the end of the Naver
article are *not* chrome here: realdocs_qa.jsonl asks a question about them.

Run: ``.venv/bin/python bench/web_extract.py`` (needs the bench extra: ``trafilatura``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine_line  # noqa: E402
from ingest.clean import clean_document  # noqa: E402
from ingest.htmltext import _unescape_json_string  # noqa: E402
from ingest.records import LoadOptions  # noqa: E402
from ingest.textfile import decode_text, load_html  # noqa: E402

SHARED = ROOT.parent / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")
PAGES = SHARED / "realdocs" / "html"
QA = SHARED / "evaldata" / "realdocs_qa.jsonl"

CHROME: dict[str, list[str]] = {
    "newspim_1.html": [
        "월가 [사진=로이터 뉴스핌]",
        "'세기의 기회' 차이나 머니 해외 기업 사냥 뛰어들었다",
        "지구촌 부동산 시장 '패닉 온다' 코로나 위기 경고",
        "글로벌 車 업계 코로나 쇼크 '08년 위기보다 크다",
        "지구촌 '물류 대란' 돈만 주면 사던 것들 못 구한다",
        "美 코로나發 '고용 침체' 장기화 경고..벌써 후폭풍",
        "▶신종코로나 바이러스 1000% 갈 新 대장주 大공개(확인)",
        "저작권자(c) 글로벌리더의 지름길 종합뉴스통신사 뉴스핌(Newspim), 무단 전재-재 배포 금지",
    ],
    "news-naver.html": ["\\n\\n"],
}
_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def norm(text: str) -> str:
    """Collapse whitespace (the evaluation's normalisation)."""
    return _WS.sub(" ", text).strip()


def ours(name: str, data: bytes) -> str:
    """The project's own loader (BeautifulSoup + lxml)."""
    return load_html(name, data, LoadOptions()).text


def trafilatura_variant(**options: object) -> Callable[[str, bytes], str]:
    """trafilatura's XML output, flattened into lines (tables as ``| a | b |`` rows)."""

    def extract(name: str, data: bytes) -> str:
        import trafilatura
        from lxml import etree

        text, _ = decode_text(data, name)
        text = _unescape_json_string(text)  # the same pre-processing as ours
        xml = trafilatura.extract(text, output_format="xml", include_tables=True, **options)
        if not xml:
            return ""
        root = etree.fromstring(xml.encode())
        main = root.find("main")
        return _flatten(main if main is not None else root)

    return extract


_XML_BLOCKS = {"p", "head", "item", "list", "quote", "code", "main", "doc", "comments", "div"}


def _flatten(element: Any) -> str:
    """trafilatura's XML as lines, laid out as ours lays out HTML (one-cell tables plain)."""
    out: list[str] = []
    _walk(element, out)
    return "".join(out)


def _cell(cell: Any) -> str:
    return norm("".join(cell.itertext())).replace("|", "/")


def _walk(el: Any, out: list[str]) -> None:
    if el.tag == "table":
        rows = [[_cell(c) for c in row if c.tag == "cell"] for row in el.iter("row")]
        layout = max((sum(1 for c in r if c) for r in rows), default=0) < 2
        out.append("\n")
        for cells in (r for r in rows if any(r)):
            line = " ".join(c for c in cells if c) if layout else f"| {' | '.join(cells)} |"
            out.append(line + "\n")
    elif el.tag == "lb":
        out.append("\n")
    elif el.tag != "graphic":
        block = el.tag in _XML_BLOCKS
        out.append("\n" if block else "")
        out.append(el.text or "")
        for child in el:
            _walk(child, out)
        out.append("\n" if block else "")
    out.append(el.tail or "")


def article_sentences(name: str, data: bytes) -> list[str]:
    """The page's visible text split into sentences, less its listed chrome."""
    import lxml.html

    text, _ = decode_text(data, name)
    tree = lxml.html.fromstring(text)
    for bad in tree.xpath("//script|//style|//head"):
        bad.drop_tree()
    for br in tree.xpath("//br|//p|//tr|//div|//section"):
        br.tail = "\n" + (br.tail or "")
    chrome = [norm(c) for c in CHROME.get(name, [])]
    out = []
    for line in tree.text_content().split("\n"):
        for sentence in _SENTENCE_END.split(norm(line)):
            if sentence and not any(sentence in c or c in sentence for c in chrome):
                out.append(sentence)
    return out


def measure(
    extract: Callable[[str, bytes], str], questions: list[dict[str, object]], verbose: bool
) -> dict[str, float]:
    """QA held, article kept, chrome kept and time for one extractor over every page."""
    held = kept = total = chrome_kept = chrome_total = complete = 0
    times = []
    for page in sorted(PAGES.glob("*.html")):
        data = page.read_bytes()
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            raw = extract(page.name, data)
            runs.append(time.perf_counter() - t0)
        times.append(statistics.median(runs))
        text = norm(clean_document(raw).text) if raw.strip() else ""
        for q in questions:
            if q.get("source") != page.name:
                continue
            answers = [norm(str(a)) for a in q["answers"]]  # type: ignore[attr-defined]
            if norm(str(q["evidence"])) in text and any(a in text for a in answers):
                held += 1
        sentences = article_sentences(page.name, data)
        total += len(sentences)
        # a line repeated on the page (client.html's "Age: 31") must be kept as often
        found = sum(min(n, text.count(s)) for s, n in Counter(sentences).items())
        kept += found
        complete += found == len(sentences)
        for c in CHROME.get(page.name, []):
            chrome_total += 1
            chrome_kept += norm(c) in text
            if verbose and norm(c) in text:
                print(f"  chrome kept: {page.name}: {c}")
        if verbose:
            missing = [s for s, n in Counter(sentences).items() if text.count(s) < n]
            print(f"  {page.name}: {len(missing)} article sentences short: {missing[:5]}")
    n_q = sum(1 for q in questions if str(q.get("source", "")).endswith(".html"))
    return {
        "qa": held,
        "qa_total": n_q,
        "article": kept / total,
        "kept": kept,
        "sentences": total,
        "complete": complete,
        "pages": len(times),
        "chrome": chrome_kept,
        "chrome_total": chrome_total,
        "ms": 1000 * statistics.median(times),
    }


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list what each one misses")
    args = parser.parse_args()
    questions = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line]
    extractors: dict[str, Callable[[str, bytes], str]] = {
        "ours (load_html)": ours,
        "trafilatura default": trafilatura_variant(),
        "trafilatura favor_recall": trafilatura_variant(favor_recall=True),
        "trafilatura favor_precision": trafilatura_variant(favor_precision=True),
    }
    import trafilatura

    print(machine_line())
    print(f"trafilatura {trafilatura.__version__}; pages: {len(list(PAGES.glob('*.html')))}\n")
    print(
        "| extractor | QA held | article sentences kept | pages complete | chrome kept | ms/page |"
    )
    print("|---|---|---|---|---|---|")
    for label, extract in extractors.items():
        m = measure(extract, questions, args.verbose)
        print(
            f"| {label} | {m['qa']}/{m['qa_total']} | {m['kept']}/{m['sentences']} "
            f"({m['article']:.3f}) | {m['complete']}/{m['pages']} "
            f"| {m['chrome']}/{m['chrome_total']} "
            f"| {m['ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
