"""The layout is a rule, not a habit: one package per capability under hub/, arrows pointing one way.

Walks every import statement (module level and inside functions, TYPE_CHECKING included) with `ast`,
so a lazy import is an arrow too. Names in strings (the coordinator's "module:function" factories,
the schema's feature modules) are not arrows: that is how the coordinator wires capabilities.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
SHARED = {"core", "config"}  # what every capability may import
FRONT_ENDS = {"cli"}  # the command line wires capabilities too, in its own process
MAX_LINES = 400


def _packages() -> set[str]:
    return {p.name for p in HUB.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


CAPABILITIES = _packages() - SHARED - FRONT_ENDS


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import in the file; `from a import b` yields a.b as well,
    since b may be a submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _hub_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "hub" and len(parts) > 1 and parts[1] in _packages() else None


def _py_files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def test_hub_holds_only_packages() -> None:
    loose = sorted(p.name for p in HUB.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert loose == [], f"modules directly under hub/ belong in a capability package: {loose}"


@pytest.mark.parametrize("package", sorted(_packages()))
def test_package_says_what_it_is(package: str) -> None:
    doc = ast.get_docstring(ast.parse((HUB / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc) > 80, f"hub/{package}/__init__.py needs a docstring: what it is, its entry point"


def test_no_module_is_too_long() -> None:
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in _py_files("hub", "drivers", "sensors", "voice", "tests", "bench", "hw-tests")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == []


def test_capabilities_do_not_import_each_other() -> None:
    arrows = []
    for path in _py_files("hub"):
        own = path.relative_to(HUB).parts[0]
        if own not in CAPABILITIES and own not in SHARED:
            continue
        for line, module in _imports(path):
            target = _hub_package(module)
            if target is None or target == own or (target in SHARED and own not in SHARED):
                continue
            if own in SHARED and target in SHARED:
                continue
            arrows.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert arrows == [], "capability packages are wired by hub.core, never by each other:\n" + "\n".join(arrows)


@pytest.mark.parametrize(("layer", "forbidden"), [("drivers", ("hub", "sensors")), ("sensors", ("hub",))])
def test_layers_point_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _py_files(layer)
        for line, module in _imports(path)
        if module.split(".")[0] in forbidden
    ]
    assert wrong == [], f"{layer} must not import {forbidden}"


def test_drivers_have_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in _py_files("drivers"):
        name = _module_name(path)
        graph[name] = {m for _, m in _imports(path) if m.startswith("drivers.") and m != name}
    graph = {k: {m for m in v if m in graph} for k, v in graph.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, start]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for name in graph if (c := cycle_from(name))]
    assert cycles == [], f"import cycles in drivers/: {cycles[:3]}"
