"""The modules stay layered: each imports only from the layers below it, so there are no cycles
and a reader can learn the package from the bottom up; and each room keeps to itself.

The rooms: ``plumbing`` (text, time, HTTP, retries, the API call), ``surfaces`` (the workflow
and the terminal), and one folder per family of operations (``phases``, ``environment_releases``),
above them the entry.
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "ld_release_phase"
# Bottom to top. A module may import from any earlier layer, never from its own or a later one.
LAYERS = [
    {"__init__"},
    {"plumbing", "plumbing.text", "plumbing.clock", "plumbing.words"},
    {"failures"},
    {"plumbing.transport"},
    {"plumbing.parsing", "plumbing.retry"},
    {"plumbing.api", "plumbing.fields"},
    {"surfaces", "surfaces.base"},
    {"surfaces.workflow", "surfaces.terminal"},
    {"operation"},
    {"phases", "phases.models", "phases.failures"},
    {"phases.inputs", "phases.client"},
    {"phases.release", "phases.events"},
    {"phases.waiting"},
    {"phases.core"},
    {"phases.render"},
    {"phases.step"},
    {"environment_releases", "environment_releases.models", "environment_releases.failures"},
    {"environment_releases.inputs", "environment_releases.events"},
    {"environment_releases.client", "environment_releases.plan"},
    {"environment_releases.core"},
    {"environment_releases.render"},
    {"environment_releases.step"},
    {"cli"},
    {"__main__"},
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _run_time_imports(path: Path) -> set[str]:
    """The package's own modules that ``path`` imports when it runs (not only for type checks)."""
    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    imported = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or id(node) in type_only:
            continue
        if node.level:
            base = package[: len(package) - node.level + 1]
        elif node.module and node.module.split(".")[0] == "ld_release_phase":
            base, node_module = [], node.module.split(".", 1)[1:]
            imported |= {".".join(node_module)} if node_module else {"__init__"}
            imported |= {".".join([*node_module, alias.name]) for alias in node.names}
            continue
        else:
            continue
        target = [*base, *(node.module.split(".") if node.module else [])]
        imported |= {".".join(target) or "__init__"}
        imported |= {".".join([*target, alias.name]) for alias in node.names}
    return imported


def test_every_module_has_a_layer() -> None:
    modules = {_module_name(path) for path in PACKAGE.rglob("*.py")}
    assert modules == set().union(*LAYERS)


def test_no_import_runs_back_up() -> None:
    layer_of = {module: index for index, layer in enumerate(LAYERS) for module in layer}
    upward = [
        f"{_module_name(path)} imports {imported}"
        for path in PACKAGE.rglob("*.py")
        for imported in _run_time_imports(path)
        if imported in layer_of
        and imported != "__init__"
        and layer_of[imported] >= layer_of[_module_name(path)]
        and imported != _module_name(path)
    ]
    assert upward == []


def test_only_the_workflow_surface_touches_actions_toolkit() -> None:
    users = {
        _module_name(path)
        for path in PACKAGE.rglob("*.py")
        if "actions_toolkit" in path.read_text() and "import" in path.read_text()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("actions_toolkit")
    }
    assert users == {"surfaces.workflow"}


def test_surfaces_and_plumbing_know_no_operation() -> None:
    """Adding an operation means a room of its own, not edits to the shared floors."""
    leaks = [
        f"{_module_name(path)} imports {imported}"
        for path in [
            *PACKAGE.glob("plumbing/*.py"),
            *PACKAGE.glob("surfaces/*.py"),
            PACKAGE / "failures.py",
            PACKAGE / "operation.py",
        ]
        for imported in _run_time_imports(path)
        if imported.startswith(("phases", "environment_releases"))
    ]
    assert leaks == []


def test_each_family_of_operations_keeps_to_its_own_room() -> None:
    crossings = [
        f"{_module_name(path)} imports {imported}"
        for family, other in (("phases", "environment_releases"), ("environment_releases", "phases"))
        for path in PACKAGE.glob(f"{family}/*.py")
        for imported in _run_time_imports(path)
        if imported.startswith(other)
    ]
    assert crossings == []
