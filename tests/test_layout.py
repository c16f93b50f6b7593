"""The layout is a rule, not a habit: one package per capability under hub/, arrows pointing one way.

Walks every import statement (module level and inside functions, TYPE_CHECKING included) with `ast`,
so a lazy import is an arrow too. Names in strings (the coordinator's "module:function" factories,
the schema's feature modules) are not arrows: that is how the coordinator wires capabilities.

Rooms by concern: a folder never holds a family of modules named by a shared prefix (`uplink_*`,
`meter_*`): three such modules are a package in all but name and become one. And no import circle
among the modules that run: imports at module level, outside `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
SHARED = {"core", "config", "speech", "certificates", "alarms"}  # what every capability may import
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


FIRMWARE_MAX_LINES = 300  # a firmware module longer than this holds more than one concern: split it by concern


def test_firmware_modules_fit_in_300_lines() -> None:
    long = [
        f"{p.relative_to(ROOT).as_posix()} ({n} lines)"
        for p in _py_files("hub", "sensors", "drivers", "voice")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > FIRMWARE_MAX_LINES
    ]
    assert long == [], f"modules over {FIRMWARE_MAX_LINES} lines; split each by concern:\n" + "\n".join(long)


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


PACKAGES = ("hub", "sensors", "drivers", "voice")
FAMILY = 3  # modules sharing a prefix in one folder that make a family


def _prefix(stem: str) -> str:
    """`uplink_link` -> uplink, `meters` -> meter: the word a family of module names starts with."""
    word = stem.split("_")[0]
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def test_no_prefix_families() -> None:
    families = []
    for top in PACKAGES:
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            stems = [p.stem for p in folder.glob("*.py") if p.stem != "__init__" and not p.stem.startswith("__")]
            counts = Counter(_prefix(s) for s in stems)
            families += [
                f"{folder.relative_to(ROOT)}/: {sorted(s for s in stems if _prefix(s) == word)}"
                for word, n in counts.items() if n >= FAMILY and any("_" in s for s in stems if _prefix(s) == word)
            ]
    assert families == [], "a family of prefixed modules is a package in all but name; make it one:\n" + "\n".join(
        families)


def _runtime_imports(path: Path) -> Iterator[str]:
    """Modules imported when `path` is imported: module-level statements, not under TYPE_CHECKING,
    not inside functions (a lazy import runs after every module has loaded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)

    def walk(body: list[ast.stmt]) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from walk(node.orelse)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for inner in getattr(node, block, []):
                        yield from walk(inner.body if isinstance(inner, ast.ExceptHandler) else [inner])
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                yield base
                yield from (f"{base}.{alias.name}" for alias in node.names)

    yield from walk(tree.body)


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _import_graph(*tops: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _py_files(*tops):
        name = _module_name(path)
        targets = set()
        for module in _runtime_imports(path):
            parts = module.split(".")
            # importing a.b.c imports a and a.b first: each is an arrow, but for the importer's own
            # packages (already being imported when it runs)
            targets |= {".".join(parts[:i]) for i in range(1, len(parts))} - set(_ancestors(name))
            targets.add(module)
        graph[name] = targets - {name}
    return {k: {m for m in v if m in graph} for k, v in graph.items()}


def test_no_import_circles() -> None:
    graph = _import_graph(*PACKAGES)

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
    assert cycles == [], "import circles (type-only imports go under TYPE_CHECKING):\n" + "\n".join(
        " -> ".join(c) for c in cycles[:5])
