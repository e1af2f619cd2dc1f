"""The package layout's rules, checked on the source so that a change breaking one fails CI.

Every module belongs to one layer (its folder). What a layer may import, lazily or not:

- ``core`` (pure): only ``core``; no HTTP or AWS library; never reads the clock or the
  environment.
- seams (``genesys``, ``sendgrid``, ``aws``): ``core``, ``runtime`` and themselves; no pipeline,
  no other seam, no handler, no stand-in.
- ``runtime`` (the process edge): ``core`` and itself.
- pipelines (``reports``, and ``messaging``, ``campaigns``, ``receipts`` once they exist): ``core``,
  ``runtime``, the seams, themselves; another pipeline only through its package's public API.
- ``handlers``: anything but ``cli`` and the stand-ins.
- ``cli``: anything; only it starts the stand-ins (for the demo).
- ``devserver`` (the stand-ins): ``core`` and itself; never shipped (see test_template).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gcnotify"

SEAMS = frozenset({"genesys", "sendgrid", "aws", "chat"})
PIPELINES = frozenset({"reports", "messaging", "campaigns", "receipts"})
LAYERS = SEAMS | PIPELINES | {"core", "runtime", "handlers", "cli", "devserver"}
ROOT_MODULES = frozenset({"__init__", "__main__"})  # the lazy public API and `python -m`

# Libraries that do I/O: a pure module must not import them, even lazily.
IO_LIBRARIES = frozenset(
    {"requests", "urllib3", "boto3", "botocore", "socket", "http", "urllib", "subprocess"}
)
# Calls that read the clock or the environment.
CLOCK_OR_ENV = frozenset(
    {
        "datetime.now",
        "datetime.utcnow",
        "datetime.today",
        "date.today",
        "time.time",
        "time.monotonic",
        "time.perf_counter",
        "time.sleep",
        "os.environ",
        "os.getenv",
    }
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted, below gcnotify
    target: str  # what it imports, absolute and dotted
    line: int


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = _modules()


def _imports(name: str, tree: ast.Module) -> list[Import]:
    package = name.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(Import(name, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["gcnotify", *package[: len(package) - node.level + 1]]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append(Import(name, target, node.lineno))
            if target == "gcnotify":  # `from gcnotify import x` may name a sub-package
                out.extend(
                    Import(name, f"gcnotify.{alias.name}", node.lineno) for alias in node.names
                )
    return out


def _layer(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def _target_layer(target: str) -> str | None:
    parts = target.split(".")
    if parts[0] != "gcnotify" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def _allowed(layer: str, target_layer: str, target: str) -> bool:
    if target_layer == layer:
        return True
    if layer == "core":
        return False
    if layer in SEAMS:
        return target_layer in {"core", "runtime"}
    if layer == "runtime":
        return target_layer == "core"
    if layer in PIPELINES:
        if target_layer in PIPELINES:
            return target == f"gcnotify.{target_layer}"  # the other pipeline's public API only
        return target_layer in {"core", "runtime"} | SEAMS
    if layer == "handlers":
        return target_layer not in {"cli", "devserver"}
    if layer == "devserver":
        return target_layer == "core"
    return layer == "cli"


def test_every_module_lives_in_a_layer() -> None:
    """A new module lands in a layer's folder, not loose at the top of the package."""
    loose = sorted(name for name in MODULES if "." not in name and name not in ROOT_MODULES)
    unknown = sorted({_layer(n) for n in MODULES if "." in n} - LAYERS)
    assert ([], []) == (loose, unknown)


def test_imports_keep_to_the_layer_rules() -> None:
    """No layer imports what its rules forbid (lazy imports and type-only imports included)."""
    broken = []
    for name, tree in MODULES.items():
        if "." not in name:
            continue
        layer = _layer(name)
        for imp in _imports(name, tree):
            target_layer = _target_layer(imp.target)
            if target_layer is not None and not _allowed(layer, target_layer, imp.target):
                broken.append(f"{name}:{imp.line} imports {imp.target}")
    assert [] == broken


def test_pure_core_imports_no_io_library() -> None:
    """The core stays testable without mocks: no HTTP, socket or AWS library in it."""
    broken = [
        f"{name}:{imp.line} imports {imp.target}"
        for name, tree in MODULES.items()
        if _layer(name) == "core"
        for imp in _imports(name, tree)
        if imp.target.split(".")[0] in IO_LIBRARIES
    ]
    assert [] == broken


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def test_pure_core_reads_no_clock_or_environment() -> None:
    """Times and settings are passed into the core, never read there."""
    broken = [
        f"{name}:{node.lineno} uses {dotted}"
        for name, tree in MODULES.items()
        if _layer(name) == "core"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and (dotted := _dotted(node)) is not None
        and any(dotted == f or dotted.endswith("." + f) for f in CLOCK_OR_ENV)
    ]
    assert [] == broken


def test_the_rules_catch_a_breach() -> None:
    """The checker itself flags what it should (a rule test that cannot fail proves nothing)."""
    tree = ast.parse(
        "import requests\n"
        "from gcnotify.reports.runner import run_reports\n"
        "def f():\n    from ..devserver import traffic\n    return datetime.now()\n"
    )
    targets = [i.target for i in _imports("genesys.client", tree)]
    assert ["requests", "gcnotify.reports.runner", "gcnotify.devserver"] == targets
    assert not _allowed("genesys", "reports", "gcnotify.reports.runner")
    assert not _allowed("core", "runtime", "gcnotify.runtime.http")
    assert not _allowed("handlers", "devserver", "gcnotify.devserver")
    assert not _allowed("reports", "messaging", "gcnotify.messaging.sender")
    assert _allowed("campaigns", "messaging", "gcnotify.messaging")
    assert _allowed("cli", "devserver", "gcnotify.devserver.traffic")


@pytest.mark.parametrize("layer", sorted(LAYERS & {p.name for p in PACKAGE.iterdir()}))
def test_each_layer_says_what_it_holds(layer: str) -> None:
    """Every folder opens with a docstring, so the listing explains itself."""
    assert ast.get_docstring(MODULES[f"{layer}.__init__"])
