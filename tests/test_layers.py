"""The modules stay layered: each imports only from the layers below it, so there are no cycles
and a reader can learn the package from the bottom up."""

from __future__ import annotations

import ast

from harness import ROOT

PACKAGE = ROOT / "src" / "ld_release_phase"
# Bottom to top. A module may import from any earlier layer, never from its own or a later one.
LAYERS = [
    {"__init__"},
    {"text", "clock"},
    {"errors"},
    {"models", "transport"},
    {"parsing", "retry"},
    {"inputs", "client"},
    {"release", "waiting", "runner"},
    {"report"},
    {"action"},
    {"cli"},
    {"__main__"},
]


def _run_time_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in type_only:
            imported |= {node.module} if node.module else {alias.name for alias in node.names}
    return imported


def test_every_module_has_a_layer() -> None:
    assert {path.stem for path in PACKAGE.glob("*.py")} == set().union(*LAYERS)


def test_no_import_runs_back_up() -> None:
    layer_of = {module: index for index, layer in enumerate(LAYERS) for module in layer}
    upward = [
        f"{module} imports {imported}"
        for module in layer_of
        for imported in _run_time_imports(module)
        if layer_of.get(imported, 0) >= layer_of[module] and imported != "__init__"
    ]
    assert upward == []
