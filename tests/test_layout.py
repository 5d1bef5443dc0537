"""The layout's rules, enforced: imports run downward only, no cycles, one name one thing.

    ringmatch/  (the wiring)          may import everything
    benchmarks/                       engine, gateway, risk
    gateway/        risk/             engine; never each other
    engine/                           itself only
      replay ─▶ core ─▶ journal ─▶ schema      (within engine: downward only, as ranked
      core ─▶ rings ─▶ schema                    in ENGINE_RANKS)
      book ─▶ schema; process: nothing of ours but itself
      kernel ─▶ records ─▶ schema

Every ``import`` counts, the ones inside functions included (not those under
``if TYPE_CHECKING:``, which never run), and so does a module's dotted name in
a string (what importlib would get; ``"-m", NAME`` runs a program instead):
the pre-trade stage is plugged in by the wiring, never named by the core.
Read from the source files' syntax trees; nothing is imported to check it.
"""

from __future__ import annotations

import ast
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO

ROOMS = {
    "ringmatch": REPO / "ringmatch",
    "ringmatch.engine": REPO / "engine",
    "ringmatch.gateway": REPO / "gateway",
    "ringmatch.risk": REPO / "risk",
    "ringmatch.benchmarks": REPO / "benchmarks",
}
# Which rooms a room may import (besides itself).
MAY_IMPORT = {
    "ringmatch.engine": set(),
    "ringmatch.gateway": {"ringmatch.engine"},
    "ringmatch.risk": {"ringmatch.engine"},
    "ringmatch.benchmarks": {"ringmatch.engine", "ringmatch.gateway", "ringmatch.risk"},
    "ringmatch": {
        "ringmatch.engine",
        "ringmatch.gateway",
        "ringmatch.risk",
        "ringmatch.benchmarks",
    },
}
# engine's sub-packages, lowest first: a module may import its own sub-package or a lower one.
ENGINE_RANKS = {
    "schema": 0,
    "process": 0,
    "book": 1,
    "rings": 1,
    "records": 1,
    "kernel": 2,
    "journal": 2,
    "core": 3,
    "replay": 4,
}


def _modules() -> dict[str, Path]:
    out = {}
    for prefix, root in ROOMS.items():
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if prefix == "ringmatch" and parts and parts[0] in ("engine", "gateway", "risk"):
                continue
            out[".".join([prefix, *parts])] = path
    return out


MODULES = _modules()


def _room(module: str) -> str:
    for prefix in sorted(ROOMS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    raise AssertionError(module)


def _resolve(name: str) -> str | None:
    """The module of ours ``name`` is, or lies in (``pkg.mod.Attr`` -> ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module of ours) for every import and every module name in a string."""
    tree = ast.parse(path.read_text(), str(path))
    programs = _programs(tree)
    typing_only = _typing_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A module's name in a string (what importlib would be handed), or a
            # "module:factory" spec: only a string that is exactly one of our modules,
            # so a logger's name ("ringmatch.core") is not one. ``-m NAME`` runs a
            # program in a process of its own: not an import.
            text = node.value.partition(":")[0]
            if "." in text and text in MODULES and id(node) not in programs:
                found.append((node.lineno, text))
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.append((node.lineno, target))
    return found


def _typing_only(tree: ast.AST) -> set[int]:
    """The imports under ``if TYPE_CHECKING:``: read by the type checker, never run."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            out |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return out


def _programs(tree: ast.AST) -> set[int]:
    """The string nodes that follow ``"-m"`` in a list or tuple: programs to run."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple):
            items = node.elts
            for before, item in itertools.pairwise(items):
                if isinstance(before, ast.Constant) and before.value == "-m":
                    out.add(id(item))
    return out


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _engine_rank(module: str) -> int | None:
    parts = module.split(".")
    if parts[:2] != ["ringmatch", "engine"] or len(parts) < 4:
        return None  # engine's own top-level modules (build_info) rank with nothing
    return ENGINE_RANKS[parts[2]]


def test_every_engine_subpackage_has_a_rank() -> None:
    subpackages = {p.name for p in (REPO / "engine").iterdir() if (p / "__init__.py").exists()}
    assert subpackages == set(ENGINE_RANKS)


def test_imports_run_downward_only() -> None:
    wrong = []
    for module, imports in GRAPH.items():
        room = _room(module)
        for line, target in imports:
            other = _room(target)
            if other != room and other not in MAY_IMPORT[room]:
                wrong.append(f"{MODULES[module]}:{line}: {module} imports {target} ({other})")
                continue
            mine, theirs = _engine_rank(module), _engine_rank(target)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{MODULES[module]}:{line}: {module} imports {target}, above it")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    edges = defaultdict(set)
    for module, imports in GRAPH.items():
        for _, target in imports:
            # A package's __init__ is not a module's dependency on its siblings.
            edges[module].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in edges[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not cycles, cycles


def _class_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                found[node.name].append(module)
    return found


BARE_ROOMS = {"engine", "gateway", "risk", "benchmarks"}


def test_no_module_imports_a_room_by_its_bare_name() -> None:
    # From the repository root `import engine` finds the folder, so a child process
    # started there would run it; installed, only ringmatch.engine exists.
    wrong = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            wrong += [
                f"{path}:{node.lineno}: {module} imports {name}"
                for name in names
                if name.split(".")[0] in BARE_ROOMS
            ]
    assert not wrong, "\n".join(wrong)


# A wire request and the core command it becomes are one thing in two layouts:
# gateway.server.translate turns each into the other, field for field.
WIRE_FORMS = {"NewOrder", "Cancel", "Replace", "MassCancel"}
# Each room's command line and each process main keep their role's name.
ROLE_NAMES = {"cli", "process", "__init__"}


def test_one_name_one_thing() -> None:
    classes = {
        name: modules
        for name, modules in _class_names().items()
        if len(modules) > 1 and name not in WIRE_FORMS
    }
    assert not classes, classes
    leaves: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        if path.name != "__init__.py":  # a module file, not a package
            leaves[path.stem].append(module)
    repeated = {
        leaf: modules
        for leaf, modules in leaves.items()
        if len(modules) > 1 and leaf not in ROLE_NAMES
    }
    assert not repeated, repeated


@pytest.mark.parametrize("room", ["engine", "gateway", "risk", "benchmarks"])
def test_a_bare_room_import_fails(room: str) -> None:
    # Running from the repository root would let `import engine` find the folder:
    # tests/conftest.py refuses it, so only ringmatch.* can pass.
    assert room not in sys.modules  # nothing in the run imported it by the bare name
    with pytest.raises(ImportError, match=f"import ringmatch.{room}, not {room}"):
        __import__(room)
