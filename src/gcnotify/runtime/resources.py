"""Find the files that ship beside the code: ``templates/``, the bundled ``gcnotify.yaml``, and
what the Lambda build precomputes (compiled templates, holidays).

The same code runs from a source checkout (``src/`` layout), from the Lambda artifact (where the
build places both at the artifact root, next to the package) and from an installed wheel (where
they live in ``gcnotify/_bundled``). The current directory is never consulted: Lambda's is not
the artifact's.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from gcnotify.core.calendar import PRECOMPUTED_NAME, PrecomputedHolidays, parse_precomputed

__all__ = [
    "compiled_templates_dir",
    "default_config_path",
    "find_artifact_file",
    "find_resource",
    "load_precomputed",
    "precomputed_holidays",
    "templates_dir",
]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the gcnotify package


def _artifact_roots() -> list[Path]:
    """Where the Lambda build puts files: LAMBDA_TASK_ROOT when set, and the package's parent
    (in the artifact, both are its root)."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    return ([Path(task_root)] if task_root else []) + [_PACKAGE_DIR.parent]


def _candidates(name: str) -> list[Path]:
    roots = [*_artifact_roots(), _PACKAGE_DIR / "_bundled", _PACKAGE_DIR.parent.parent]
    return [root / name for root in roots]


def find_resource(name: str) -> Path:
    """The first existing ``name`` among the artifact root, the wheel and the checkout."""
    candidates = _candidates(name)
    for path in candidates:
        if path.exists():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"{name} not found; looked in: {tried}")


def templates_dir() -> Path:
    return find_resource("templates")


def read_template(name: str) -> str:
    """A file under templates/ (the messaging block's ``html_file``/``text_file``), as text."""
    return (templates_dir() / name).read_text(encoding="utf-8")


def compiled_templates_dir(templates: Path) -> Path | None:
    """The build's precompiled copy of ``templates`` beside it, if any (the Lambda artifact has
    one; see ``gcnotify.reports.precompile``). ``Renderer`` checks its manifest before using it."""
    compiled = templates.parent / "templates_compiled"
    return compiled if compiled.is_dir() else None


def find_artifact_file(name: str) -> Path | None:
    """A file the build writes at the Lambda artifact root (beside the package); None elsewhere."""
    for root in _artifact_roots():
        if (root / name).is_file():
            return root / name
    return None


def default_config_path() -> Path:
    return find_resource("gcnotify.yaml")


def load_precomputed(path: Path) -> PrecomputedHolidays | None:
    """The table at ``path``; None when it is missing or unreadable (``holidays`` answers then)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return parse_precomputed(raw)


@functools.cache
def precomputed_holidays() -> PrecomputedHolidays | None:
    """The artifact's holiday table, read once per process (None outside the Lambda artifact)."""
    path = find_artifact_file(PRECOMPUTED_NAME)
    return None if path is None else load_precomputed(path)
