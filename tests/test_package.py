"""Package surface: lazy public API, shipped schemas in step with shared/, no heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gcnotify

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "src" / "gcnotify" / "devserver" / "schemas"
SHARED = REPO.parent / "shared" / "schemas"


@pytest.mark.parametrize("name", gcnotify.__all__)
def test_public_names_resolve(name: str) -> None:
    """Every name in __all__ can be imported from the package."""
    assert getattr(gcnotify, name) is not None


def test_unknown_attribute() -> None:
    """A typo is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError, match="Renderr"):
        _ = gcnotify.Renderr  # type: ignore[attr-defined]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.schema.json")), ids=lambda p: p.name)
def test_shipped_schema_matches_shared(path: Path) -> None:
    """The schemas the stand-ins validate with are the project's reference schemas, unchanged."""
    assert json.loads((SHARED / path.name).read_text()) == json.loads(path.read_text())


def test_handler_import_leaves_heavy_modules_out() -> None:
    """Importing the Lambda handler does not import Jinja2, holidays or the demo stand-ins."""
    code = (
        "import sys, gcnotify.handlers.report; "
        "print(','.join(m for m in ('jinja2', 'holidays', 'gcnotify.devserver', 'jsonschema') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "" == out.stdout.strip()


def test_all_lists_exactly_the_lazy_exports() -> None:
    """__all__ and the lazy export table stay in step."""
    assert {"__version__", *gcnotify._EXPORTS} == set(gcnotify.__all__)
