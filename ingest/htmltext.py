"""HTML to text in one pass over the parsed tree (BeautifulSoup + lxml): the main content's
blocks as lines, table rows as ``| a | b |`` lines, menus and other runs of link lines left out.

The tree is read once, with an explicit stack: nothing here is recursive, and nothing edits
the tree (BeautifulSoup's insert and replace look a child up among its siblings, which made
a page of 40,000 paragraphs take 160 s). Nesting deeper than the budget is refused.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterator
from typing import Any

from ingest.errors import IngestError
from ingest.records import Loaded

# Elements that hold page chrome, never article text.
_DROP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "nav",
        "footer",
        "aside",
        "iframe",
        "svg",
        "button",
        "head",
    ]
)
# Elements that start a new line of text.
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_WS = re.compile(r"\s+")


def parse_html(name: str, text: str, encoding: str, *, max_depth: int = 1000) -> Loaded:
    """The main content of decoded HTML as lines: blocks are lines, a table row is one line
    ``| a | b |``, and runs of lines that are wholly link text (menus, lists of other
    articles, advertisements) are dropped when the page has other text. Elements nested
    deeper than ``max_depth`` fail the page with an IngestError naming the budget."""
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    text = _unescape_json_string(text.replace(_LINK_START, "").replace(_LINK_END, ""))
    try:
        with warnings.catch_warnings():
            # a feed or XHTML saved as .html is read as HTML on purpose: no console noise
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(text, "lxml")
    except Exception as exc:  # parser failures on hostile input become one readable error
        raise IngestError(f"{name}: cannot parse HTML ({exc})") from exc
    meta: dict[str, Any] = {"encoding": encoding}
    title = _html_title(soup)
    for prop, key in (
        ("og:site_name", "publisher"),
        ("article:published_time", "date"),
        ("author", "author"),
    ):
        tag = soup.find("meta", attrs={"property": prop}) or soup.find("meta", attrs={"name": prop})
        content = tag.get("content") if tag else None
        if isinstance(content, str) and content.strip():
            meta[key] = content.strip()[:10] if key == "date" else content.strip()
    root = (
        _first(_kept(soup.find_all("main")))
        or _single(list(_kept(soup.find_all("article"))))
        or soup.body
        or soup
    )
    flat = "".join(_pieces(root, name=name, max_depth=max_depth, blocks=True))
    lines, links = _drop_link_runs(flat.split("\n"))
    if links:
        meta["link_lines_dropped"] = links
    return Loaded("\n".join(lines), "html", title=title, meta=meta)


def _pieces(root: Any, *, name: str, max_depth: int, blocks: bool) -> Iterator[str]:
    """The text of ``root`` in document order: whitespace runs made one space (except inside
    <pre>), link text between marks; with ``blocks``, block elements and <br> start lines
    and data tables become their rows."""
    from bs4 import CData, NavigableString, Tag

    text_types = (NavigableString, CData)  # comments, doctypes and the like are no text
    stack: list[tuple[Any, Iterator[Any]]] = [(root, iter(root.contents))]
    in_pre = 0
    while stack:
        tag, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if tag is not root:
                in_pre -= tag.name == "pre"
                if tag.name == "a" and tag.has_attr("href"):
                    yield _LINK_END
                if blocks and tag.name in _BLOCK_TAGS:
                    yield "\n"
            continue
        if isinstance(child, Tag):
            if child.name in _DROP_TAGS:
                continue
            if len(stack) >= max_depth:
                raise IngestError(
                    f"{name}: HTML 중첩이 한도를 넘습니다 — elements nested more than "
                    f"{max_depth} deep (JARYO_MAX_HTML_DEPTH)"
                )
            if blocks and child.name == "br":
                yield "\n"
                continue
            if blocks and child.name == "table":
                rows = _table_rows(child, name=name, max_depth=max_depth)
                if rows is not None:
                    yield "\n" + "\n".join(rows) + "\n"
                    continue
            if blocks and child.name in _BLOCK_TAGS:
                yield "\n"
            if child.name == "a" and child.has_attr("href"):
                yield _LINK_START
            in_pre += child.name == "pre"
            stack.append((child, iter(child.contents)))
        elif type(child) in text_types:
            yield str(child) if in_pre else _WS.sub(" ", str(child))


def _table_rows(table: Any, *, name: str, max_depth: int) -> list[str] | None:
    """A data table's rows, one line each: ``| cell | cell |``; None for a table that holds
    tables or whose rows have at most one non-empty cell (page layout: read as plain lines)."""
    if table.find("table") is not None:
        return None
    rows = []
    for tr in table.find_all("tr"):
        cells = [
            _WS.sub(" ", " ".join(_pieces(cell, name=name, max_depth=max_depth, blocks=False)))
            .strip()
            .replace("|", "/")
            for cell in tr.find_all(["td", "th"], recursive=False)
        ]
        rows.append(cells)
    if max((sum(1 for c in r if _strip_marks(c).strip()) for r in rows), default=0) < 2:
        return None
    return [f"| {' | '.join(r)} |" for r in rows if any(_strip_marks(c).strip() for c in r)]


def _kept(tags: list[Any]) -> Iterator[Any]:
    """The tags not inside page chrome (which is left out)."""
    for tag in tags:
        if not any(parent.name in _DROP_TAGS for parent in tag.parents):
            yield tag


def _first(items: Iterator[Any]) -> Any:
    return next(items, None)


# Link text is marked while the page is flattened, to find the lines that are only links.
_LINK_START, _LINK_END = "\ue000", "\ue001"
_LINK_TEXT = re.compile(f"{_LINK_START}[^{_LINK_END}]*{_LINK_END}?")
_SHORTEST_LINK_RUN = 3  # two link lines ("구독", "제보") can end an article; menus are longer


def _drop_link_runs(lines: list[str]) -> tuple[list[str], int]:
    """Drop runs of at least three non-blank lines made only of link text (blank lines
    inside a run do not end it), unless nothing else would be left."""
    only_link = [
        bool(line.strip()) and not re.search(r"\w", _LINK_TEXT.sub("", line)) for line in lines
    ]
    drop: set[int] = set()
    run: list[int] = []
    for n, line in enumerate([*lines, "end"]):
        if n < len(lines) and only_link[n]:
            run.append(n)
        elif n == len(lines) or line.strip():
            if len(run) >= _SHORTEST_LINK_RUN:
                drop.update(run)
            run = []
    kept = [_strip_marks(line) for n, line in enumerate(lines) if n not in drop]
    if drop and not any(line.strip() for line in kept):
        return [_strip_marks(line) for line in lines], 0
    return kept, len(drop)


def _strip_marks(line: str) -> str:
    return line.replace(_LINK_START, "").replace(_LINK_END, "")


# A page saved as a JSON string: its attributes read class=\"x\" and its text has \n escapes.
_ESCAPED_ATTRIBUTE = re.compile(r'<[a-zA-Z][^<>]*?=\\"')
_PLAIN_ATTRIBUTE = re.compile(r'<[a-zA-Z][^<>]*?=["\']')
_JSON_ESCAPE = re.compile(r'\\([nrt"/\\])')


def _unescape_json_string(text: str) -> str:
    if not _ESCAPED_ATTRIBUTE.search(text) or _PLAIN_ATTRIBUTE.search(text):
        return text
    escapes = {"n": "\n", "r": "\n", "t": "\t", '"': '"', "/": "/", "\\": "\\"}
    return _JSON_ESCAPE.sub(lambda m: escapes[m[1]], text)


def _single(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else None


def _html_title(soup: Any) -> str | None:
    og = soup.find("meta", attrs={"property": "og:title"})
    candidates = [og.get("content") if og else None]
    h1 = soup.find("h1")
    candidates.append(h1.get_text(" ") if h1 else None)
    candidates.append(soup.title.get_text(" ") if soup.title else None)
    for raw in candidates:
        if isinstance(raw, str):
            title = unicodedata.normalize("NFC", _WS.sub(" ", raw)).strip()
            if title:
                return title[:200]
    return None
