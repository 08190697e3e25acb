"""The layering of ddbkit and ddbkit_infra, read from the source (docs/architecture.md draws it).

Imports are parsed, not executed: module-level imports and imports inside functions both count, imports
under ``if TYPE_CHECKING:`` do not (they never run). The checks:

- no import circle between the two packages' own modules;
- no module imports another module's private name (``from x import _y``): a seam is a public, typed API;
- ``ddbkit`` never imports ``ddbkit_infra``;
- the layers point one way: ``ddbkit.core`` and ``ddbkit.config`` import nothing above them, the transports
  build only on core, errors and tracing, and the clients import no capability built on them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ddbkit", "ddbkit_infra")


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def _imports(module: str, path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(target module, imported name or None, line) for every runtime import of our own packages."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_nodes(tree)
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if full in MODULES:
                    yield full, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for target, _name, _line in _imports(module, path):
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_import_graph_has_no_circle() -> None:
    assert _cycles(_graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    # The checker itself can fail: a two-module and a three-module circle are reported.
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": set()}
    assert sorted(_cycles(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_no_module_imports_another_modules_private_name() -> None:
    private = []
    for module, path in MODULES.items():
        for target, name, line in _imports(module, path):
            if name and name.startswith("_") and not name.startswith("__") and target != module:
                private.append(f"{path.relative_to(ROOT)}:{line} imports {target}.{name}")
    assert private == []


# Layers, bottom up: which of our own packages each may import at run time (a prefix match).
ALLOWED: dict[str, tuple[str, ...]] = {
    "ddbkit.errors": (),
    "ddbkit.tracing": ("ddbkit.errors", "ddbkit.tracing"),
    "ddbkit.config": ("ddbkit.config", "ddbkit.errors", "ddbkit.core.reserved_words"),
    "ddbkit.core": ("ddbkit.core", "ddbkit.errors", "ddbkit.tracing"),
    "ddbkit.transport": ("ddbkit.transport", "ddbkit.core", "ddbkit.errors", "ddbkit.tracing"),
    "ddbkit.accelerate": ("ddbkit.accelerate", "ddbkit.transport", "ddbkit.core", "ddbkit.errors", "ddbkit.tracing"),
}


def _owner(module: str) -> str | None:
    matches = [layer for layer in ALLOWED if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


def test_lower_layers_import_nothing_above_them() -> None:
    upward = []
    for module, path in MODULES.items():
        layer = _owner(module)
        if layer is None:
            continue
        for target, _name, line in _imports(module, path):
            if not any(target == ok or target.startswith(ok + ".") for ok in ALLOWED[layer]):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({layer}) imports {target}")
    assert upward == []


def test_the_runtime_never_imports_the_provisioning_package() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}" for module, path in MODULES.items() if module.startswith("ddbkit.")
                 or module == "ddbkit" for target, _n, line in _imports(module, path) if target.startswith("ddbkit_infra")]
    assert offenders == []


def test_no_deprecated_shim_modules_are_left() -> None:
    shims = [str(p.relative_to(ROOT)) for p in MODULES.values()
             if re.search(r"deprecat|backwards?[- ]compat|shim", p.read_text()[:600], re.I)]
    assert shims == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_type_ignore_names_its_code_and_reason(package: str) -> None:
    bare = []
    count = 0
    for path in sorted((ROOT / package).rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "type: ignore" not in line:
                continue
            count += 1
            # `# type: ignore[code]  # reason`: the code, then why (a third-party boundary without stubs...)
            if not re.search(r"type: ignore\[[a-z-, ]+\]\s+#\s*\S", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []
    assert count <= 15
