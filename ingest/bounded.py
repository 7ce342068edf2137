"""Run a format's parser in the bounded worker process (ingest.sandbox): a runaway parse
costs the worker, never the ingesting process, and fails only its own file.

A parser here is ``f(name, data, options, **args) -> Loaded`` named "module:function";
inside the worker it gets the same LoadOptions (progress lines are relayed to the parent)
and its result is checked against the text budget before it is sent back.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from ingest.budgets import check_text
from ingest.errors import IngestError
from ingest.records import Loaded, LoadOptions
from ingest.sandbox import BudgetExceeded, Refused, report, run_bounded

TASK = "ingest.bounded:parse_task"


def budget_message(exc: BudgetExceeded) -> str:
    """A worker budget's message with the setting that raises it."""
    setting = {"memory": "JARYO_PARSER_MEMORY_MB", "time": "JARYO_PARSER_TIMEOUT"}
    hint = setting.get(exc.budget)
    return f"{exc} — 처리 한도 초과 ({hint})" if hint else f"{exc} — is the file damaged?"


def load_bounded(
    name: str, data: bytes, options: LoadOptions, *, parser: str, label: str, **args: Any
) -> Loaded:
    """``parser``'s Loaded for this file, parsed in the worker; every failure is an
    IngestError naming the file (and the budget, when one stopped it)."""
    try:
        result = run_bounded(
            TASK,
            data,
            options.parser_timeout,
            memory_mb=options.parser_memory_mb,
            args={"parser": parser, "name": name, "options": options_args(options), **args},
            progress=options.progress,
        )
    except BudgetExceeded as exc:
        raise IngestError(f"{name}: {label} parsing stopped: {budget_message(exc)}") from exc
    except Refused as exc:
        if exc.kind == "ingest":
            raise IngestError(exc.detail) from exc
        raise IngestError(f"{name}: corrupt or unreadable {label} ({exc.detail})") from exc
    return Loaded(result["text"], result["format"], result["title"], result["meta"])


def options_args(options: LoadOptions) -> dict[str, Any]:
    """The options as JSON for the worker (the progress callback stays here)."""
    return {
        f.name: getattr(options, f.name)
        for f in dataclasses.fields(options)
        if f.name != "progress"
    }


# -- inside the worker -------------------------------------------------------------------------


def parse_task(
    data: bytes, *, parser: str, name: str, options: dict[str, Any], **args: Any
) -> dict[str, Any]:
    """Worker task: run ``parser`` and return its Loaded as JSON; an IngestError (the
    parser's own reason, a budget's) is a refusal of kind "ingest" carrying its message."""
    module_name, _, func_name = parser.partition(":")
    if not module_name.startswith("ingest."):
        raise Refused("corrupt", f"unknown parser {parser!r}")
    func = getattr(importlib.import_module(module_name), func_name)
    opts = LoadOptions(**options, progress=report)
    try:
        loaded: Loaded = func(name, data, opts, **args)
        check_text(name, loaded.text, opts)
    except IngestError as exc:
        raise Refused("ingest", str(exc)) from exc
    return {
        "text": loaded.text,
        "format": loaded.format,
        "title": loaded.title,
        "meta": loaded.meta,
    }
