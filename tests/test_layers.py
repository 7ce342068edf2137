"""The layers flow one way: ingest → index → assistant → ui, and no module imports in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["ingest", "index", "assistant", "ui"]  # each may import only those before it
# Entry points sit on top with ui.py: the console script's `serve` starts the UI.
ENTRY_POINTS = {"assistant.cli"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    found = {_module_name(p): p for layer in LAYERS[:-1] for p in (ROOT / layer).rglob("*.py")}
    found["ui"] = ROOT / "ui.py"
    return found


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file (top level or inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _project_modules()
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


def _layer(module: str) -> int:
    if module in ENTRY_POINTS:
        return LAYERS.index("ui")
    return LAYERS.index(module.split(".", 1)[0])


def test_no_layer_imports_a_layer_above_it() -> None:
    upward = [
        f"{src} imports {dst}"
        for src, targets in _graph().items()
        for dst in targets
        if _layer(dst) > _layer(src)
    ]
    assert upward == []


def test_no_module_imports_in_a_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from index.store import Store\n", {"index.store", "index.store.Store"}),
        ("def f():\n    import assistant.cli\n", {"assistant.cli"}),
        ("from . import x\n", set()),
    ],
)
def test_imports_are_read_everywhere_in_a_file(
    tmp_path: Path, source: str, expected: set[str]
) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert _imports(path) == expected
